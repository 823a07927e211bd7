/**
 * The MD5 and CRC-64 of an uploaded body, computed as the store consumes it, plus small stream helpers
 * the stores share.
 *
 * @module
 */
import { createCRC32, createCRC64, createMD5, createSHA1, createSHA256, type IHasher } from "hash-wasm";
import type { BodyDigest } from "../store/types.ts";

/** Hash algorithms the server computes over bodies. */
export type HashKind = "md5" | "crc64" | "sha256" | "sha1" | "crc32" | "crc32c";

const FACTORIES: Record<HashKind, () => Promise<IHasher>> = {
  md5: createMD5,
  // The reflected ECMA-182 polynomial: CRC-64/XZ, what OSS calls CRC64-ECMA (as in ../crc64.ts).
  crc64: () => createCRC64("c96c5795d7870f42"),
  sha256: createSHA256,
  sha1: createSHA1,
  crc32: () => createCRC32(),
  crc32c: () => createCRC32(0x82f63b78),
};

const POOLS = new Map<HashKind, IHasher[]>();
const POOL_LIMIT = 128;

/**
 * A hasher of `kind`, initialised. Creating a hash-wasm hasher instantiates WebAssembly (~0.3 ms), more
 * than hashing a small object takes, so hashers are pooled: give it back with {@linkcode releaseHasher}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { acquireHasher, releaseHasher } from "./digest_stream.ts";
 * const h = await acquireHasher("md5");
 * h.update(new TextEncoder().encode("hello"));
 * expect(h.digest("hex")).toEqual("5d41402abc4b2a76b9719d911017c592");
 * releaseHasher("md5", h);
 * ```
 */
export async function acquireHasher(kind: HashKind): Promise<IHasher> {
  const h = POOLS.get(kind)?.pop() ?? await FACTORIES[kind]();
  h.init();
  return h;
}

/** Returns a hasher (after its digest was taken) to the pool. */
export function releaseHasher(kind: HashKind, h: IHasher): void {
  let pool = POOLS.get(kind);
  if (!pool) POOLS.set(kind, pool = []);
  if (pool.length < POOL_LIMIT) pool.push(h);
}

/** CRC-64 hex digest as the decimal string of `x-oss-hash-crc64ecma`. */
function crcDecimal(h: IHasher): string {
  return BigInt(`0x${h.digest("hex")}`).toString(10);
}

/**
 * Counts and hashes a body once on its way to a store: `pass()` yields the chunks it is given, each fed to
 * MD5 and CRC-64 as it goes by (no stream stage in between, no copy), and `digest()` is valid once the body
 * has been read to its end.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { BodyDigester } from "./digest_stream.ts";
 * const d = await BodyDigester.create();
 * let stored = 0;
 * for await (const chunk of d.pass(new Blob(["hello"]).stream())) stored += chunk.length;
 * expect([stored, d.digest().md5]).toEqual([5, "5d41402abc4b2a76b9719d911017c592"]);
 * ```
 */
export class BodyDigester {
  #size = 0;
  #md5: IHasher;
  #crc: IHasher;
  #result?: BodyDigest;
  #released = false;

  private constructor(md5: IHasher, crc: IHasher) {
    this.#md5 = md5;
    this.#crc = crc;
  }

  /** A digester with pooled hashers (given back when `pass()` ends, however it ends). */
  static async create(): Promise<BodyDigester> {
    const [md5, crc] = await Promise.all([acquireHasher("md5"), acquireHasher("crc64")]);
    return new BodyDigester(md5, crc);
  }

  /** Yields the chunks of `body`, hashing each once. Use it once. */
  async *pass(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#released) throw new Error("BodyDigester.pass: the digester was already used");
    try {
      for await (const chunk of body) {
        this.#size += chunk.byteLength;
        this.#md5.update(chunk);
        this.#crc.update(chunk);
        yield chunk;
      }
      this.#result = { size: this.#size, md5: this.#md5.digest("hex"), crc64: crcDecimal(this.#crc) };
    } finally {
      this.#released = true;
      releaseHasher("md5", this.#md5);
      releaseHasher("crc64", this.#crc);
    }
  }

  /** Size, MD5 hex and CRC-64 of the whole body; throws before `pass()` has reached its end. */
  digest(): BodyDigest {
    if (!this.#result) throw new Error("BodyDigester.digest: the body has not been read to its end");
    return this.#result;
  }
}

/**
 * A stream of `body`: streams pass through, byte arrays become a one-chunk stream.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { toStream } from "./digest_stream.ts";
 * const s = toStream(new Uint8Array([1, 2, 3]));
 * expect((await new Response(s).bytes()).length).toEqual(3);
 * ```
 */
export function toStream(body: ReadableStream<Uint8Array> | Uint8Array): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  return new ReadableStream({
    start(controller) {
      if (body.byteLength > 0) controller.enqueue(body);
      controller.close();
    },
  });
}

/**
 * Hex MD5 of the concatenated binary MD5s of parts, the first half of a multipart ETag.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { md5OfMd5s } from "./digest_stream.ts";
 * expect((await md5OfMd5s(["5d41402abc4b2a76b9719d911017c592"])).length).toEqual(32);
 * ```
 */
export async function md5OfMd5s(hexDigests: string[]): Promise<string> {
  const md5 = await acquireHasher("md5");
  for (const hex of hexDigests) {
    const raw = new Uint8Array(16);
    for (let i = 0; i < 16; i++) raw[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    md5.update(raw);
  }
  const digest = md5.digest("hex");
  releaseHasher("md5", md5);
  return digest;
}

/**
 * Random lower-case hex id of `bytes` random bytes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { randomHex } from "./digest_stream.ts";
 * expect(randomHex(16).length).toEqual(32);
 * ```
 */
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += b.toString(16).padStart(2, "0");
  return out;
}
