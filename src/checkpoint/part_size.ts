/**
 * Part-size rules of OSS multipart uploads (and the S3 ones, which agree): every part but the last is at least
 * 100 KiB, no part exceeds 5 GiB, and an upload has at most 10,000 parts.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * The smallest part OSS accepts for every part but the last: 100 KiB.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkPartSize, MIN_PART_SIZE } from "./part_size.ts";
 * expect([MIN_PART_SIZE, checkPartSize(MIN_PART_SIZE)]).toEqual([102400, 102400]);
 * ```
 */
export const MIN_PART_SIZE: number = 100 * KiB;
/**
 * The largest part OSS accepts: 5 GiB.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MAX_PART_SIZE } from "./part_size.ts";
 * expect([MAX_PART_SIZE, MAX_PART_SIZE / 1024 ** 3]).toEqual([5368709120, 5]);
 * ```
 */
export const MAX_PART_SIZE: number = 5 * GiB;
/**
 * The most parts one multipart upload may have.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_PART_SIZE, MAX_PARTS, PartSchedule } from "./part_size.ts";
 * expect([MAX_PARTS, new PartSchedule(DEFAULT_PART_SIZE).sizeOf(MAX_PARTS) / 1024 ** 2]).toEqual([10000, 4096]); // (MiB, the last part)
 * ```
 */
export const MAX_PARTS = 10_000;
/**
 * The part size used when none is configured: 8 MiB.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_PART_SIZE, PartSchedule } from "./part_size.ts";
 * expect([DEFAULT_PART_SIZE / 1024 ** 2, new PartSchedule(DEFAULT_PART_SIZE).sizeOf(1)]).toEqual([8, 8388608]);
 * ```
 */
export const DEFAULT_PART_SIZE: number = 8 * MiB;
/** Without a size hint, the part size doubles after every this many parts (about 7.8 TiB fit at 8 MiB). */
export const PARTS_PER_STEP = 1_000;

/**
 * Throws a {@linkcode ConfigError} unless `value` is an integer part size OSS accepts.
 * `name` is the option being checked, used in the message.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkPartSize } from "./part_size.ts";
 * checkPartSize(8 * 1024 * 1024); // ok
 * expect(() => checkPartSize(1024)).toThrow("partSize");
 * ```
 */
export function checkPartSize(value: unknown, name = "partSize"): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < MIN_PART_SIZE ||
    value > MAX_PART_SIZE
  ) {
    throw new ConfigError(
      `${name}: expected an integer number of bytes from ${MIN_PART_SIZE} (100 KiB) to ${MAX_PART_SIZE} (5 GiB), got ${
        describe(value)
      }`,
    );
  }
  return value;
}

/**
 * Throws a {@linkcode ConfigError} unless `value` is a positive integer (a concurrency or count option).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkPositiveInteger } from "./part_size.ts";
 * expect(checkPositiveInteger(4, "uploadConcurrency")).toBe(4);
 * expect(() => checkPositiveInteger(0, "uploadConcurrency")).toThrow("uploadConcurrency");
 * ```
 */
export function checkPositiveInteger(value: unknown, name: string, max = 10_000): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${name}: expected an integer from 1 to ${max}, got ${describe(value)}`);
  }
  return value;
}

/**
 * A schedule of part sizes: part `n` (1-based) gets {@linkcode PartSchedule.sizeOf}(n) bytes.
 *
 * With a size hint the first part size is grown (to a whole MiB) so that `sizeHint` bytes fit in
 * {@linkcode MAX_PARTS} parts. Parts beyond what the hint needs (or, without a hint, beyond the first
 * {@linkcode PARTS_PER_STEP}) double in size every {@linkcode PARTS_PER_STEP} parts, capped at
 * {@linkcode MAX_PART_SIZE}, so a stream of unknown length still fits in 10,000 parts.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { PartSchedule } from "./part_size.ts";
 * const s = new PartSchedule(8 * 1024 * 1024, 200 * 1024 ** 3); // 200 GiB hint
 * expect(s.sizeOf(1)).toEqual(21 * 1024 * 1024); // 200 GiB / 10,000 rounded up to a MiB
 * ```
 */
export class PartSchedule {
  /** The size of the first part (the configured part size, grown to fit the hint). */
  readonly base: number;
  /** How many parts keep {@linkcode PartSchedule.base} before sizes start doubling. */
  readonly fixedParts: number;

  constructor(partSize: number, sizeHint?: number) {
    checkPartSize(partSize);
    let base = partSize;
    let fixedParts = PARTS_PER_STEP;
    if (sizeHint !== undefined) {
      if (typeof sizeHint !== "number" || !Number.isSafeInteger(sizeHint) || sizeHint < 0) {
        throw new ConfigError(
          `sizeHint: expected a non-negative integer number of bytes, got ${describe(sizeHint)}`,
        );
      }
      if (sizeHint > MAX_PART_SIZE * MAX_PARTS) {
        throw new ConfigError(
          `sizeHint: expected at most ${
            MAX_PART_SIZE * MAX_PARTS
          } bytes (10,000 parts of 5 GiB), got ${sizeHint}`,
        );
      }
      if (sizeHint > base * MAX_PARTS) {
        base = Math.min(MAX_PART_SIZE, Math.ceil(sizeHint / MAX_PARTS / MiB) * MiB);
      }
      fixedParts = Math.max(PARTS_PER_STEP, Math.ceil(sizeHint / base));
    }
    this.base = base;
    this.fixedParts = fixedParts;
  }

  /** The size of part `partNumber` (1-based). Throws once `partNumber` exceeds {@linkcode MAX_PARTS}. */
  sizeOf(partNumber: number): number {
    if (partNumber > MAX_PARTS) {
      throw new RangeError(
        `checkpoint exceeds ${MAX_PARTS} parts of multipart upload; pass a larger sizeHint or partSize`,
      );
    }
    if (partNumber <= this.fixedParts) return this.base;
    const steps = Math.ceil((partNumber - this.fixedParts) / PARTS_PER_STEP);
    return Math.min(MAX_PART_SIZE, this.base * 2 ** steps);
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  return value === null ? "null" : typeof value;
}
