import { expect } from "expect";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import type { DataObject } from "../src/dataset/item.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import type { AuditRecord } from "../src/log.ts";
import {
  assertSameObjects,
  BUCKET,
  collect,
  CREDS,
  dsOpts,
  keyOf,
  seed,
  settled,
  startServer,
} from "./dataset_fixture.ts";

const PREFIX = `oss://${BUCKET}/train/`;
const keysOf = async (items: AsyncIterable<DataObject>) => {
  const out: string[] = [];
  for await (const i of items) out.push(i.key);
  return out;
};
const ops = (s: { byOperation: Record<string, number> }, op: string) => s.byOperation[op] ?? 0;

Deno.test("iterable shards are disjoint and complete for worldSize 1..8, each pass listing the bucket once", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 45);
    for (let ws = 1; ws <= 8; ws++) {
      for (const shuffle of [undefined, { seed: 9 }, { seed: 9, mode: "buffer" as const, bufferSize: 8 }]) {
        const all: string[] = [];
        for (let rank = 0; rank < ws; rank++) {
          const before = ops(server.stats, "ListObjectsV2");
          const opts = dsOpts(server, { rank, worldSize: ws, shuffle, evenShards: "none" });
          const ds = OssIterableDataset.fromPrefix(PREFIX, opts);
          ds.setEpoch(3);
          all.push(...await keysOf(ds));
          expect(ops(server.stats, "ListObjectsV2") - before).toBe(1);
        }
        expect(all.length).toBe(45);
        expect(new Set(all)).toEqual(new Set(expected.keys()));
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("map shards are disjoint and complete for worldSize 1..8 and come from one listing", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 45);
    const ds = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server, { evenShards: "none" }));
    const listings = ops(server.stats, "ListObjectsV2");
    for (let ws = 1; ws <= 8; ws++) {
      const all: string[] = [];
      for (let rank = 0; rank < ws; rank++) all.push(...await keysOf(ds.shard(rank, ws)));
      expect(all.sort()).toEqual([...expected.keys()].sort());
    }
    expect(ops(server.stats, "ListObjectsV2")).toBe(listings);
    const viaOpts = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server, { rank: 2, worldSize: 3 }));
    expect(viaOpts.length).toBe(15);
    expect(viaOpts.ref(0).key).toBe(keyOf("train/", 2));
  } finally {
    await server.close();
  }
});

Deno.test("seeded shuffles are reproducible and differ across epochs and seeds", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 80);
    const sorted = [...expected.keys()].sort();
    const iter = (s: number) =>
      OssIterableDataset.fromPrefix(
        PREFIX,
        dsOpts(server, { shuffle: { seed: s, mode: "buffer", bufferSize: 32 } }),
      );
    const a0 = await keysOf(iter(1).iterate({ epoch: 0 }));
    expect(await keysOf(iter(1).iterate({ epoch: 0 }))).toEqual(a0);
    expect(await keysOf(iter(1).iterate({ epoch: 1 }))).not.toEqual(a0);
    expect(await keysOf(iter(2).iterate({ epoch: 0 }))).not.toEqual(a0);
    expect([...a0].sort()).toEqual(sorted);
    expect(a0).not.toEqual(sorted);

    const map = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server, { seed: 5 }));
    map.setEpoch(4);
    const m4 = await keysOf(map);
    expect(m4).toEqual(Array.from(map.indices(4), (i) => map.ref(i).key));
    expect(await keysOf(map.iterate({ epoch: 4 }))).toEqual(m4);
    expect(await keysOf(map.iterate({ epoch: 5 }))).not.toEqual(m4);
    const other = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server, { seed: 6 }));
    expect(await keysOf(other.iterate({ epoch: 4 }))).not.toEqual(m4);
    expect([...m4].sort()).toEqual(sorted);
    const plain = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server));
    expect(await keysOf(plain)).toEqual(sorted);
  } finally {
    await server.close();
  }
});

for (const prefetchWorker of [0, 2]) {
  Deno.test(`break after 3 items leaves no request in flight on the server (prefetchWorker ${prefetchWorker})`, async () => {
    const latencyMs = 40, concurrency = 16;
    const server = await startServer({ latencyMs });
    try {
      await seed(server, 200);
      for (const kind of ["iterable", "map"] as const) {
        const opts = dsOpts(server, { prefetchConcurrency: concurrency, prefetchWorker });
        const ds = kind === "iterable"
          ? OssIterableDataset.fromPrefix(PREFIX, opts)
          : await OssMapDataset.fromPrefix(PREFIX, opts);
        let n = 0;
        for await (const _ of ds) if (++n === 3) break;
        const atBreak = server.stats.requests;
        // A request whose connection was still being set up when it was aborted may reach the server a moment
        // later (the runtime's fetch finishes the handshake); the server answers it within one latency.
        expect(await settled(server)).toBe(0);
        const drained = server.stats.requests;
        expect(drained - atBreak).toBeLessThanOrEqual(concurrency);
        // Nothing keeps issuing requests after the break: none arrives in a quiet window of three latencies.
        expect(await settled(server, undefined, 3 * latencyMs)).toBe(0);
        expect(server.stats.requests).toBe(drained);
        expect(server.stats.inFlight).toBe(0);
      }
    } finally {
      await server.close();
    }
  });
}

Deno.test("an aborted signal stops the pass and every request in flight", async () => {
  const server = await startServer({ latencyMs: 40 });
  try {
    await seed(server, 100);
    const ac = new AbortController();
    const ds = OssIterableDataset.fromPrefix(
      PREFIX,
      dsOpts(server, { prefetchConcurrency: 16, signal: ac.signal }),
    );
    let delivered = 0;
    const pass = (async () => {
      for await (const _ of ds) if (++delivered === 5) ac.abort(new Error("stop the epoch"));
    })();
    await expect(pass).rejects.toThrow("stop the epoch");
    expect(delivered).toBe(5);
    expect(await settled(server)).toBe(0);
  } finally {
    await server.close();
  }
});

Deno.test("prefetch never exceeds its request bound on the server's concurrency gauge", async () => {
  const server = await startServer({ latencyMs: 40 });
  try {
    const expected = await seed(server, 120);
    const uris = [...expected.keys()].map((k) => `oss://${BUCKET}/${k}`);
    for (const [concurrency, prefetchWorker] of [[6, 0], [6, 2], [24, 0]]) {
      server.stats.reset();
      const ds = OssIterableDataset.fromObjects(
        uris,
        dsOpts(server, { prefetchConcurrency: concurrency, prefetchWorker }),
      );
      assertSameObjects(await collect(ds), expected);
      expect(server.stats.maxInFlight).toBeLessThanOrEqual(concurrency);
      expect(server.stats.maxInFlight).toBeGreaterThan(concurrency / 2); // the bound is not met trivially
    }
  } finally {
    await server.close();
  }
});

Deno.test("prefetch never exceeds its byte bound: 16 KiB objects with a 48 KiB budget keep 3 requests in flight", async () => {
  const server = await startServer({ latencyMs: 15 });
  try {
    const expected = await seed(server, 40, "train/", 16 * 1024);
    server.stats.reset();
    const ds = OssIterableDataset.fromPrefix(
      PREFIX,
      dsOpts(server, { prefetchConcurrency: 32, maxBytesInFlight: 48 * 1024 }),
    );
    assertSameObjects(await collect(ds), expected);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(server.stats.maxInFlight).toBeGreaterThanOrEqual(2);
  } finally {
    await server.close();
  }
});

Deno.test("listing streams: the first item arrives before the listing has ended", async () => {
  const server = await startServer({ latencyMs: 30 });
  try {
    await seed(server, 2500); // three listing pages of 1000
    server.stats.reset();
    const ds = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server, { prefetchConcurrency: 8 }));
    for await (const item of ds) {
      expect(item.key).toBe(keyOf("train/", 0));
      // The client keeps at most one page ahead, and the dataset pulls only what prefetch needs: the third
      // page has not been asked for when the first item arrives.
      expect(ops(server.stats, "ListObjectsV2")).toBeLessThan(3);
      break;
    }
  } finally {
    await server.close();
  }
});

Deno.test("a failing transform names the key; with onTransformError 'skip' the item is dropped and counted", async () => {
  const server = await startServer();
  try {
    await seed(server, 20);
    const transform = async (item: DataObject) => {
      if (item.key.endsWith("00007.bin")) throw new Error("cannot decode");
      return (await item.bytes()).byteLength;
    };
    const failing = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server, { transform }));
    const err = await Array.fromAsync(failing).catch((e) => e);
    expect(err.name).toBe("TransformError");
    expect(err.key).toBe(keyOf("train/", 7));
    expect(err.message).toBe(`transform failed for oss://${BUCKET}/${keyOf("train/", 7)}: cannot decode`);

    const skipping = OssIterableDataset.fromPrefix(
      PREFIX,
      dsOpts(server, { transform, onTransformError: "skip" }),
    );
    expect((await Array.fromAsync(skipping)).length).toBe(19);
    expect(skipping.skipped).toBe(1);
    const map = await OssMapDataset.fromPrefix(
      PREFIX,
      dsOpts(server, { transform, onTransformError: "skip" }),
    );
    expect((await Array.fromAsync(map)).length).toBe(19);
    expect(map.skipped).toBe(1);
    await expect(map.get(7)).rejects.toThrow("transform failed for");
  } finally {
    await server.close();
  }
});

Deno.test("a transform module runs inside the prefetch workers and its ArrayBuffers come back", async () => {
  const server = await startServer();
  const mod = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const expected = await seed(server, 30);
    await Deno.writeTextFile(
      mod,
      `export default async (item) => ({ key: item.key, label: item.label, scope: globalThis.constructor.name,
         data: (await item.bytes()).buffer });\n`,
    );
    type Out = { key: string; scope: string; data: ArrayBuffer };
    for (const prefetchWorker of [2, 0]) {
      const ds = OssIterableDataset.fromPrefix<Out>(
        PREFIX,
        dsOpts<Out>(server, { transform: new URL(`file://${mod}`), prefetchWorker }),
      );
      const got = await Array.fromAsync(ds);
      expect(got.length).toBe(30);
      for (const o of got) {
        expect(o.scope).toBe(prefetchWorker ? "DedicatedWorkerGlobalScope" : "Window");
        expect(new Uint8Array(o.data)).toEqual(expected.get(o.key));
      }
    }
  } finally {
    await Deno.remove(mod);
    await server.close();
  }
});

Deno.test("prefetchWorkerUrl: the workers start from the module given, and one that is not there is named", async () => {
  const server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "ossflow-worker-url-" });
  try {
    const expected = await seed(server, 12);
    // A worker entry of its own (as a bundler would emit): marks its scope, then runs the library's worker.
    const entry = new URL(`file://${dir}/my_worker.js`);
    await Deno.writeTextFile(
      entry,
      `import ${JSON.stringify(new URL("../workers/prefetch_worker.ts", import.meta.url).href)};\n` +
        `globalThis.entry = "my_worker";\n`,
    );
    const transform = new URL(`file://${dir}/transform.js`);
    await Deno.writeTextFile(
      transform,
      `export default (item) => ({ key: item.key, entry: globalThis.entry ?? "default" });\n`,
    );
    type Out = { key: string; entry: string };
    const run = (prefetchWorkerUrl?: URL) =>
      Array.fromAsync(
        OssIterableDataset.fromPrefix<Out>(
          PREFIX,
          dsOpts<Out>(server, { transform, prefetchWorker: 2, prefetchWorkerUrl }),
        ),
      );
    const given = await run(entry);
    expect(given.map((o) => o.key).sort()).toEqual([...expected.keys()].sort());
    expect(new Set(given.map((o) => o.entry))).toEqual(new Set(["my_worker"]));
    expect(new Set((await run()).map((o) => o.entry))).toEqual(new Set(["default"]));
    const missing = new URL(`file://${dir}/no_such_worker.js`);
    await expect(run(missing)).rejects.toThrow(missing.href);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});

for (const prefetchWorker of [0, 2]) {
  Deno.test(`requests slower than 100 ms reach the audit sink with method, bucket, key, status, bytes, ms (prefetchWorker ${prefetchWorker})`, async () => {
    const server = await startServer({ latencyMs: 120 });
    try {
      const expected = await seed(server, 3);
      const records: AuditRecord[] = [];
      const ds = OssIterableDataset.fromPrefix(
        PREFIX,
        dsOpts(server, { prefetchWorker, auditSink: (r) => records.push(r) }),
      );
      await collect(ds);
      const gets = records.filter((r) => r.key !== "");
      expect(gets.length).toBe(3);
      for (const r of gets) {
        expect(r).toMatchObject({
          method: "GET",
          bucket: BUCKET,
          status: 200,
          bytes: expected.get(r.key)!.byteLength,
        });
        expect(r.ms).toBeGreaterThan(100);
        expect(Object.keys(r).sort()).toEqual(["bucket", "bytes", "key", "method", "ms", "status", "time"]);
      }
      expect(records.some((r) => r.key === "" && r.bucket === BUCKET)).toBe(true); // the listing
      expect(JSON.stringify(records)).not.toContain(CREDS.accessKeySecret);
    } finally {
      await server.close();
    }
  });
}

Deno.test("config auditPath receives slow requests as JSON lines when a pass ends", async () => {
  const server = await startServer({ latencyMs: 110 });
  const path = await Deno.makeTempFile();
  try {
    await seed(server, 2);
    const ds = OssIterableDataset.fromPrefix(
      PREFIX,
      dsOpts(server, { config: { auditPath: path, logLevel: 3 } }),
    );
    await collect(ds);
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.method === "GET" && l.key.startsWith("train/")).length).toBe(2);
  } finally {
    await Deno.remove(path);
    await server.close();
  }
});

Deno.test("config datasetConfig supplies defaults and explicit options win", async () => {
  const server = await startServer({ latencyMs: 30 });
  try {
    const expected = await seed(server, 40);
    const uris = [...expected.keys()].map((k) => `oss://${BUCKET}/${k}`);
    const config = { datasetConfig: { prefetchConcurrency: 3, prefetchWorker: 0 } };
    server.stats.reset();
    await collect(
      OssIterableDataset.fromObjects(uris, dsOpts(server, { config, prefetchWorker: undefined })),
    );
    expect(server.stats.maxInFlight).toBe(3);
    server.stats.reset();
    await collect(OssIterableDataset.fromObjects(uris, dsOpts(server, { config, prefetchConcurrency: 7 })));
    expect(server.stats.maxInFlight).toBe(7);
  } finally {
    await server.close();
  }
});
