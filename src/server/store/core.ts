/**
 * The logic both stores share: an in-memory index of committed objects and uploads over an abstract blob
 * layer. A backend supplies blob I/O and persistence hooks; this class decides what is visible when.
 *
 * Visibility rule: a body is first written to a blob nobody references; only after it is complete and
 * verified does the object record (metadata + blob list) get persisted and swapped into the index under
 * a per-key lock. Blobs of replaced objects are deleted once no reader has them pinned.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import { crc64Combine } from "../../crc64.ts";
import { BodyDigester, md5OfMd5s, toStream } from "../http/digest_stream.ts";
import {
  BlobPins,
  type BucketRecord,
  headersOf,
  KeyedMutex,
  type ObjectRecord,
  type PartRecord,
  readSegmentBytes,
  readSegments,
  resolveRange,
  type Segment,
  type StoreState,
  type UploadRecord,
} from "./records.ts";
import {
  type BodyDigest,
  type CompletePart,
  type CopyOptions,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListResult,
  type ObjectMeta,
  type ObjectStore,
  type PartInfo,
  type StoreBody,
  type UploadInfo,
  validateBucketName,
  validateKey,
  type WriteOptions,
} from "./types.ts";
import { insertSorted, listSorted, removeSorted } from "./list.ts";
import { MultipartUploads } from "./multipart.ts";

export type { BucketRecord, ObjectRecord, PartRecord, Segment, StoreState, UploadRecord } from "./records.ts";

const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** Reads up to this size are returned as one byte array instead of a stream. */
const SMALL_READ = 256 * 1024;

/**
 * Base class of {@linkcode MemoryStore} and {@linkcode DirectoryStore}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "a.txt", new TextEncoder().encode("hi"));
 * expect((await store.head("data", "a.txt"))?.size).toEqual(2);
 * ```
 */
export abstract class BlobObjectStore implements ObjectStore {
  #state?: Promise<StoreState>;
  #locks = new KeyedMutex();
  #pins = new BlobPins((id) => void this.blobDelete(id).catch(() => {}));
  #uploads = new MultipartUploads({
    state: () => this.state(),
    bucket: (bucket) => this.#bucket(bucket),
    lock: (name, fn) => this.#lock(name, fn),
    stage: (body, opts) => this.#stage(body, opts),
    commit: (bucket, key, segments, meta) => this.#commit(bucket, key, segments, meta),
    release: (segments) => this.#release(segments),
    saveUpload: (rec, deleted) => this.saveUpload(rec, deleted),
    savePart: (uploadId, part) => this.savePart(uploadId, part),
  });

  /**
   * Writes a new blob holding all of `body`; on error nothing remains. `body` is hashed as it is iterated
   * (an async iterable rather than a stream: one stage less per chunk on the upload path).
   */
  protected abstract blobWrite(body: AsyncIterable<Uint8Array>): Promise<Segment>;
  /** Appends `body` to the blob at byte `seg.size` (dropping anything beyond); returns the new size. */
  protected abstract blobAppend(seg: Segment, body: AsyncIterable<Uint8Array>): Promise<number>;
  /** Reads bytes [start, end) of a blob. */
  protected abstract blobRead(seg: Segment, start: number, end: number): ReadableStream<Uint8Array>;
  /** Reads bytes [start, end) of a blob at once (small reads). */
  protected abstract blobReadBytes(
    seg: Segment,
    start: number,
    end: number,
  ): Promise<Uint8Array<ArrayBuffer>>;
  /** Deletes a blob. */
  protected abstract blobDelete(id: string): Promise<void>;
  /** Persists a bucket (undefined: deleted). */
  protected abstract saveBucket(bucket: string, created: number | undefined): Promise<void>;
  /** Persists an object record (undefined: deleted). This is the commit point of every write. */
  protected abstract saveObject(bucket: string, key: string, rec: ObjectRecord | undefined): Promise<void>;
  /** Persists an upload's header (deleted: remove it with all its part records). */
  protected abstract saveUpload(rec: UploadRecord, deleted: boolean): Promise<void>;
  /** Persists a part record. */
  protected abstract savePart(uploadId: string, part: PartRecord): Promise<void>;
  /** Restores the state at start. */
  protected abstract loadState(): Promise<StoreState>;
  /** Releases backend resources. */
  abstract close(): Promise<void>;

  /** The loaded state (loads on first use). */
  protected state(): Promise<StoreState> {
    return this.#state ??= this.loadState();
  }

  #lock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(name, fn);
  }

  async #bucket(bucket: string): Promise<BucketRecord> {
    const b = (await this.state()).buckets.get(bucket);
    if (!b) throw new EmulatorError("NoSuchBucket", "The specified bucket does not exist.", { bucket });
    return b;
  }

  #release(segments: Segment[]): void {
    this.#pins.release(segments);
  }

  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    const st = await this.state();
    await this.#lock(`bucket:${bucket}`, async () => {
      if (st.buckets.has(bucket)) return;
      const created = Date.now();
      await this.saveBucket(bucket, created);
      st.buckets.set(bucket, { created, objects: new Map(), sorted: [] });
    });
  }

  async deleteBucket(bucket: string): Promise<void> {
    const st = await this.state();
    await this.#lock(`bucket:${bucket}`, async () => {
      const b = await this.#bucket(bucket);
      const busy = b.objects.size > 0 || [...st.uploads.values()].some((u) => u.bucket === bucket);
      if (busy) {
        throw new EmulatorError("BucketNotEmpty", "The bucket you tried to delete is not empty.", { bucket });
      }
      await this.saveBucket(bucket, undefined);
      st.buckets.delete(bucket);
    });
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return (await this.state()).buckets.has(bucket);
  }

  async listBuckets(): Promise<{ name: string; created: number }[]> {
    const st = await this.state();
    return [...st.buckets].map(([name, b]) => ({ name, created: b.created })).sort((a, b) =>
      a.name < b.name ? -1 : 1
    );
  }

  async head(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    validateKey(key);
    return (await this.#bucket(bucket)).objects.get(key)?.meta;
  }

  async get(bucket: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    validateKey(key);
    const rec = (await this.#bucket(bucket)).objects.get(key);
    if (!rec) throw new EmulatorError("NoSuchKey", "The specified key does not exist.", { bucket, key });
    opts.check?.(rec.meta);
    const range = opts.range ? resolveRange(opts.range, rec.meta.size, { bucket, key }) : undefined;
    const start = range?.start ?? 0, end = range ? range.end + 1 : rec.meta.size;
    const body = end - start <= SMALL_READ
      ? await this.#readBytes(rec, start, end)
      : this.#read(rec, start, end);
    return { meta: rec.meta, body, range };
  }

  /** Reads bytes [start, end) of a record into one array. */
  async #readBytes(rec: ObjectRecord, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    const unpin = this.#pins.pin(rec.segments);
    try {
      return await readSegmentBytes(
        rec.segments,
        start,
        end,
        (seg, from, to) => this.blobReadBytes(seg, from, to),
      );
    } finally {
      unpin();
    }
  }

  /** Streams bytes [start, end) of a record, keeping its blobs alive until the stream ends. */
  #read(rec: ObjectRecord, start: number, end: number): ReadableStream<Uint8Array> {
    const unpin = this.#pins.pin(rec.segments);
    return readSegments(rec.segments, start, end, (seg, from, to) => this.blobRead(seg, from, to), unpin);
  }

  async #stage(body: StoreBody, opts?: WriteOptions): Promise<{ seg: Segment; digest: BodyDigest }> {
    const hashing = await BodyDigester.create();
    const seg = await this.blobWrite(hashing.pass(toStream(body)));
    const digest = hashing.digest();
    try {
      await opts?.verify?.(digest);
    } catch (err) {
      await this.blobDelete(seg.id).catch(() => {});
      throw err;
    }
    return { seg, digest };
  }

  /** Persists and publishes an object record; the caller owns `segments` if this throws. */
  async #commit(
    bucket: string,
    key: string,
    segments: Segment[],
    meta: Omit<ObjectMeta, "key" | "lastModified">,
    locked = false,
  ): Promise<ObjectMeta> {
    const work = async () => {
      const b = (await this.state()).buckets.get(bucket);
      if (!b) throw new EmulatorError("NoSuchBucket", "The specified bucket does not exist.", { bucket });
      const rec: ObjectRecord = { meta: { ...meta, key, lastModified: Date.now() }, segments };
      await this.saveObject(bucket, key, rec);
      const old = b.objects.get(key);
      b.objects.set(key, rec);
      if (!old) insertSorted(b, key);
      else this.#release(old.segments.filter((s) => !segments.some((n) => n.id === s.id)));
      return rec.meta;
    };
    return locked ? await work() : await this.#lock(`key:${bucket}/${key}`, work);
  }

  /** Commits a freshly staged blob, deleting it if the commit fails. */
  async #commitNew(
    bucket: string,
    key: string,
    seg: Segment,
    meta: Omit<ObjectMeta, "key" | "lastModified">,
    locked = false,
  ): Promise<ObjectMeta> {
    try {
      return await this.#commit(bucket, key, [seg], meta, locked);
    } catch (err) {
      this.#release([seg]);
      throw err;
    }
  }

  async put(bucket: string, key: string, body: StoreBody, opts: WriteOptions = {}): Promise<ObjectMeta> {
    validateKey(key);
    await this.#bucket(bucket);
    const { seg, digest } = await this.#stage(body, opts);
    return await this.#commitNew(bucket, key, seg, {
      size: digest.size,
      etag: digest.md5,
      crc64: digest.crc64,
      contentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
      objectType: "Normal",
      userMeta: opts.userMeta ?? {},
      ...headersOf(opts),
    });
  }

  async append(
    bucket: string,
    key: string,
    position: number,
    body: StoreBody,
    opts: WriteOptions = {},
  ): Promise<ObjectMeta> {
    validateKey(key);
    const b = await this.#bucket(bucket);
    return await this.#lock(`key:${bucket}/${key}`, async () => {
      const old = b.objects.get(key);
      if (old && old.meta.objectType !== "Appendable") {
        throw new EmulatorError("ObjectNotAppendable", "The object is not appendable.", { bucket, key });
      }
      const size = old?.meta.size ?? 0;
      if (position !== size) {
        throw new EmulatorError("PositionNotEqualToLength", "Position is not equal to file length.", {
          bucket,
          key,
          headers: { "x-oss-next-append-position": String(size) },
        });
      }
      if (!old) {
        const { seg, digest } = await this.#stage(body, opts);
        return await this.#commitNew(bucket, key, seg, {
          size: digest.size,
          etag: digest.md5,
          crc64: digest.crc64,
          contentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
          objectType: "Appendable",
          userMeta: opts.userMeta ?? {},
          ...headersOf(opts),
        }, true);
      }
      const hashing = await BodyDigester.create();
      const seg = old.segments[0];
      const segSize = await this.blobAppend(seg, hashing.pass(toStream(body)));
      const digest = hashing.digest();
      await opts.verify?.(digest);
      return await this.#commit(bucket, key, [{ id: seg.id, size: segSize }], {
        ...old.meta,
        size: size + digest.size,
        etag: await md5OfMd5s([old.meta.etag, digest.md5]),
        crc64: crc64Combine(old.meta.crc64, digest.crc64, digest.size),
      }, true);
    });
  }

  async copy(
    src: { bucket: string; key: string },
    dst: { bucket: string; key: string },
    opts: CopyOptions = {},
  ): Promise<ObjectMeta> {
    validateKey(src.key);
    validateKey(dst.key);
    await this.#bucket(dst.bucket);
    const rec = (await this.#bucket(src.bucket)).objects.get(src.key);
    if (!rec) throw new EmulatorError("NoSuchKey", "The specified key does not exist.", src);
    opts.check?.(rec.meta);
    const { seg } = await this.#stage(this.#read(rec, 0, rec.meta.size));
    const { key: _, lastModified: _t, headers: _h, ...kept } = rec.meta;
    const replaced = opts.metadata;
    return await this.#commitNew(dst.bucket, dst.key, seg, {
      ...kept,
      objectType: "Normal",
      ...(replaced
        ? {
          contentType: replaced.contentType ?? rec.meta.contentType,
          userMeta: replaced.userMeta ?? {},
          ...headersOf(replaced),
        }
        : headersOf(rec.meta)),
    });
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    validateKey(key);
    const b = await this.#bucket(bucket);
    return await this.#lock(`key:${bucket}/${key}`, async () => {
      const old = b.objects.get(key);
      if (!old) return false;
      await this.saveObject(bucket, key, undefined);
      b.objects.delete(key);
      removeSorted(b, key);
      this.#release(old.segments);
      return true;
    });
  }

  async list(bucket: string, opts: ListOptions): Promise<ListResult> {
    return listSorted(await this.#bucket(bucket), opts);
  }

  createUpload(bucket: string, key: string, opts: WriteOptions = {}): Promise<UploadInfo> {
    return this.#uploads.create(bucket, key, opts);
  }

  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: StoreBody,
    opts: WriteOptions = {},
  ): Promise<PartInfo> {
    return this.#uploads.uploadPart(bucket, key, uploadId, partNumber, body, opts);
  }

  listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    return this.#uploads.listParts(bucket, key, uploadId);
  }

  completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    opts: { minPartSize?: number } = {},
  ): Promise<ObjectMeta> {
    return this.#uploads.complete(bucket, key, uploadId, parts, opts.minPartSize ?? 0);
  }

  abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.#uploads.abort(bucket, key, uploadId);
  }

  listUploads(bucket: string, opts: { prefix?: string } = {}): Promise<UploadInfo[]> {
    return this.#uploads.list(bucket, opts.prefix ?? "");
  }
}
