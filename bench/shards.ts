/**
 * `deno task bench:shards`: the same samples read as tar shards (`fromShards`) and as single objects
 * (`fromPrefix`), against one local server with the same latency per request and the same bandwidth per
 * response. Default (the issue's): 100,000 samples of 16 KiB as 100 shards of 1,000, 15 ms latency, 100 MiB/s
 * per response. Reports samples/s of each and their ratio (target >= 8), time to first sample (target: the
 * shards' <= the objects' + one shard's latency), and the peak RSS growth of each pass over the RSS after seeding
 * (target: bounded by the prefetch budget, `prefetchShards` shards and `maxBytesInFlight`).
 *
 *   deno task bench:shards [--quick] [--samples 100000] [--per-shard 1000] [--size 16384] [--latency 15]
 *     [--bandwidth-mib 100] [--prefetch-shards 4] [--json bench/results/shards.json]
 *
 * `--quick`: 10,000 samples as 10 shards. The server runs in a Web Worker (its own event loop) in this process,
 * so RSS includes its store; the growth over the post-seeding RSS is what a pass adds.
 */
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";

const CREDS = { accessKeyId: "LTAIbenchshards", accessKeySecret: "bench-shards-secret-0123456789" };
const BUCKET = "bench";
const REGION = "cn-hangzhou";
const SERVER_WORKER = "ossflow-bench-shards-server";
const MiB = 1024 * 1024;

interface Settings {
  samples: number;
  perShard: number;
  size: number;
  latency: number;
  bandwidthMiB: number;
  prefetchShards: number;
}

/** Runs inside the worker: the emulator, seeded with the samples as objects and as shards. */
function serverMain(): void {
  const scope = self as unknown as { onmessage: (e: MessageEvent) => void; postMessage(m: unknown): void };
  scope.onmessage = async (e: MessageEvent) => {
    const s = e.data as Settings;
    const { serveEmulator } = await import("../src/server/emulator.ts");
    const { TarPacker } = await import("../src/tar/writer.ts");
    const server = await serveEmulator({
      port: 0,
      hostname: "127.0.0.1",
      credentials: [CREDS],
      buckets: [BUCKET],
      region: REGION,
      connectionProxy: false,
      faults: {
        latencyMs: s.latency,
        bandwidthBytesPerSec: s.bandwidthMiB * MiB,
        match: (method: string) => method === "GET",
      },
    });
    const body = (i: number) => new Uint8Array(s.size).fill(i & 0xff);
    for (let i = 0; i < s.samples; i++) {
      await server.store.put(BUCKET, `objects/${String(i).padStart(7, "0")}.bin`, body(i));
    }
    for (let first = 0, n = 0; first < s.samples; first += s.perShard, n++) {
      const packer = new TarPacker({ mtime: new Date(0) });
      const tar = new Response(packer.readable).bytes();
      for (let i = first; i < Math.min(first + s.perShard, s.samples); i++) {
        await packer.add(`${String(i).padStart(7, "0")}.bin`, body(i));
      }
      await packer.finish();
      await server.store.put(BUCKET, `shards/shard-${String(n).padStart(6, "0")}.tar`, await tar);
    }
    scope.postMessage({ url: server.url });
  };
}

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(Deno.args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    throw new Error(`--${name}: expected a positive number, got ${Deno.args[i + 1]}`);
  }
  return v;
}

interface PassResult {
  samples: number;
  perSec: number;
  ttfsMs: number;
  totalMs: number;
  peakRssGrowthMiB: number;
}

async function pass(items: AsyncIterable<unknown>, count: (x: unknown) => number): Promise<PassResult> {
  const base = Deno.memoryUsage().rss;
  let peak = base, n = 0, ttfs = -1;
  const t0 = performance.now();
  for await (const x of items) {
    if (ttfs < 0) ttfs = performance.now() - t0;
    n += count(x);
    if (n % 256 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
  }
  const totalMs = performance.now() - t0;
  peak = Math.max(peak, Deno.memoryUsage().rss);
  return {
    samples: n,
    perSec: n / totalMs * 1000,
    ttfsMs: ttfs,
    totalMs,
    peakRssGrowthMiB: (peak - base) / MiB,
  };
}

async function main(): Promise<void> {
  const quick = Deno.args.includes("--quick");
  const s: Settings = {
    samples: arg("samples", quick ? 10_000 : 100_000),
    perShard: arg("per-shard", 1000),
    size: arg("size", 16 * 1024),
    latency: arg("latency", 15),
    bandwidthMiB: arg("bandwidth-mib", 100),
    prefetchShards: arg("prefetch-shards", 4),
  };
  const worker = new Worker(import.meta.url, { type: "module", name: SERVER_WORKER });
  const ready = new Promise<{ url: string }>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`server worker: ${e.message}`));
  });
  worker.postMessage(s);
  const { url } = await ready;
  const shards = Math.ceil(s.samples / s.perShard);
  console.log(
    `shards bench: ${s.samples} samples x ${s.size} B as ${shards} shards of ${s.perShard} vs single objects; ` +
      `latency ${s.latency} ms, ${s.bandwidthMiB} MiB/s per response, prefetchShards ${s.prefetchShards}`,
  );
  const client = new OssClient({ endpoint: url, region: REGION, credentials: CREDS });
  const maxBytesInFlight = 256 * MiB;
  const objects = await pass(
    OssIterableDataset.fromPrefix(`oss://${BUCKET}/objects/`, { client, maxBytesInFlight }),
    () => 1,
  );
  const tars = await pass(
    OssIterableDataset.fromShards(
      `oss://${BUCKET}/shards/shard-{000000..${String(shards - 1).padStart(6, "0")}}.tar`,
      {
        client,
        prefetchShards: s.prefetchShards,
        maxBytesInFlight,
      },
    ),
    () => 1,
  );
  if (objects.samples !== s.samples || tars.samples !== s.samples) {
    throw new Error(
      `expected ${s.samples} samples, got ${objects.samples} (objects) and ${tars.samples} (shards)`,
    );
  }
  const row = (name: string, r: PassResult) =>
    `${name.padEnd(8)} ${r.perSec.toFixed(0).padStart(8)} samples/s  first ${
      r.ttfsMs.toFixed(1).padStart(7)
    } ms  ` +
    `total ${(r.totalMs / 1000).toFixed(2).padStart(6)} s  peak RSS +${r.peakRssGrowthMiB.toFixed(0)} MiB`;
  console.log(row("objects", objects));
  console.log(row("shards", tars));
  const ratio = tars.perSec / objects.perSec;
  const shardLatency = s.latency + (s.perShard * s.size) / (s.bandwidthMiB * MiB) * 1000;
  console.log(
    `ratio ${ratio.toFixed(1)}x (target >= 8); first sample ${tars.ttfsMs.toFixed(1)} ms vs objects ` +
      `${objects.ttfsMs.toFixed(1)} ms + one shard's latency ${s.latency} ms; prefetch budget ` +
      `${s.prefetchShards} shards of ${(s.perShard * s.size / MiB).toFixed(1)} MiB, maxBytesInFlight ${
        maxBytesInFlight / MiB
      } MiB ` +
      `(one shard at full bandwidth: ${shardLatency.toFixed(0)} ms)`,
  );
  const jsonAt = Deno.args.indexOf("--json");
  if (jsonAt >= 0) {
    await Deno.writeTextFile(
      Deno.args[jsonAt + 1],
      JSON.stringify({ settings: s, objects, shards: tars, ratio }, null, 2) + "\n",
    );
  }
  worker.terminate();
}

if ((self as { name?: string }).name === SERVER_WORKER) serverMain();
else if (import.meta.main) await main();
