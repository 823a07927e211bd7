/**
 * {@linkcode OssCheckpointWriter}: a `WritableStream<Uint8Array>` that saves a checkpoint through a multipart
 * upload — parts cut from chunks of any size, uploaded `uploadConcurrency` at a time, memory bounded by
 * `partSize × (uploadConcurrency + 1)`, CRC-64 checked end to end, and nothing left behind on failure.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import { contentMd5 } from "../content_md5.ts";
import { crc64, crc64Combine, crc64Tap } from "../crc64.ts";
import { IntegrityError, OssError } from "../errors.ts";
import { resolveRetryOptions, type RetryOptions } from "../retry.ts";
import { PartPool } from "./part_pool.ts";
import { FILE_SLICE, sendPart, type SendPartOptions, sendStreams, STREAM_SLICE } from "./part_send.ts";
import { requestStreamsWork } from "../client_util.ts";
import { sizedBodyMethod } from "../sized_body.ts";
import { checkPositiveInteger, DEFAULT_PART_SIZE, PartSchedule } from "./part_size.ts";
import { type FileInfo, fileInfo, fileRangeStream } from "../file_range.ts";
import { openFileStream } from "../fs.ts";

/** Default number of parts uploaded at once (`checkpointConfig.uploadConcurrency` of the OSS connector). */
export const DEFAULT_UPLOAD_CONCURRENCY = 64;

/** Bytes read ahead to learn whether a full part is the last one, when reading a byte stream. */
const PEEK_BYTES = 64 * 1024;

/** How often a part is re-sent when the server's CRC-64 of it differs from ours before the upload fails. */
const PART_CRC_ATTEMPTS = 3;

/** What an {@linkcode OssCheckpointWriter} writes to and how. */
export interface CheckpointWriterInit {
  /** The client that sends every request (and retries failed ones). */
  client: OssClient;
  /** Target bucket. */
  bucket: string;
  /** Target object key. */
  key: string;
  /** Bytes per part, from 100 KiB to 5 GiB. Default 8 MiB; grown to fit `sizeHint` in 10,000 parts. */
  partSize?: number;
  /** Most parts uploading at once. Default 64. */
  uploadConcurrency?: number;
  /** Expected total size in bytes; only used to grow the part size so the object fits in 10,000 parts. */
  sizeHint?: number;
  /** Aborting it aborts the upload like {@linkcode WritableStream.abort}. */
  signal?: AbortSignal;
  /** How the target is named in messages. Default `oss://bucket/key`. */
  uri?: string;
  /**
   * Retry policy for part uploads and the single PUT, which the writer sends as streams and so retries itself
   * (see {@linkcode OssCheckpointWriter}); pass the client's own. Default: the client defaults.
   */
  retry?: RetryOptions;
}

/**
 * Live counters of an {@linkcode OssCheckpointWriter}; read them any time.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { CheckpointWriterStats } from "./writer.ts";
 * const report = (s: CheckpointWriterStats) => `${s.partsUploaded} parts, ${s.peakBufferedBytes >> 20} MiB peak`;
 * const stats = { bytesWritten: 3 << 20, partSize: 1 << 20, partsUploaded: 3, peakUploadsInFlight: 2 };
 * expect(report({ ...stats, uploadsInFlight: 0, bufferedBytes: 0, peakBufferedBytes: 3 << 20 })).toEqual("3 parts, 3 MiB peak");
 * ```
 */
export interface CheckpointWriterStats {
  /** Bytes accepted by `write()` so far. */
  bytesWritten: number;
  /** Size of the first part (the configured part size, grown to fit the size hint); 0 until started. */
  partSize: number;
  /** Parts uploaded and confirmed. */
  partsUploaded: number;
  /** Part uploads running now. */
  uploadsInFlight: number;
  /** Most part uploads that ever ran at once. */
  peakUploadsInFlight: number;
  /** Bytes of part buffers the writer holds now (filling, uploading or free for reuse). */
  bufferedBytes: number;
  /** Most bytes of part buffers the writer ever held: at most `partSize × (uploadConcurrency + 1)`. */
  peakBufferedBytes: number;
  /** The multipart upload id, once one was initiated (objects of at most one part use a single PUT). */
  uploadId?: string;
  /**
   * CRC-64 (decimal, as `x-oss-hash-crc64ecma`) of all the bytes written, once the object is saved: computed
   * here over the bytes sent, and equal to the server's whenever it reported one.
   */
  crc64?: string;
}

interface UploadedPart {
  partNumber: number;
  etag: string;
  crc: string;
  size: number;
}

/** Set by OssCheckpointWriter's static block: the way into its private #writeFile (see writeFileTo). */
let writeFileImpl: (writer: OssCheckpointWriter, path: string, info: FileInfo) => Promise<void>;

/**
 * Saves one checkpoint object. Chunks of any size are copied into part buffers; a full part is uploaded once
 * more bytes follow it (so an object of at most one part goes up as a single PUT, and an empty stream as an
 * empty object). While `uploadConcurrency` parts are uploading, `write()` does not resolve: memory stays
 * within `partSize × (uploadConcurrency + 1)`.
 *
 * `close()` completes the upload, then compares the server's CRC-64 (`x-oss-hash-crc64ecma`) with the one
 * computed over the bytes written (each part is also checked as it lands, and re-sent on a mismatch). If the
 * completed object still differs it is deleted and `close()` rejects with an {@linkcode IntegrityError}: a
 * corrupt checkpoint would otherwise read back "successfully", since a reader can only check the bytes against
 * the server's own CRC.
 *
 * A failed part upload (after retries), an `abort()` or an aborted `signal` aborts the multipart upload: no
 * parts remain and an object already at the key is untouched.
 *
 * Bodies over 1 MiB are sent as streams over the part buffer, with a Content-Length where the runtime can send
 * one ({@linkcode sizedBodyMethod}: Deno, Node.js, Bun), else chunked, and retried by the writer with the
 * client's backoff rules (see {@linkcode sendPart}). S3-form clients (`s3v4`) send bytes instead where no
 * Content-Length can go with a stream, since S3 refuses chunked bodies, and so do browsers, which cannot stream
 * a request body over HTTP/1.1 (see {@linkcode requestStreamsWork}).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { OssCheckpointWriter } from "./writer.ts";
 * const server = await serveEmulator({ buckets: ["ckpt"] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * const writer = new OssCheckpointWriter({ client, bucket: "ckpt", key: "step-100.bin", partSize: 1024 * 1024 });
 * await new Blob([new Uint8Array(3 * 1024 * 1024 + 5)]).stream().pipeTo(writer);
 * expect([writer.stats.partsUploaded, writer.stats.peakBufferedBytes <= 1024 * 1024 * 65]).toEqual([4, true]);
 * await server.close();
 * ```
 */
export class OssCheckpointWriter extends WritableStream<Uint8Array> {
  /** Live counters: bytes written, parts, buffered bytes (the memory gauge). */
  readonly stats: CheckpointWriterStats;
  readonly #sink: MultipartSink;

  /** A writer of the object `init` names; nothing is sent before the first part is full or the stream closes. */
  constructor(init: CheckpointWriterInit | Promise<CheckpointWriterInit>) {
    const upload = new MultipartSink();
    super({
      start: (controller) => upload.start(init, controller),
      write: (chunk) => upload.write(chunk),
      close: () => upload.close(),
      abort: (reason) => upload.abort(reason),
    });
    this.stats = upload.stats;
    this.#sink = upload;
  }

  /**
   * Writes all of `source` and closes the writer: resolves once the object is saved, rejects (with the upload
   * aborted) otherwise. A byte stream (a file's `readable`, `Blob.stream()`, a `fetch` body) is read with a
   * BYOB reader straight into the part buffers, which saves a copy and an allocation per chunk over
   * `pipeTo`; other streams are piped. A `Blob` (a browser `File`) of more than one part goes to OSS as
   * streams over slices of itself, with no part buffers at all (a retried part reads its slice again); to
   * S3-form stores, where the runtime cannot send a stream with a Content-Length, it is read like a byte
   * stream. The writer must not be locked; a stream source must not be either.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * import { OssCheckpointWriter } from "./writer.ts";
   * const server = await serveEmulator({ buckets: ["ckpt"] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
   * const writer = new OssCheckpointWriter({ client, bucket: "ckpt", key: "step-7.bin", partSize: 1 << 20 });
   * await writer.writeAll(new Blob([new Uint8Array(5 << 20)]).stream());
   * expect([writer.stats.partsUploaded, (await server.store.head("ckpt", "step-7.bin"))?.size]).toEqual([5, 5242880]);
   * await server.close();
   * ```
   */
  async writeAll(source: ReadableStream<Uint8Array> | Blob | Uint8Array): Promise<void> {
    if (!(source instanceof ReadableStream || source instanceof Blob || source instanceof Uint8Array)) {
      throw new TypeError(
        `OssCheckpointWriter.writeAll: source: expected a ReadableStream<Uint8Array>, Blob or Uint8Array, got ${
          describe(source)
        }`,
      );
    }
    if (source instanceof ReadableStream && source.locked) {
      throw new TypeError("OssCheckpointWriter.writeAll: source: the stream is locked to another reader");
    }
    await this.#writeWith(async () => {
      if (source instanceof Uint8Array) return await this.#sink.write(source);
      if (source instanceof Blob && this.#sink.slicesSize(source.size)) {
        return await this.#sink.fillFromRanges(
          source.size,
          (start, end) => source.slice(start, end).stream(),
        );
      }
      return await this.#fillFrom(source instanceof Blob ? source.stream() : source);
    });
  }

  /**
   * Saves the file at `path` (`info`: its size and time when the save began): over one part, where parts can be
   * streamed, each part is read from the file as it is sent and read again on a retry (no part buffers);
   * otherwise the file is read into part buffers like a byte stream. A file whose size or modification time
   * differs before the upload is completed fails the save with an {@linkcode IntegrityError}, the upload
   * aborted.
   */
  async #writeFile(path: string, info: FileInfo): Promise<void> {
    await this.#writeWith(async () => {
      const sink = this.#sink;
      sink.checkSourceWith(async () => {
        const now = await fileInfo(path);
        const read = sink.stats.bytesWritten;
        if (now.size === info.size && now.mtimeMs === info.mtimeMs && read === info.size) return;
        throw new IntegrityError(
          `${sink.label}: file "${path}" changed during the save: ${info.size} bytes when it began, ` +
            `${now.size} now${now.mtimeMs !== info.mtimeMs ? " (modified meanwhile)" : ""}, ${read} read; ` +
            `nothing was saved`,
          { key: path, expected: String(info.size), actual: String(now.size) },
        );
      });
      if (!sink.slicesSize(info.size)) return await this.#fillFrom(await openFileStream(path));
      await sink.fillFromRanges(
        info.size,
        (start, end, onError) => fileRangeStream(path, start, end, { chunkSize: fileSlice(), onError }),
      );
    });
  }

  static {
    writeFileImpl = (writer, path, info) => writer.#writeFile(path, info);
  }

  /** Runs `fill` (which feeds the sink), then closes the writer; on failure aborts it and rethrows. */
  async #writeWith(fill: () => Promise<void>): Promise<void> {
    const w = this.getWriter();
    try {
      await w.write(new Uint8Array(0)); // queued until start() has finished (and rejects if it failed)
      await fill();
      await w.close();
    } catch (err) {
      await w.abort(err).catch(() => {});
      throw err;
    } finally {
      w.releaseLock();
    }
  }

  /** Feeds `stream` to the sink: a byte stream read straight into part buffers, any other piped through write(). */
  async #fillFrom(stream: ReadableStream<Uint8Array>): Promise<void> {
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: read it chunk by chunk.
    }
    if (byob === undefined) {
      for await (const chunk of stream) await this.#sink.write(chunk);
      return;
    }
    try {
      await this.#sink.fill(byob);
    } catch (err) {
      await byob.cancel(err).catch(() => {});
      throw err;
    } finally {
      byob.releaseLock();
    }
  }
}

/**
 * Saves the local file at `path` through `writer` (not yet written to) and closes it: what
 * `OssCheckpoint.save(uri, { path })` does. `info` is the file's {@linkcode fileInfo} from before the writer
 * was made (its size served as the size hint); the save fails if the file no longer matches it.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../client.ts";
 * import { fileInfo } from "../file_range.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { OssCheckpointWriter, writeFileTo } from "./writer.ts";
 * const server = await serveEmulator({ buckets: ["ckpt"] });
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(3 << 20).fill(1));
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * const writer = new OssCheckpointWriter({ client, bucket: "ckpt", key: "f.bin", partSize: 1 << 20 });
 * await writeFileTo(writer, path, await fileInfo(path));
 * expect([writer.stats.partsUploaded, writer.stats.peakBufferedBytes]).toEqual([3, 0]);
 * await server.close();
 * ```
 */
export function writeFileTo(writer: OssCheckpointWriter, path: string, info: FileInfo): Promise<void> {
  return writeFileImpl(writer, path, info);
}

/** The underlying sink: the state of one upload. */
class MultipartSink {
  readonly stats: CheckpointWriterStats = {
    bytesWritten: 0,
    partSize: 0,
    partsUploaded: 0,
    uploadsInFlight: 0,
    peakUploadsInFlight: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
  };

  #init!: CheckpointWriterInit;
  #client!: OssClient;
  #send!: SendPartOptions;
  #label = "";
  #schedule!: PartSchedule;
  #concurrency = 1;
  #controller!: WritableStreamDefaultController;
  /** Aborts in-flight part uploads when the upload fails. */
  readonly #ac = new AbortController();
  #detach: () => void = () => {};

  #initiating?: Promise<string>;
  /** Set when InitiateMultipartUpload was retried: an earlier attempt may have created an upload too. */
  #initiateRetried = false;
  #initiateStartedAt = 0;
  #uploadId?: string;
  #completed = false;
  #cur?: Uint8Array;
  #curLen = 0;
  /** Size of the part buffer a BYOB read holds now (0 when none): see fill(). */
  #lent = 0;
  #nextPart = 1;
  readonly #pool = new PartPool(this.stats);
  readonly #inflight = new Set<Promise<void>>();
  readonly #parts: UploadedPart[] = [];

  /** Runs before the upload is completed: fails the save when its source changed (see checkSourceWith). */
  #checkSource: () => Promise<void> = () => Promise.resolve();

  #failed = false;
  #error: unknown;
  #cleanup: Promise<void> = Promise.resolve();

  async start(
    init: CheckpointWriterInit | Promise<CheckpointWriterInit>,
    controller: WritableStreamDefaultController,
  ): Promise<void> {
    this.#controller = controller;
    this.#init = await init;
    const { client, bucket, key, signal } = this.#init;
    if (typeof bucket !== "string" || bucket === "") {
      throw new TypeError(
        `OssCheckpointWriter: bucket: expected a bucket name, got ${JSON.stringify(bucket)}`,
      );
    }
    if (typeof key !== "string" || key === "") {
      throw new TypeError(`OssCheckpointWriter: key: expected an object key, got ${JSON.stringify(key)}`);
    }
    this.#client = client;
    this.#label = this.#init.uri ?? `oss://${bucket}/${key}`;
    this.#schedule = new PartSchedule(this.#init.partSize ?? DEFAULT_PART_SIZE, this.#init.sizeHint);
    this.#concurrency = checkPositiveInteger(
      this.#init.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
      "uploadConcurrency",
    );
    this.#send = {
      // S3 refuses chunked bodies: it gets streams only where they can go with a Content-Length.
      stream: requestStreamsWork() && (client.signatureVersion !== "s3v4" || sizedBodyMethod() !== "none"),
      retry: resolveRetryOptions(this.#init.retry),
      signal: this.#ac.signal,
      bucket,
      key,
    };
    this.stats.partSize = this.#schedule.base;
    signal?.throwIfAborted();
    // controller.signal fires on abort() at once, even while a write() waits for a free upload slot.
    const onAbort = (ev: Event) => this.#fail((ev.target as AbortSignal).reason);
    signal?.addEventListener("abort", onAbort);
    controller.signal.addEventListener("abort", onAbort);
    this.#detach = () => {
      signal?.removeEventListener("abort", onAbort);
      controller.signal.removeEventListener("abort", onAbort);
    };
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#guard(async () => {
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError(
          `${this.#label}: checkpoint writer expects Uint8Array chunks, got ${describe(chunk)}`,
        );
      }
      await this.#append(chunk);
    });
  }

  /**
   * Reads `reader` to its end straight into the part buffers (no copy, no chunk allocated per read); parts
   * go out as with write(). A failure of the upload cancels the source.
   */
  fill(reader: ReadableStreamBYOBReader): Promise<void> {
    return this.#guard(async () => {
      const stop = () => reader.cancel(this.#error).catch(() => {});
      this.#ac.signal.addEventListener("abort", stop);
      try {
        for (;;) {
          if (this.#cur !== undefined && this.#curLen === this.#cur.length) {
            // A full part goes out only once more bytes follow (see #append): look ahead by a little.
            const { done, value } = await reader.read(new Uint8Array(PEEK_BYTES));
            this.#throwIfFailed();
            if (done) return;
            await this.#append(value);
            continue;
          }
          const cur = this.#cur ?? this.#pool.acquire(this.#schedule.sizeOf(this.#nextPart));
          // The read transfers the buffer: while it runs, the writer holds no view of it (#lent counts it).
          this.#cur = undefined;
          this.#lent = cur.length;
          const { done, value } = await reader.read(cur.subarray(this.#curLen));
          this.#throwIfFailed();
          if (value === undefined) {
            throw new TypeError(`${this.#label}: the source stream gave no buffer back from a BYOB read`);
          }
          this.#cur = new Uint8Array(value.buffer, 0, this.#lent);
          this.#lent = 0;
          this.#curLen += value.length;
          this.stats.bytesWritten += value.length;
          if (done) return;
        }
      } finally {
        this.#ac.signal.removeEventListener("abort", stop);
      }
    });
  }

  /** How the target is named in messages (`oss://bucket/key`). */
  get label(): string {
    return this.#label;
  }

  /** Sets a check that runs once every part is uploaded, before the upload is completed (or the single PUT). */
  checkSourceWith(check: () => Promise<void>): void {
    this.#checkSource = check;
  }

  /**
   * Whether a source of `size` bytes that can be opened at any range goes up range by range (see
   * fillFromRanges): over one part, to OSS, nothing written yet.
   */
  slicesSize(size: number): boolean {
    return this.#send.stream && this.stats.bytesWritten === 0 && size > this.#schedule.sizeOf(1);
  }

  /**
   * Uploads `size` bytes part by part, each part sent as a stream from `open(start, end)` (opened again on a
   * retry): no part buffers at all. A stream that fails calls its `onError` first: that error, not the
   * request's, fails the save, without retries. Parts and their CRC-64s are then completed by close() like any
   * others.
   */
  fillFromRanges(
    size: number,
    open: (start: number, end: number, onError: (err: unknown) => void) => ReadableStream<Uint8Array>,
  ): Promise<void> {
    return this.#guard(async () => {
      for (let start = 0; start < size;) {
        const uploadId = await this.#slot();
        const from = start, to = Math.min(size, start + this.#schedule.sizeOf(this.#nextPart));
        start = to;
        this.stats.bytesWritten += to - from;
        this.#start(
          (partNumber) =>
            this.#uploadRange(uploadId, partNumber, to - from, (onError) => open(from, to, onError)),
          () => {},
        );
      }
    });
  }

  /** Copies `chunk` into part buffers, handing full parts to uploads. */
  async #append(chunk: Uint8Array): Promise<void> {
    this.stats.bytesWritten += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      // A full part goes out only once more bytes follow: the last part is never empty, and an object of
      // at most one part needs no multipart upload at all.
      if (this.#cur !== undefined && this.#curLen === this.#cur.length) await this.#dispatch();
      this.#cur ??= this.#pool.acquire(this.#schedule.sizeOf(this.#nextPart));
      const n = Math.min(chunk.length - offset, this.#cur.length - this.#curLen);
      this.#cur.set(chunk.subarray(offset, offset + n), this.#curLen);
      this.#curLen += n;
      offset += n;
    }
  }

  close(): Promise<void> {
    return this.#guard(async () => {
      const { bucket, key } = this.#init;
      const signal = this.#ac.signal;
      if (this.#initiating === undefined) {
        await this.#checkSource();
        const body = this.#cur?.subarray(0, this.#curLen) ?? new Uint8Array(0);
        const [expected, md5] = await Promise.all([crc64(body), contentMd5(body)]);
        // With its Content-MD5 a body that changed on the way is refused before it replaces the object. Where
        // there is no MD5 (no WebAssembly) put() compares CRC-64s after the fact: a corrupt object is deleted.
        const put = await sendPart(
          body,
          this.#send,
          (b, stream) =>
            this.#client.put(bucket, key, b, { signal, stream, contentMd5: md5, size: body.length }),
        ).catch(async (err) => {
          if (err instanceof IntegrityError) await this.#deleteCorrupt();
          throw err;
        });
        this.#completed = true;
        this.#releaseAll();
        await this.#verify(expected, put.crc64, body.length);
        this.stats.crc64 = expected;
        return;
      }
      if (this.#curLen > 0) await this.#dispatch();
      while (this.#inflight.size > 0) await Promise.race(this.#inflight);
      this.#throwIfFailed();
      await this.#checkSource();
      const uploadId = this.#uploadId!;
      const parts = this.#parts;
      for (let i = 0; i < this.#nextPart - 1; i++) {
        if (parts[i]?.partNumber !== i + 1) {
          throw new Error(`${this.#label}: internal error: part ${i + 1} missing`);
        }
      }
      let expected = parts[0].crc;
      for (let i = 1; i < parts.length; i++) expected = crc64Combine(expected, parts[i].crc, parts[i].size);
      const size = parts.reduce((sum, p) => sum + p.size, 0);
      let reported: string | undefined;
      try {
        const done = await this.#client.completeMultipart(
          bucket,
          key,
          uploadId,
          parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
          { signal },
        );
        reported = done.crc64;
      } catch (err) {
        // A retried Complete whose first attempt succeeded finds the upload gone: the object is there. When
        // every answer was lost, the object may still hold exactly these bytes: only then is the save done.
        const completedUnseen = (err instanceof OssError && err.code === "NoSuchUpload") ||
          await this.#storedObjectIs(expected, size);
        if (!completedUnseen) throw err;
      }
      this.#completed = true;
      this.#releaseAll();
      await this.#sweepDuplicateUploads(uploadId);
      await this.#verify(expected, reported, size);
      this.stats.crc64 = expected;
    });
  }

  async abort(reason: unknown): Promise<void> {
    this.#fail(reason);
    await this.#cleanup;
    // Only an upload that could not be aborted makes abort() reject (see #fail).
    if (this.#error instanceof AggregateError) throw this.#error;
  }

  /** Runs a sink operation; any failure aborts the upload first, then rejects with the failure. */
  async #guard(op: () => Promise<void>): Promise<void> {
    if (!this.#failed) {
      try {
        await op();
        if (this.#completed) this.#detach();
        return;
      } catch (err) {
        this.#fail(err);
      }
    }
    await this.#cleanup;
    throw this.#error;
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }

  /** Hands the full current part to an upload task once a slot is free. */
  async #dispatch(): Promise<void> {
    const uploadId = await this.#slot();
    const buf = this.#cur!;
    const body = buf.subarray(0, this.#curLen);
    this.#cur = undefined;
    this.#curLen = 0;
    this.#start((partNumber) => this.#uploadPart(uploadId, partNumber, body), () => this.#pool.release(buf));
  }

  /** Waits for a free upload slot and for the upload id (initiating the upload the first time). */
  async #slot(): Promise<string> {
    while (this.#inflight.size >= this.#concurrency) {
      await Promise.race(this.#inflight);
      this.#throwIfFailed();
    }
    this.#throwIfFailed();
    if (this.#initiating === undefined) {
      // Not abortable on purpose: an upload created on the server must be known so that it can be aborted.
      this.#initiateStartedAt = Date.now();
      this.#initiating = this.#client.initiateMultipart(this.#init.bucket, this.#init.key, {
        onRetry: () => {
          this.#initiateRetried = true;
        },
      });
      this.#initiating.catch(() => {});
    }
    const uploadId = this.#uploadId = await this.#initiating;
    this.stats.uploadId = uploadId;
    this.#throwIfFailed();
    return uploadId;
  }

  /** Runs `upload` as the task of the next part number; `settled` runs when it has ended, however it ended. */
  #start(upload: (partNumber: number) => Promise<void>, settled: () => void): void {
    const partNumber = this.#nextPart++;
    const task: Promise<void> = upload(partNumber)
      .catch((err) => this.#fail(err))
      .finally(() => {
        settled();
        this.#inflight.delete(task);
        this.stats.uploadsInFlight = this.#inflight.size;
      });
    this.#inflight.add(task);
    this.stats.uploadsInFlight = this.#inflight.size;
    this.stats.peakUploadsInFlight = Math.max(this.stats.peakUploadsInFlight, this.#inflight.size);
  }

  async #uploadPart(uploadId: string, partNumber: number, body: Uint8Array): Promise<void> {
    const { bucket, key } = this.#init;
    const crc = await crc64(body);
    await this.#sendChecked(partNumber, body.length, async () => {
      const signal = this.#ac.signal;
      const reply = await sendPart(
        body,
        this.#send,
        (b, stream) =>
          this.#client.uploadPart(bucket, key, uploadId, partNumber, b, {
            signal,
            stream,
            size: body.length,
          }),
      );
      return { reply, crc };
    });
  }

  /**
   * Uploads one part of `size` bytes as streams from `open` (one per attempt), its CRC-64 computed as it goes.
   * When the source stream fails, its error (not the request's) fails the part, and it is not retried.
   */
  async #uploadRange(
    uploadId: string,
    partNumber: number,
    size: number,
    open: (onError: (err: unknown) => void) => ReadableStream<Uint8Array>,
  ): Promise<void> {
    const { bucket, key } = this.#init;
    await this.#sendChecked(partNumber, size, async () => {
      const signal = this.#ac.signal;
      let crc: Promise<string> | undefined;
      let sourceError: unknown;
      const reply = await sendStreams(
        () => {
          const tap = crc64Tap(open((err) => sourceError ??= err));
          crc = tap.digest;
          return tap.stream;
        },
        this.#send,
        (body) =>
          this.#client.uploadPart(bucket, key, uploadId, partNumber, body, { signal, stream: true, size })
            .catch((err) => {
              throw sourceError ?? err;
            }),
      );
      return { reply, crc: await crc! };
    });
  }

  /**
   * Sends part `partNumber` with `send` (which resolves with the server's reply and the CRC-64 of the bytes
   * sent) until the server's CRC-64 agrees, then records the part.
   */
  async #sendChecked(
    partNumber: number,
    size: number,
    send: () => Promise<{ reply: { etag: string; crc64?: string }; crc: string }>,
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const { reply, crc } = await send();
      if (reply.crc64 !== undefined && reply.crc64 !== crc) {
        if (attempt < PART_CRC_ATTEMPTS) continue;
        throw new IntegrityError(
          `${this.#label}: part ${partNumber} arrived corrupted ${attempt} times: CRC-64 computed ${crc}, server reports ${reply.crc64}`,
          { key: this.#init.key, expected: crc, actual: reply.crc64 },
        );
      }
      this.#parts[partNumber - 1] = { partNumber, etag: reply.etag, crc, size };
      this.stats.partsUploaded++;
      return;
    }
  }

  /** Whether the stored object has exactly `size` bytes with CRC-64 `crc` (false when that cannot be told). */
  async #storedObjectIs(crc: string, size: number): Promise<boolean> {
    try {
      const meta = await this.#client.head(this.#init.bucket, this.#init.key, { signal: this.#ac.signal });
      return meta.size === size && meta.crc64 === crc;
    } catch {
      return false;
    }
  }

  /**
   * After a retried InitiateMultipartUpload, aborts other uploads of this key that started since this writer
   * initiated (one minute of clock skew allowed): the lost first attempt created one, and nobody else knows
   * its id. An attempt that reaches the server after this sweep still leaves an upload behind; a bucket
   * lifecycle rule that aborts incomplete uploads is the backstop for that.
   */
  async #sweepDuplicateUploads(ownUploadId: string | undefined): Promise<void> {
    if (!this.#initiateRetried) return;
    const { bucket, key } = this.#init;
    const since = this.#initiateStartedAt - 60_000;
    try {
      for (const u of await this.#client.listUploads(bucket, { prefix: key })) {
        if (u.key !== key || u.uploadId === ownUploadId) continue;
        if (u.initiated !== undefined && u.initiated.getTime() < since) continue;
        await this.#client.abortMultipart(bucket, key, u.uploadId).catch(() => {});
      }
    } catch {
      // Best effort: the save itself is unaffected.
    }
  }

  /**
   * Checks the stored object's CRC-64; a mismatching object is deleted (see the class comment). A reported CRC-64
   * that differs is asked again with a HEAD first: the answer may have been garbled on the way while the object,
   * its body checked by Content-MD5 or part by part, is right.
   */
  async #verify(expected: string, reported: string | undefined, size: number): Promise<void> {
    const { bucket, key } = this.#init;
    let actual = reported;
    if (actual === undefined || actual !== expected) {
      const meta = await this.#client.head(bucket, key, { signal: this.#ac.signal });
      if (meta.size !== size) {
        await this.#deleteCorrupt();
        throw new IntegrityError(
          `${this.#label}: stored object has ${meta.size} bytes, ${size} were written; the object was deleted`,
          { key, expected: String(size), actual: String(meta.size) },
        );
      }
      actual = meta.crc64 ?? reported;
    }
    if (actual === undefined || actual === expected) return; // a store without CRC-64 gives nothing to check
    await this.#deleteCorrupt();
    throw new IntegrityError(
      `${this.#label}: CRC-64 mismatch: computed ${expected} over the bytes written, server reports ${actual}; the object was deleted`,
      { key, expected, actual },
    );
  }

  async #deleteCorrupt(): Promise<void> {
    try {
      await this.#client.delete(this.#init.bucket, this.#init.key);
    } catch {
      // The IntegrityError that follows matters more than a failed cleanup.
    }
  }

  /**
   * Records the first failure, stops in-flight parts and aborts the multipart upload. Idempotent; `#cleanup`
   * settles when the upload is gone. Only then is the stream errored, so a rejected write()/close() means the
   * server is already clean.
   */
  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = err;
    this.#ac.abort(err);
    this.#cleanup = (async () => {
      await Promise.allSettled([...this.#inflight, this.#initiating]);
      const uploadId = this.#uploadId ?? await this.#initiating?.catch(() => undefined);
      await this.#sweepDuplicateUploads(uploadId);
      if (uploadId !== undefined && !this.#completed) {
        try {
          await this.#client.abortMultipart(this.#init.bucket, this.#init.key, uploadId);
        } catch (abortErr) {
          if (!(abortErr instanceof OssError && abortErr.code === "NoSuchUpload")) {
            this.#error = new AggregateError(
              [err, abortErr],
              `${this.#label}: the upload failed and aborting multipart upload ${uploadId} failed too; its parts may remain`,
            );
          }
        }
      }
      this.#releaseAll();
      this.#detach();
      try {
        this.#controller.error(this.#error);
      } catch {
        // already errored
      }
    })();
  }

  /** Drops every part buffer; buffers of uploads still settling are dropped as they come back. */
  #releaseAll(): void {
    this.#pool.close();
    if (this.#cur !== undefined) this.#pool.drop(this.#cur);
    if (this.#lent > 0) this.#pool.drop(this.#lent); // a read still holds it: it is not coming back
    this.#cur = undefined;
    this.#lent = 0;
    this.#curLen = 0;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}

/**
 * How much of a file one read of a streamed part takes: {@linkcode FILE_SLICE} where parts go with a
 * Content-Length, else {@linkcode STREAM_SLICE} (each read then becomes one chunk frame on the wire).
 */
function fileSlice(): number {
  return sizedBodyMethod() === "none" ? STREAM_SLICE : FILE_SLICE;
}
