import { expect } from "expect";
import { createRng, epochSeed, permutation, shuffleBuffer } from "../src/dataset/shuffle.ts";
import { dealBlocks, resolveShard, shardIndices } from "../src/dataset/shard.ts";

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

Deno.test("dealBlocks gives disjoint, complete shards for worldSize 1..8, with and without a seeded deal", async () => {
  for (let ws = 1; ws <= 8; ws++) {
    for (const seed of [undefined, 11]) {
      for (const blockSize of [1, 3]) {
        const parts = await Promise.all(
          range(ws).map((rank) =>
            Array.fromAsync(dealBlocks(range(101), { rank, worldSize: ws, blockSize, seed, epoch: 2 }))
          ),
        );
        expect(parts.flat().sort((x, y) => x - y)).toEqual(range(101));
      }
    }
  }
});

Deno.test("dealBlocks with a seed deals different blocks to a rank in different epochs", async () => {
  const e0 = await Array.fromAsync(dealBlocks(range(200), { rank: 1, worldSize: 4, seed: 5, epoch: 0 }));
  const e0b = await Array.fromAsync(dealBlocks(range(200), { rank: 1, worldSize: 4, seed: 5, epoch: 0 }));
  const e1 = await Array.fromAsync(dealBlocks(range(200), { rank: 1, worldSize: 4, seed: 5, epoch: 1 }));
  expect(e0).toEqual(e0b);
  expect(e0).not.toEqual(e1);
});
