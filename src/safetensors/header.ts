/**
 * The safetensors header, read and written exactly as the format specifies:
 *
 * ```
 * [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON, starting with "{", may end in spaces][data]
 * JSON: { "__metadata__": { "<string>": "<string>", … },
 *         "<tensor>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, … }
 * ```
 *
 * `data_offsets` count from the start of the data; the tensors must cover the data exactly, without gaps or
 * overlaps. Any violation is a {@linkcode SafetensorsError} naming the file and the tensor.
 *
 * @module
 */
import { SafetensorsError } from "../errors.ts";
import { describe, type Dtype, DTYPE_BITS, isDtype, showShape, tensorByteLength } from "./dtypes.ts";

/** The largest header accepted, as in the reference implementation: 100,000,000 bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * One tensor of an opened file: what the header says about it, and where its bytes are.
 */
export interface TensorInfo {
  /** The tensor's name (its key in the header). */
  name: string;
  /** Its dtype. */
  dtype: Dtype;
  /** Its dimensions; `[]` for a scalar. */
  shape: number[];
  /** `data_offsets` as the header has them: `[begin, end)` counted from the start of the data. */
  dataOffsets: [number, number];
  /** First byte of the tensor in the file (header included). */
  start: number;
  /** One past its last byte in the file. */
  end: number;
  /** The file holding it (for a sharded set, the shard's URI). */
  file: string;
}

/**
 * A parsed header.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeHeader, parseHeader } from "./header.ts";
 * const bytes = encodeHeader([{ name: "w", dtype: "U8", shape: [3], byteLength: 3 }], { format: "pt" });
 * const parsed = parseHeader("a.safetensors", bytes.subarray(8), bytes.length + 3);
 * expect([parsed.dataStart === bytes.length, parsed.metadata]).toEqual([true, { format: "pt" }]);
 * ```
 */
export interface ParsedHeader {
  /** Where the data starts: 8 + the header's length. */
  dataStart: number;
  /** The tensors in data order (by `data_offsets`). */
  tensors: TensorInfo[];
  /** `__metadata__`, or `{}`. */
  metadata: Record<string, string>;
}

/**
 * The header length N from a file's first 8 bytes, checked against the file's size and `max` (default the
 * format's 100 MB limit).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { headerLength } from "./header.ts";
 * const first8 = new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0]);
 * expect(headerLength("a.safetensors", first8, 1000)).toEqual(16);
 * ```
 */
export function headerLength(
  file: string,
  first8: Uint8Array,
  fileSize: number,
  max: number = MAX_HEADER_BYTES,
): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new SafetensorsError(
      `the file has ${fileSize} bytes; a safetensors file starts with an 8-byte header length`,
      { file },
    );
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(max)) {
    throw new SafetensorsError(
      `header length ${n} is over the ${max}-byte limit (is this a safetensors file?)`,
      { file },
    );
  }
  if (8n + n > BigInt(fileSize)) {
    throw new SafetensorsError(
      `header length ${n} runs past the end of the file (${fileSize} bytes)`,
      { file },
    );
  }
  return Number(n);
}

/**
 * Parses and validates the N header bytes of a file of `fileSize` bytes: UTF-8 JSON starting with `{`; a
 * `__metadata__` of strings; for every tensor a known dtype, a shape of non-negative integers, `data_offsets`
 * whose length is what the shape and dtype need; and tensors that cover the data exactly.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseHeader } from "./header.ts";
 * const json = new TextEncoder().encode('{"b":{"dtype":"I8","shape":[2],"data_offsets":[1,3]},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}');
 * const { tensors } = parseHeader("x.safetensors", json, 8 + json.length + 3);
 * expect(tensors.map((t) => `${t.name}@${t.start}`)).toEqual(["a@112", "b@113"]);
 * ```
 */
export function parseHeader(file: string, header: Uint8Array, fileSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(header);
  } catch (err) {
    throw new SafetensorsError("the header is not valid UTF-8", { file, cause: err });
  }
  if (!text.startsWith("{")) {
    throw new SafetensorsError(`the header must start with "{", got ${describe(text.slice(0, 20))}`, {
      file,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`the header is not valid JSON: ${(err as Error).message}`, {
      file,
      cause: err,
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SafetensorsError(`the header must be a JSON object, got ${describe(json)}`, { file });
  }
  const dataStart = 8 + header.length;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(file, value);
      continue;
    }
    tensors.push(tensorInfo(file, name, value, dataStart));
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous: TensorInfo | undefined;
  for (const t of tensors) {
    const [begin, end] = t.dataOffsets;
    if (begin < covered) {
      throw new SafetensorsError(
        `data_offsets [${begin}, ${end}] overlap those of ${JSON.stringify(previous!.name)} [${
          previous!.dataOffsets.join(", ")
        }]`,
        { file, tensor: t.name },
      );
    }
    if (begin > covered) {
      throw new SafetensorsError(
        `data_offsets [${begin}, ${end}] leave bytes ${covered} to ${begin} of the data to no tensor`,
        { file, tensor: t.name },
      );
    }
    if (end > dataSize) {
      throw new SafetensorsError(
        `data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes)`,
        { file, tensor: t.name },
      );
    }
    covered = end;
    previous = t;
  }
  if (covered !== dataSize) {
    throw new SafetensorsError(
      `the tensors cover ${covered} bytes of data, but the file has ${dataSize} after the header`,
      { file },
    );
  }
  return { dataStart, tensors, metadata };
}

/** `__metadata__` checked: a JSON object whose every value is a string. */
function checkMetadata(file: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SafetensorsError(`__metadata__: expected a map of strings, got ${describe(value)}`, { file });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(
        `__metadata__: the value of ${JSON.stringify(k.slice(0, 200))} must be a string, got ${describe(v)}`,
        { file },
      );
    }
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function tensorInfo(file: string, name: string, value: unknown, dataStart: number): TensorInfo {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SafetensorsError(`expected { dtype, shape, data_offsets }, got ${describe(value)}`, {
      file,
      tensor: name,
    });
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new SafetensorsError(
      `unknown dtype ${describe(dtype)}; expected one of ${Object.keys(DTYPE_BITS).join(", ")}`,
      { file, tensor: name },
    );
  }
  const byteLength = tensorByteLength(dtype, shape, file, name);
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw new SafetensorsError(
      `data_offsets: expected [begin, end] with integers 0 <= begin <= end, got ${
        Array.isArray(offsets) ? showShape(offsets) : describe(offsets)
      }`,
      { file, tensor: name },
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== byteLength) {
    throw new SafetensorsError(
      `shape ${
        showShape(shape as number[])
      } of ${dtype} needs ${byteLength} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
      { file, tensor: name },
    );
  }
  return {
    name,
    dtype,
    shape: [...shape as number[]],
    dataOffsets: [begin, end],
    start: dataStart + begin,
    end: dataStart + end,
    file,
  };
}

/** A tensor's entry in a header being written. */
export interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
}

const encoder = new TextEncoder();

/**
 * The bytes of a header for `entries`, laid out contiguously in the order given: the 8-byte length, then the
 * JSON (`__metadata__` first, when given, then the tensors in data order), padded with spaces to a multiple of
 * 8 bytes so the data starts 8-byte aligned. The JSON is assembled by hand: a JavaScript object would move
 * integer-like names such as `"0"` ahead of the others.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeHeader } from "./header.ts";
 * const bytes = encodeHeader([{ name: "w", dtype: "F32", shape: [2], byteLength: 8 }]);
 * expect([bytes.length % 8, new TextDecoder().decode(bytes.subarray(8)).trimEnd()]).toEqual([0, '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}']);
 * ```
 */
export function encodeHeader(
  entries: readonly HeaderEntry[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array<ArrayBuffer> {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${fields.join(",")}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const info = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.byteLength] };
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
    offset += e.byteLength;
  }
  const json = encoder.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}
