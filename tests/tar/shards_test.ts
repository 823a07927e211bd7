// fromShards' behaviour: TarError naming the shard and the byte for truncated and corrupt shards, the dealing of
// shards to ranks (disjoint, together all, counts within one, re-dealt per epoch), seeded shuffles, the
// onSampleError policy, and a first sample that comes before its shard is read.
import { expect } from "expect";
import type { OssClient } from "../../src/client.ts";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { SampleError, type ShardSample } from "../../src/dataset/shard_samples.ts";
import { writeTar } from "../../src/dataset/tar_write.ts";
import { Logger } from "../../src/log.ts";
import { TarError } from "../../src/tar/error.ts";
import { TarPacker } from "../../src/tar/writer.ts";
import { bytesOf } from "../dataset_fixture.ts";
import { access, BUCKET, clientFor, membersOf, type Server, startServer } from "./tar_fixture.ts";

/** A tar of `n` samples (`k.bin` of `size` bytes and `k.cls`), keys prefixed with `tag`; returns it and its index. */
async function shardOf(tag: string, n: number, size = 1000) {
  const packer = new TarPacker({ mtime: new Date(0) });
  const bytes = new Response(packer.readable).bytes();
  for (let i = 0; i < n; i++) {
    await packer.add(`${tag}/${i}.bin`, bytesOf(i, size));
    await packer.add(`${tag}/${i}.cls`, new TextEncoder().encode(String(i)));
  }
  const index = await packer.finish();
  return { tar: await bytes, index };
}

async function withServer(fn: (server: Server, client: OssClient) => Promise<void>): Promise<void> {
  const server = await startServer();
  try {
    await fn(server, clientFor(server));
  } finally {
    await server.close();
  }
}

const keysOf = async (ds: AsyncIterable<ShardSample>) => (await Array.fromAsync(ds)).map((s) => s.key);

Deno.test("a truncated shard fails with a TarError naming the shard and the byte where it ends", async () => {
  await withServer(async (server, client) => {
    const { tar, index } = await shardOf("t", 5);
    const cut = index[3].offset + 100; // inside the data of the fourth member
    await client.put(BUCKET, "bad/cut.tar", tar.subarray(0, cut));
    const err = await Array.fromAsync(
      OssIterableDataset.fromShards(`oss://${BUCKET}/bad/cut.tar`, access(server)),
    )
      .catch((e) => e);
    expect(err).toBeInstanceOf(TarError);
    expect([err.uri, err.offset]).toEqual([`oss://${BUCKET}/bad/cut.tar`, cut]);
    expect(err.message).toContain(`tar oss://${BUCKET}/bad/cut.tar at byte ${cut}: the archive is truncated`);
  });
});

Deno.test("a shard without its end-of-archive blocks fails with a TarError at its last byte", async () => {
  await withServer(async (server, client) => {
    const { tar } = await shardOf("t", 2);
    const noEnd = tar.subarray(0, tar.length - 1024);
    await client.put(BUCKET, "bad/noend.tar", noEnd);
    const err = await Array.fromAsync(
      OssIterableDataset.fromShards(`oss://${BUCKET}/bad/noend.tar`, access(server)),
    )
      .catch((e) => e);
    expect([err?.name, err?.offset]).toEqual(["TarError", noEnd.length]);
  });
});

Deno.test("a corrupt member header fails with a TarError at that header's offset, after the complete samples before it", async () => {
  await withServer(async (server, client) => {
    const { tar, index } = await shardOf("t", 6);
    const bad = tar.slice();
    const header = index[6].offset - 512; // the header of sample 3's .bin
    bad[header + 10] ^= 0xff;
    await client.put(BUCKET, "bad/corrupt.tar", bad);
    const seen: string[] = [];
    const err = await (async () => {
      for await (
        const s of OssIterableDataset.fromShards(`oss://${BUCKET}/bad/corrupt.tar`, access(server))
      ) {
        seen.push(s.key);
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(TarError);
    expect(err.offset).toEqual(header);
    expect(err.message).toContain("checksum");
    // Sample t/2 is not delivered: whether it had more members is unknown once the next header is corrupt.
    expect(seen).toEqual(["t/0", "t/1"]);
  });
});

Deno.test("an object that is not a tar archive fails with a TarError naming it", async () => {
  await withServer(async (server, client) => {
    await client.put(BUCKET, "bad/junk.tar", bytesOf(1, 4096));
    const err = await Array.fromAsync(
      OssIterableDataset.fromShards(`oss://${BUCKET}/bad/junk.tar`, access(server)),
    )
      .catch((e) => e);
    expect([err?.name, err?.uri, err?.offset]).toEqual(["TarError", `oss://${BUCKET}/bad/junk.tar`, 0]);
  });
});

Deno.test("shards are dealt to ranks disjoint, together all, counts within one, and re-dealt per (seed, epoch)", async () => {
  await withServer(async (server, client) => {
    const SHARDS = 10, PER = 3;
    for (let s = 0; s < SHARDS; s++) {
      await client.put(
        BUCKET,
        `deal/shard-${String(s).padStart(2, "0")}.tar`,
        (await shardOf(`s${s}`, PER)).tar,
      );
    }
    const all = Array.from({ length: SHARDS * PER }, (_, i) => `s${Math.floor(i / PER)}/${i % PER}`).sort();
    for (const seed of [undefined, 7]) {
      const shardsOf: string[][][] = [];
      for (const epoch of [0, 1]) {
        const ranks: string[][] = [];
        for (let rank = 0; rank < 3; rank++) {
          const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/deal/`, {
            ...access(server),
            rank,
            worldSize: 3,
            shuffle: seed === undefined ? false : { seed },
          });
          ds.setEpoch(epoch);
          ranks.push(await keysOf(ds));
        }
        const union = ranks.flat().sort();
        expect(union).toEqual(all); // disjoint and together all: every sample exactly once
        const counts = ranks.map((r) => r.length / PER);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        shardsOf.push(ranks.map((r) => [...new Set(r.map((k) => k.split("/")[0]))].sort()));
      }
      if (seed === undefined) expect(shardsOf[0]).toEqual(shardsOf[1]);
      else expect(shardsOf[0]).not.toEqual(shardsOf[1]);
    }
  });
});

Deno.test("a seeded shuffle mixes samples across the shards in flight, reproducibly per (seed, epoch)", async () => {
  await withServer(async (server, client) => {
    for (let s = 0; s < 4; s++) {
      await client.put(BUCKET, `mix/shard-${s}.tar`, (await shardOf(`s${s}`, 20)).tar);
    }
    const pass = async (epoch: number) => {
      const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/mix/shard-{0..3}.tar`, {
        ...access(server),
        shuffle: { seed: 3, bufferSize: 4 },
      });
      ds.setEpoch(epoch);
      return await keysOf(ds);
    };
    const [a, b, c] = [await pass(0), await pass(0), await pass(1)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect([...a].sort()).toEqual([...c].sort());
    expect(a.length).toEqual(80);
    // Samples of different shards are interleaved among the first 8 (a buffer of 4 alone would not reach past
    // the first shard's 20).
    expect(new Set(a.slice(0, 8).map((k) => k.split("/")[0])).size).toBeGreaterThan(1);
  });
});

Deno.test("onSampleError: a member without an extension throws a SampleError, or with skip is logged, counted and passed over", async () => {
  await withServer(async (server) => {
    const files = [
      { name: "a/1.txt", data: "one" },
      { name: "a/README", data: "no extension" },
      { name: "a/2.txt", data: "two" },
    ];
    await writeTar(`oss://${BUCKET}/policy/shard-0.tar`, files, access(server));
    const uri = `oss://${BUCKET}/policy/shard-0.tar`;
    const err = await Array.fromAsync(OssIterableDataset.fromShards(uri, access(server))).catch((e) => e);
    expect(err).toBeInstanceOf(SampleError);
    expect(err.message).toEqual(`bad sample a/README in ${uri}: member "a/README" has no extension (no dot)`);

    const logged: unknown[] = [];
    const logger = new Logger({
      sink: (r) => r.level === "warn" && logged.push({ msg: r.msg, shard: r.shard, key: r.key }),
    });
    const ds = OssIterableDataset.fromShards(uri, { ...access(server), onSampleError: "skip", logger });
    expect(await keysOf(ds)).toEqual(["a/1", "a/2"]);
    expect(ds.skipped).toEqual(1);
    expect(logged).toEqual([{ msg: "bad sample skipped", shard: uri, key: "a/README" }]);
  });
});

Deno.test("the first sample comes before its shard is read to the end, and the pass reads the shard to its end (the CRC-64 check)", async () => {
  await withServer(async (_server, client) => {
    const { tar } = await shardOf("big", 400, 16 * 1024); // about 6.6 MiB
    await client.put(BUCKET, "big/shard-0.tar", tar);
    let read = 0;
    const counting = new Proxy(client, {
      get(target, prop) {
        if (prop !== "get") return Reflect.get(target, prop).bind?.(target) ?? Reflect.get(target, prop);
        return async (...args: Parameters<OssClient["get"]>) => {
          const res = await target.get(...args);
          const body = res.body.pipeThrough(
            new TransformStream({
              transform(c, ctl) {
                read += c.byteLength;
                ctl.enqueue(c);
              },
            }),
          );
          return { ...res, body };
        };
      },
    });
    const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/big/shard-0.tar`, {
      client: counting,
      maxBytesInFlight: 64 * 1024,
    });
    const it = ds[Symbol.asyncIterator]();
    const first = await it.next();
    const readAtFirst = read;
    expect((first.value as ShardSample).key).toEqual("big/0");
    expect(readAtFirst).toBeLessThan(tar.length / 2);
    const rest = await membersOf({ [Symbol.asyncIterator]: () => it });
    expect(rest.size).toEqual(2 * 399);
    expect(read).toEqual(tar.length); // read to the end: the CRC-64 check covers the whole shard
  });
});
