// Listing once: a snapshot of a dataset's listing (a JSON-lines manifest with sizes and ETags) and the cached
// listing of `cacheListing` give the same references, deals and shuffles as a fresh listing, without listing.
import { expect } from "expect";
import { OssIterableDataset, OssMapDataset } from "../mod.ts";
import { jsonLinesParser } from "../src/dataset/manifest.ts";
import { BUCKET, clientFor, dsOpts, seed, startServer } from "./dataset_fixture.ts";

const PREFIX = `oss://${BUCKET}/train/`;
const SNAPSHOT = `oss://${BUCKET}/lists/train.jsonl`;
const lists = (stats: { byOperation: Record<string, number> }) => stats.byOperation.ListObjectsV2 ?? 0;

Deno.test("a snapshot read back as a manifest deals and shuffles every rank and epoch as the fresh listing does", async () => {
  const server = await startServer();
  try {
    await seed(server, 57);
    const shuffled = { shuffle: { seed: 11, bufferSize: 8 }, worldSize: 3 };
    const wrote = await OssIterableDataset.fromPrefix(PREFIX, dsOpts(server)).snapshot(SNAPSHOT);
    expect(wrote).toEqual({ uri: SNAPSHOT, objects: 57 });
    for (let rank = 0; rank < 3; rank++) {
      for (const epoch of [0, 1]) {
        const fresh = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server, { ...shuffled, rank }));
        const snap = OssIterableDataset.fromManifestFile(SNAPSHOT, dsOpts(server, { ...shuffled, rank }));
        const freshItems = await Array.fromAsync(fresh.iterate({ epoch }), (o) => [o.key, o.size, o.etag]);
        server.stats.reset();
        const snapItems = await Array.fromAsync(snap.iterate({ epoch }), (o) => [o.key, o.size, o.etag]);
        expect({ rank, epoch, items: snapItems }).toEqual({ rank, epoch, items: freshItems });
        expect(lists(server.stats)).toBe(0);
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("cacheListing lists once: later passes reuse the first complete pass's listing, same deal and shuffle", async () => {
  const server = await startServer();
  try {
    await seed(server, 40);
    const opts = { shuffle: { seed: 3, bufferSize: 5 }, worldSize: 2, rank: 1 };
    const cached = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server, { ...opts, cacheListing: true }));
    const fresh = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server, opts));
    server.stats.reset();
    const first = await Array.fromAsync(cached.iterate({ epoch: 0 }), (o) => o.key);
    expect(lists(server.stats)).toBeGreaterThan(0);
    await server.store.put(BUCKET, "train/99999.bin", new Uint8Array(3)); // a new object: the cache does not see it
    server.stats.reset();
    const second = await Array.fromAsync(cached.iterate({ epoch: 1 }), (o) => o.key);
    expect(lists(server.stats)).toBe(0);
    await server.store.delete(BUCKET, "train/99999.bin");
    expect(first).toEqual(await Array.fromAsync(fresh.iterate({ epoch: 0 }), (o) => o.key));
    expect(second).toEqual(await Array.fromAsync(fresh.iterate({ epoch: 1 }), (o) => o.key));
    expect(second).not.toContain("train/99999.bin");
  } finally {
    await server.close();
  }
});

Deno.test("a map dataset opens from a snapshot without listing, its length and sizes known at once", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 30);
    const listed = await OssMapDataset.fromPrefix(PREFIX, dsOpts(server, { rank: 0, worldSize: 4 }));
    expect((await listed.snapshot(SNAPSHOT)).objects).toBe(30); // all ranks' objects, not this rank's 8
    server.stats.reset();
    const opened = await OssMapDataset.fromManifestFile(SNAPSHOT, dsOpts(server));
    expect([opened.length, lists(server.stats), server.stats.requests]).toEqual([30, 0, 1]); // one GET: the manifest
    const heads = await Promise.all([...expected.keys()].map((k) => clientFor(server).head(BUCKET, k)));
    expect(Array.from({ length: 30 }, (_, i) => [opened.ref(i).size, opened.ref(i).etag]))
      .toEqual(heads.map((h) => [h.size, h.etag]));
    expect(await (await opened.get(7)).bytes()).toEqual(expected.get(opened.ref(7).key));
  } finally {
    await server.close();
  }
});

Deno.test("a snapshot that fails to upload leaves the previous snapshot as it was", async () => {
  const server = await startServer();
  try {
    await seed(server, 10);
    const ds = OssIterableDataset.fromPrefix(PREFIX, dsOpts(server));
    await ds.snapshot(SNAPSHOT);
    const before = await clientFor(server).getBytes(BUCKET, "lists/train.jsonl");
    await seed(server, 12);
    server.faults.update({
      errorRate: 1,
      errorKinds: ["slowdown"],
      match: (_m, key, op) => key === "lists/train.jsonl" && op !== "GetObject",
    });
    await expect(ds.snapshot(SNAPSHOT)).rejects.toMatchObject({ code: "SlowDown" });
    server.faults.update({ errorRate: 0 });
    const after = await clientFor(server).getBytes(BUCKET, "lists/train.jsonl");
    expect([after.etag, after.bytes]).toEqual([before.etag, before.bytes]);
    expect(await clientFor(server).listUploads(BUCKET)).toEqual([]);
  } finally {
    await server.close();
  }
});

Deno.test("a JSON-lines manifest's size and etag are checked, naming the field", () => {
  expect(jsonLinesParser('{"source":"oss://b01/a","size":3,"etag":"\\"e\\""}', 1))
    .toEqual({ path: "oss://b01/a", label: "", size: 3, etag: '"e"' });
  expect(() => jsonLinesParser('{"source":"oss://b01/a","size":-1}', 1)).toThrow(
    '"size": expected a byte count',
  );
  expect(() => jsonLinesParser('{"source":"oss://b01/a","size":"3"}', 1)).toThrow(
    '"size": expected a byte count',
  );
  expect(() => jsonLinesParser('{"source":"oss://b01/a","etag":""}', 1)).toThrow(
    '"etag": expected a non-empty string',
  );
});
