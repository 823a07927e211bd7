/**
 * Turning an object reference into a dataset item: fetch the bytes (inline through the client, or in Web
 * Workers from requests signed here), then apply the transform. Workers receive only signed requests — URL and
 * headers — never a secret; they transfer the bytes back without copying.
 *
 * @module
 */
import type { SignedRequest } from "../client_types.ts";
import { addAbortWaiter, removeAbortWaiter } from "../abort.ts";
import { IntegrityError, OssError } from "../errors.ts";
import type { AuditLog, AuditRecord } from "../log.ts";
import { DataObject, type ObjectRef, type RangeReader, TransformError } from "./item.ts";
import type { ItemTransform, ResolvedDatasetOptions } from "./options.ts";
import type { DatasetClient } from "./sources.ts";
import { loadMember } from "./tar_source.ts";

/** A GET request signed in the main thread, ready to send from a worker. */
export type { SignedRequest };

/** Signs a GET for a reference. */
export type RequestSigner = (ref: ObjectRef) => Promise<SignedRequest>;

/** The retry policy of a worker's requests. */
export interface WorkerRetry {
  /** Attempts in all. */
  maxAttempts: number;
  /** First backoff delay, doubled each retry. */
  minDelayMs: number;
  /** Largest backoff delay. */
  maxDelayMs: number;
}

/** Main thread → worker. */
export type WorkerRequest =
  | { type: "init"; transformUrl?: string; retry: WorkerRetry; auditThresholdMs?: number }
  | { type: "get"; id: number; req: SignedRequest; ref: ObjectRef }
  | { type: "cancel"; id: number };

/** Worker → main thread. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "init-error"; message: string }
  | { type: "bytes"; id: number; buffer: ArrayBuffer; etag: string }
  | { type: "value"; id: number; value: unknown }
  | { type: "audit"; record: Omit<AuditRecord, "time"> }
  | {
    type: "error";
    id: number;
    kind: "http" | "network" | "integrity" | "transform" | "aborted";
    message: string;
    status?: number;
    code?: string;
    requestId?: string;
  };

/** A worker's answer to one `get`. */
export type ItemReply = Extract<WorkerReply, { id: number }>;

/** Marks an item dropped by `onTransformError: "skip"`. */
export const SKIP: unique symbol = Symbol("skip");

/** Loads items; `close()` releases workers. */
export interface Loader<R> {
  /** Fetches and transforms one reference. */
  load(ref: ObjectRef, signal: AbortSignal): Promise<R | typeof SKIP>;
  /** Items dropped by a failing transform (with `onTransformError: "skip"`). */
  readonly skipped: number;
  /** Mean size of the objects fetched so far (0 before the first): the byte budget's guess for unknown sizes. */
  readonly meanSize: number;
  /** Terminates workers, if any. */
  close(): void;
}

/**
 * Reads a body to the end into one buffer, checking the promised length (`size` -1: unknown).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readBody } from "./fetcher.ts";
 * const bytes = await readBody(new Blob(["abc"]).stream(), 3, { bucket: "b", key: "k" });
 * expect(bytes.length).toEqual(3);
 * ```
 */
export async function readBody(
  body: ReadableStream<Uint8Array>,
  size: number,
  ref: ObjectRef,
): Promise<Uint8Array> {
  if (size < 0) return new Uint8Array(await new Response(body).arrayBuffer());
  const out = new Uint8Array(size);
  let at = 0;
  const reader = body.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (at + r.value.byteLength > size) {
        throw new IntegrityError(`GET ${ref.bucket}/${ref.key}: more bytes than Content-Length ${size}`, {
          key: ref.key,
        });
      }
      out.set(r.value, at);
      at += r.value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (at !== size) {
    throw new IntegrityError(`GET ${ref.bucket}/${ref.key}: got ${at} of ${size} bytes`, {
      key: ref.key,
      expected: String(size),
      actual: String(at),
    });
  }
  return out;
}

async function importTransform<R>(url: string): Promise<ItemTransform<R>> {
  const mod = await import(url);
  const fn = mod.default ?? mod.transform;
  if (typeof fn !== "function") {
    throw new TypeError(`transform module ${url}: expected a default export function`);
  }
  return fn;
}

/**
 * Creates the loader of one pass: `o.workers` Web Workers fed with requests signed by `o.signer`, or inline
 * through the client when that is 0, the client cannot sign for others, or `Worker` does not exist.
 * Call `close()` when the pass ends.
 *
 * @example
 * ```ts ignore
 * import { createLoader } from "./fetcher.ts";
 * import { resolveDatasetOptions } from "./options.ts";
 * const loader = await createLoader(await resolveDatasetOptions({ endpoint: "http://127.0.0.1:9000", region: "cn-hangzhou" }));
 * const item = await loader.load({ bucket: "data", key: "a.bin" }, new AbortController().signal);
 * loader.close();
 * ```
 */
export async function createLoader<R>(
  o: ResolvedDatasetOptions<R>,
  opts: { workers?: number } = {},
): Promise<Loader<R>> {
  const signer = o.signer;
  const asked = opts.workers ?? o.workers;
  const workers = typeof Worker === "undefined" || !signer ? 0 : asked;
  if (asked > 0 && workers === 0) {
    o.logger.warn("prefetch workers unavailable, prefetching inline", {
      reason: typeof Worker === "undefined"
        ? "no Worker in this runtime"
        : "the client cannot sign requests for workers",
    });
  }
  // A module transform runs in the workers; without them (none asked, or none available) it runs here.
  const fn = o.transform ??
    (o.transformUrl && !workers ? await importTransform<R>(o.transformUrl) : undefined);
  let skipped = 0, fetched = 0, fetchedBytes = 0;
  const counted = (bytes: Uint8Array) => {
    fetched++;
    fetchedBytes += bytes.byteLength;
    return bytes;
  };
  const countedItem = (item: DataObject) => {
    fetched++;
    fetchedBytes += item.size;
    return item;
  };
  const finish = async (item: DataObject): Promise<R | typeof SKIP> => {
    if (!fn) return item as R;
    try {
      return await fn(item);
    } catch (e) {
      return onTransformFailure(item, e);
    }
  };
  const onTransformFailure = (item: { key: string; uri: string }, e: unknown): typeof SKIP => {
    if (o.onTransformError !== "skip") throw new TransformError(item, e);
    skipped++;
    o.logger.warn("transform failed, item skipped", { uri: item.uri, error: e });
    return SKIP;
  };
  const client = o.client as DatasetClient;
  const readRange = async (ref: ObjectRef, start: number, end: number, signal?: AbortSignal) => {
    const range = { start, end: end === Number.MAX_SAFE_INTEGER ? undefined : end - 1 };
    const res = await client.get(ref.bucket, ref.key, {
      ...urlOf(ref),
      range: start === 0 && range.end === undefined ? undefined : range,
      signal,
    });
    return await readBody(res.body, res.size, ref);
  };
  // A URL dataset's reader is bound to the reference itself (its `url` is not copied to the item); any other
  // item is its own reference, so one reader serves them all (no closure per item).
  const readerOf = (ref: ObjectRef): RangeReader =>
    ref.url === undefined ? readRange : (_item, start, end, signal) => readRange(ref, start, end, signal);
  if (workers === 0) {
    return {
      get skipped() {
        return skipped;
      },
      get meanSize() {
        return fetched ? fetchedBytes / fetched : 0;
      },
      async load(ref, signal) {
        if (ref.member) return await finish(countedItem(await loadMember(client, ref, signal)));
        let bytes: Uint8Array, etag: string;
        if (client.getBytes) {
          // One read into memory, without a resumable stream per object (a broken body is fetched again).
          const res = await client.getBytes(ref.bucket, ref.key, { ...urlOf(ref), signal });
          bytes = counted(res.bytes);
          etag = res.etag;
        } else {
          const res = await client.get(ref.bucket, ref.key, { ...urlOf(ref), signal });
          bytes = counted(await readBody(res.body, res.size, ref));
          etag = res.etag;
        }
        const item = new DataObject({ ...ref, bytes, etag: etag || ref.etag, reader: readerOf(ref) });
        return fn ? await finish(item) : item as R;
      },
      close() {},
    };
  }
  const pool = await WorkerPool.create(workers, o.transformUrl, o.retry, o.audit, o.workerUrl);
  return {
    get skipped() {
      return skipped;
    },
    get meanSize() {
      return fetched ? fetchedBytes / fetched : 0;
    },
    async load(ref, signal) {
      // A tar member is a ranged GET pinned to the archive's ETag: fetched here, not by a worker.
      if (ref.member) return await finish(countedItem(await loadMember(client, ref, signal)));
      const reply = await pool.request(await signer!(ref), ref, signal);
      if (reply.type === "value") return reply.value as R;
      if (reply.type === "bytes") {
        const bytes = counted(new Uint8Array(reply.buffer));
        return await finish(new DataObject({ ...ref, bytes, etag: reply.etag, reader: readerOf(ref) }));
      }
      const uri = ref.uri ?? `${ref.scheme ?? "oss"}://${ref.bucket}/${ref.key}`;
      if (reply.kind === "transform") {
        return onTransformFailure({ key: ref.key, uri }, new Error(reply.message));
      }
      if (reply.kind === "aborted") throw signal.reason;
      if (reply.kind === "integrity") throw new IntegrityError(reply.message, { key: ref.key });
      throw new OssError({
        code: reply.code ?? (reply.kind === "network" ? "NetworkError" : `Http${reply.status}`),
        status: reply.status ?? 0,
        message: ref.url === undefined ? reply.message : `${reply.message} (url ${uri})`,
        requestId: reply.requestId,
        bucket: ref.bucket,
        key: ref.key,
        method: "GET",
      });
    },
    close() {
      pool.close();
    },
  };
}

/** `{ url }` for a URL dataset's reference (the client fetches it), else nothing. */
function urlOf(ref: ObjectRef): { url?: string } {
  return ref.url === undefined ? {} : { url: ref.url };
}

interface Pending {
  resolve(r: ItemReply): void;
  reject(e: unknown): void;
  slot: Slot;
}

interface Slot {
  worker: Worker;
  load: number;
}

/** N module workers; each request goes to the least loaded one. */
class WorkerPool {
  #slots: Slot[];
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  #audit?: AuditLog;

  private constructor(slots: Slot[], audit?: AuditLog) {
    this.#slots = slots;
    this.#audit = audit;
    for (const slot of slots) {
      slot.worker.onmessage = (ev: MessageEvent<WorkerReply>) => this.#onReply(ev.data);
      slot.worker.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        this.#failSlot(slot, new Error(`prefetch worker failed: ${ev.message}`));
      };
    }
  }

  static async create(
    n: number,
    transformUrl: string | undefined,
    retry: WorkerRetry,
    audit?: AuditLog,
    workerUrl?: string,
  ): Promise<WorkerPool> {
    const slots: Slot[] = [];
    try {
      await Promise.all(Array.from({ length: n }, () => {
        // Written out in full, as bundlers that emit worker files look for it (the npm build turns .ts into .js).
        const worker = workerUrl === undefined
          ? new Worker(new URL("../../workers/prefetch_worker.ts", import.meta.url), { type: "module" })
          : new Worker(workerUrl, { type: "module" });
        slots.push({ worker, load: 0 });
        return new Promise<void>((resolve, reject) => {
          worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
            if (ev.data.type === "ready") resolve();
            else if (ev.data.type === "init-error") reject(new Error(`prefetch worker: ${ev.data.message}`));
          };
          worker.onerror = (ev: ErrorEvent) => {
            ev.preventDefault();
            reject(
              new Error(
                `prefetch worker ${workerUrl ?? "workers/prefetch_worker"} failed to start: ${ev.message}`,
              ),
            );
          };
          worker.postMessage(
            {
              type: "init",
              transformUrl,
              retry,
              auditThresholdMs: audit?.thresholdMs,
            } satisfies WorkerRequest,
          );
        });
      }));
    } catch (e) {
      for (const s of slots) s.worker.terminate();
      throw e;
    }
    return new WorkerPool(slots, audit);
  }

  request(req: SignedRequest, ref: ObjectRef, signal: AbortSignal): Promise<ItemReply> {
    if (this.#closed) return Promise.reject(new Error("prefetch workers are closed"));
    signal.throwIfAborted();
    let slot = this.#slots[0];
    for (const s of this.#slots) if (s.load < slot.load) slot = s;
    const id = this.#nextId++;
    slot.load++;
    return new Promise<ItemReply>((resolve, reject) => {
      // On abort the worker cancels its fetch and answers "aborted": settle only then, so that nothing stays
      // in flight behind the consumer.
      const onAbort = () => slot.worker.postMessage({ type: "cancel", id } satisfies WorkerRequest);
      addAbortWaiter(signal, onAbort); // the pass's signal: one listener for all requests in flight
      const done = () => {
        slot.load--;
        removeAbortWaiter(signal, onAbort);
      };
      this.#pending.set(id, {
        slot,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      slot.worker.postMessage({ type: "get", id, req, ref } satisfies WorkerRequest);
    });
  }

  #onReply(r: WorkerReply): void {
    if (r.type === "audit") {
      this.#audit?.record(r.record);
      return;
    }
    if (!("id" in r)) return;
    const p = this.#pending.get(r.id);
    if (!p) return;
    this.#pending.delete(r.id);
    p.resolve(r);
  }

  #failSlot(slot: Slot, err: Error): void {
    for (const [id, p] of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(id);
      p.reject(err);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
    const err = new Error("prefetch workers closed");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
