/**
 * {@linkcode OssCheckpointReader}: a `ReadableStream<Uint8Array>` that loads a checkpoint with ranged GETs in
 * parallel, delivers the ranges strictly in order, and verifies the object's CRC-64 at the end.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import { BYTES_MAX } from "../request.ts";
import { Crc64 } from "../crc64.ts";
import { IntegrityError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { checkPartSize, checkPositiveInteger, DEFAULT_PART_SIZE } from "./part_size.ts";

/** Default number of ranges fetched at once (`checkpointConfig.prefetchConcurrency` of the OSS connector). */
export const DEFAULT_PREFETCH_CONCURRENCY = 24;

/** What an {@linkcode OssCheckpointReader} reads and how. */
export interface CheckpointReaderInit {
  /** The client that sends every request (and retries or resumes failed ones). */
  client: OssClient;
  /** Bucket of the checkpoint. */
  bucket: string;
  /** Object key of the checkpoint. */
  key: string;
  /** Bytes per ranged GET (and per chunk delivered), from 100 KiB to 5 GiB. Default 8 MiB. */
  partSize?: number;
  /** Most ranges fetched or held ahead of the consumer at once. Default 24. */
  prefetchConcurrency?: number;
  /** Aborting it stops every request and errors the stream with the signal's reason. */
  signal?: AbortSignal;
  /** How the object is named in messages. Default `oss://bucket/key`. */
  uri?: string;
  /**
   * The ETag the object must have (e.g. the one an earlier read saw): another version fails with an
   * {@linkcode IntegrityError} before any byte is delivered. Default: whichever version the HEAD sees.
   */
  ifMatch?: string;
  /**
   * The object's size, ETag and CRC-64 when an earlier read of this version told them (a ranged GET does): the
   * reader then skips its HEAD and checks every range against this ETag and the bytes against this CRC-64.
   */
  object?: KnownObject;
}

/**
 * What a HEAD would tell about an object, when already known (see {@linkcode CheckpointReaderInit.object}).
 */
export interface KnownObject {
  /** Size in bytes. */
  size: number;
  /** ETag, quotes included. */
  etag: string;
  /** CRC-64 of the whole object (`x-oss-hash-crc64ecma`). */
  crc64: string;
}

/**
 * Live counters of an {@linkcode OssCheckpointReader}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { CheckpointReaderStats } from "./reader.ts";
 * const progress = (s: CheckpointReaderStats) => `${(100 * s.bytesDelivered) / s.size}% of ${s.size} bytes`;
 * const stats = { size: 300_000, bytesDelivered: 150_000, rangesRequested: 2 };
 * expect(progress({ ...stats, bufferedBytes: 0, peakBufferedBytes: 204_800 })).toEqual("50% of 300000 bytes");
 * ```
 */
export interface CheckpointReaderStats {
  /** Object size from HEAD; -1 until known. */
  size: number;
  /** Bytes handed to the consumer. */
  bytesDelivered: number;
  /** Ranged GETs started. */
  rangesRequested: number;
  /** Bytes of range buffers held now (being filled or waiting for the consumer). */
  bufferedBytes: number;
  /**
   * Most bytes of range buffers ever held: at most `partSize × (prefetchConcurrency + 1)` — the window plus the
   * range being handed over (the next range starts as soon as one is taken).
   */
  peakBufferedBytes: number;
}

interface Range {
  index: number;
  start: number;
  end: number; // inclusive
}

/**
 * Loads one checkpoint object. A HEAD gives the size, ETag and CRC-64; then ranges of `partSize` bytes are
 * fetched `prefetchConcurrency` at a time and enqueued in order, one chunk per range. A consumer that stops
 * reading stops the fetching once `prefetchConcurrency` ranges wait for it, so memory stays within
 * `partSize × (prefetchConcurrency + 1)`. Each range must come from the
 * object the HEAD saw (same ETag) and have the expected length. When the server reported a CRC-64, the one
 * computed over all bytes must equal it: otherwise the stream errors with an {@linkcode IntegrityError}
 * instead of delivering the last chunk. Cancelling the stream aborts every request in flight.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { OssCheckpointReader } from "./reader.ts";
 * const server = await serveEmulator({ buckets: ["ckpt"] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * await client.put("ckpt", "step-100.bin", new Uint8Array(300_000).fill(7));
 * const reader = new OssCheckpointReader({ client, bucket: "ckpt", key: "step-100.bin", partSize: 100 * 1024 });
 * const bytes = new Uint8Array(await new Response(reader).arrayBuffer()); // 3 ranges in parallel, CRC-64 checked
 * expect([bytes.length, reader.stats.rangesRequested]).toEqual([300000, 3]);
 * await server.close();
 * ```
 */
export class OssCheckpointReader extends ReadableStream<Uint8Array> {
  /** Live counters: size, bytes delivered, buffered bytes. */
  readonly stats: CheckpointReaderStats;

  /** A reader of the object `init` names; the HEAD and the first ranges start when the stream is first read. */
  constructor(init: CheckpointReaderInit | Promise<CheckpointReaderInit>) {
    const source = new RangedSource();
    super({
      start: (controller) => source.start(init, controller),
      pull: (controller) => source.pull(controller),
      cancel: (reason) => source.cancel(reason),
    }, { highWaterMark: 0 });
    this.stats = source.stats;
  }
}

class RangedSource {
  readonly stats: CheckpointReaderStats = {
    size: -1,
    bytesDelivered: 0,
    rangesRequested: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
  };
  readonly #ac = new AbortController();
  #init!: CheckpointReaderInit;
  #label = "";
  #etag = "";
  #expectedCrc?: string;
  #crc!: Crc64;
  #ranges!: AsyncGenerator<Uint8Array, void, undefined>;
  #remaining = 0;
  #detach: () => void = () => {};
  #started?: Promise<void>;

  start(
    init: CheckpointReaderInit | Promise<CheckpointReaderInit>,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    // Cloudflare workerd calls pull() while an async start() still runs if a read is already waiting (the
    // Streams spec says it must not), so pull() waits for it.
    return this.#started = this.#start(init, controller);
  }

  async #start(
    init: CheckpointReaderInit | Promise<CheckpointReaderInit>,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    this.#init = await init;
    const { client, bucket, key, signal } = this.#init;
    if (typeof bucket !== "string" || bucket === "") {
      throw new TypeError(
        `OssCheckpointReader: bucket: expected a bucket name, got ${JSON.stringify(bucket)}`,
      );
    }
    if (typeof key !== "string" || key === "") {
      throw new TypeError(`OssCheckpointReader: key: expected an object key, got ${JSON.stringify(key)}`);
    }
    this.#label = this.#init.uri ?? `oss://${bucket}/${key}`;
    const rangeSize = checkPartSize(this.#init.partSize ?? DEFAULT_PART_SIZE);
    const concurrency = checkPositiveInteger(
      this.#init.prefetchConcurrency ?? DEFAULT_PREFETCH_CONCURRENCY,
      "prefetchConcurrency",
    );
    signal?.throwIfAborted();
    const onAbort = () => {
      this.#ac.abort(signal!.reason);
      try {
        controller.error(signal!.reason);
      } catch {
        // already closed or errored
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#detach = () => signal?.removeEventListener("abort", onAbort);

    const meta = this.#init.object ?? await client.head(bucket, key, { signal: this.#ac.signal });
    const pinned = this.#init.ifMatch;
    if (pinned !== undefined && meta.etag !== pinned) {
      throw new IntegrityError(
        `${this.#label}: the object changed since it was first read (ETag ${pinned}, now ${meta.etag})`,
        { key, expected: pinned, actual: meta.etag },
      );
    }
    this.stats.size = meta.size;
    this.#etag = meta.etag;
    this.#expectedCrc = meta.crc64;
    this.#crc = await Crc64.create();
    const ranges: Range[] = [];
    for (let start = 0, index = 0; start < meta.size; start += rangeSize, index++) {
      ranges.push({ index, start, end: Math.min(meta.size, start + rangeSize) - 1 });
    }
    this.#remaining = ranges.length;
    this.#ranges = prefetch(ranges, (r, ctx) => this.#fetchRange(r, ctx.signal), {
      concurrency,
      maxPending: concurrency, // ranges running plus ranges waiting for the consumer
      signal: this.#ac.signal,
    });
  }

  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      await this.#started;
      if (this.#remaining === 0) {
        this.#finish();
        controller.close();
        return;
      }
      const next = await this.#ranges.next();
      if (next.done) throw new Error(`${this.#label}: internal error: ranges ended early`);
      const bytes = next.value;
      this.#remaining--;
      this.#crc.update(bytes);
      this.#account(-bytes.length);
      this.stats.bytesDelivered += bytes.length;
      if (this.#remaining === 0) this.#finish(); // throws instead of delivering the last chunk
      controller.enqueue(bytes);
      if (this.#remaining === 0) controller.close();
    } catch (err) {
      await this.#stop(err);
      throw err;
    }
  }

  async cancel(reason: unknown): Promise<void> {
    await this.#stop(reason);
  }

  #finish(): void {
    this.#detach();
    const expected = this.#expectedCrc;
    if (expected === undefined) return;
    const actual = this.#crc.digest();
    if (actual !== expected) {
      throw new IntegrityError(
        `${this.#label}: CRC-64 mismatch: server reports ${expected}, computed ${actual} over the ${this.stats.bytesDelivered} bytes read`,
        { key: this.#init.key, expected, actual },
      );
    }
  }

  /** Aborts every range request and waits until they have settled. */
  async #stop(reason: unknown): Promise<void> {
    this.#detach();
    if (!this.#ac.signal.aborted) this.#ac.abort(reason);
    await this.#ranges?.return().catch(() => {});
    this.stats.bufferedBytes = 0; // ranges fetched but never delivered are dropped
  }

  async #fetchRange(range: Range, signal: AbortSignal): Promise<Uint8Array> {
    const { client, bucket, key } = this.#init;
    this.stats.rangesRequested++;
    const length = range.end - range.start + 1;
    this.#account(length);
    let filled = false;
    try {
      if (length <= BYTES_MAX) {
        // One buffer, filled as the body arrives, no stream in between; a broken body is fetched again whole.
        const res = await client.getBytes(bucket, key, {
          range: { start: range.start, end: range.end },
          signal,
        });
        this.#checkEtag(res.etag);
        this.#expectedCrc ??= res.crc64;
        filled = true;
        return res.bytes;
      }
      const buf = new Uint8Array(length);
      const res = await client.get(bucket, key, { range: { start: range.start, end: range.end }, signal });
      try {
        this.#checkEtag(res.etag);
      } catch (err) {
        await res.body.cancel().catch(() => {});
        throw err;
      }
      this.#expectedCrc ??= res.crc64;
      let offset = 0;
      for await (const chunk of res.body) {
        if (offset + chunk.length > length) {
          throw new IntegrityError(
            `${this.#label}: range ${range.start}-${range.end} returned more than ${length} bytes`,
            { key, expected: String(length) },
          );
        }
        buf.set(chunk, offset);
        offset += chunk.length;
      }
      if (offset !== length) {
        throw new IntegrityError(
          `${this.#label}: range ${range.start}-${range.end} returned ${offset} bytes, expected ${length}`,
          { key, expected: String(length), actual: String(offset) },
        );
      }
      filled = true;
      return buf;
    } finally {
      if (!filled) this.#account(-length);
    }
  }

  /** Throws an IntegrityError when a range came from another version of the object than the HEAD saw. */
  #checkEtag(etag: string): void {
    if (this.#etag !== "" && etag !== "" && etag !== this.#etag) {
      throw new IntegrityError(
        `${this.#label}: the object changed while it was read (ETag ${this.#etag}, then ${etag})`,
        { key: this.#init.key, expected: this.#etag, actual: etag },
      );
    }
  }

  #account(delta: number): void {
    this.stats.bufferedBytes += delta;
    this.stats.peakBufferedBytes = Math.max(this.stats.peakBufferedBytes, this.stats.bufferedBytes);
  }
}
