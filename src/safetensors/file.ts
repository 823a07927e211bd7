/**
 * One safetensors object on the store: its header read with at most two ranged GETs, tensors fetched by
 * coalesced ranges pinned to the ETag seen at open (`If-Match`), or the whole file through the checkpoint reader
 * (CRC-64 checked). Internal to `OssSafetensors` (see `reader.ts`).
 *
 * @module
 */
import type { CheckpointTarget, OssCheckpoint } from "../checkpoint/mod.ts";
import type { GetBytesResult } from "../client_types.ts";
import { IntegrityError, OssError, SafetensorsError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { type Tensor, viewTensor } from "./dtypes.ts";
import { headerLength, parseHeader, type TensorInfo } from "./header.ts";
import { coalesce, type RangeGroup, type Span, split } from "./ranges.ts";

/**
 * Requests and bytes a reader has fetched: header reads, tensor ranges and whole-file loads (a load counts its
 * HEAD and its ranges). Retries are not counted.
 */
export interface SafetensorsReadStats {
  /** Requests started. */
  requests: number;
  /** Body bytes received. */
  bytesFetched: number;
}

/** One opened safetensors object. */
export class SafetensorsFile {
  readonly target: CheckpointTarget;
  /** Object size in bytes. */
  readonly size: number;
  /** ETag seen at open: every later read must find the same one. */
  readonly etag: string;
  /** CRC-64 of the whole object, when the first GET reported it. */
  readonly crc64?: string;
  /** Where the data starts (8 + header length). */
  readonly dataStart: number;
  /** Tensors in data order. */
  readonly tensors: TensorInfo[];
  /** `__metadata__`. */
  readonly metadata: Record<string, string>;
  readonly #stats: SafetensorsReadStats;

  private constructor(
    target: CheckpointTarget,
    size: number,
    etag: string,
    crc64: string | undefined,
    header: ReturnType<typeof parseHeader>,
    stats: SafetensorsReadStats,
  ) {
    this.target = target;
    this.size = size;
    this.etag = etag;
    this.crc64 = crc64;
    this.dataStart = header.dataStart;
    this.tensors = header.tensors;
    this.metadata = header.metadata;
    this.#stats = stats;
  }

  /** The URI of the object. */
  get uri(): string {
    return this.target.uri;
  }

  /**
   * Reads and validates the header: one ranged GET of the first `probeBytes` bytes (which usually hold the
   * whole header), and a second for the rest of the header when it is longer (at most `maxHeaderBytes`).
   */
  static async open(
    target: CheckpointTarget,
    limits: { probeBytes: number; maxHeaderBytes: number },
    stats: SafetensorsReadStats,
    signal?: AbortSignal,
  ): Promise<SafetensorsFile> {
    const { probeBytes, maxHeaderBytes } = limits;
    const { client, bucket, key, uri } = target;
    let first: GetBytesResult;
    try {
      first = await client.getBytes(bucket, key, { range: { start: 0, end: probeBytes - 1 }, signal });
    } catch (err) {
      if (err instanceof OssError && err.status === 416) {
        throw new SafetensorsError(
          "the file is empty; a safetensors file starts with an 8-byte header length",
          { file: uri, cause: err },
        );
      }
      throw err;
    }
    count(stats, first.bytes.length);
    // A 206 tells the size in Content-Range; a store that ignored the Range sent all of it.
    const size = first.status === 206 ? first.objectSize : first.bytes.length;
    if (!(size >= 0)) throw new SafetensorsError("the store did not tell the file's size", { file: uri });
    const n = headerLength(uri, first.bytes, size, maxHeaderBytes);
    let head = first.bytes;
    if (head.length < 8 + n) {
      const rest = await getPinned(target, first.etag, { start: head.length, end: 8 + n }, stats, signal);
      const joined = new Uint8Array(8 + n);
      joined.set(head);
      joined.set(rest, head.length);
      head = joined;
    }
    const header = parseHeader(uri, head.subarray(8, 8 + n), size);
    return new SafetensorsFile(target, size, first.etag, first.crc64, header, stats);
  }

  /**
   * The ranged reads that fetch `tensors` (of this file): neighbours at most `maxGap` bytes apart share a
   * range, and a range longer than the part size is cut into parts. {@linkcode runReads} runs them (the reads
   * of every file of a set together, under one concurrency limit).
   */
  plan(tensors: readonly TensorInfo[], maxGap: number): FileRead[] {
    const reads: FileRead[] = [];
    for (const group of coalesce(tensors, maxGap)) {
      const parts = split(group, this.target.partSize);
      reads.push({ file: this, group, parts, buffer: undefined });
    }
    return reads;
  }

  /** Fetches one part of a read into the read's buffer. */
  async fetchPart(read: FileRead, part: Span, signal: AbortSignal): Promise<void> {
    const bytes = await getPinned(this.target, this.etag, part, this.#stats, signal);
    if (read.parts.length === 1) {
      read.buffer = bytes; // the common case: no copy
      return;
    }
    read.buffer ??= new Uint8Array(read.group.end - read.group.start);
    read.buffer.set(bytes, part.start - read.group.start);
  }

  /**
   * All of the file, through the checkpoint reader (parallel ranges, CRC-64 of the whole object checked) and
   * pinned to the ETag seen at open; every tensor is a view of the one buffer when aligned. The reader skips its
   * HEAD when open already learnt the size, ETag and CRC-64.
   */
  async loadAll(checkpoint: OssCheckpoint, signal?: AbortSignal): Promise<Map<string, Tensor>> {
    // What the reader's HEAD would tell is known from open when the store sent the CRC-64: no HEAD then.
    const { size, etag, crc64 } = this;
    const object = crc64 === undefined || etag === "" ? undefined : { size, etag, crc64 };
    const bytes = await checkpoint.load(this.uri, { ifMatch: etag, object, signal });
    this.#stats.requests += (object ? 0 : 1) + Math.ceil(bytes.length / this.target.partSize);
    this.#stats.bytesFetched += bytes.length;
    if (bytes.length !== this.size) {
      throw new IntegrityError(
        `${this.uri}: loaded ${bytes.length} bytes, the file had ${this.size} when opened`,
        { key: this.target.key, expected: String(this.size), actual: String(bytes.length) },
      );
    }
    const out = new Map<string, Tensor>();
    for (const t of this.tensors) out.set(t.name, tensorOf(t, bytes.subarray(t.start, t.end)));
    return out;
  }
}

/** One ranged read of a file: a coalesced group of tensors, the parts it is fetched in, and its bytes. */
export interface FileRead {
  file: SafetensorsFile;
  group: RangeGroup<TensorInfo>;
  parts: Span[];
  buffer: Uint8Array<ArrayBuffer> | undefined;
}

/**
 * Runs `reads` (of any files) with at most `concurrency` parts in flight and returns every tensor they cover,
 * as typed arrays viewing the reads' buffers where alignment allows.
 */
export async function runReads(
  reads: readonly FileRead[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<Map<string, Tensor>> {
  const parts = reads.flatMap((read) => read.parts.map((part) => ({ read, part })));
  const done = prefetch(parts, ({ read, part }, ctx) => read.file.fetchPart(read, part, ctx.signal), {
    concurrency,
    ordered: false,
    signal,
  });
  for await (const _ of done) { /* each part lands in its read's buffer */ }
  const out = new Map<string, Tensor>();
  for (const { group, buffer } of reads) {
    for (const t of group.members) {
      out.set(t.name, tensorOf(t, buffer!.subarray(t.start - group.start, t.end - group.start)));
    }
  }
  return out;
}

/** A tensor of `info` over `bytes`. */
export function tensorOf(info: TensorInfo, bytes: Uint8Array<ArrayBuffer>): Tensor {
  return { dtype: info.dtype, shape: [...info.shape], data: viewTensor(info.dtype, bytes) };
}

/**
 * Bytes `[span.start, span.end)` of the object, only if its ETag is still `etag`: a replaced object fails with
 * an {@linkcode IntegrityError} (ranges cannot be checked against the whole object's CRC-64, so the ETag is
 * what ties them to the header read at open). A short answer fails too.
 */
async function getPinned(
  target: CheckpointTarget,
  etag: string,
  span: Span,
  stats: SafetensorsReadStats,
  signal?: AbortSignal,
): Promise<Uint8Array<ArrayBuffer>> {
  const { client, bucket, key, uri } = target;
  let res: GetBytesResult;
  try {
    res = await client.getBytes(bucket, key, {
      range: { start: span.start, end: span.end - 1 },
      ifMatch: etag === "" ? undefined : etag,
      signal,
    });
  } catch (err) {
    if (err instanceof OssError && err.status === 412) {
      throw new IntegrityError(
        `${uri}: the file changed since it was opened (ETag ${etag}); open it again`,
        { key, expected: etag, cause: err },
      );
    }
    throw err;
  }
  count(stats, res.bytes.length);
  const length = span.end - span.start;
  if (res.bytes.length !== length) {
    throw new IntegrityError(
      `${uri}: bytes ${span.start}-${span.end - 1}: got ${res.bytes.length} bytes, expected ${length}`,
      { key, expected: String(length), actual: String(res.bytes.length) },
    );
  }
  return res.bytes;
}

function count(stats: SafetensorsReadStats, bytes: number): void {
  stats.requests++;
  stats.bytesFetched += bytes;
}
