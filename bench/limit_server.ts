/**
 * The physical limit of the bench's scenarios on this machine: a bare `Deno.serve` answering from memory, with
 * the same injected latency before every request and the same per-connection bandwidth cap (the emulator's own
 * `meteredStream`) as bench/server.ts, and nothing else — no signature checks, no hashing, no store. Read by
 * the bare `fetch` loop of bench/peers/limit.ts, pinned like every client, it is the most any client can
 * reach here; the report shows every client as a share of it.
 *
 * - `GET /bench/?list-type=2&prefix=P&max-keys=N[&continuation-token=T]`: a ListObjectsV2 page built once per
 *   prefix at start (the same fields the emulator lists);
 * - `GET /bench/KEY` (with an optional `Range: bytes=a-b`): the seeded object's bytes, one shared buffer per
 *   prefix; under `ckpt/` a `--ckpt-bytes` object;
 * - `PUT` and `POST`: the body read under the cap and dropped, a tiny answer.
 *
 *   deno run -A bench/limit_server.ts --latency 15 --bandwidth-mib 100 --ckpt-bytes N --seed small/:10000:16384
 *
 * Prints `{"url", "seededMs"}` as one JSON line and runs until its stdin closes.
 *
 * @module
 */
import { meteredStream } from "../src/server/faults.ts";
import { sleep } from "../src/retry.ts";
import { BUCKET, MiB, PREFIX, seededKey } from "./common.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const latencyMs = Number(flag("latency") ?? 15);
const rate = Number(flag("bandwidth-mib") ?? 100) * MiB;
/** Bodies up to one pacing slice (1/20 s of the cap) are never held back by the meter, so they skip it. */
const slice = rate / 20;

const t0 = performance.now();
/** A seeded prefix: its keys, the one buffer every object of it shares, and its list pages once built. */
interface Seeded {
  count: number;
  body: Uint8Array<ArrayBuffer>;
  keys: string[];
  pages: Map<string, string>;
}
const objects = new Map<string, Seeded>();
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] !== "--seed") continue;
  const [prefix, count, size] = Deno.args[i + 1].split(":");
  const body = new Uint8Array(Number(size));
  for (let j = 0; j < body.length; j += 65536) crypto.getRandomValues(body.subarray(j, j + 65536));
  const keys = Array.from({ length: Number(count) }, (_, j) => seededKey(prefix, j));
  objects.set(prefix, { count: Number(count), body, keys, pages: new Map() });
}
const ckpt = new Uint8Array(Number(flag("ckpt-bytes") ?? 0));
for (let j = 0; j < ckpt.length; j += 65536) crypto.getRandomValues(ckpt.subarray(j, j + 65536));

const ETAG = '"0123456789ABCDEF0123456789ABCDEF"';
const DATE = new Date().toISOString();

/** A ListObjectsV2 page, built once and kept (every client asks for the same pages). */
function page(prefix: string, start: number, maxKeys: number): string {
  const set = objects.get(prefix);
  if (!set) {
    return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>`;
  }
  const cached = set.pages.get(`${start}:${maxKeys}`);
  if (cached) return cached;
  const end = Math.min(set.count, start + maxKeys);
  const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${BUCKET}</Name>`];
  parts.push(`<Prefix>${prefix}</Prefix><MaxKeys>${maxKeys}</MaxKeys><KeyCount>${end - start}</KeyCount>`);
  parts.push(`<IsTruncated>${end < set.count}</IsTruncated>`);
  if (end < set.count) parts.push(`<NextContinuationToken>${end}</NextContinuationToken>`);
  for (let j = start; j < end; j++) {
    parts.push(
      `<Contents><Key>${set.keys[j]}</Key><LastModified>${DATE}</LastModified><ETag>${ETAG}</ETag>` +
        `<Size>${set.body.length}</Size><StorageClass>Standard</StorageClass></Contents>`,
    );
  }
  parts.push("</ListBucketResult>");
  const xml = parts.join("");
  set.pages.set(`${start}:${maxKeys}`, xml);
  return xml;
}

/** Blocks of a large body, as the emulator's memory store sends them (src/server/store/memory.ts). */
const BLOCK = 1024 * 1024;

/**
 * A large body as a stream of 1 MiB views of the buffer, one per pull, as the emulator's memory store streams
 * its blocks. Measured against the Blob stream it replaced (1 GiB of 8 MiB ranged reads, 16 at once, read by a
 * counting loop, pinned, 2026-12-05): 1,207-1,313 MiB/s against 815-884.
 */
function blockStream(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at = Math.min(bytes.length, at + BLOCK)));
    },
  }, { highWaterMark: 0 });
}

function body(bytes: Uint8Array<ArrayBuffer>, status = 200, headers: Record<string, string> = {}): Response {
  const h = { "content-length": String(bytes.length), etag: ETAG, ...headers };
  if (bytes.length <= slice) return new Response(bytes, { status, headers: h });
  return new Response(meteredStream(blockStream(bytes), { bytesPerSec: rate }), { status, headers: h });
}

async function handle(req: Request): Promise<Response> {
  await sleep(latencyMs);
  const url = new URL(req.url);
  const key = decodeURIComponent(url.pathname.slice(BUCKET.length + 2));
  if (req.method === "PUT" || req.method === "POST") {
    if (req.body) { for await (const _ of meteredStream(req.body, { bytesPerSec: rate })) { /* dropped */ } }
    return new Response(req.method === "POST" ? "<r><UploadId>limit</UploadId></r>" : null, {
      headers: { etag: ETAG },
    });
  }
  if (key === "") {
    const q = url.searchParams;
    return new Response(
      page(
        q.get("prefix") ?? "",
        Number(q.get("continuation-token") ?? 0),
        Number(q.get("max-keys") ?? 1000),
      ),
      { headers: { "content-type": "application/xml" } },
    );
  }
  const data = key.startsWith(PREFIX.ckpt) ? ckpt : objects.get(key.slice(0, key.indexOf("/") + 1))?.body;
  if (!data) return new Response("no such key", { status: 404 });
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("range") ?? "");
  if (!range) return body(data);
  const a = Number(range[1]), b = Math.min(data.length - 1, Number(range[2]));
  return body(data.subarray(a, b + 1), 206, { "content-range": `bytes ${a}-${b}/${data.length}` });
}

const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handle);
console.log(JSON.stringify({
  url: `http://127.0.0.1:${server.addr.port}`,
  seededMs: Math.round(performance.now() - t0),
}));
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
await server.shutdown();
Deno.exit(0);
