/**
 * The dtypes of the safetensors format, their sizes, and how tensor bytes become typed arrays: zero-copy views
 * when the bytes are aligned for the array type, copies otherwise. Safetensors data is little-endian; typed
 * arrays use the host's byte order, so reading and writing refuse big-endian hosts (none that run JavaScript
 * engines today) rather than hand out swapped numbers.
 *
 * @module
 */
import { SafetensorsError } from "../errors.ts";

/**
 * A safetensors dtype: every one the format defines.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type Dtype, DTYPE_BITS } from "./dtypes.ts";
 * const dtype: Dtype = "BF16";
 * expect(DTYPE_BITS[dtype]).toEqual(16);
 * ```
 */
export type Dtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "F8_E8M0"
  | "F8_E4M3FNUZ"
  | "F8_E5M2FNUZ"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "C64"
  | "F64"
  | "I64"
  | "U64"
  | "F6_E2M3"
  | "F6_E3M2"
  | "F4";

/**
 * Bits per element of every dtype. F4 and F6 pack elements below a byte: a tensor of them must fill whole bytes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DTYPE_BITS } from "./dtypes.ts";
 * expect([DTYPE_BITS.F32, DTYPE_BITS.F4]).toEqual([32, 4]);
 * ```
 */
export const DTYPE_BITS: Readonly<Record<Dtype, number>> = Object.freeze({
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
});

/**
 * Whether `value` names a safetensors dtype (`"constructor"` and other inherited names do not).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isDtype } from "./dtypes.ts";
 * expect([isDtype("F32"), isDtype("float32"), isDtype("toString")]).toEqual([true, false, false]);
 * ```
 */
export function isDtype(value: unknown): value is Dtype {
  return typeof value === "string" && Object.hasOwn(DTYPE_BITS, value);
}

/**
 * The array a tensor's data comes as: the typed array of its dtype (F64, F32, F16 where the runtime has
 * `Float16Array`, I64/U64 as BigInt arrays, I32, U32, I16, U16, I8, U8, BOOL as `Uint8Array`), or the raw bytes
 * as a `Uint8Array` for dtypes JavaScript has no array for (BF16, F8_*, F6_*, F4, C64, and F16 without
 * `Float16Array`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { TensorArray } from "./dtypes.ts";
 * const weights: TensorArray = new Float32Array([0.5, -0.25]);
 * expect(weights.byteLength).toEqual(8);
 * ```
 */
export type TensorArray =
  | Float64Array
  | Float32Array
  | Float16ArrayLike
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/**
 * A tensor: what `OssSafetensors.get` returns and what `saveSafetensors` takes. `data` holds the elements in
 * row-major order; its byte length is the product of `shape` times the dtype's size (`[]` is a scalar).
 */
export interface Tensor {
  /** The safetensors dtype. */
  dtype: Dtype;
  /** Dimensions; `[]` for a scalar. */
  shape: number[];
  /** The elements (see {@linkcode TensorArray}). */
  data: TensorArray;
}

/**
 * Whether this host stores numbers little-endian, as safetensors files do (every common CPU does).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { LITTLE_ENDIAN } from "./dtypes.ts";
 * expect(LITTLE_ENDIAN).toBe(true);
 * ```
 */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Throws a {@linkcode SafetensorsError} for `file` on a big-endian host (see the module comment). */
export function requireLittleEndian(file: string): void {
  if (!LITTLE_ENDIAN) {
    throw new SafetensorsError(
      "this host is big-endian; safetensors data is little-endian and typed arrays use the host's order",
      { file },
    );
  }
}

/** A typed array class: what a tensor's bytes are viewed as. */
export interface ArrayClass {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): TensorArray;
  readonly BYTES_PER_ELEMENT: number;
}

/** `Float16Array` where the runtime has it (Deno 2, Chromium 135, Firefox 129, Bun; not Node 22). */
export const FLOAT16_ARRAY: ArrayClass | null = (globalThis as { Float16Array?: ArrayClass }).Float16Array ??
  null;

/**
 * A `Float16Array` (ES2025), typed by its shape so that the declarations also compile where TypeScript's `lib`
 * predates it (Node's `@types`, `lib: ["ES2024"]`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { Float16ArrayLike } from "./dtypes.ts";
 * const halves: Float16ArrayLike = new Uint16Array(2) as unknown as Float16ArrayLike;
 * expect(halves.BYTES_PER_ELEMENT).toEqual(2);
 * ```
 */
export interface Float16ArrayLike extends ArrayBufferView<ArrayBuffer> {
  /** Number of elements. */
  readonly length: number;
  /** 2. */
  readonly BYTES_PER_ELEMENT: number;
  /** The element at an index, as a number. */
  [index: number]: number;
  /** The elements in order. */
  [Symbol.iterator](): IterableIterator<number>;
}

/**
 * The typed array class of `dtype`, or undefined for the dtypes that come as raw bytes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { arrayClassOf } from "./dtypes.ts";
 * expect([arrayClassOf("I64")?.name, arrayClassOf("BF16")]).toEqual(["BigInt64Array", undefined]);
 * ```
 */
export function arrayClassOf(
  dtype: Dtype,
  float16: ArrayClass | null = FLOAT16_ARRAY,
): ArrayClass | undefined {
  switch (dtype) {
    case "F64":
      return Float64Array;
    case "F32":
      return Float32Array;
    case "F16":
      return float16 ?? undefined;
    case "I64":
      return BigInt64Array;
    case "U64":
      return BigUint64Array;
    case "I32":
      return Int32Array;
    case "U32":
      return Uint32Array;
    case "I16":
      return Int16Array;
    case "U16":
      return Uint16Array;
    case "I8":
      return Int8Array;
    case "U8":
    case "BOOL":
      return Uint8Array;
    default:
      return undefined;
  }
}

/**
 * The bytes of one tensor as its {@linkcode TensorArray}: a view of the same memory when `bytes` sits at an
 * offset the array type allows (a multiple of its element size), otherwise a view of a copy. `float16` is the
 * `Float16Array` class to use (default: the runtime's; `null`: none, F16 comes as raw bytes).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { viewTensor } from "./dtypes.ts";
 * const file = new Uint8Array(16);
 * const aligned = viewTensor("F32", file.subarray(8, 16)), shifted = viewTensor("F32", file.subarray(2, 10));
 * expect([aligned.buffer === file.buffer, shifted.buffer === file.buffer]).toEqual([true, false]);
 * ```
 */
export function viewTensor(
  dtype: Dtype,
  bytes: Uint8Array<ArrayBuffer>,
  float16: ArrayClass | null = FLOAT16_ARRAY,
): TensorArray {
  const cls = arrayClassOf(dtype, float16);
  if (cls === undefined || cls === Uint8Array) return bytes;
  const length = bytes.byteLength / cls.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % cls.BYTES_PER_ELEMENT === 0) return new cls(bytes.buffer, bytes.byteOffset, length);
  return new cls(bytes.slice().buffer, 0, length);
}

/** Names the shape in messages: `[2, 3]`. */
export function showShape(shape: readonly unknown[]): string {
  const shown = shape.slice(0, 16).map((d) => (typeof d === "number" ? String(d) : describe(d)));
  return `[${shown.join(", ")}${shape.length > 16 ? ", …" : ""}]`;
}

/**
 * The byte length of a tensor of `dtype` and `shape`, after checking the shape (non-negative integers whose
 * product stays exact) and, for sub-byte dtypes, that the elements fill whole bytes. Throws a
 * {@linkcode SafetensorsError} naming `file` and `tensor` otherwise.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { tensorByteLength } from "./dtypes.ts";
 * expect(tensorByteLength("BF16", [4, 8], "oss://m/a.safetensors", "w")).toEqual(64);
 * ```
 */
export function tensorByteLength(dtype: Dtype, shape: unknown, file: string, tensor: string): number {
  if (!Array.isArray(shape)) {
    throw new SafetensorsError(`shape: expected an array of dimensions, got ${describe(shape)}`, {
      file,
      tensor,
    });
  }
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(
        `shape ${showShape(shape)}: expected non-negative integer dimensions`,
        { file, tensor },
      );
    }
    if (d !== 0 && count > Number.MAX_SAFE_INTEGER / d) {
      throw new SafetensorsError(`shape ${showShape(shape)}: the element count overflows`, { file, tensor });
    }
    count *= d;
  }
  const bits = count * DTYPE_BITS[dtype];
  if (!Number.isSafeInteger(bits)) {
    throw new SafetensorsError(`shape ${showShape(shape)}: the byte length overflows`, { file, tensor });
  }
  if (bits % 8 !== 0) {
    throw new SafetensorsError(
      `shape ${showShape(shape)} of ${dtype} holds ${count} elements of ${
        DTYPE_BITS[dtype]
      } bits, not a whole number of bytes`,
      { file, tensor },
    );
  }
  return bits / 8;
}

/** The bytes of a tensor handed to the writer, checked. */
export interface CheckedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * Checks a tensor handed to `saveSafetensors` and returns its bytes (a view, no copy). `data` must be raw bytes
 * (`Uint8Array` or `DataView`) or the typed array of the dtype (F16 and BF16 also take `Uint16Array` bit
 * patterns, F16 `Float16Array`, C64 interleaved `Float32Array`), and hold exactly the bytes the shape needs.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkTensor } from "./dtypes.ts";
 * const t = checkTensor("oss://m/a.safetensors", "w", { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) });
 * expect(t.bytes.length).toEqual(8);
 * ```
 */
export function checkTensor(file: string, name: string, tensor: unknown): CheckedTensor {
  if (tensor === null || typeof tensor !== "object") {
    throw new SafetensorsError(`expected { dtype, shape, data }, got ${describe(tensor)}`, {
      file,
      tensor: name,
    });
  }
  const { dtype, shape, data } = tensor as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new SafetensorsError(
      `dtype: expected one of ${Object.keys(DTYPE_BITS).join(", ")}, got ${describe(dtype)}`,
      { file, tensor: name },
    );
  }
  const byteLength = tensorByteLength(dtype, shape, file, name);
  if (!ArrayBuffer.isView(data)) {
    throw new SafetensorsError(`data: expected a typed array, got ${describe(data)}`, { file, tensor: name });
  }
  if (!accepts(dtype, data)) {
    const cls = arrayClassOf(dtype);
    const typed = cls && cls !== Uint8Array ? `${cls.name} or ` : "";
    throw new SafetensorsError(
      `data: a ${dtype} tensor takes ${typed}raw bytes (Uint8Array), got ${describe(data)}`,
      { file, tensor: name },
    );
  }
  if (data.byteLength !== byteLength) {
    throw new SafetensorsError(
      `shape ${
        showShape(shape as number[])
      } of ${dtype} needs ${byteLength} bytes, data has ${data.byteLength}`,
      { file, tensor: name },
    );
  }
  return {
    name,
    dtype,
    shape: [...shape as number[]],
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function accepts(dtype: Dtype, data: ArrayBufferView): boolean {
  if (data instanceof Uint8Array || data instanceof DataView) return true;
  const cls = arrayClassOf(dtype);
  if (cls !== undefined && data instanceof cls) return true;
  if ((dtype === "F16" || dtype === "BF16") && data instanceof Uint16Array) return true;
  if (dtype === "F16" && FLOAT16_ARRAY !== null && data instanceof FLOAT16_ARRAY) return true;
  return dtype === "C64" && data instanceof Float32Array;
}

/** Names a value's type in messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value !== "object") return typeof value === "number" ? String(value) : typeof value;
  if (Array.isArray(value)) return "an array";
  return (value as object).constructor?.name ?? "object";
}
