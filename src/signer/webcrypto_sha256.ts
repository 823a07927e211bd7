/**
 * A SHA-256 / HMAC-SHA256 `Checksum` for `@smithy/signature-v4` over WebCrypto, so that SigV4 signing needs
 * neither Node's `crypto` nor a hashing package.
 *
 * @module
 */

import { hmacKey, utf8 } from "./crypto.ts";

type SourceData = string | ArrayBuffer | ArrayBufferView;

const KEY_CACHE_LIMIT = 32;
const stringKeys = new Map<string, Promise<CryptoKey>>();
const byteKeys = new WeakMap<object, Promise<CryptoKey>>();

function toBytes(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return utf8(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/**
 * Imports an HMAC key once per key: smithy hands the same cached signing-key bytes (and the same secret
 * string for its cache lookup) on every request, and a WebCrypto import costs as much as the HMAC itself.
 */
function importCached(secret: SourceData): Promise<CryptoKey> {
  if (typeof secret !== "string") {
    let key = byteKeys.get(secret);
    if (key === undefined) byteKeys.set(secret, key = hmacKey(toBytes(secret)));
    return key;
  }
  let key = stringKeys.get(secret);
  if (key === undefined) {
    if (stringKeys.size >= KEY_CACHE_LIMIT) stringKeys.delete(stringKeys.keys().next().value!);
    stringKeys.set(secret, key = hmacKey(secret));
    key.catch(() => stringKeys.delete(secret));
  }
  return key;
}

/**
 * A `Checksum` for `@smithy/signature-v4` over WebCrypto: SHA-256, or HMAC-SHA256 when constructed with a
 * key. No Node built-ins and no hashing package. Keys are imported once each and kept as non-extractable
 * `CryptoKey`s (string keys in a small bounded cache, byte keys per buffer object: do not reuse a key buffer
 * for different key bytes).
 *
 * @example
 * ```ts
 * import { WebCryptoSha256 } from "./webcrypto_sha256.ts";
 * const hash = new WebCryptoSha256();
 * hash.update(new TextEncoder().encode("abc"));
 * console.log((await hash.digest()).length); // 32
 * ```
 */
export class WebCryptoSha256 {
  #key: Promise<CryptoKey> | undefined;
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
    const chunks = this.#chunks;
    let data: Uint8Array<ArrayBuffer>;
    if (chunks.length === 1) {
      data = chunks[0];
    } else {
      data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const c of chunks) {
        data.set(c, offset);
        offset += c.length;
      }
    }
    const out = this.#key === undefined
      ? await crypto.subtle.digest("SHA-256", data)
      : await crypto.subtle.sign("HMAC", await this.#key, data);
    return new Uint8Array(out);
  }

  /** Forgets the data added so far. */
  reset(): void {
    this.#chunks = [];
  }
}
