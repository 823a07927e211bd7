/**
 * The check every whole-object read makes: the bytes received must have the CRC-64 the server reports for the
 * object (`x-oss-hash-crc64ecma`). A ranged read (206) cannot be checked this way, since the header is the whole
 * object's; stores that send no CRC-64 (AWS S3, MinIO) leave the length (Content-Length) and, across resumed
 * pieces, the ETag (`If-Match`) as the checks.
 *
 * @module
 */
import { Crc64, crc64 } from "./crc64.ts";
import { IntegrityError } from "./errors.ts";

/**
 * The CRC-64 the body of `res` must have: the server's `x-oss-hash-crc64ecma` when the body is the whole object
 * (status 200), else undefined (a 206 range, or a store that sends no CRC-64).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { expectedCrc64 } from "./integrity.ts";
 * const headers = new Headers({ "x-oss-hash-crc64ecma": "11051210869376104954" });
 * expect([expectedCrc64({ status: 200, headers }), expectedCrc64({ status: 206, headers })]).toEqual(["11051210869376104954", undefined]);
 * ```
 */
export function expectedCrc64(res: { status: number; headers: Headers }): string | undefined {
  if (res.status !== 200) return undefined;
  return res.headers.get("x-oss-hash-crc64ecma")?.trim() || undefined;
}

/**
 * The error of a body whose CRC-64 differs from the server's: `what` names the read (e.g. `GET bucket/key`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { crcMismatch } from "./integrity.ts";
 * const err = crcMismatch("GET b/k", "k", "1", "2", 5);
 * expect([err.name, err.expected, err.actual]).toEqual(["IntegrityError", "1", "2"]);
 * ```
 */
export function crcMismatch(
  what: string,
  key: string,
  expected: string,
  actual: string,
  bytes: number,
): IntegrityError {
  return new IntegrityError(
    `${what}: CRC-64 mismatch: the server reports ${expected}, the ${bytes} bytes received have ${actual}`,
    { key, expected, actual },
  );
}

/**
 * Throws an {@linkcode IntegrityError} when `bytes`, the whole body of `res`, do not have the CRC-64 the server
 * reports (see {@linkcode expectedCrc64}; nothing to check for a range or without the header).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkCrc64 } from "./integrity.ts";
 * const res = new Response("123456789", { headers: { "x-oss-hash-crc64ecma": "11051210869376104954" } });
 * await checkCrc64(res, new TextEncoder().encode("123456789"), "GET b/k", "k"); // passes
 * const flipped = new TextEncoder().encode("123456780");
 * expect(await checkCrc64(res, flipped, "GET b/k", "k").catch((e) => e.name)).toEqual("IntegrityError");
 * ```
 */
export async function checkCrc64(
  res: { status: number; headers: Headers },
  bytes: Uint8Array,
  what: string,
  key: string,
): Promise<void> {
  const expected = expectedCrc64(res);
  if (expected === undefined) return;
  const crc = Crc64.createIfReady() ?? await Crc64.create(); // no pause once the implementation is loaded
  crc.update(bytes);
  const actual = crc.digest();
  if (actual !== expected) throw crcMismatch(what, key, expected, actual, bytes.byteLength);
}

/**
 * CRC-64 of a body about to be sent: bytes at once, a Blob as a stream (never whole in memory).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { crc64Of } from "./integrity.ts";
 * expect(await crc64Of(new Blob(["123456789"]))).toEqual("11051210869376104954");
 * ```
 */
export async function crc64Of(body: Uint8Array | Blob): Promise<string> {
  if (body instanceof Uint8Array) return await crc64(body);
  const crc = await Crc64.create();
  for await (const chunk of body.stream()) crc.update(chunk);
  return crc.digest();
}
