/**
 * One safetensors file written through the checkpoint writer: the header, then each tensor's bytes, in the data
 * order every file ossflow writes uses (see `saveSafetensors`).
 *
 * @module
 */
import type { OssCheckpoint } from "../checkpoint/mod.ts";
import { type CheckedTensor, DTYPE_BITS } from "./dtypes.ts";
import { encodeHeader } from "./header.ts";

/**
 * A file `saveSafetensors` wrote.
 */
export interface SavedFile {
  /** Its URI. */
  uri: string;
  /** Its size in bytes. */
  size: number;
  /** Its CRC-64 (decimal), computed over the bytes written and checked against the server's. */
  crc64?: string;
  /** The tensors in it, in data order. */
  tensors: string[];
}

/**
 * Writes one safetensors file of `tensors` to `uri` through the checkpoint writer, in the data order described
 * at `saveSafetensors`: the header, then each tensor's bytes as they are (the writer copies them into
 * its part buffers). On failure the writer aborts its upload: nothing changes at `uri`.
 */
export async function writeFile(
  checkpoint: OssCheckpoint,
  uri: string,
  tensors: readonly CheckedTensor[],
  metadata: Record<string, string> | undefined,
  signal: AbortSignal | undefined,
): Promise<SavedFile> {
  const ordered = [...tensors].sort((a, b) => DTYPE_BITS[b.dtype] - DTYPE_BITS[a.dtype]); // stable
  const header = encodeHeader(
    ordered.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes.length })),
    metadata,
  );
  const size = ordered.reduce((n, t) => n + t.bytes.length, header.length);
  const writer = checkpoint.writer(uri, { sizeHint: size, signal });
  const w = writer.getWriter();
  try {
    await w.write(header);
    for (const t of ordered) if (t.bytes.length > 0) await w.write(t.bytes);
    await w.close();
  } catch (err) {
    await w.abort(err).catch(() => {});
    throw err;
  }
  return { uri, size, crc64: writer.stats.crc64, tensors: ordered.map((t) => t.name) };
}
