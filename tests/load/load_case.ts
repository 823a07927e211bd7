// Load: 512 concurrent streams through ONE OssClient for 60 s against the local server (signed requests; the
// server runs in a Worker thread of its own): whole and ranged GETs with their bodies streamed and checked byte
// for byte, PUTs, HEADs and LISTs. No request may fail, RSS must stay bounded, and Deno's resource and op
// sanitizers stay on, so a leaked connection, body or timer fails the test. OSSFLOW_LOAD_SECONDS shortens the
// run for local work. Run by tests/load_test.ts in a process of its own, so that RSS is this test's alone.
import { expect } from "expect";
import { OssClient } from "../../src/client.ts";
import { mulberry32 } from "../../src/server/faults.ts";
import { bytesOf, CREDS } from "../client_fixtures.ts";

const STREAMS = 512;
const SECONDS = Number(Deno.env.get("OSSFLOW_LOAD_SECONDS") ?? 60);
const RSS_LIMIT = 1.5 * 1024 ** 3;
const OBJECTS = 64;
const MiB = 1024 * 1024;

/** Object sizes: mostly small, every 8th one over a MiB (streamed by the server, not sent in one piece). */
const sizeOf = (i: number) => (i % 8 === 0 ? MiB + i * 1013 : 1024 + ((i * 7919) % (64 * 1024)));
const keyOf = (i: number) => `data/${String(i).padStart(3, "0")}.bin`;

type Op = "get" | "range" | "put" | "head" | "list";
/** Op mix, cumulative: 40 % whole GET, 20 % ranged GET, 15 % PUT, 15 % HEAD, 10 % LIST. */
const MIX: [number, Op][] = [[0.4, "get"], [0.6, "range"], [0.75, "put"], [0.9, "head"], [1, "list"]];

/** Reads `body` chunk by chunk (as a consumer would), comparing it with `expected`; returns bytes read. */
async function consume(
  body: ReadableStream<Uint8Array>,
  expected: Uint8Array,
  what: string,
): Promise<number> {
  let at = 0;
  for await (const chunk of body) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== expected[at + i]) throw new Error(`${what}: byte ${at + i} differs`);
    }
    at += chunk.length;
  }
  if (at !== expected.length) throw new Error(`${what}: ${at} bytes, expected ${expected.length}`);
  return at;
}

/** Starts the server in its own Worker; `close()` stops it and returns its stats. */
async function startServerWorker() {
  const worker = new Worker(new URL("./load_server_worker.ts", import.meta.url), { type: "module" });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(e.error ?? new Error(e.message));
    });
  const started = next();
  worker.postMessage({ start: { buckets: ["bkt"], credentials: [CREDS] } });
  const { url } = await started as { url: string };
  return {
    url,
    async close(): Promise<{ maxInFlight: number; requests: number }> {
      const closed = next();
      worker.postMessage("close");
      const stats = (await closed).closed as { maxInFlight: number; requests: number };
      worker.terminate();
      return stats;
    },
  };
}

Deno.test(`${STREAMS} concurrent streams through one client for ${SECONDS} s: no errors, bounded memory, no leaks`, async () => {
  const server = await startServerWorker();
  let serverStats: { maxInFlight: number; requests: number } | undefined;
  const rss = { peak: Deno.memoryUsage().rss, start: Deno.memoryUsage().rss };
  const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, Deno.memoryUsage().rss)), 100);
  try {
    const client = new OssClient({
      endpoint: server.url,
      region: "cn-hangzhou",
      credentials: CREDS,
      retry: { maxAttempts: 1 }, // the server injects nothing: any failure is an error to report, not to hide
    });
    const objects = Array.from({ length: OBJECTS }, (_, i) => bytesOf(sizeOf(i), i + 1));
    await Promise.all(objects.map((data, i) => client.put("bkt", keyOf(i), data)));
    const puts = Array.from({ length: 16 }, (_, i) => bytesOf(512 + i * 1500, 1000 + i));

    const counts: Record<Op, number> = { get: 0, range: 0, put: 0, head: 0, list: 0 };
    const errors: string[] = [];
    let bytesRead = 0;
    const streams = { open: 0, peak: 0 };
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    await Promise.all(Array.from({ length: STREAMS }, async (_, w) => {
      const rand = mulberry32(w + 1);
      while (performance.now() < deadline) {
        const roll = rand();
        const op = MIX.find(([p]) => roll < p)![1];
        const i = Math.floor(rand() * OBJECTS);
        streams.peak = Math.max(streams.peak, ++streams.open);
        try {
          if (op === "get") {
            const got = await client.get("bkt", keyOf(i));
            const n = await consume(got.body, objects[i], `GET ${keyOf(i)}`);
            bytesRead += n;
          } else if (op === "range") {
            const start = Math.floor(rand() * objects[i].length);
            const end = Math.min(objects[i].length - 1, start + Math.floor(rand() * 256 * 1024));
            const got = await client.get("bkt", keyOf(i), { range: { start, end } });
            const n = await consume(
              got.body,
              objects[i].subarray(start, end + 1),
              `GET ${keyOf(i)} ${start}-${end}`,
            );
            bytesRead += n;
          } else if (op === "put") {
            const data = puts[Math.floor(rand() * puts.length)];
            await client.put("bkt", `scratch/${w}.bin`, data);
          } else if (op === "head") {
            expect((await client.head("bkt", keyOf(i))).size).toBe(objects[i].length);
          } else {
            let listed = 0;
            for await (const page of client.listPages("bkt", { prefix: "data/", maxKeys: 100 })) {
              listed += page.objects.length;
            }
            if (listed !== OBJECTS) throw new Error(`LIST data/: ${listed} objects, expected ${OBJECTS}`);
          }
          counts[op]++;
        } catch (err) {
          if (errors.length < 10) errors.push(`${op}: ${err instanceof Error ? err.message : String(err)}`);
          else errors.length++;
        } finally {
          streams.open--;
        }
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    rss.peak = Math.max(rss.peak, Deno.memoryUsage().rss);
    serverStats = await server.close();
    console.log(
      `[load] ${STREAMS} streams, ${seconds.toFixed(1)} s: ${total} requests completed (${
        (total / seconds).toFixed(0)
      } req/s) ${JSON.stringify(counts)}, ${
        (bytesRead / MiB).toFixed(0)
      } MiB read, ${errors.length} errors; ` +
        `peak RSS ${(rss.peak / MiB).toFixed(0)} MiB (start ${(rss.start / MiB).toFixed(0)} MiB); ` +
        `${streams.peak} streams open at once, server saw ${serverStats.maxInFlight} requests in flight at once`,
    );
    expect(errors).toEqual([]);
    expect(streams.peak).toBe(STREAMS);
    expect(Object.values(counts).every((n) => n > 0)).toBe(true);
    expect(rss.peak).toBeLessThan(RSS_LIMIT);
  } finally {
    clearInterval(sampler);
    serverStats ??= await server.close();
  }
});
