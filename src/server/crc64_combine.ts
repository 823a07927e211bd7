/**
 * CRC-64/XZ of a concatenation from the CRCs of its pieces (zlib's `crc32_combine` carried over to 64
 * bits), so appends and multipart completes never re-read stored bytes.
 *
 * @module
 */

/** The reflected ECMA-182 polynomial of CRC-64/XZ. */
const POLY = 0xc96c5795d7870f42n;

/** `ZEROS[k]` is the GF(2) operator that appends 2^k zero bytes to a CRC register, built on demand. */
const ZEROS: bigint[][] = [];

function times(mat: bigint[], vec: bigint): bigint {
  let sum = 0n;
  for (let i = 0; vec !== 0n; i++, vec >>= 1n) {
    if (vec & 1n) sum ^= mat[i];
  }
  return sum;
}

function square(mat: bigint[]): bigint[] {
  return mat.map((row) => times(mat, row));
}

function zerosOperator(k: number): bigint[] {
  if (ZEROS.length === 0) {
    // Operator for one zero bit, squared three times: one zero byte.
    let op: bigint[] = [POLY];
    for (let n = 1, row = 1n; n < 64; n++, row <<= 1n) op.push(row);
    for (let i = 0; i < 3; i++) op = square(op);
    ZEROS.push(op);
  }
  while (ZEROS.length <= k) ZEROS.push(square(ZEROS[ZEROS.length - 1]));
  return ZEROS[k];
}

/**
 * Combines `crc1` = CRC(A) and `crc2` = CRC(B) into CRC(A + B), where B is `len2` bytes long. CRCs are
 * decimal strings as in `x-oss-hash-crc64ecma`.
 *
 * @example
 * ```ts
 * import { crc64 } from "../crc64.ts";
 * import { crc64Combine } from "./crc64_combine.ts";
 * const a = new TextEncoder().encode("12345"), b = new TextEncoder().encode("6789");
 * console.log(crc64Combine(await crc64(a), await crc64(b), b.length)); // "11051210869376104954"
 * ```
 */
export function crc64Combine(crc1: string, crc2: string, len2: number): string {
  let acc = BigInt(crc1);
  for (let k = 0, rest = len2; rest > 0; k++, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) acc = times(zerosOperator(k), acc);
  }
  return (acc ^ BigInt(crc2)).toString(10);
}
