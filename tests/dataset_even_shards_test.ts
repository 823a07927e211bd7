/**
 * Shards of iterable datasets against the real local server, for every source (prefix, manifest, objects,
 * presigned URLs): equal sizes (`evenShards` pad, the default, and drop) or sizes within one (none), the
 * shards of an epoch together the dataset, and with a shuffle a new assignment of items to ranks per epoch.
 * The property over every size 0..200 is proven on the dealing functions in dataset_shuffle_shard_test.ts.
 */
import { expect } from "expect";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import type { DatasetOptions } from "../src/dataset/options.ts";
import { distributedIndices, type EvenShards } from "../src/dataset/shard.ts";
import type { ShuffleOptions } from "../src/dataset/shuffle.ts";
import { ConfigError } from "../src/errors.ts";
import { BUCKET, clientFor, dsOpts, keyOf, seed, type Server, startServer } from "./dataset_fixture.ts";

type Source = (opts: DatasetOptions<string>) => OssIterableDataset<string>;

/** The four sources over the same `n` objects under `train/`. */
async function sources(server: Server, n: number): Promise<Record<string, Source>> {
  const uris = Array.from({ length: n }, (_, i) => `oss://${BUCKET}/${keyOf("train/", i)}`);
  const client = clientFor(server);
  const manifest = uris.map((u) => JSON.stringify({ data: { source: u } })).join("\n") + "\n";
  await client.put(BUCKET, "manifests/train.jsonl", manifest);
  const urls = await Promise.all(
    Array.from({ length: n }, (_, i) => client.presignUrl(BUCKET, keyOf("train/", i), { expires: 600 })),
  );
  return {
    prefix: (o) => OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, o),
    manifest: (o) => OssIterableDataset.fromManifestFile(`oss://${BUCKET}/manifests/train.jsonl`, o),
    objects: (o) => OssIterableDataset.fromObjects(uris, o),
    urls: (o) => OssIterableDataset.fromUrls(urls, { ...o, endpoint: undefined, credentials: undefined }),
  };
}

/** Each rank's keys for one epoch. */
async function epochShards(
  source: Source,
  server: Server,
  worldSize: number,
  epoch: number,
  extra: DatasetOptions<string>,
): Promise<string[][]> {
  const shards: string[][] = [];
  for (let rank = 0; rank < worldSize; rank++) {
    const ds = source(dsOpts(server, { ...extra, rank, worldSize, transform: (item) => item.key }));
    shards.push(await Array.fromAsync(ds.iterate({ epoch })));
  }
  return shards;
}

Deno.test("every source deals equal shards (pad, drop) or within one (none) whose union is the dataset, re-dealt per epoch when shuffled", async () => {
  const n = 25;
  const server = await startServer();
  try {
    const all = [...(await seed(server, n)).keys()].sort();
    const byName = await sources(server, n);
    const shuffles: Record<string, ShuffleOptions | undefined> = {
      "no shuffle": undefined,
      "global shuffle": { seed: 42 },
      "buffer shuffle": { seed: 42, mode: "buffer", bufferSize: 4 },
    };
    let passes = 0;
    for (const [name, source] of Object.entries(byName)) {
      for (const [how, shuffle] of Object.entries(shuffles)) {
        for (const evenShards of ["pad", "drop", "none"] as EvenShards[]) {
          for (const worldSize of [2, 3]) {
            const what = `${name}, ${how}, ${evenShards}, worldSize ${worldSize}`;
            const epochs: string[][][] = [];
            for (const epoch of [0, 1]) {
              const shards = await epochShards(source, server, worldSize, epoch, { shuffle, evenShards });
              passes += worldSize;
              const sizes = shards.map((s) => s.length);
              const flat = shards.flat();
              if (evenShards === "pad") {
                expect({ what, sizes }).toEqual({ what, sizes: sizes.map(() => Math.ceil(n / worldSize)) });
                expect(new Set(flat)).toEqual(new Set(all));
              } else if (evenShards === "drop") {
                expect({ what, sizes }).toEqual({ what, sizes: sizes.map(() => Math.floor(n / worldSize)) });
                expect(new Set(flat).size).toBe(flat.length);
              } else {
                expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
                expect(flat.sort()).toEqual(all);
              }
              if (how !== "buffer shuffle") {
                // No shuffle, or the global one: exactly DistributedSampler's indices over the listing's order.
                const seed = shuffle?.seed;
                expect({ what, shards }).toEqual({
                  what,
                  shards: shards.map((_, rank) =>
                    Array.from(
                      distributedIndices(n, { rank, worldSize, evenShards, seed, epoch }),
                      (i) => all[i],
                    )
                  ),
                });
              }
              epochs.push(shards);
            }
            const [e0, e1] = epochs.map((shards) => shards.map((s) => [...s].sort()));
            if (shuffle) expect({ what, same: e1 }).not.toEqual({ what, same: e0 });
            else expect({ what, same: e1 }).toEqual({ what, same: e0 });
          }
        }
      }
    }
    console.log(`${passes} passes checked`);
  } finally {
    await server.close();
  }
});

Deno.test("the issue's case: 24 objects, worldSize 2, shuffle seed 42 gives 12 and 12, and rank 0's keys change between epochs", async () => {
  const server = await startServer();
  try {
    await seed(server, 24);
    const pass = (rank: number, epoch: number) =>
      Array.fromAsync(
        OssIterableDataset.fromPrefix(
          `oss://${BUCKET}/train/`,
          dsOpts(server, { rank, worldSize: 2, shuffle: { seed: 42 }, transform: (item) => item.key }),
        ).iterate({ epoch }),
      );
    const [r0, r1] = [await pass(0, 0), await pass(1, 0)];
    expect([r0.length, r1.length]).toEqual([12, 12]);
    expect(new Set([...r0, ...r1]).size).toBe(24);
    expect(new Set(await pass(0, 1))).not.toEqual(new Set(r0));
  } finally {
    await server.close();
  }
});

Deno.test("bad evenShards, shuffle.mode and the removed shuffle.blockSize are ConfigErrors naming the option", async () => {
  const opts = { endpoint: "http://127.0.0.1:9", region: "cn-hangzhou" };
  const first = (o: DatasetOptions) =>
    OssIterableDataset.fromObjects(["oss://b01/k"], { ...opts, ...o }).ready();
  await expect(first({ evenShards: "even" as EvenShards })).rejects.toThrow(ConfigError);
  await expect(first({ evenShards: "even" as EvenShards })).rejects.toThrow(
    'evenShards must be "pad", "drop"',
  );
  await expect(first({ shuffle: { mode: "window" as "global" } })).rejects.toThrow(
    'shuffle.mode: expected "global" or "buffer", got "window"',
  );
  await expect(first({ shuffle: { blockSize: 16 } as ShuffleOptions })).rejects.toThrow(
    "shuffle.blockSize: no longer supported",
  );
});

Deno.test("map dataset shards are evened out the same way: pad (default), drop, none", async () => {
  const server = await startServer();
  try {
    await seed(server, 25);
    const uri = `oss://${BUCKET}/train/`;
    const sizes = async (evenShards?: EvenShards) => {
      const out: number[] = [];
      for (let rank = 0; rank < 3; rank++) {
        out.push(
          (await OssMapDataset.fromPrefix(uri, dsOpts(server, { rank, worldSize: 3, evenShards }))).length,
        );
      }
      return out;
    };
    expect(await sizes()).toEqual([9, 9, 9]);
    expect(await sizes("drop")).toEqual([8, 8, 8]);
    expect(await sizes("none")).toEqual([9, 8, 8]);
    const whole = await OssMapDataset.fromPrefix(uri, dsOpts(server));
    // 25 items padded to 27: positions 25 and 26 (ranks 1 and 2) repeat items 0 and 1.
    expect([whole.shard(1, 3).length, whole.shard(1, 3).ref(8).key]).toEqual([9, keyOf("train/", 0)]);
    expect([whole.shard(2, 3).length, whole.shard(2, 3).ref(8).key]).toEqual([9, keyOf("train/", 1)]);
    expect(whole.shard(2, 3, "drop").length).toBe(8);
  } finally {
    await server.close();
  }
});
