// A server restart in the middle of a run (directory backend): the server is closed, cutting every connection,
// and a new one opens the same data directory on the same port while a dataset iterates or a checkpoint is
// being written. Reads and writes retry across the gap; nothing is lost, duplicated or left behind.
import { expect } from "expect";
import { OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { OssClient } from "../../src/client.ts";
import { crc64 } from "../../src/crc64.ts";
import type { DataObject } from "../../src/dataset/item.ts";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { OssMapDataset } from "../../src/dataset/map.ts";
import {
  assertExactlyOnce,
  BUCKET,
  countingClient,
  CREDS,
  KiB,
  MiB,
  randomBytes,
  REGION,
  report,
  RestartableServer,
  RetryCounter,
  seedObjects,
  tally,
  writeChunked,
} from "./fault_fixture.ts";

/** Retries that outlast a restart (a few hundred ms without a listener). */
const ACROSS_RESTART = { maxAttempts: 12, minDelayMs: 20, maxDelayMs: 400 };

/** Passes `items` through, restarting `server` (without waiting) after the `at`-th item of each entry. */
async function* restartingAt<T>(
  items: AsyncIterable<T>,
  server: RestartableServer,
  at: number[],
  pending: Promise<void>[],
) {
  let n = 0;
  for await (const item of items) {
    if (at.includes(++n)) pending.push(server.restart());
    yield item;
  }
}

Deno.test("iterable and map datasets deliver every object exactly once byte-exact across server restarts mid-iteration", async () => {
  const server = await RestartableServer.start();
  try {
    const expected = await seedObjects(server);
    const retries = new RetryCounter();
    const client = countingClient(server.url, retries, { retry: ACROSS_RESTART });
    // Slow reads a little so that restarts land while many requests are in flight.
    server.faults.update({ latencyMs: 3 });
    const opts = { client, prefetchWorker: 0, prefetchConcurrency: 16 };
    const pending: Promise<void>[] = [];

    const iterable = OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, opts);
    let checked = assertExactlyOnce(
      await tally(restartingAt(iterable, server, [60, 200], pending)),
      expected,
    );
    await Promise.all(pending);
    const map = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, opts);
    checked += assertExactlyOnce(
      await tally(restartingAt<DataObject>(map, server, [100], pending)),
      expected,
    );
    await Promise.all(pending);

    report(`datasets, ${server.restarts} server restarts`, {
      faults: server.restarts,
      byKind: { restart: server.restarts },
      retries,
      checked: `${checked} objects checked (iterable, map)`,
    });
    expect(server.restarts).toBe(3);
    expect(retries.total).toBeGreaterThan(0);
  } finally {
    await server.close();
  }
});

Deno.test("a checkpoint written across a server restart completes with the right CRC-64 or leaves the old object and no upload", async () => {
  const server = await RestartableServer.start();
  try {
    const retries = new RetryCounter();
    const client = countingClient(server.url, retries, { retry: ACROSS_RESTART });
    const previous = randomBytes(300 * KiB, 1);
    const old = await client.put(BUCKET, "run/latest.bin", previous);
    const checkpoint = new OssCheckpoint({
      client,
      partSize: 128 * KiB,
      uploadConcurrency: 4,
      retry: { ...ACROSS_RESTART, onRetry: retries.onRetry },
    });
    const data = randomBytes(4 * MiB + 777, 2); // 33 parts
    server.faults.update({ latencyMs: 10 });
    const writer = checkpoint.writer(`oss://${BUCKET}/run/latest.bin`);
    const saving = writeChunked(writer, data).then(() => undefined, (e) => e ?? new Error("rejected"));
    while (writer.stats.partsUploaded < 8) await new Promise((r) => setTimeout(r, 5));
    await server.restart();
    while (writer.stats.partsUploaded < 20) await new Promise((r) => setTimeout(r, 5));
    await server.restart();
    const error = await saving;
    server.faults.update({ latencyMs: 0 });

    const check = new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS });
    expect(await check.listUploads(BUCKET)).toEqual([]);
    const meta = await check.head(BUCKET, "run/latest.bin");
    const stored = (await check.getBytes(BUCKET, "run/latest.bin")).bytes;
    if (error === undefined) {
      expect(meta.crc64).toBe(await crc64(data));
      expect(stored.length === data.length && stored.every((v, i) => v === data[i])).toBe(true);
    } else {
      expect(meta.etag).toBe(old.etag);
      expect(stored.length === previous.length && stored.every((v, i) => v === previous[i])).toBe(true);
    }
    report(`checkpoint, ${server.restarts} server restarts`, {
      faults: server.restarts,
      byKind: { restart: server.restarts },
      retries,
      checked: `1 save of ${data.length} B checked: ${
        error === undefined ? "completed" : `aborted (${error})`
      }`,
    });
    expect(error).toBeUndefined(); // with retries that outlast a restart it must complete
    expect(retries.total).toBeGreaterThan(0);
  } finally {
    await server.close();
  }
});
