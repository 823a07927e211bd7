/**
 * A prefetch worker: receives GET requests signed in the main thread (URL and headers — never a secret),
 * fetches them with retries (5xx, 429, network errors, short or corrupt bodies), checks the length and the
 * CRC-64 the server reports, optionally runs a transform module on the item, and transfers the bytes (or the
 * transform's ArrayBuffers) back without copying.
 *
 * Started by `src/dataset/fetcher.ts` as `new Worker(new URL("../../workers/prefetch_worker.ts", import.meta.url),
 * { type: "module" })`; the protocol types live there.
 *
 * @module
 */
import { describeNetworkFailure } from "../src/network_error.ts";
import { DataObject } from "../src/dataset/item.ts";
import type { WorkerReply, WorkerRequest, WorkerRetry } from "../src/dataset/fetcher.ts";
import { redactQuery } from "../src/dataset/url_source.ts";
import { redact, secretHeaderValues } from "../src/log.ts";
import { Retry, retrying } from "../src/retry.ts";

// Loaded in the background (CRC-64) or only on an error response (XML): a worker is ready in ~50 ms.
let integrityModule: Promise<typeof import("../src/integrity.ts")> | undefined;
const xmlModule = () => import("../src/xml.ts");

/**
 * The CRC-64 check of `src/integrity.ts` (through `src/crc64.ts`: one shared hasher, and the JavaScript fallback
 * where WebAssembly cannot be compiled). Imported lazily so that a worker starts fast.
 */
async function checkCrc64(res: Response, bytes: Uint8Array, what: string, key: string): Promise<void> {
  integrityModule ??= import("../src/integrity.ts");
  return (await integrityModule).checkCrc64(res, bytes, what, key);
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const inflight = new Map<number, AbortController>();
let transform: ((item: DataObject) => unknown) | undefined;
let retry: WorkerRetry = { maxAttempts: 5, minDelayMs: 100, maxDelayMs: 5000 };
let auditThresholdMs: number | undefined;

/** Collects the ArrayBuffers of a transform's result (top level, arrays and plain objects, two levels deep). */
function transferables(v: unknown, out = new Set<ArrayBuffer>(), depth = 0): Set<ArrayBuffer> {
  if (v instanceof ArrayBuffer) out.add(v);
  else if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  else if (depth < 2 && Array.isArray(v)) { for (const x of v) transferables(x, out, depth + 1); }
  else if (
    depth < 2 && v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype
  ) {
    for (const x of Object.values(v)) transferables(x, out, depth + 1);
  }
  return out;
}

type Fetched = { ok: true; bytes: Uint8Array<ArrayBuffer>; etag: string } | { ok: false; reply: WorkerReply };

/** One attempt: a final outcome (`done`), or a reply to keep if no later attempt succeeds (`retry`). */
async function attemptOnce(
  m: Extract<WorkerRequest, { type: "get" }>,
  signal: AbortSignal,
): Promise<{ done?: Fetched; retry?: WorkerReply; audit: { status: number; bytes: number } }> {
  const { id, ref } = m;
  let status = 0, received = 0;
  try {
    // Identity: a compressing intermediary must not change the bytes whose length and CRC-64 are checked.
    const headers = new Headers(m.req.headers);
    headers.set("accept-encoding", "identity");
    const res = await fetch(m.req.url, { headers, signal });
    status = res.status;
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      const e = (await xmlModule()).parseErrorResponse(res.status, res.headers, text);
      const reply: WorkerReply = {
        type: "error",
        id,
        kind: "http",
        status: res.status,
        code: e.code,
        // An error page may echo the request: never its query, token or signature.
        message: redactQuery(redact(e.message, secretHeaderValues(m.req.headers)), m.req.url),
        requestId: e.requestId,
      };
      const retryable = res.status >= 500 || res.status === 429;
      return retryable
        ? { retry: reply, audit: { status, bytes: 0 } }
        : { done: { ok: false, reply }, audit: { status, bytes: 0 } };
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    received = bytes.byteLength;
    const length = res.headers.get("content-length");
    const what = `GET ${ref.uri ?? `${ref.bucket}/${ref.key}`}`;
    if (length !== null && Number(length) !== bytes.byteLength) {
      const message = `${what}: got ${bytes.byteLength} of ${length} bytes`;
      return { retry: { type: "error", id, kind: "integrity", message }, audit: { status, bytes: received } };
    }
    const corrupt = await checkCrc64(res, bytes, what, ref.key).then(() => undefined, (e: Error) => e);
    if (corrupt !== undefined) {
      const message = corrupt.message;
      return { retry: { type: "error", id, kind: "integrity", message }, audit: { status, bytes: received } };
    }
    const etag = res.headers.get("etag") ?? ref.etag ?? "";
    return { done: { ok: true, bytes, etag }, audit: { status, bytes: received } };
  } catch (e) {
    // Runtimes put the URL in fetch errors; a presigned URL's query is its signature.
    const host = new URL(m.req.url).host;
    const message = redactQuery(`cannot reach ${host}: ${describeNetworkFailure(e)}`, m.req.url);
    return { retry: { type: "error", id, kind: "network", message }, audit: { status, bytes: received } };
  }
}

async function fetchWithRetry(
  m: Extract<WorkerRequest, { type: "get" }>,
  signal: AbortSignal,
): Promise<Fetched> {
  const { id, ref } = m;
  const aborted: Fetched = { ok: false, reply: { type: "error", id, kind: "aborted", message: "aborted" } };
  // The client's loop and backoff, with the worker's jitter: each delay is 50-100% of the exponential step.
  const policy = { ...retry, multiplier: 2, jitter: 0.5 };
  try {
    return await retrying(policy, async (_attempt, last) => {
      if (signal.aborted) return aborted;
      const t0 = performance.now();
      const outcome = await attemptOnce(m, signal);
      if (auditThresholdMs !== undefined && performance.now() - t0 > auditThresholdMs && !signal.aborted) {
        const record = {
          method: "GET",
          bucket: ref.bucket,
          key: ref.key,
          ms: performance.now() - t0,
          ...outcome.audit,
        };
        scope.postMessage({ type: "audit", record });
      }
      if (outcome.done) return outcome.done;
      if (signal.aborted) return aborted;
      return last ? { ok: false, reply: outcome.retry! } : new Retry();
    }, { request: { method: "GET", bucket: ref.bucket, key: ref.key }, signal });
  } catch (err) {
    if (signal.aborted) return aborted; // the wait between attempts was cut short
    throw err;
  }
}

async function handleGet(m: Extract<WorkerRequest, { type: "get" }>): Promise<void> {
  const ac = new AbortController();
  inflight.set(m.id, ac);
  try {
    const got = await fetchWithRetry(m, ac.signal);
    if (!got.ok) return scope.postMessage(got.reply);
    if (ac.signal.aborted) {
      return scope.postMessage({ type: "error", id: m.id, kind: "aborted", message: "aborted" });
    }
    if (!transform) {
      return scope.postMessage({ type: "bytes", id: m.id, buffer: got.bytes.buffer, etag: got.etag }, [
        got.bytes.buffer,
      ]);
    }
    let value: unknown;
    try {
      value = await transform(new DataObject({ ...m.ref, bytes: got.bytes, etag: got.etag }));
    } catch (e) {
      return scope.postMessage({
        type: "error",
        id: m.id,
        kind: "transform",
        message: (e as Error)?.message ?? String(e),
      });
    }
    if (value instanceof DataObject) {
      const b = await value.bytes();
      const buffer =
        b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer
          ? b.buffer
          : b.slice().buffer;
      return scope.postMessage({ type: "bytes", id: m.id, buffer, etag: value.etag }, [buffer]);
    }
    try {
      scope.postMessage({ type: "value", id: m.id, value }, [...transferables(value)]);
    } catch (e) {
      scope.postMessage({
        type: "error",
        id: m.id,
        kind: "transform",
        message: `the transform's result cannot be sent from a worker (${(e as Error)?.message ?? e})`,
      });
    }
  } finally {
    inflight.delete(m.id);
  }
}

scope.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const m = ev.data;
  if (m.type === "get") {
    handleGet(m).catch((e) =>
      scope.postMessage({
        type: "error",
        id: m.id,
        kind: "network",
        message: redactQuery(String((e as Error)?.message ?? e), m.req.url),
      })
    );
  } else if (m.type === "cancel") {
    inflight.get(m.id)?.abort();
  } else if (m.type === "init") {
    retry = m.retry;
    auditThresholdMs = m.auditThresholdMs;
    // Warm up (the CRC-64 of no bytes is 0); a load failure surfaces at the first verification.
    const empty = new Response(null, { headers: { "x-oss-hash-crc64ecma": "0" } });
    checkCrc64(empty, new Uint8Array(0), "", "").catch(() => {});
    const url = m.transformUrl;
    if (!url) return scope.postMessage({ type: "ready" });
    import(url).then((mod) => {
      const fn = mod.default ?? mod.transform;
      if (typeof fn !== "function") {
        throw new TypeError(`transform module ${url}: expected a default export function`);
      }
      transform = fn;
      scope.postMessage({ type: "ready" });
    }).catch((e) => scope.postMessage({ type: "init-error", message: (e as Error)?.message ?? String(e) }));
  }
};
