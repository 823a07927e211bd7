// Distributed saves (ranks as concurrent calls in this process): rank 0 commits the index only after every
// rank's shards check out; until then, and whenever a rank fails, the previous checkpoint is the one that loads.
import { expect } from "expect";
import { IntegrityError, SafetensorsError } from "../src/errors.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors, type SaveSafetensorsOptions } from "../src/safetensors/writer.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { until } from "./checkpoint_fixture.ts";
import { BUCKET, KiB, makeTensor, sameTensor, setup } from "./safetensors_fixture.ts";

const URI = `oss://${BUCKET}/run/model.safetensors`;
const INDEX_KEY = "run/model.safetensors.index.json";

/** Rank `rank`'s tensors: `n` F32 tensors of 1 KiB named `r<rank>.<i>`, contents from `seed`. */
function rankTensors(rank: number, n: number, seed = 0): Map<string, Tensor> {
  return new Map(
    Array.from(
      { length: n },
      (_, i) => [`r${rank}.${i}`, makeTensor("F32", [256], seed + rank * 100 + i + 1)],
    ),
  );
}

async function keys(t: Awaited<ReturnType<typeof setup>>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of t.client.list(BUCKET, { prefix: "run/" })) out.push(o.key);
  return out;
}

/** Saves one checkpoint with every rank of `worldSize` at once; resolves with what each rank's call gave. */
function saveAll(
  t: Awaited<ReturnType<typeof setup>>,
  worldSize: number,
  tensorsOf: (rank: number) => Map<string, Tensor>,
  extra: Partial<SaveSafetensorsOptions> = {},
) {
  return Promise.all(
    Array.from(
      { length: worldSize },
      (_, rank) =>
        saveSafetensors(URI, tensorsOf(rank), { ...t.opts, rank, worldSize, pollIntervalMs: 20, ...extra }),
    ),
  );
}

async function expectLoads(
  t: Awaited<ReturnType<typeof setup>>,
  expected: Map<string, Tensor>,
): Promise<void> {
  const model = await OssSafetensors.open(URI, t.opts);
  expect(model.tensors.map((x) => x.name).sort()).toEqual([...expected.keys()].sort());
  const all = await model.loadAll();
  for (const [name, want] of expected) {
    expect({ name, same: sameTensor(all.get(name)!, want) }).toEqual({ name, same: true });
  }
}

const union = (...maps: Map<string, Tensor>[]) => new Map(maps.flatMap((m) => [...m]));

Deno.test("every rank resolves once rank 0 has committed an index naming every rank's shards", async () => {
  await using t = await setup();
  const results = await saveAll(t, 3, (r) => rankTensors(r, r === 1 ? 4 : 2), { maxShardBytes: 2 * KiB });
  expect(results.map((r) => [r.uri, r.generation, r.files.length])).toEqual([
    [`${URI}.index.json`, 1, 1],
    [`${URI}.index.json`, 1, 2],
    [`${URI}.index.json`, 1, 1],
  ]);
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00003.safetensors",
    "run/model-00002-of-00003-00001-of-00002.safetensors",
    "run/model-00002-of-00003-00002-of-00002.safetensors",
    "run/model-00003-of-00003.safetensors",
    INDEX_KEY, // the rank records are gone
  ]);
  const index = JSON.parse(new TextDecoder().decode((await t.client.getBytes(BUCKET, INDEX_KEY)).bytes));
  expect(index.metadata).toEqual({ total_size: 8 * KiB, ossflow_generation: 1 });
  expect(index.weight_map["r1.3"]).toBe("model-00002-of-00003-00002-of-00002.safetensors");
  await expectLoads(t, union(rankTensors(0, 2), rankTensors(1, 4), rankTensors(2, 2)));
});

Deno.test("until the last rank's record arrives nothing is committed and the previous checkpoint loads", async () => {
  await using t = await setup();
  const before = union(rankTensors(0, 2), rankTensors(1, 2), rankTensors(2, 2));
  await saveAll(t, 3, (r) => rankTensors(r, 2));
  const polls: string[] = [];
  t.server.faults.update({
    match: (_m, key) => {
      polls.push(key);
      return false;
    },
  });
  const next = (r: number) => rankTensors(r, 2, 1000);
  const early = [0, 1].map((rank) =>
    saveSafetensors(URI, next(rank), { ...t.opts, rank, worldSize: 3, pollIntervalMs: 20 })
  );
  // Rank 0 has written its shard and is polling for rank 2's record.
  await until(
    () => polls.filter((k) => k.endsWith("g2-rank-00002-of-00003.json")).length >= 2,
    "rank 0 polling",
  );
  const index = JSON.parse(new TextDecoder().decode((await t.client.getBytes(BUCKET, INDEX_KEY)).bytes));
  expect(index.metadata.ossflow_generation).toBe(1);
  await expectLoads(t, before);
  const late = await saveSafetensors(URI, next(2), { ...t.opts, rank: 2, worldSize: 3, pollIntervalMs: 20 });
  const [r0, r1] = await Promise.all(early);
  expect([r0.generation, r1.generation, late.generation]).toEqual([2, 2, 2]);
  await expectLoads(t, union(next(0), next(1), next(2)));
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00003.gen2.safetensors",
    "run/model-00002-of-00003.gen2.safetensors",
    "run/model-00003-of-00003.gen2.safetensors",
    INDEX_KEY,
  ]);
});

Deno.test("a rank that never writes its record: rank 0 commits nothing and the previous checkpoint loads", async () => {
  await using t = await setup();
  const before = union(rankTensors(0, 1), rankTensors(1, 1), rankTensors(2, 1));
  await saveAll(t, 3, (r) => rankTensors(r, 1));
  const indexBefore = await t.client.head(BUCKET, INDEX_KEY);
  const opts = { ...t.opts, worldSize: 3, pollIntervalMs: 20, commitTimeoutMs: 300 };
  const [e0, e1] = await Promise.all(
    [0, 1].map((rank) => saveSafetensors(URI, rankTensors(rank, 1, 500), { ...opts, rank }).catch((e) => e)),
  ); // rank 2 died before its record
  expect(e0).toBeInstanceOf(SafetensorsError);
  expect(e0.message).toBe(
    `${URI}.index.json: no record from rank 2 of 3 within 300 ms (generation 2): nothing was committed and the previous checkpoint is unchanged`,
  );
  expect(e1).toBeInstanceOf(SafetensorsError);
  expect(e1.message).toMatch(/rank 1: rank 0 committed no generation 2 within 300 ms/);
  expect((await t.client.head(BUCKET, INDEX_KEY)).etag).toBe(indexBefore.etag);
  await expectLoads(t, before);
  // The next save commits and clears what the failed one left.
  await saveAll(t, 3, (r) => rankTensors(r, 1, 900));
  await expectLoads(t, union(rankTensors(0, 1, 900), rankTensors(1, 1, 900), rankTensors(2, 1, 900)));
  expect((await keys(t)).length).toBe(4); // three gen-2 shards and the index
});

Deno.test("a shard replaced after its rank wrote it fails rank 0's check: nothing is committed", async () => {
  await using t = await setup();
  const opts = { ...t.opts, worldSize: 2, pollIntervalMs: 20, commitTimeoutMs: 2000 };
  const rank1 = saveSafetensors(URI, rankTensors(1, 2), { ...opts, rank: 1 }).catch((e) => e);
  await until(() => t.server.stats.byOperation.PutObject >= 2, "rank 1's shard and record");
  const shard = "run/model-00002-of-00002.safetensors";
  const stored = (await t.client.getBytes(BUCKET, shard)).bytes;
  stored[stored.length - 1] ^= 0xff; // same size, another byte
  await t.client.put(BUCKET, shard, stored);
  const err = await saveSafetensors(URI, rankTensors(0, 2), { ...opts, rank: 0 }).catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.message).toMatch(
    new RegExp(
      `^oss://${BUCKET}/${shard}: shard of rank 1 has ${stored.length} bytes and CRC-64 \\d+, its rank wrote ${stored.length} bytes with CRC-64 \\d+; nothing was committed$`,
    ),
  );
  expect(await t.server.store.head(BUCKET, INDEX_KEY)).toBe(undefined);
  expect(await rank1).toBeInstanceOf(SafetensorsError); // it waited in vain
});

Deno.test("a tensor saved by two ranks fails the commit, naming the tensor and both ranks", async () => {
  await using t = await setup();
  const err = await saveAll(t, 2, () => rankTensors(0, 1), { commitTimeoutMs: 1000 }).catch((e) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  expect(err.message).toBe(
    `${URI}.index.json: tensor "r0.0": saved by rank 0 (model-00001-of-00002.safetensors) and by rank 1 (model-00002-of-00002.safetensors); nothing was committed`,
  );
  expect(await t.server.store.head(BUCKET, INDEX_KEY)).toBe(undefined);
});

Deno.test("a record left by another attempt is not committed when the save has an id", async () => {
  await using t = await setup();
  // Attempt "a": both ranks wrote; rank 0 died before committing, so rank 1's record stays.
  const failed = saveSafetensors(URI, rankTensors(1, 1), {
    ...t.opts,
    rank: 1,
    worldSize: 2,
    saveId: "attempt-a",
    pollIntervalMs: 20,
    commitTimeoutMs: 100,
  }).catch((e) => e);
  expect(await failed).toBeInstanceOf(SafetensorsError);
  // Attempt "b": rank 1 has not started yet; rank 0 must not take attempt a's record for it.
  const err = await saveSafetensors(URI, rankTensors(0, 1), {
    ...t.opts,
    rank: 0,
    worldSize: 2,
    saveId: "attempt-b",
    pollIntervalMs: 20,
    commitTimeoutMs: 300,
  }).catch((e) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  expect(err.message).toMatch(/no record from rank 1 of 2 within 300 ms \(generation 1, save id attempt-b\)/);
  expect(await t.server.store.head(BUCKET, INDEX_KEY)).toBe(undefined);
  // Both ranks of attempt "b": committed, with its id.
  await saveAll(t, 2, (r) => rankTensors(r, 1, 7), { saveId: "attempt-b" });
  const index = JSON.parse(new TextDecoder().decode((await t.client.getBytes(BUCKET, INDEX_KEY)).bytes));
  expect(index.metadata).toEqual({
    total_size: 2 * KiB,
    ossflow_generation: 1,
    ossflow_save_id: "attempt-b",
  });
});

Deno.test("loading with another worldSize: each loader fetches only the tensors it asks for", async () => {
  await using t = await setup();
  const all = union(...[0, 1, 2, 3].map((r) => rankTensors(r, 3)));
  await saveAll(t, 4, (r) => rankTensors(r, 3));
  const names = [...all.keys()].sort();
  for (const loader of [0, 1]) {
    const mine = names.filter((_, i) => i % 2 === loader);
    const model = await OssSafetensors.open(URI, { ...t.opts, maxGap: 0 });
    const headers = model.stats.bytesFetched;
    const got = await model.getMany(mine);
    expect(model.stats.bytesFetched - headers).toBe(mine.length * KiB);
    expect([...got.keys()]).toEqual(mine);
    for (const name of mine) expect(sameTensor(got.get(name)!, all.get(name)!)).toBe(true);
  }
});
