/**
 * Checkpoint details beyond the root export's `OssCheckpoint` classes: part-size bounds and the statistics the
 * reader and writer report.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE } from "./checkpoint.ts";
 *
 * expect(MIN_PART_SIZE <= DEFAULT_PART_SIZE && DEFAULT_PART_SIZE <= MAX_PART_SIZE).toBe(true);
 * ```
 *
 * @module
 */
export type { CheckpointReaderStats, KnownObject } from "../checkpoint/reader.ts";
export type { CheckpointWriterStats } from "../checkpoint/writer.ts";
export { DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "../checkpoint/part_size.ts";
