/**
 * The demo's checkpoint: a safetensors file of generated F32 tensors, streamed into an `OssCheckpoint` writer
 * (multipart upload) and read back through its reader (parallel ranged GETs), compared byte by byte as it
 * arrives.
 *
 * @module
 */
import type { CheckpointWriterStats, OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { IntegrityError } from "../../src/errors.ts";
import type { PhaseBar } from "./progress.ts";

const MiB = 1024 * 1024;

/** A generated safetensors file. */
export interface SafetensorsFile {
  bytes: Uint8Array;
  tensors: number;
}

/**
 * A safetensors file (`[u64 header length][JSON header][tensor bytes]`) of just under `mib` MiB: a toy model's
 * embedding, blocks and head as F32 tensors of deterministic small values.
 *
 * @example
 * ```ts
 * import { makeSafetensors } from "./checkpoint.ts";
 * const file = makeSafetensors(1);
 * console.log(file.tensors, file.bytes.length > 1000 * 1000); // 6 true
 * ```
 */
export function makeSafetensors(mib: number): SafetensorsFile {
  const width = 256;
  // A little room for the header: the file ends just under `mib` MiB (whole parts, no 400-byte tail part).
  const rows = Math.max(6, Math.floor((mib * MiB - 4096) / 4 / width));
  const names = [
    "embed.weight",
    "block0.attn.qkv",
    "block0.mlp.up",
    "block1.attn.qkv",
    "block1.mlp.up",
    "head",
  ];
  const per = Math.floor(rows / names.length);
  const header: Record<string, unknown> = { __metadata__: { format: "pt", producer: "ossflow demo" } };
  let offset = 0;
  const shapes = names.map((name, i) => {
    const r = i < names.length - 1 ? per : rows - per * (names.length - 1);
    header[name] = { dtype: "F32", shape: [r, width], data_offsets: [offset, offset + r * width * 4] };
    offset += r * width * 4;
    return r * width;
  });
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + head.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  const floats = new Float32Array(bytes.buffer, 8 + head.length, offset / 4);
  let seed = 12345;
  for (let j = 0; j < floats.length; j++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    floats[j] = (seed / 2 ** 32 - 0.5) * 0.02;
  }
  return { bytes, tensors: shapes.length };
}

/**
 * Streams `file` into `checkpoint.writer(uri)` in 1 MiB writes; resolves with the milliseconds it took (until
 * the multipart upload completed) and the writer's counters.
 *
 * @example
 * ```ts ignore
 * const { ms, stats } = await saveCheckpoint(checkpoint, "oss://bucket/ckpt/model.safetensors", makeSafetensors(8), bar);
 * ```
 */
export async function saveCheckpoint(
  checkpoint: OssCheckpoint,
  uri: string,
  file: Uint8Array,
  bar: PhaseBar,
): Promise<{ ms: number; stats: CheckpointWriterStats }> {
  const t0 = performance.now();
  const stream = checkpoint.writer(uri, { sizeHint: file.length });
  const writer = stream.getWriter();
  for (let at = 0; at < file.length; at += MiB) {
    const chunk = file.subarray(at, Math.min(file.length, at + MiB));
    await writer.write(chunk);
    bar.tick(chunk.length, chunk.length);
  }
  await writer.close();
  return { ms: performance.now() - t0, stats: stream.stats };
}

/**
 * Reads `uri` back through `checkpoint.reader` and compares every byte with `expected` as it arrives; resolves
 * with the milliseconds it took and the number of ranged GETs.
 *
 * @throws {IntegrityError} at the first byte that differs, or when the length differs.
 * @example
 * ```ts ignore
 * const { ms, ranges } = await loadAndVerify(checkpoint, "oss://bucket/ckpt/model.safetensors", file.bytes, bar);
 * ```
 */
export async function loadAndVerify(
  checkpoint: OssCheckpoint,
  uri: string,
  expected: Uint8Array,
  bar: PhaseBar,
): Promise<{ ms: number; ranges: number }> {
  const t0 = performance.now();
  let at = 0;
  const reader = checkpoint.reader(uri);
  for await (const chunk of reader) {
    if (at + chunk.length > expected.length) {
      throw new IntegrityError(`${uri}: read more than the ${expected.length} bytes written`);
    }
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== expected[at + i]) {
        throw new IntegrityError(`${uri}: byte ${at + i} differs from what was written`);
      }
    }
    at += chunk.length;
    bar.tick(chunk.length, chunk.length);
  }
  if (at !== expected.length) {
    throw new IntegrityError(`${uri}: read ${at} bytes, wrote ${expected.length}`);
  }
  return { ms: performance.now() - t0, ranges: reader.stats.rangesRequested };
}
