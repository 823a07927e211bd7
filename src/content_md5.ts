/**
 * `Content-MD5` of a request body (base64 of the binary MD5), computed by `hash-wasm`: with it OSS and S3 refuse a
 * body that changed on the way (`BadDigest`) before they commit it, so a corrupted write never replaces an object.
 * Where WebAssembly cannot be compiled at run time (Cloudflare workerd, pages with a strict CSP) there is no MD5
 * and the caller falls back to comparing the server's CRC-64 after the write.
 *
 * @module
 */
import { createMD5, type IHasher } from "hash-wasm";

/** Whether `hash-wasm` could be instantiated: undefined until first tried. */
let wasmWorks: boolean | undefined;
/** One hasher for byte arrays: init → update → digest runs without a pause, so calls cannot interleave. */
let shared: IHasher | undefined;

async function newHasher(): Promise<IHasher | undefined> {
  if (wasmWorks === false) return undefined;
  try {
    const h = await createMD5();
    wasmWorks = true;
    return h;
  } catch {
    wasmWorks = false; // e.g. workerd: "Wasm code generation disallowed by embedder"
    return undefined;
  }
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The `Content-MD5` value of `body`, or undefined where MD5 cannot be computed (no WebAssembly). A Blob is read
 * as a stream, never whole into memory.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { contentMd5 } from "./content_md5.ts";
 * expect(await contentMd5(new TextEncoder().encode("hello"))).toEqual("XUFAKrxLKna5cZ2REBfFkg==");
 * expect(await contentMd5(new Blob(["hello"]))).toEqual("XUFAKrxLKna5cZ2REBfFkg==");
 * ```
 */
export async function contentMd5(body: Uint8Array | Blob): Promise<string | undefined> {
  if (body instanceof Uint8Array) {
    const h = shared ??= await newHasher();
    if (h === undefined) return undefined;
    h.init();
    h.update(body);
    return base64(h.digest("binary"));
  }
  const h = await newHasher(); // its own: reading the Blob awaits between chunks
  if (h === undefined) return undefined;
  h.init();
  for await (const chunk of body.stream()) h.update(chunk);
  return base64(h.digest("binary"));
}
