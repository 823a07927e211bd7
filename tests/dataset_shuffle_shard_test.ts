import { expect } from "expect";
import { createRng, epochSeed, permutation, shuffleBuffer } from "../src/dataset/shuffle.ts";
import {
  dealList,
  dealStream,
  distributedIndices,
  type EvenShards,
  resolveShard,
  shardIndices,
  StreamDealer,
} from "../src/dataset/shard.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("createRng is reproducible for a seed and differs across seeds", () => {
  const a = createRng(42), b = createRng(42), c = createRng(43);
  const xa = range(8).map(() => a()), xb = range(8).map(() => b()), xc = range(8).map(() => c());
  expect(xa).toEqual(xb);
  expect(xa).not.toEqual(xc);
  for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
});

Deno.test("permutation is a reproducible permutation, different across seeds and epochs", () => {
  const p = Array.from(permutation(1000, 7));
  expect([...p].sort((x, y) => x - y)).toEqual(range(1000));
  expect(Array.from(permutation(1000, 7))).toEqual(p);
  expect(Array.from(permutation(1000, 8))).not.toEqual(p);
  expect(Array.from(permutation(1000, epochSeed(7, 1)))).not.toEqual(
    Array.from(permutation(1000, epochSeed(7, 0))),
  );
  expect(Array.from(permutation(0, 1))).toEqual([]);
});

Deno.test("shuffleBuffer yields every item exactly once, reproducibly, and actually mixes", async () => {
  const a = await Array.fromAsync(shuffleBuffer(range(500), { bufferSize: 64, seed: 3 }));
  const b = await Array.fromAsync(shuffleBuffer(range(500), { bufferSize: 64, seed: 3 }));
  const c = await Array.fromAsync(shuffleBuffer(range(500), { bufferSize: 64, seed: 4 }));
  expect([...a].sort((x, y) => x - y)).toEqual(range(500));
  expect(a).toEqual(b);
  expect(a).not.toEqual(c);
  expect(a).not.toEqual(range(500));
});

Deno.test("resolveShard rejects a rank outside [0, worldSize) with a message naming both", () => {
  expect(resolveShard(undefined, undefined)).toEqual({ rank: 0, worldSize: 1 });
  expect(() => resolveShard(4, 4)).toThrow("rank must be an integer in [0, 3] for worldSize 4, got 4");
  expect(() => resolveShard(0, 0)).toThrow("worldSize must be a positive integer, got 0");
});

Deno.test("shardIndices gives disjoint, complete shards for worldSize 1..8", () => {
  for (let ws = 1; ws <= 8; ws++) {
    const all = range(ws).flatMap((r) => Array.from(shardIndices(37, r, ws)));
    expect(all.sort((x, y) => x - y)).toEqual(range(37));
  }
});

/** PyTorch's DistributedSampler.__iter__, list operation by list operation, over a given epoch order. */
function torchSampler(order: number[], rank: number, worldSize: number, dropLast: boolean): number[] {
  let indices = [...order];
  const n = order.length;
  const numSamples = dropLast && n % worldSize !== 0
    ? Math.ceil((n - worldSize) / worldSize)
    : Math.ceil(n / worldSize);
  const totalSize = numSamples * worldSize;
  if (!dropLast) {
    const padding = totalSize - indices.length;
    if (padding <= indices.length) indices = indices.concat(indices.slice(0, padding));
    else {
      const times = Math.ceil(padding / indices.length);
      indices = indices.concat(Array.from({ length: times }, () => indices).flat().slice(0, padding));
    }
  } else indices = indices.slice(0, totalSize);
  const out: number[] = [];
  for (let i = rank; i < totalSize; i += worldSize) out.push(indices[i]);
  return out;
}

const SIZES = range(201), WORLD_SIZES = range(9).map((i) => i + 1), EPOCHS = [0, 1, 2, 3];
const EVEN: EvenShards[] = ["pad", "drop", "none"];

/**
 * The properties every deal of one epoch must have, given each rank's items (indices of the dataset):
 * sizes equal (pad, drop) or within one (none); pad repeats only to fill, drop leaves out less than a run,
 * none deals every index exactly once.
 */
function checkEpoch(n: number, ws: number, even: EvenShards, shards: number[][], what: string): void {
  const sizes = shards.map((s) => s.length);
  const lo = Math.min(...sizes), hi = Math.max(...sizes);
  const all = shards.flat();
  const distinct = new Set(all);
  const fail = (msg: string) => {
    throw new Error(`${what}: ${msg} (sizes ${sizes.join(",")})`);
  };
  for (const i of all) if (!(Number.isInteger(i) && i >= 0 && i < n)) fail(`index ${i} out of range`);
  if (even === "pad") {
    if (lo !== hi || hi !== Math.ceil(n / ws)) fail(`pad: expected ${Math.ceil(n / ws)} each`);
    if (distinct.size !== n) fail(`pad: ${distinct.size} distinct of ${n}`);
  } else if (even === "drop") {
    if (lo !== hi || hi !== Math.floor(n / ws)) fail(`drop: expected ${Math.floor(n / ws)} each`);
    if (distinct.size !== all.length) fail("drop: an index dealt twice");
  } else {
    if (hi - lo > 1) fail("none: sizes differ by more than one");
    if (distinct.size !== n || all.length !== n) fail("none: not every index exactly once");
  }
}

Deno.test("distributedIndices: every size 0..200, worldSize 1..9, epoch 0..3, evenShards pad/drop/none, with and without a seed", () => {
  let configs = 0, shardsChecked = 0, epochChanges = 0, epochPairs = 0;
  for (const n of SIZES) {
    for (const ws of WORLD_SIZES) {
      for (const even of EVEN) {
        for (const seed of [undefined, 42]) {
          let previous: number[][] | undefined;
          for (const epoch of EPOCHS) {
            const shards = range(ws).map((rank) =>
              Array.from(distributedIndices(n, { rank, worldSize: ws, evenShards: even, seed, epoch }))
            );
            const what = `n=${n} ws=${ws} ${even} seed=${seed} epoch=${epoch}`;
            checkEpoch(n, ws, even, shards, what);
            // The same epoch order as PyTorch's sampler: 0..n-1, or our permutation for (seed, epoch).
            const order = seed === undefined ? range(n) : Array.from(
              distributedIndices(n, { rank: 0, worldSize: 1, seed, epoch, evenShards: "none" }),
            );
            if (even !== "none") {
              for (let rank = 0; rank < ws; rank++) {
                expect(shards[rank]).toEqual(torchSampler(order, rank, ws, even === "drop"));
              }
            }
            // Reproducible from (seed, epoch).
            expect(
              Array.from(
                distributedIndices(n, { rank: ws - 1, worldSize: ws, evenShards: even, seed, epoch }),
              ),
            )
              .toEqual(shards[ws - 1]);
            if (seed !== undefined && previous !== undefined && ws > 1 && n >= 2 * ws) {
              epochPairs++;
              const moved = shards.some((s, r) =>
                new Set(s).symmetricDifference(new Set(previous![r])).size > 0
              );
              if (moved) epochChanges++;
            }
            if (seed === undefined && previous !== undefined) expect(shards).toEqual(previous);
            previous = shards;
            configs++;
            shardsChecked += ws;
          }
        }
      }
    }
  }
  // Every seeded epoch pair with at least two items per rank re-deals items to other ranks.
  expect(epochChanges).toBe(epochPairs);
  console.log(
    `distributedIndices: ${configs} configurations, ${shardsChecked} shards checked, ` +
      `${epochChanges}/${epochPairs} seeded epoch pairs re-dealt`,
  );
});

/** Deals 0..n-1 through a StreamDealer for one rank. */
function streamed(n: number, ws: number, rank: number, even: EvenShards, seed?: number, epoch = 0): number[] {
  const out: number[] = [];
  const emit = (i: number) => out.push(i);
  const dealer = new StreamDealer<number>({ rank, worldSize: ws, evenShards: even, seed, epoch });
  for (let i = 0; i < n; i++) dealer.push(i, emit);
  dealer.end(emit);
  return out;
}

Deno.test("StreamDealer: every size 0..200, worldSize 1..9, epoch 0..3, evenShards pad/drop/none; unseeded it equals distributedIndices", () => {
  let configs = 0, shardsChecked = 0, epochChanges = 0, epochPairs = 0;
  for (const n of SIZES) {
    for (const ws of WORLD_SIZES) {
      for (const even of EVEN) {
        const plain = range(ws).map((rank) => streamed(n, ws, rank, even));
        for (let rank = 0; rank < ws; rank++) {
          expect(plain[rank]).toEqual(
            Array.from(distributedIndices(n, { rank, worldSize: ws, evenShards: even })),
          );
        }
        let previous: number[][] | undefined;
        for (const epoch of EPOCHS) {
          const shards = range(ws).map((rank) => streamed(n, ws, rank, even, 7, epoch));
          checkEpoch(n, ws, even, shards, `stream n=${n} ws=${ws} ${even} epoch=${epoch}`);
          expect(streamed(n, ws, 0, even, 7, epoch)).toEqual(shards[0]);
          if (previous !== undefined && ws > 1 && n >= 2 * ws) {
            epochPairs++;
            if (shards.some((s, r) => new Set(s).symmetricDifference(new Set(previous![r])).size > 0)) {
              epochChanges++;
            }
          }
          previous = shards;
          configs++;
          shardsChecked += ws;
        }
      }
    }
  }
  expect(epochChanges).toBe(epochPairs);
  console.log(
    `StreamDealer: ${configs} seeded configurations, ${shardsChecked} shards checked, ` +
      `${epochChanges}/${epochPairs} epoch pairs re-dealt`,
  );
});

Deno.test("the issue's case: 24 items, worldSize 2, a seed: 12 and 12, and rank 0's items change with the epoch", async () => {
  const items = range(24);
  for (const deal of [dealList, dealStream]) {
    const e0 = await Promise.all(
      [0, 1].map((rank) => Array.fromAsync(deal(items, { rank, worldSize: 2, seed: 42 }))),
    );
    const e1 = await Array.fromAsync(deal(items, { rank: 0, worldSize: 2, seed: 42, epoch: 1 }));
    expect(e0.map((s) => s.length)).toEqual([12, 12]);
    expect(new Set(e0.flat()).size).toBe(24);
    expect(new Set(e1)).not.toEqual(new Set(e0[0]));
  }
});

Deno.test("dealStream hands an item over as soon as it is this rank's, and with drop once its run is complete", async () => {
  const seen: number[] = [];
  async function* source() {
    for (let i = 0; i < 9; i++) {
      seen.push(i);
      yield i;
    }
  }
  const got: [number, number][] = [];
  for await (const x of dealStream(source(), { rank: 1, worldSize: 3, evenShards: "none" })) {
    got.push([x, seen.length]);
  }
  expect(got).toEqual([[1, 2], [4, 5], [7, 8]]);
  seen.length = 0;
  const dropped: [number, number][] = [];
  for await (const x of dealStream(source(), { rank: 1, worldSize: 3, evenShards: "drop" })) {
    dropped.push([x, seen.length]);
  }
  expect(dropped).toEqual([[1, 3], [4, 6], [7, 9]]);
});

Deno.test("dealList and dealStream reject a bad evenShards naming the value", async () => {
  await expect(Array.fromAsync(dealList([1], { rank: 0, worldSize: 2, evenShards: "even" as EvenShards })))
    .rejects.toThrow('evenShards must be "pad", "drop" or "none", got "even"');
  expect(() => shardIndices(3, 0, 2, "x" as EvenShards)).toThrow('got "x"');
});
