/**
 * What the safetensors tests share: an emulator with a client and reader/writer options on it, tensors of every
 * dtype with deterministic contents, and helpers to compare tensors byte for byte and to count what a read
 * asked the server for.
 */
import {
  type Dtype,
  DTYPE_BITS,
  FLOAT16_ARRAY,
  type Tensor,
  type TensorArray,
} from "../src/safetensors/dtypes.ts";
import type { OssSafetensorsOptions } from "../src/safetensors/reader.ts";
import type { FaultOptions } from "../src/server/faults.ts";
import { KiB, setup as setupCheckpoint } from "./checkpoint_fixture.ts";
import { bytesOf } from "./client_fixtures.ts";

export { BUCKET, KiB, MiB } from "./checkpoint_fixture.ts";

/**
 * The checkpoint fixture's emulator and client, a checkpoint with parts of 128 KiB (so small models already go up
 * as multipart uploads), and options (`opts`) for `OssSafetensors.open` / `saveSafetensors` that use it.
 */
export async function setup(faults?: FaultOptions, extra: Partial<OssSafetensorsOptions> = {}) {
  const t = await setupCheckpoint(faults, { partSize: 128 * KiB });
  const opts: OssSafetensorsOptions = { checkpoint: t.checkpoint, ...extra };
  return Object.assign(t, { opts });
}

/** `bytes` as a Uint8Array over the same memory. */
export function bytesView(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether two tensors have the same dtype, shape and bytes. */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || JSON.stringify(a.shape) !== JSON.stringify(b.shape)) return false;
  const x = bytesView(a.data), y = bytesView(b.data);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A tensor of `dtype` and `shape` whose bytes are deterministic in `seed`, as the typed array of its dtype. */
export function makeTensor(dtype: Dtype, shape: number[], seed: number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = bytesOf((count * DTYPE_BITS[dtype]) / 8, seed);
  if (dtype === "BOOL") raw.forEach((v, i) => (raw[i] = v & 1));
  const data: TensorArray = ({
    F64: () => new Float64Array(raw.buffer),
    F32: () => new Float32Array(raw.buffer),
    I64: () => new BigInt64Array(raw.buffer),
    U64: () => new BigUint64Array(raw.buffer),
    I32: () => new Int32Array(raw.buffer),
    U32: () => new Uint32Array(raw.buffer),
    I16: () => new Int16Array(raw.buffer),
    U16: () => new Uint16Array(raw.buffer),
    I8: () => new Int8Array(raw.buffer),
    F16: () => FLOAT16_ARRAY ? new FLOAT16_ARRAY(raw.buffer, 0, raw.length / 2) : raw,
  } as Record<string, () => TensorArray>)[dtype]?.() ?? raw;
  return { dtype, shape, data };
}

/** One small tensor of every dtype, plus a scalar, an empty tensor and one of odd byte length. */
export function everyDtype(): Map<string, Tensor> {
  const dtypes: [Dtype, number[]][] = [
    ["F64", [3, 2]],
    ["I64", [5]],
    ["U64", [2, 2]],
    ["C64", [3]],
    ["F32", [4, 3]],
    ["I32", [7]],
    ["U32", [1, 5]],
    ["F16", [3, 3]],
    ["BF16", [6]],
    ["I16", [5]],
    ["U16", [2, 3]],
    ["I8", [9]],
    ["U8", [11]],
    ["BOOL", [2, 4]],
    ["F8_E5M2", [5]],
    ["F8_E4M3", [7]],
    ["F8_E8M0", [3]],
    ["F8_E4M3FNUZ", [2]],
    ["F8_E5M2FNUZ", [2]],
    ["F6_E2M3", [4]],
    ["F6_E3M2", [8]],
    ["F4", [6]],
  ];
  const out = new Map<string, Tensor>();
  dtypes.forEach(([dtype, shape], i) => out.set(`t.${dtype.toLowerCase()}`, makeTensor(dtype, shape, i + 1)));
  out.set("scalar", makeTensor("F32", [], 99));
  out.set("empty", makeTensor("F32", [0, 4], 98));
  out.set("odd.bytes", makeTensor("U8", [3], 97));
  return out;
}

/** GETs and response bytes the server saw since `since` (a snapshot of `server.stats`). */
export function getsSince(
  server: { stats: { byOperation: Record<string, number>; bytesSent: number } },
  since: { gets: number; bytes: number },
): { gets: number; bytes: number } {
  return {
    gets: (server.stats.byOperation.GetObject ?? 0) - since.gets,
    bytes: server.stats.bytesSent - since.bytes,
  };
}

/** A snapshot for {@linkcode getsSince}. */
export function snapshot(server: { stats: { byOperation: Record<string, number>; bytesSent: number } }) {
  return { gets: server.stats.byOperation.GetObject ?? 0, bytes: server.stats.bytesSent };
}

/** A raw safetensors file: `header` (an object, serialized as is) padded or not, then `data`. */
export function rawFile(header: unknown, data: Uint8Array, pad = true): Uint8Array<ArrayBuffer> {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  if (pad) json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  out.set(data, 8 + body.length);
  return out;
}
