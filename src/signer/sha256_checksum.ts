/**
 * A SHA-256 / HMAC-SHA256 `Checksum` for `@smithy/signature-v4` over the signers' own primitives
 * (`crypto.ts`: hash-wasm where WebAssembly runs, WebCrypto otherwise), so that SigV4 signing needs no
 * Node built-in.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { type HmacKey, hmacKey, hmacSha256, sha256, utf8 } from "./crypto.ts";

type SourceData = string | ArrayBuffer | ArrayBufferView;

const KEY_CACHE_LIMIT = 32;
const stringKeys = new Map<string, Promise<HmacKey>>();
const byteKeys = new WeakMap<object, Promise<HmacKey>>();

function toBytes(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return utf8(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/**
 * Imports an HMAC key once per key: smithy hands the same cached signing-key bytes (and the same secret
 * string for its cache lookup) on every request, and a WebCrypto import costs as much as the HMAC itself.
 */
function importCached(secret: SourceData): Promise<HmacKey> {
  if (typeof secret !== "string") {
    let key = byteKeys.get(secret);
    if (key === undefined) byteKeys.set(secret, key = hmacKey(toBytes(secret), { reuse: true }));
    return key;
  }
  let key = stringKeys.get(secret);
  if (key === undefined) {
    if (stringKeys.size >= KEY_CACHE_LIMIT) stringKeys.delete(stringKeys.keys().next().value!);
    stringKeys.set(secret, key = hmacKey(secret, { reuse: true }));
    key.catch(() => stringKeys.delete(secret));
  }
  return key;
}

/**
 * A `Checksum` for `@smithy/signature-v4`: SHA-256, or HMAC-SHA256 when constructed with a key. No Node
 * built-ins. Keys are imported once each (string keys in a small bounded cache, byte keys per buffer object: do not reuse a key buffer
 * for different key bytes).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Sha256Checksum } from "./sha256_checksum.ts";
 * const hash = new Sha256Checksum();
 * hash.update(new TextEncoder().encode("abc"));
 * expect((await hash.digest()).length).toEqual(32);
 * ```
 */
export class Sha256Checksum {
  #key: Promise<HmacKey> | undefined;
  #chunks: Uint8Array<ArrayBuffer>[] = [];

  /** A SHA-256 hash, or an HMAC-SHA256 under `secret` (a string is taken as UTF-8). */
  constructor(secret?: SourceData) {
    this.#key = secret === undefined ? undefined : importCached(secret);
  }

  /** Adds data to hash. */
  update(chunk: Uint8Array): void {
    this.#chunks.push(toBytes(chunk));
  }

  /** SHA-256 (or HMAC-SHA256) of everything added since the last reset. */
  async digest(): Promise<Uint8Array> {
    const data = concatBytes(this.#chunks);
    return this.#key === undefined ? await sha256(data) : await hmacSha256(await this.#key, data);
  }

  /** Forgets the data added so far. */
  reset(): void {
    this.#chunks = [];
  }
}
