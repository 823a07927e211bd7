/**
 * CRC-64/ECMA-182 as OSS computes it (`x-oss-hash-crc64ecma`): one-shot, incremental, as a pass-through
 * `TransformStream`, and combined over concatenated parts.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { crc64 } from "./crc64.ts";
 *
 * expect(await crc64(new TextEncoder().encode("123456789"))).toBe("11051210869376104954");
 * ```
 *
 * @module
 */
export { Crc64, crc64, crc64Combine, Crc64Stream } from "../crc64.ts";
