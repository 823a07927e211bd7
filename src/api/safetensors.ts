/**
 * Safetensors details beyond the root export's `OssSafetensors` and `saveSafetensors`: dtypes, header and
 * read statistics, sharded indexes and the writer's commit settings.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DTYPE_BITS, isDtype } from "./safetensors.ts";
 *
 * expect(isDtype("F16") && DTYPE_BITS.F16).toBe(16);
 * ```
 *
 * @module
 */
export {
  type Dtype,
  DTYPE_BITS,
  type Float16ArrayLike,
  isDtype,
  LITTLE_ENDIAN,
  type TensorArray,
} from "../safetensors/dtypes.ts";
export { MAX_HEADER_BYTES, type TensorInfo } from "../safetensors/header.ts";
export type { SafetensorsReadStats } from "../safetensors/file.ts";
export {
  DEFAULT_HEADER_PROBE,
  DEFAULT_MAX_GAP,
  type SafetensorsFileInfo,
  type SafetensorsReadOptions,
} from "../safetensors/reader.ts";
export type { SafetensorsIndex } from "../safetensors/sharded.ts";
export {
  DEFAULT_COMMIT_TIMEOUT_MS,
  DEFAULT_POLL_INTERVAL_MS,
  type SavedFile,
  type SaveSafetensorsResult,
  type TensorsToSave,
} from "../safetensors/writer.ts";
