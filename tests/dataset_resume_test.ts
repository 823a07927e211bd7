// Resumable passes: what a pass delivered before `state()` plus what `iterate({ resumeFrom })` delivers after it
// is one uninterrupted pass, same order, nothing lost or doubled, for every source kind, with shuffling and
// sharding, through injected faults; the items before the state are not fetched again.
import { expect } from "expect";
import { type DatasetOptions, OssIterableDataset } from "../mod.ts";
import { ConfigError } from "../src/errors.ts";
import { mulberry32 } from "../src/server/faults.ts";
import {
  BUCKET,
  clientFor,
  dsOpts,
  keyOf,
  seed,
  type Server,
  settled,
  startServer,
} from "./dataset_fixture.ts";

const N = 45;

/** One dataset of each source kind over the same objects. */
async function datasets(server: Server, opts: DatasetOptions) {
  const client = clientFor(server);
  const keys = Array.from({ length: N }, (_, i) => keyOf("train/", i));
  await client.put(BUCKET, "lists/train.txt", keys.map((k) => `${k}\tl`).join("\n"));
  const urls = await Promise.all(keys.map((k) => client.presignUrl(BUCKET, k, { expires: 600 })));
  return {
    prefix: () => OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, dsOpts(server, opts)),
    manifest: () =>
      OssIterableDataset.fromManifestFile(`oss://${BUCKET}/lists/train.txt`, {
        ...dsOpts(server, opts),
        baseUri: `oss://${BUCKET}/`,
      }),
    objects: () =>
      OssIterableDataset.fromObjects(keys.map((k) => `oss://${BUCKET}/${k}`), dsOpts(server, opts)),
    urls: () =>
      OssIterableDataset.fromUrls(urls, { ...opts, retry: { maxAttempts: 8, minDelayMs: 1, maxDelayMs: 5 } }),
  };
}

async function stopAt(ds: OssIterableDataset, k: number, epoch: number): Promise<string[]> {
  const got: string[] = [];
  for await (const item of ds.iterate({ epoch })) if (got.push(item.key) === k) break;
  return got;
}

for (const faulty of [false, true]) {
  Deno.test(`stopped anywhere and resumed from its state, a pass is one uninterrupted pass${faulty ? " (10 % faults)" : ""}`, async () => {
    const server = await startServer();
    try {
      await seed(server, N);
      const rand = mulberry32(faulty ? 99 : 42);
      let checks = 0;
      for (
        const opts of [
          {},
          { shuffle: { seed: 5, bufferSize: 16 }, worldSize: 2, rank: 1 },
          {
            shuffle: { seed: 9, mode: "global" as const },
            worldSize: 3,
            rank: 0,
            evenShards: "pad" as const,
          },
        ]
      ) {
        const kinds = await datasets(server, { ...opts, prefetchConcurrency: 8 });
        for (const [kind, make] of Object.entries(kinds)) {
          const epoch = 1 + Math.floor(rand() * 3);
          const whole = await Array.fromAsync(make().iterate({ epoch }), (o) => o.key);
          // Stop after the first item, inside the shuffle buffer, at a random point, and after the last item.
          for (const k of [1, 3, 1 + Math.floor(rand() * (whole.length - 1)), whole.length]) {
            const ds = make();
            const before = await stopAt(ds, k, epoch);
            const state = JSON.parse(JSON.stringify(ds.state()));
            expect(state.position).toBe(k); // the items prefetched but not read count as not delivered
            await settled(server); // requests of the stopped pass that were cut off on their way
            if (faulty) server.faults.update({ errorRate: 0.1, seed: checks + 1 });
            server.stats.reset();
            const after = await Array.fromAsync(make().iterate({ resumeFrom: state }), (o) => o.key);
            server.faults.update({ errorRate: 0 });
            expect({ kind, opts, k, keys: [...before, ...after] }).toEqual({ kind, opts, k, keys: whole });
            if (!faulty) {
              expect(server.stats.byOperation.GetObject ?? 0).toBe(
                whole.length - k + (kind === "manifest" ? 1 : 0),
              );
            }
            checks++;
          }
        }
      }
      console.log(`[resume] ${checks} stop-and-resume checks${faulty ? " under 10 % faults" : ""}`);
    } finally {
      await server.close();
    }
  });
}

Deno.test("a state of another pass is refused, naming what differs; unordered passes have no state", async () => {
  const server = await startServer();
  try {
    await seed(server, 10);
    const base = { shuffle: { seed: 5 }, worldSize: 2, rank: 0 };
    const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, dsOpts(server, base));
    expect(() => ds.state()).toThrow("state: no pass has started");
    await Array.fromAsync(ds);
    const state = ds.state();
    const refused = async (opts: DatasetOptions, what: string, uri = `oss://${BUCKET}/train/`) => {
      const other = OssIterableDataset.fromPrefix(uri, dsOpts(server, { ...base, ...opts }));
      const err = await Array.fromAsync(other.iterate({ resumeFrom: state })).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(what);
    };
    await refused({ shuffle: { seed: 6 } }, "its seed is 5, this dataset's 6");
    await refused({ worldSize: 4 }, "its worldSize is 2, this dataset's 4");
    await refused(
      {},
      `its source is "oss://${BUCKET}/train/", this dataset's "oss://${BUCKET}/other/"`,
      `oss://${BUCKET}/other/`,
    );
    await refused(
      { shuffle: { seed: 5, mode: "buffer" } },
      'its order is "global", this dataset\'s "buffer 1024"',
    );
    await expect(Array.fromAsync(ds.iterate({ resumeFrom: state, epoch: 3 }))).rejects.toThrow(
      "epoch 3 was asked",
    );
    await expect(Array.fromAsync(ds.iterate({ resumeFrom: { ...state, position: -1 } }))).rejects.toThrow(
      "position",
    );
    // Lists of the same length but other objects (or URLs) are other sources; URLs presigned again are not.
    const uris = (keys: number[]) =>
      keys.map((i) => `oss://${BUCKET}/train/${String(i).padStart(5, "0")}.bin`);
    const list = OssIterableDataset.fromObjects(uris([0, 1, 2]), dsOpts(server));
    for await (const _ of list) break;
    const listState = list.state();
    const swapped = OssIterableDataset.fromObjects(uris([0, 2, 1]), dsOpts(server));
    await expect(Array.fromAsync(swapped.iterate({ resumeFrom: listState }))).rejects.toThrow(
      /its source is "3 objects #[0-9a-f]{8}", this dataset's "3 objects #[0-9a-f]{8}"/,
    );
    const client = clientFor(server);
    const presigned = (expires: number) =>
      Promise.all(
        uris([0, 1, 2]).map((u) => client.presignUrl(BUCKET, u.slice(u.indexOf("train/")), { expires })),
      );
    const byUrl = OssIterableDataset.fromUrls(await presigned(600));
    for await (const _ of byUrl) break;
    const again = await presigned(900); // other signatures
    expect(again[0]).not.toEqual((await presigned(600))[0]);
    const rest = await Array.fromAsync(
      OssIterableDataset.fromUrls(again).iterate({ resumeFrom: byUrl.state() }),
      (o) => o.key,
    );
    expect(rest).toEqual(["train/00001.bin", "train/00002.bin"]);
    const unordered = OssIterableDataset.fromPrefix(
      `oss://${BUCKET}/train/`,
      dsOpts(server, { ordered: false }),
    );
    await Array.fromAsync(unordered);
    expect(() => unordered.state()).toThrow("state: an unordered pass (ordered: false)");
  } finally {
    await server.close();
  }
});
