/**
 * The records the stores keep, and what they do with them: objects as sequences of blob segments,
 * reading a byte range across segments, keeping blobs alive while they are read (pins), resolving
 * `Range` requests, and assembling multipart parts into an object.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import { crc64Combine } from "../../crc64.ts";
import { md5OfMd5s } from "../http/digest_stream.ts";
import type { ByteRange, CompletePart, ObjectHeaders, ObjectMeta, PartInfo, UploadInfo } from "./types.ts";

/**
 * A stored byte sequence; objects are one or more segments read in order.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readSegmentBytes, type Segment } from "./records.ts";
 * const segments: Segment[] = [{ id: "a", size: 3 }, { id: "b", size: 2 }];
 * const read = (s: Segment, from: number, to: number) => Promise.resolve(new Uint8Array(to - from).fill(s.size));
 * expect(await readSegmentBytes(segments, 2, 4, read)).toEqual(new Uint8Array([3, 2]));
 * ```
 */
export interface Segment {
  /** Backend id of the blob. */
  id: string;
  /** Bytes of the blob that belong to the object. */
  size: number;
}

/**
 * An uploaded part and its blob.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { assembleParts, type PartRecord } from "./records.ts";
 * const etag = "5d41402abc4b2a76b9719d911017c592"; // MD5 of "hello"
 * const part: PartRecord = { partNumber: 1, etag, size: 5, crc64: "0", lastModified: 0, blob: { id: "x", size: 5 } };
 * const r = await assembleParts(new Map([[1, part]]), [{ partNumber: 1, etag }], 0, {});
 * expect([r.size, r.parts[0].blob.id]).toEqual([5, "x"]);
 * ```
 */
export interface PartRecord extends PartInfo {
  /** Where the part's bytes live. */
  blob: Segment;
}

/**
 * A committed object: its metadata and where its bytes live.
 */
export interface ObjectRecord {
  /** Metadata reported by HEAD/GET/list. */
  meta: ObjectMeta;
  /** The object's bytes, in order. */
  segments: Segment[];
}

/**
 * A multipart upload in progress.
 */
export interface UploadRecord extends UploadInfo {
  /** Content type given at initiation, applied on completion. */
  contentType: string;
  /** User metadata given at initiation, applied on completion. */
  userMeta: Record<string, string>;
  /** Standard headers given at initiation, applied on completion. */
  headers?: ObjectHeaders;
  /** Uploaded parts by part number. */
  parts: Map<number, PartRecord>;
}

/**
 * `{ headers }` (a copy) when `from` carries standard headers, else an empty object: spread into a record so
 * records without headers have no empty field.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { headersOf } from "./records.ts";
 * expect([headersOf({ headers: { expires: "0" } }), headersOf({ headers: {} })]).toEqual([{ headers: { expires: "0" } }, {}]);
 * ```
 */
export function headersOf(from: { headers?: ObjectHeaders }): { headers?: ObjectHeaders } {
  return from.headers && Object.keys(from.headers).length > 0 ? { headers: { ...from.headers } } : {};
}

/**
 * A bucket and its objects.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { BucketRecord } from "./records.ts";
 * const bucket: BucketRecord = { created: Date.UTC(2024, 0, 1), objects: new Map() };
 * expect([new Date(bucket.created).toISOString(), bucket.objects.size]).toEqual(["2024-01-01T00:00:00.000Z", 0]);
 * ```
 */
export interface BucketRecord {
  /** Creation time, epoch ms. */
  created: number;
  /** Committed objects by key. */
  objects: Map<string, ObjectRecord>;
  /** Keys in UTF-8 order; undefined when it must be rebuilt. */
  sorted?: string[];
}

/**
 * Everything a backend restores at start.
 */
export interface StoreState {
  /** Buckets by name. */
  buckets: Map<string, BucketRecord>;
  /** Uploads in progress by upload id. */
  uploads: Map<string, UploadRecord>;
}

/**
 * Reference counts of blobs being read, so that a blob replaced or deleted meanwhile is only removed
 * once its last reader is done.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { BlobPins } from "./records.ts";
 * const deleted: string[] = [];
 * const pins = new BlobPins((id) => void deleted.push(id));
 * const unpin = pins.pin([{ id: "a", size: 1 }]);
 * pins.release([{ id: "a", size: 1 }]);
 * expect(deleted).toEqual([]);
 * unpin();
 * expect(deleted).toEqual(["a"]);
 * ```
 */
export class BlobPins {
  #pins = new Map<string, number>();
  #doomed = new Set<string>();
  #remove: (id: string) => void;

  constructor(remove: (id: string) => void) {
    this.#remove = remove;
  }

  /** Pins segments; call the returned function (any number of times) to unpin them once. */
  pin(segments: Segment[]): () => void {
    for (const s of segments) this.#pins.set(s.id, (this.#pins.get(s.id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const s of segments) {
        const n = (this.#pins.get(s.id) ?? 1) - 1;
        if (n > 0) {
          this.#pins.set(s.id, n);
          continue;
        }
        this.#pins.delete(s.id);
        if (this.#doomed.delete(s.id)) this.#remove(s.id);
      }
    };
  }

  /** Deletes segments now, or when their last reader unpins them. */
  release(segments: Segment[]): void {
    for (const seg of segments) {
      if (this.#pins.has(seg.id)) this.#doomed.add(seg.id);
      else this.#remove(seg.id);
    }
  }
}

/**
 * Streams bytes [start, end) of a segment list, opening each blob only when reached; `onEnd` runs once
 * when the stream closes, errors or is cancelled.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readSegments } from "./records.ts";
 * const blobs: Record<string, string> = { a: "hello ", b: "world" };
 * const read = (seg: { id: string }, from: number, to: number) => new Blob([blobs[seg.id].slice(from, to)]).stream();
 * const s = readSegments([{ id: "a", size: 6 }, { id: "b", size: 5 }], 4, 8, read, () => {});
 * expect(await new Response(s).text()).toEqual("o wo");
 * ```
 */
export function readSegments(
  segments: Segment[],
  start: number,
  end: number,
  read: (seg: Segment, from: number, to: number) => ReadableStream<Uint8Array>,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  const pieces: { seg: Segment; from: number; to: number }[] = [];
  let base = 0;
  for (const seg of segments) {
    const from = Math.max(start - base, 0), to = Math.min(end - base, seg.size);
    if (from < to) pieces.push({ seg, from, to });
    base += seg.size;
  }
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (true) {
          if (!reader) {
            const next = pieces.shift();
            if (!next) {
              onEnd();
              controller.close();
              return;
            }
            reader = read(next.seg, next.from, next.to).getReader();
          }
          const { done, value } = await reader.read();
          if (done) {
            reader = undefined;
            continue;
          }
          controller.enqueue(value);
          return;
        }
      } catch (err) {
        onEnd();
        throw err;
      }
    },
    async cancel(reason) {
      onEnd();
      await reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads bytes [start, end) of a segment list at once (small reads).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readSegmentBytes } from "./records.ts";
 * const blobs: Record<string, string> = { a: "hello ", b: "world" };
 * const read = (seg: { id: string }, from: number, to: number) =>
 *   Promise.resolve(new TextEncoder().encode(blobs[seg.id].slice(from, to)));
 * const bytes = await readSegmentBytes([{ id: "a", size: 6 }, { id: "b", size: 5 }], 4, 8, read);
 * expect(new TextDecoder().decode(bytes)).toEqual("o wo");
 * ```
 */
export async function readSegmentBytes(
  segments: Segment[],
  start: number,
  end: number,
  read: (seg: Segment, from: number, to: number) => Promise<Uint8Array<ArrayBuffer>>,
): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let base = 0;
  for (const seg of segments) {
    const from = Math.max(start - base, 0), to = Math.min(end - base, seg.size);
    if (from < to) parts.push(await read(seg, from, to));
    base += seg.size;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(end - start);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/**
 * Serialises async work per name (one lock per key or upload); names without waiters are forgotten.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { KeyedMutex } from "./records.ts";
 * const mutex = new KeyedMutex();
 * const order: number[] = [];
 * await Promise.all([1, 2].map((n) => mutex.run("k", async () => void order.push(n))));
 * expect(order).toEqual([1, 2]);
 * ```
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `run` with the same name has settled. */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(name) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.then(() => {}, () => {});
    this.#tails.set(name, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    }
  }
}

/**
 * The inclusive byte range a `Range` selects in an object of `size` bytes; throws `InvalidRange` (416)
 * when nothing can be served.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveRange } from "./records.ts";
 * expect(resolveRange({ suffix: 3 }, 10, {})).toEqual({ start: 7, end: 9 });
 * ```
 */
export function resolveRange(
  range: ByteRange,
  size: number,
  where: { bucket?: string; key?: string },
): { start: number; end: number } {
  let start: number, end: number;
  if ("suffix" in range) {
    start = range.suffix === 0 || size === 0 ? size : Math.max(0, size - range.suffix);
    end = size - 1;
  } else {
    start = range.start;
    end = Math.min(range.end ?? size - 1, size - 1);
  }
  if (start >= size) {
    throw new EmulatorError("InvalidRange", "The requested range is not satisfiable.", {
      ...where,
      headers: { "content-range": `bytes */${size}` },
    });
  }
  return { start, end };
}

/**
 * Checks the parts named by a CompleteMultipartUpload request against those uploaded and computes the
 * object they form: segments in order, size, `<md5 of part md5s>-<n>` ETag and combined CRC-64.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { assembleParts } from "./records.ts";
 * const part = { partNumber: 1, etag: "5d41402abc4b2a76b9719d911017c592", size: 5, crc64: "0", lastModified: 0, blob: { id: "x", size: 5 } };
 * const r = await assembleParts(new Map([[1, part]]), [{ partNumber: 1, etag: `"${part.etag}"` }], 0, {});
 * expect([r.etag.endsWith("-1"), r.size]).toEqual([true, 5]);
 * ```
 */
export async function assembleParts(
  uploaded: Map<number, PartRecord>,
  requested: CompletePart[],
  minPartSize: number,
  where: { bucket?: string; key?: string },
): Promise<{ parts: PartRecord[]; size: number; etag: string; crc64: string }> {
  if (requested.length === 0) {
    throw new EmulatorError("MalformedXML", "You must specify at least one part.", where);
  }
  const parts: PartRecord[] = [];
  for (const [i, p] of requested.entries()) {
    if (i > 0 && p.partNumber <= requested[i - 1].partNumber) {
      throw new EmulatorError("InvalidPartOrder", "The list of parts was not in ascending order.", where);
    }
    const part = uploaded.get(p.partNumber);
    if (!part || part.etag !== p.etag.replaceAll('"', "").toLowerCase()) {
      throw new EmulatorError(
        "InvalidPart",
        `Part ${p.partNumber} could not be found or its ETag does not match.`,
        where,
      );
    }
    if (i < requested.length - 1 && part.size < minPartSize) {
      throw new EmulatorError(
        "EntityTooSmall",
        `Part ${p.partNumber} is smaller than the minimum part size.`,
        where,
      );
    }
    parts.push(part);
  }
  let crc = "0";
  for (const p of parts) crc = crc64Combine(crc, p.crc64, p.size);
  return {
    parts,
    size: parts.reduce((n, p) => n + p.size, 0),
    etag: `${await md5OfMd5s(parts.map((p) => p.etag))}-${parts.length}`,
    crc64: crc,
  };
}
