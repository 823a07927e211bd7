/**
 * Object store kept in a directory, surviving restarts.
 *
 * Layout (every file name is derived from hashes or random ids, never from a key, so no key can name a
 * path outside the directory):
 *
 * ```
 * <dir>/ossflow-store.json                 format marker
 * <dir>/staging/<id>.tmp                   bodies and JSON being written; emptied when the store opens
 * <dir>/blobs/<id[0..1]>/<id>              object and part bytes, renamed here from staging/ when complete
 * <dir>/buckets/<bucket>.json              { "created": <epoch ms> } (bucket names are [a-z0-9-])
 * <dir>/objects/<bucket>/<h[0..1]>/<h>.json  { key, meta, segments }, h = SHA-256 hex of the key
 * <dir>/uploads/<uploadId>/upload.json     multipart upload header
 * <dir>/uploads/<uploadId>/part-<n>.json   uploaded part and its blob
 * ```
 *
 * A write completes its blob first, then writes the object JSON to staging/ and renames it into place:
 * that rename is the commit, so a crash leaves either the old object or the new one. Blobs nobody
 * references (leftovers of a crash) are deleted when the store opens. Appends extend the object's blob
 * in place beyond the committed size, which readers never look past. There is no fsync: a process crash
 * is survived, a power loss may not be.
 *
 * @module
 */
import {
  BlobObjectStore,
  type BucketRecord,
  type ObjectRecord,
  type PartRecord,
  type Segment,
  type StoreState,
  type UploadRecord,
} from "./core.ts";
import { randomHex } from "../http/digest_stream.ts";

const READ_CHUNK = 1024 * 1024;

/**
 * An {@linkcode ObjectStore} persisted in `dir` (created if missing).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DirectoryStore } from "./directory.ts";
 * const dir = await Deno.makeTempDir();
 * const store = new DirectoryStore(dir);
 * await store.createBucket("data");
 * await store.put("data", "a/b.txt", new TextEncoder().encode("hi"));
 * await store.close();
 * const again = new DirectoryStore(dir);
 * expect((await again.head("data", "a/b.txt"))?.size).toEqual(2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DirectoryStore extends BlobObjectStore {
  /** The data directory. */
  readonly dir: string;
  #madeDirs = new Set<string>();
  #open = new Set<Deno.FsFile>();

  /** Opens (lazily, on first use) the store kept in `dir`. */
  constructor(dir: string) {
    super();
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("DirectoryStore: dir must be a non-empty path");
    }
    this.dir = dir.replace(/\/+$/, "") || "/";
  }

  #path(...parts: string[]): string {
    return [this.dir, ...parts].join("/");
  }

  async #mkdir(path: string): Promise<void> {
    if (this.#madeDirs.has(path)) return;
    await Deno.mkdir(path, { recursive: true });
    this.#madeDirs.add(path);
  }

  #blobPath(id: string): string {
    return this.#path("blobs", id.slice(0, 2), id);
  }

  async #writeJson(path: string, value: unknown): Promise<void> {
    const tmp = this.#path("staging", `${randomHex(12)}.json`);
    await Deno.writeTextFile(tmp, JSON.stringify(value));
    await this.#mkdir(path.slice(0, path.lastIndexOf("/")));
    await Deno.rename(tmp, path);
  }

  async #objectPath(bucket: string, key: string): Promise<string> {
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
    const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    return this.#path("objects", bucket, hex.slice(0, 2), `${hex}.json`);
  }

  /** Writes the body to staging/, then renames it into blobs/. */
  protected async blobWrite(body: AsyncIterable<Uint8Array>): Promise<Segment> {
    await this.state();
    const id = randomHex(16);
    const tmp = this.#path("staging", `${id}.tmp`);
    let size = 0;
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true });
      try {
        size = await writeAll(file, body);
      } finally {
        file.close();
      }
      await this.#mkdir(this.#path("blobs", id.slice(0, 2)));
      await Deno.rename(tmp, this.#blobPath(id));
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    return { id, size };
  }

  /** Appends in place after the committed size, truncating leftovers of a failed append first. */
  protected async blobAppend(seg: Segment, body: AsyncIterable<Uint8Array>): Promise<number> {
    const file = await Deno.open(this.#blobPath(seg.id), { write: true });
    let size = seg.size;
    try {
      await file.truncate(seg.size);
      await file.seek(seg.size, Deno.SeekMode.Start);
      size += await writeAll(file, body);
    } finally {
      file.close();
    }
    return size;
  }

  /** Reads a byte range without loading the file. */
  protected blobRead(seg: Segment, start: number, end: number): ReadableStream<Uint8Array> {
    let file: Deno.FsFile | undefined;
    let pos = start;
    const done = () => {
      if (file && this.#open.delete(file)) file.close();
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (!file) {
            file = await Deno.open(this.#blobPath(seg.id), { read: true });
            this.#open.add(file);
            await file.seek(start, Deno.SeekMode.Start);
          }
          if (pos >= end) {
            done();
            controller.close();
            return;
          }
          const buf = new Uint8Array(Math.min(READ_CHUNK, end - pos));
          const n = await file.read(buf);
          if (n === null || n === 0) {
            throw new Error(`DirectoryStore: blob ${seg.id} is shorter than recorded`);
          }
          pos += n;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
        } catch (err) {
          done();
          throw err;
        }
      },
      cancel: done,
    }, { highWaterMark: 0 });
  }

  /** Reads a small byte range in one go. */
  protected async blobReadBytes(seg: Segment, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    using file = await Deno.open(this.#blobPath(seg.id), { read: true });
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    const out = new Uint8Array(end - start);
    for (let off = 0; off < out.length;) {
      const n = await file.read(out.subarray(off));
      if (n === null || n === 0) throw new Error(`DirectoryStore: blob ${seg.id} is shorter than recorded`);
      off += n;
    }
    return out;
  }

  /** Removes the blob file. */
  protected async blobDelete(id: string): Promise<void> {
    await Deno.remove(this.#blobPath(id)).catch(() => {});
  }

  /** Writes or removes the bucket file. */
  protected async saveBucket(bucket: string, created: number | undefined): Promise<void> {
    const path = this.#path("buckets", `${bucket}.json`);
    if (created !== undefined) return await this.#writeJson(path, { created });
    await Deno.remove(path);
    await Deno.remove(this.#path("objects", bucket), { recursive: true }).catch(() => {});
    const gone = this.#path("objects", bucket);
    for (const d of this.#madeDirs) if (d === gone || d.startsWith(`${gone}/`)) this.#madeDirs.delete(d);
  }

  /** Writes the object JSON atomically (staging + rename): the commit point. */
  protected async saveObject(bucket: string, key: string, rec: ObjectRecord | undefined): Promise<void> {
    const path = await this.#objectPath(bucket, key);
    if (rec) await this.#writeJson(path, { key, meta: rec.meta, segments: rec.segments });
    else await Deno.remove(path).catch(() => {});
  }

  /** Writes the upload header, or removes the upload directory. */
  protected async saveUpload(rec: UploadRecord, deleted: boolean): Promise<void> {
    const dir = this.#path("uploads", rec.uploadId);
    if (deleted) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      this.#madeDirs.delete(dir);
      return;
    }
    const { parts: _, ...header } = rec;
    await this.#writeJson(`${dir}/upload.json`, header);
  }

  /** Writes a part record. */
  protected async savePart(uploadId: string, part: PartRecord): Promise<void> {
    await this.#writeJson(this.#path("uploads", uploadId, `part-${part.partNumber}.json`), part);
  }

  /** Reads every record, empties staging/ and deletes unreferenced blobs. */
  protected async loadState(): Promise<StoreState> {
    for (const d of ["staging", "blobs", "buckets", "objects", "uploads"]) await this.#mkdir(this.#path(d));
    await Deno.writeTextFile(
      this.#path("ossflow-store.json"),
      JSON.stringify({ format: "ossflow-directory-store", version: 1 }),
    );
    for await (const e of Deno.readDir(this.#path("staging"))) {
      await Deno.remove(this.#path("staging", e.name), { recursive: true });
    }
    const state: StoreState = { buckets: new Map(), uploads: new Map() };
    const live = new Set<string>();
    for await (const e of Deno.readDir(this.#path("buckets"))) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const name = e.name.slice(0, -5);
      const { created } = JSON.parse(await Deno.readTextFile(this.#path("buckets", e.name)));
      const bucket: BucketRecord = { created, objects: new Map() };
      state.buckets.set(name, bucket);
      for (const file of await jsonFiles(this.#path("objects", name), 2)) {
        const { key, meta, segments } = JSON.parse(await Deno.readTextFile(file)) as ObjectRecord & {
          key: string;
        };
        bucket.objects.set(key, { meta, segments });
        for (const s of segments) live.add(s.id);
      }
    }
    for await (const e of Deno.readDir(this.#path("uploads"))) {
      const dir = this.#path("uploads", e.name);
      const rec = await readUpload(dir);
      const done = !rec || !state.buckets.has(rec.bucket) ||
        [...rec.parts.values()].some((p) => live.has(p.blob.id));
      if (done) {
        // Completed (its parts became an object) or half-created: forget it.
        await Deno.remove(dir, { recursive: true });
        continue;
      }
      state.uploads.set(rec.uploadId, rec);
    }
    for (const u of state.uploads.values()) for (const p of u.parts.values()) live.add(p.blob.id);
    for await (const shard of Deno.readDir(this.#path("blobs"))) {
      for await (const e of Deno.readDir(this.#path("blobs", shard.name))) {
        if (!live.has(e.name)) await Deno.remove(this.#path("blobs", shard.name, e.name));
      }
    }
    return state;
  }

  /** Closes files still open for reading. */
  close(): Promise<void> {
    for (const f of this.#open) f.close();
    this.#open.clear();
    return Promise.resolve();
  }
}

/** Writes every chunk of `body` at the file's position; returns the byte count. */
async function writeAll(file: Deno.FsFile, body: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  for await (const chunk of body) {
    for (let off = 0; off < chunk.byteLength;) off += await file.write(chunk.subarray(off));
    size += chunk.byteLength;
  }
  return size;
}

async function jsonFiles(dir: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && depth > 1) out.push(...await jsonFiles(path, depth - 1));
      else if (e.isFile && e.name.endsWith(".json")) out.push(path);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

async function readUpload(dir: string): Promise<UploadRecord | undefined> {
  let header: Omit<UploadRecord, "parts">;
  try {
    header = JSON.parse(await Deno.readTextFile(`${dir}/upload.json`));
  } catch {
    return undefined;
  }
  const rec: UploadRecord = { ...header, parts: new Map() };
  for (const file of await jsonFiles(dir, 1)) {
    if (!file.includes("/part-")) continue;
    const part = JSON.parse(await Deno.readTextFile(file)) as PartRecord;
    rec.parts.set(part.partNumber, part);
  }
  return rec;
}
