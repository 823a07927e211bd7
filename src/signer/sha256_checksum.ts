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

/**
 * HMACs of short messages under string keys, by key then message: smithy computes HMAC(secret, accessKeyId) on
 * every request to look up its cached signing key, 2-3 µs of a 20 µs signature. Bounded like the key cache.
 */
const shortMacs = new Map<string, Map<string, Promise<Uint8Array>>>();
/** Longest message whose HMAC is memoized (an access key id is 16-128 bytes). */
const SHORT_MESSAGE = 128;

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
    if (stringKeys.size >= KEY_CACHE_LIMIT) {
      const oldest = stringKeys.keys().next().value!;
      stringKeys.delete(oldest);
      shortMacs.delete(oldest);
    }
    stringKeys.set(secret, key = hmacKey(secret, { reuse: true }));
    key.catch(() => stringKeys.delete(secret));
  }
  return key;
}

/** HMAC-SHA256 of `data` (at most {@linkcode SHORT_MESSAGE} bytes) under the string key `secret`, memoized. */
async function shortMac(
  secret: string,
  key: Promise<HmacKey>,
  data: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  let macs = shortMacs.get(secret);
  if (macs === undefined) shortMacs.set(secret, macs = new Map());
  const message = String.fromCharCode(...data);
  let mac = macs.get(message);
  if (mac === undefined) {
    if (macs.size >= KEY_CACHE_LIMIT) macs.delete(macs.keys().next().value!);
    mac = key.then((k) => hmacSha256(k, data));
    macs.set(message, mac);
    mac.catch(() => macs.delete(message));
  }
  return (await mac).slice(); // the caller may write into what it gets
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
  #secret: string | undefined;
  #chunks: Uint8Array<ArrayBuffer>[] = [];

  /** A SHA-256 hash, or an HMAC-SHA256 under `secret` (a string is taken as UTF-8). */
  constructor(secret?: SourceData) {
    this.#key = secret === undefined ? undefined : importCached(secret);
    if (typeof secret === "string") this.#secret = secret;
  }

  /** Adds data to hash. */
  update(chunk: Uint8Array): void {
    this.#chunks.push(toBytes(chunk));
  }

  /** SHA-256 (or HMAC-SHA256) of everything added since the last reset. */
  async digest(): Promise<Uint8Array> {
    const data = concatBytes(this.#chunks);
    if (this.#key === undefined) return await sha256(data);
    if (this.#secret !== undefined && data.length <= SHORT_MESSAGE) {
      return await shortMac(this.#secret, this.#key, data);
    }
    return await hmacSha256(await this.#key, data);
  }

  /** Forgets the data added so far. */
  reset(): void {
    this.#chunks = [];
  }
}
