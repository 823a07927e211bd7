/**
 * In-memory object store: blobs are lists of byte chunks; nothing survives the process.
 *
 * @module
 */
import {
  BlobObjectStore,
  type ObjectRecord,
  type PartRecord,
  type Segment,
  type StoreState,
  type UploadRecord,
} from "./core.ts";
import { randomHex } from "../http/digest_stream.ts";

/**
 * An {@linkcode ObjectStore} kept in memory (the emulator's default).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "k", new Uint8Array([1, 2, 3]));
 * const { body } = await store.get("data", "k", { range: { start: 1 } });
 * expect(await new Response(body).bytes()).toEqual(new Uint8Array([2, 3]));
 * ```
 */
export class MemoryStore extends BlobObjectStore {
  #blobs = new Map<string, Uint8Array<ArrayBuffer>[]>();

  /** Collects the body into ~1 MiB blocks. */
  protected async blobWrite(body: AsyncIterable<Uint8Array>): Promise<Segment> {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const size = await collect(body, chunks);
    const id = randomHex(12);
    this.#blobs.set(id, chunks);
    return { id, size };
  }

  /** Adds blocks after the committed size. */
  protected async blobAppend(seg: Segment, body: AsyncIterable<Uint8Array>): Promise<number> {
    const chunks = this.#blobs.get(seg.id);
    if (!chunks) throw new Error(`MemoryStore: blob ${seg.id} is missing`);
    // Chunks beyond seg.size are leftovers of a failed append: drop them (readers never see them).
    trimChunks(chunks, seg.size);
    return seg.size + await collect(body, chunks);
  }

  /** Streams a slice of the blob's blocks. */
  protected blobRead(seg: Segment, start: number, end: number): ReadableStream<Uint8Array> {
    const chunks = this.#blobs.get(seg.id) ?? [];
    let index = 0, offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        while (index < chunks.length && offset < end) {
          const chunk = chunks[index++];
          const from = Math.max(start - offset, 0), to = Math.min(end - offset, chunk.byteLength);
          offset += chunk.byteLength;
          if (from < to) {
            controller.enqueue(chunk.subarray(from, to));
            return;
          }
        }
        controller.close();
      },
    }, { highWaterMark: 0 });
  }

  /** Views (within one block) or copies a slice of the blob. */
  protected blobReadBytes(seg: Segment, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    const chunks = this.#blobs.get(seg.id) ?? [];
    let out: Uint8Array<ArrayBuffer> | undefined;
    let offset = 0;
    for (const chunk of chunks) {
      const from = Math.max(start - offset, 0), to = Math.min(end - offset, chunk.byteLength);
      if (from < to) {
        if (out === undefined && to - from === end - start) return Promise.resolve(chunk.subarray(from, to));
        out ??= new Uint8Array(end - start);
        out.set(chunk.subarray(from, to), offset + from - start);
      }
      offset += chunk.byteLength;
      if (offset >= end) break;
    }
    return Promise.resolve(out ?? new Uint8Array(end - start));
  }

  /** Drops the blob. */
  protected blobDelete(id: string): Promise<void> {
    this.#blobs.delete(id);
    return Promise.resolve();
  }

  /** Nothing to persist in memory. */
  protected async saveBucket(): Promise<void> {}
  /** Nothing to persist in memory. */
  protected async saveObject(_bucket: string, _key: string, _rec: ObjectRecord | undefined): Promise<void> {}
  /** Nothing to persist in memory. */
  protected async saveUpload(_rec: UploadRecord, _deleted: boolean): Promise<void> {}
  /** Nothing to persist in memory. */
  protected async savePart(_uploadId: string, _part: PartRecord): Promise<void> {}

  /** An empty store. */
  protected loadState(): Promise<StoreState> {
    return Promise.resolve({ buckets: new Map(), uploads: new Map() });
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}

const BLOCK = 1024 * 1024;

/** Copies `body` into `out` as blocks of about 1 MiB (fewer, larger chunks stream faster); returns its size. */
async function collect(body: AsyncIterable<Uint8Array>, out: Uint8Array<ArrayBuffer>[]): Promise<number> {
  let pending: Uint8Array[] = [];
  let pendingSize = 0;
  let size = 0;
  const flush = () => {
    if (pendingSize === 0) return;
    const block = new Uint8Array(pendingSize);
    let off = 0;
    for (const c of pending) {
      block.set(c, off);
      off += c.byteLength;
    }
    out.push(block);
    pending = [];
    pendingSize = 0;
  };
  for await (const chunk of body) {
    pending.push(chunk);
    pendingSize += chunk.byteLength;
    size += chunk.byteLength;
    if (pendingSize >= BLOCK) flush();
  }
  flush();
  return size;
}

function trimChunks(chunks: Uint8Array<ArrayBuffer>[], size: number): void {
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (total + chunks[i].byteLength > size) {
      chunks[i] = chunks[i].subarray(0, size - total);
      chunks.length = i + 1;
      return;
    }
    total += chunks[i].byteLength;
  }
}
