// Resumable shard passes: a fromShards pass stopped anywhere (after its first sample, mid-shard, inside the
// shuffle buffer, after its last sample) and resumed from its JSON state in a fresh dataset delivers the rest of
// the uninterrupted pass, same order, nothing lost or doubled, byte-exact, with shuffling and sharding, through
// 10 % injected faults; the resumed pass reads no shard whose samples were all delivered. fromTar's streamed
// pass resumes too. States of other passes are refused.
import { expect } from "expect";
import { OssClient } from "../../src/client.ts";
import { ConfigError } from "../../src/errors.ts";
import { type IterateOptions, OssIterableDataset } from "../../src/dataset/iterable.ts";
import type { ShardDatasetOptions } from "../../src/dataset/shard_dataset.ts";
import type { ShardSample } from "../../src/dataset/shard_samples.ts";
import { mulberry32 } from "../../src/server/faults.ts";
import { TarPacker } from "../../src/tar/writer.ts";
import { bytesOf, settled } from "../dataset_fixture.ts";
import { access, b64, BUCKET, CREDS, REGION, type Server, startServer } from "./tar_fixture.ts";

const SHARDS = 7;

/** A client that records the key of every GET (which shards a pass reads). */
class RecordingClient extends OssClient {
  readonly gets: string[] = [];
  override get(...args: Parameters<OssClient["get"]>): ReturnType<OssClient["get"]> {
    this.gets.push(args[1]);
    return super.get(...args);
  }
}

/** Shards of 3..14 samples (`k.bin` of varied size and `k.cls`); returns each sample key's `bin` bytes. */
async function writeShards(server: Server): Promise<Map<string, string>> {
  const client = new OssClient(access(server));
  const expected = new Map<string, string>();
  for (let s = 0; s < SHARDS; s++) {
    const packer = new TarPacker({ mtime: new Date(0) });
    const bytes = new Response(packer.readable).bytes();
    for (let i = 0; i < 3 + (s * 5) % 12; i++) {
      const bin = bytesOf(s * 100 + i, 200 + (i * 911) % 3000);
      await packer.add(`s${s}/${String(i).padStart(2, "0")}.bin`, bin);
      await packer.add(`s${s}/${String(i).padStart(2, "0")}.cls`, new TextEncoder().encode(String(i)));
      expected.set(`s${s}/${String(i).padStart(2, "0")}`, b64(bin));
    }
    await packer.finish();
    await client.put(BUCKET, `resume/shard-${s}.tar`, await bytes);
  }
  return expected;
}

type Got = [string, string];

async function take(ds: OssIterableDataset<ShardSample>, pass: IterateOptions, k = Infinity): Promise<Got[]> {
  const got: Got[] = [];
  for await (const s of ds.iterate(pass)) {
    got.push([s.key, b64(await s.members.bin.bytes())]);
    if (got.length === k) break;
  }
  return got;
}

const CONFIGS: ShardDatasetOptions[] = [
  { prefetchShards: 3 },
  { prefetchShards: 3, shuffle: { seed: 5, bufferSize: 6 }, worldSize: 2, rank: 1 },
  { prefetchShards: 2, shuffle: { seed: 9, bufferSize: 20 } },
  { prefetchShards: 4, shuffle: { seed: 1, bufferSize: 3 }, worldSize: 3, rank: 2, evenShards: "pad" },
];

for (const faulty of [false, true]) {
  Deno.test(`a shard pass stopped anywhere and resumed from its state is one uninterrupted pass${faulty ? " (10 % faults)" : ""}`, async () => {
    const server = await startServer();
    try {
      const expected = await writeShards(server);
      const rand = mulberry32(faulty ? 77 : 17);
      let checks = 0, faults = 0;
      for (const opts of CONFIGS) {
        const client = new RecordingClient({
          endpoint: server.url,
          region: REGION,
          credentials: CREDS,
          retry: { maxAttempts: 10, minDelayMs: 1, maxDelayMs: 5 },
        });
        const make = () =>
          OssIterableDataset.fromShards(`oss://${BUCKET}/resume/shard-{0..6}.tar`, { ...opts, client });
        const epoch = Math.floor(rand() * 3);
        const whole = await take(make(), { epoch });
        for (const [key, bin] of whole) expect(bin).toEqual(expected.get(key));
        // After the first sample, inside the first shard and the shuffle buffer, at random points, after the last.
        const stops = [1, 2, 1 + Math.floor(rand() * whole.length), 1 + Math.floor(rand() * whole.length)];
        for (const k of [...stops.filter((k) => k < whole.length), whole.length]) {
          const ds = make();
          const before = await take(ds, { epoch }, k);
          const state = JSON.parse(JSON.stringify(ds.state()));
          expect(state.position).toBe(k);
          await settled(server);
          if (faulty) server.faults.update({ errorRate: 0.1, seed: checks + 1 });
          client.gets.length = 0;
          server.stats.reset();
          const after = await take(make(), { resumeFrom: state });
          server.faults.update({ errorRate: 0 });
          faults += server.stats.faultsInjected;
          expect({ opts, k, got: [...before, ...after] }).toEqual({ opts, k, got: whole });
          // No shard whose samples were all delivered before the state is read again, unless it was still open
          // (being read) when the state was taken.
          const shardOf = (key: string) => `resume/shard-${key.slice(1, key.indexOf("/"))}.tar`;
          const needed = new Set(after.map(([key]) => shardOf(key)));
          const mine = [...new Set(whole.map(([key]) => shardOf(key)))];
          for (const [i] of state.cursor.open) if (!state.cursor.ended.includes(i)) needed.add(mine[i]);
          expect({ opts, k, read: [...new Set(client.gets)].filter((g) => !needed.has(g)) })
            .toEqual({ opts, k, read: [] });
          checks++;
        }
      }
      console.log(`[shard resume] ${checks} stop-and-resume checks, ${faults} faults injected`);
      if (faulty) expect(faults).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
}

Deno.test("a state saved mid-shard resumes in the middle of that shard; a shard read to its end is not read again", async () => {
  const server = await startServer();
  try {
    await writeShards(server);
    const uri = `oss://${BUCKET}/resume/shard-{0..6}.tar`;
    const ds = OssIterableDataset.fromShards(uri, { ...access(server), prefetchShards: 1 });
    const before = await take(ds, {}, 5); // shard 0 has 3 samples: 2 of shard 1's are delivered
    const state = ds.state();
    expect(state.cursor).toEqual({
      prefetchShards: 1,
      bufferSize: null,
      next: 2,
      turn: 1,
      open: [[1, 2]],
      ended: [],
    });
    const after = await take(OssIterableDataset.fromShards(uri, { ...access(server), prefetchShards: 1 }), {
      resumeFrom: state,
    });
    expect([before.at(-1)![0], after[0][0]]).toEqual(["s1/01", "s1/02"]);

    // Stopped after the last sample of shard 0, once its read has ended: the resumed pass does not read it.
    const client = new RecordingClient(access(server));
    const atEnd = OssIterableDataset.fromShards(uri, { client, prefetchShards: 1 });
    await take(atEnd, {}, 3);
    await settled(server);
    const ended = atEnd.state();
    expect(ended.cursor).toMatchObject({ next: 1, open: [[0, 3]], ended: [0] });
    client.gets.length = 0;
    const rest = await take(OssIterableDataset.fromShards(uri, { client, prefetchShards: 1 }), {
      resumeFrom: ended,
    });
    expect([rest[0][0], client.gets[0], client.gets.includes("resume/shard-0.tar")])
      .toEqual(["s1/00", "resume/shard-1.tar", false]);
  } finally {
    await server.close();
  }
});

Deno.test("a streamed tar archive's pass resumes after the members it delivered", async () => {
  const server = await startServer();
  try {
    await writeShards(server);
    const uri = `oss://${BUCKET}/resume/shard-6.tar`;
    const opts = { ...access(server), worldSize: 2, rank: 1, shuffle: { seed: 4 } };
    const whole = await Array.fromAsync(OssIterableDataset.fromTar(uri, opts), (m) => m.key);
    for (const k of [1, 3, whole.length]) {
      const ds = OssIterableDataset.fromTar(uri, opts);
      const before: string[] = [];
      for await (const m of ds) if (before.push(m.key) === k) break;
      const state = JSON.parse(JSON.stringify(ds.state()));
      const after = await Array.fromAsync(
        OssIterableDataset.fromTar(uri, opts).iterate({ resumeFrom: state }),
        (m) => m.key,
      );
      expect({ k, keys: [...before, ...after] }).toEqual({ k, keys: whole });
    }
  } finally {
    await server.close();
  }
});

Deno.test("a shard state of another pass is refused, naming what differs", async () => {
  const server = await startServer();
  try {
    await writeShards(server);
    const uri = `oss://${BUCKET}/resume/shard-{0..6}.tar`;
    const base = { ...access(server), prefetchShards: 2, shuffle: { seed: 3, bufferSize: 4 } };
    const ds = OssIterableDataset.fromShards(uri, base);
    await take(ds, {}, 6);
    const state = ds.state();
    const refused = async (opts: ShardDatasetOptions, what: string, resumeFrom = state, u = uri) => {
      const other = OssIterableDataset.fromShards(u, { ...base, ...opts });
      const err = await take(other, { resumeFrom }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(what);
    };
    await refused({ prefetchShards: 3 }, "its prefetchShards is 2, this dataset's 3");
    await refused(
      { shuffle: { seed: 3, bufferSize: 5 } },
      `its order is "buffer 4", this dataset's "buffer 5"`,
    );
    await refused({ shuffle: { seed: 4, bufferSize: 4 } }, "its seed is 3, this dataset's 4");
    await refused({}, `its source is "${uri}"`, state, `oss://${BUCKET}/resume/shard-{0..5}.tar`);
    const listOf = (order: number[]) => order.map((i) => `oss://${BUCKET}/resume/shard-${i}.tar`);
    const listed = OssIterableDataset.fromShards(listOf([0, 1, 2]), base);
    await take(listed, {}, 2);
    const other = OssIterableDataset.fromShards(listOf([0, 2, 1]), base);
    await expect(take(other, { resumeFrom: listed.state() })).rejects.toThrow(
      /its source is "a list of shards #[0-9a-f]{8}", this dataset's "a list of shards #[0-9a-f]{8}"/,
    );
    await refused({}, "open: expected up to 2", {
      ...state,
      cursor: { ...state.cursor as object, open: [[99, 0]] },
    });
    await refused({}, "needs its cursor", { ...state, cursor: undefined });
    const tar = OssIterableDataset.fromTar(`oss://${BUCKET}/resume/shard-0.tar`, access(server));
    await expect(Array.fromAsync(tar.iterate({ resumeFrom: state }))).rejects.toThrow(
      'its kind is "shards", this dataset\'s "tar-stream"',
    );
  } finally {
    await server.close();
  }
});

Deno.test("a bad sample passed over before the state is not counted again by the resumed pass", async () => {
  const server = await startServer();
  try {
    const packer = new TarPacker({ mtime: new Date(0) });
    const bytes = new Response(packer.readable).bytes();
    for (const name of ["b/0.bin", "b/README", "b/1.bin", "b/2.bin"]) {
      await packer.add(name, new TextEncoder().encode(name));
    }
    await packer.finish();
    await new OssClient(access(server)).put(BUCKET, "bad/shard-0.tar", await bytes);
    const opts = { ...access(server), onSampleError: "skip" as const };
    const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/bad/shard-0.tar`, opts);
    const keys: string[] = [];
    for await (const s of ds) if (keys.push(s.key) === 2) break;
    expect([keys, ds.skipped]).toEqual([["b/0", "b/1"], 1]);
    const resumed = OssIterableDataset.fromShards(`oss://${BUCKET}/bad/shard-0.tar`, opts);
    const rest = await Array.fromAsync(resumed.iterate({ resumeFrom: ds.state() }), (s) => s.key);
    expect([rest, resumed.skipped]).toEqual([["b/2"], 0]);
  } finally {
    await server.close();
  }
});
