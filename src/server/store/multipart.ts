/**
 * Multipart uploads on top of a store's internals: initiate, upload parts, list, complete (parts become
 * the object's segments without copying), abort, list uploads.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import { randomHex } from "../http/digest_stream.ts";
import {
  assembleParts,
  type BucketRecord,
  headersOf,
  type PartRecord,
  type Segment,
  type StoreState,
  type UploadRecord,
} from "./records.ts";
import {
  type BodyDigest,
  compareKeys,
  type CompletePart,
  type ObjectMeta,
  type PartInfo,
  type StoreBody,
  type UploadInfo,
  validateKey,
  type WriteOptions,
} from "./types.ts";

const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** What multipart operations need from the store they belong to. */
export interface StoreInternals {
  /** The loaded state. */
  state(): Promise<StoreState>;
  /** A bucket record, or `NoSuchBucket`. */
  bucket(bucket: string): Promise<BucketRecord>;
  /** Runs `fn` under the named lock. */
  lock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Writes a body to a new, unreferenced blob after verifying it. */
  stage(body: StoreBody, opts?: WriteOptions): Promise<{ seg: Segment; digest: BodyDigest }>;
  /** Publishes an object made of `segments` (takes the key lock). */
  commit(
    bucket: string,
    key: string,
    segments: Segment[],
    meta: Omit<ObjectMeta, "key" | "lastModified">,
  ): Promise<ObjectMeta>;
  /** Deletes blobs once no reader uses them. */
  release(segments: Segment[]): void;
  /** Persists an upload header, or deletes the upload. */
  saveUpload(rec: UploadRecord, deleted: boolean): Promise<void>;
  /** Persists a part record. */
  savePart(uploadId: string, part: PartRecord): Promise<void>;
}

/**
 * The multipart half of {@linkcode BlobObjectStore}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore(); // BlobObjectStore delegates its multipart methods here
 * await store.createBucket("data");
 * const { uploadId } = await store.createUpload("data", "big");
 * const part = await store.uploadPart("data", "big", uploadId, 1, new Uint8Array([1, 2]));
 * expect((await store.completeUpload("data", "big", uploadId, [part])).etag.endsWith("-1")).toBe(true);
 * ```
 */
export class MultipartUploads {
  #s: StoreInternals;

  /** Operates through the internals of the store that owns it. */
  constructor(internals: StoreInternals) {
    this.#s = internals;
  }

  /** Starts an upload. */
  async create(bucket: string, key: string, opts: WriteOptions): Promise<UploadInfo> {
    validateKey(key);
    await this.#s.bucket(bucket);
    const rec: UploadRecord = {
      uploadId: randomHex(16).toUpperCase(),
      bucket,
      key,
      initiated: Date.now(),
      contentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
      userMeta: opts.userMeta ?? {},
      ...headersOf(opts),
      parts: new Map(),
    };
    await this.#s.saveUpload(rec, false);
    (await this.#s.state()).uploads.set(rec.uploadId, rec);
    return { uploadId: rec.uploadId, bucket, key, initiated: rec.initiated };
  }

  async #upload(bucket: string, key: string, uploadId: string): Promise<UploadRecord> {
    const rec = (await this.#s.state()).uploads.get(uploadId);
    if (!rec || rec.bucket !== bucket || rec.key !== key) {
      throw new EmulatorError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        { bucket, key },
      );
    }
    return rec;
  }

  /** Stores (or replaces) a part. */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: StoreBody,
    opts: WriteOptions,
  ): Promise<PartInfo> {
    await this.#upload(bucket, key, uploadId);
    const { seg, digest } = await this.#s.stage(body, opts);
    return await this.#s.lock(`upload:${uploadId}`, async () => {
      try {
        const rec = await this.#upload(bucket, key, uploadId);
        const part: PartRecord = {
          partNumber,
          etag: digest.md5,
          size: digest.size,
          crc64: digest.crc64,
          lastModified: Date.now(),
          blob: seg,
        };
        await this.#s.savePart(uploadId, part);
        const old = rec.parts.get(partNumber);
        rec.parts.set(partNumber, part);
        if (old) this.#s.release([old.blob]);
        const { blob: _, ...info } = part;
        return info;
      } catch (err) {
        this.#s.release([seg]);
        throw err;
      }
    });
  }

  /** Parts uploaded so far, by part number. */
  async listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    const rec = await this.#upload(bucket, key, uploadId);
    return [...rec.parts.values()].sort((a, b) => a.partNumber - b.partNumber).map(({ blob: _, ...p }) => p);
  }

  /** Commits the named parts as the object and forgets the upload. */
  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    minPartSize: number,
  ): Promise<ObjectMeta> {
    return await this.#s.lock(`upload:${uploadId}`, async () => {
      const rec = await this.#upload(bucket, key, uploadId);
      const assembled = await assembleParts(rec.parts, parts, minPartSize, { bucket, key });
      const chosen = assembled.parts;
      const meta = await this.#s.commit(bucket, key, chosen.map((p) => p.blob), {
        size: assembled.size,
        etag: assembled.etag,
        crc64: assembled.crc64,
        contentType: rec.contentType,
        objectType: "Multipart",
        userMeta: rec.userMeta,
        ...headersOf(rec),
      });
      this.#s.release([...rec.parts.values()].filter((p) => !chosen.includes(p)).map((p) => p.blob));
      (await this.#s.state()).uploads.delete(uploadId);
      await this.#s.saveUpload(rec, true);
      return meta;
    });
  }

  /** Discards an upload and its parts. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.#s.lock(`upload:${uploadId}`, async () => {
      const rec = await this.#upload(bucket, key, uploadId);
      (await this.#s.state()).uploads.delete(uploadId);
      await this.#s.saveUpload(rec, true);
      this.#s.release([...rec.parts.values()].map((p) => p.blob));
    });
  }

  /** Uploads in progress in a bucket, by key then initiation. */
  async list(bucket: string, prefix: string): Promise<UploadInfo[]> {
    await this.#s.bucket(bucket);
    return [...(await this.#s.state()).uploads.values()]
      .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
      .map(({ uploadId, key, initiated }) => ({ uploadId, bucket, key, initiated }))
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated - b.initiated);
  }
}
