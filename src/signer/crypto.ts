/**
 * The few hashing primitives the signers need, over WebCrypto (`crypto.subtle`) only, so they run unchanged
 * in Deno, browsers, workers, Bun and Node 20+.
 *
 * @module
 */

const encoder = new TextEncoder();
const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Lower-case hex of some bytes.
 *
 * @example
 * ```ts
 * import { toHex } from "./crypto.ts";
 * console.log(toHex(new Uint8Array([0, 171, 255]))); // "00abff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/**
 * UTF-8 bytes of a string, or the bytes themselves.
 *
 * @example
 * ```ts
 * import { utf8 } from "./crypto.ts";
 * console.log(utf8("é").length); // 2
 * ```
 */
export function utf8(data: string | Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/**
 * Hex SHA-256 of a string's UTF-8 bytes (or of bytes).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./crypto.ts";
 * console.log(await sha256Hex("")); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(data))));
}

/**
 * Imports raw key material (a string is taken as UTF-8) as a non-extractable HMAC-SHA256 key.
 *
 * @example
 * ```ts
 * import { hmacKey, hmacSha256 } from "./crypto.ts";
 * const key = await hmacKey("key");
 * console.log((await hmacSha256(key, "data")).length); // 32
 * ```
 */
export function hmacKey(raw: string | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", utf8(raw), HMAC_SHA256, false, ["sign"]);
}

/**
 * HMAC-SHA256 of a string's UTF-8 bytes (or of bytes) under an imported key.
 *
 * @example
 * ```ts
 * import { hmacKey, hmacSha256, toHex } from "./crypto.ts";
 * const mac = await hmacSha256(await hmacKey("key"), "The quick brown fox jumps over the lazy dog");
 * console.log(toHex(mac)); // "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
 * ```
 */
export async function hmacSha256(
  key: CryptoKey,
  data: string | Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(data)));
}

/**
 * Compares two strings in time that depends only on their lengths, so that a signature check does not reveal
 * how many leading characters of a guess were right.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "./crypto.ts";
 * console.log(timingSafeEqual("abc", "abc"), timingSafeEqual("abc", "abd")); // true false
 * ```
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
