// One dataset fault run, shared by dataset_errors_test.ts and dataset_spikes_test.ts (two files so that
// `deno test --parallel` runs them side by side).
import { expect } from "expect";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { OssMapDataset } from "../../src/dataset/map.ts";
import { dsOpts, startServer } from "../dataset_fixture.ts";
import {
  assertExactlyOnce,
  BUCKET,
  clearFaults,
  countingClient,
  faultsOf,
  injectFaults,
  OBJECTS,
  pct,
  report,
  RetryCounter,
  type Scenario,
  seedObjects,
  tally,
  TIMEOUT_MS,
} from "./fault_fixture.ts";

export const BEHAVIOUR: Record<Scenario, string> = {
  slowdown: "503 SlowDown answers",
  reset: "connections reset before headers",
  truncate: "bodies truncated mid-stream",
  spike: `latency spikes past a ${TIMEOUT_MS} ms client timeout`,
};

/**
 * Seeds {@linkcode OBJECTS} objects, injects `scenario` at `rate` into every request (listing included), then
 * reads them through the iterable dataset, the map dataset and `getMany` in scrambled order, each exactly once.
 */
export async function datasetRun(scenario: Scenario, rate: number, seed: number): Promise<void> {
  const server = await startServer();
  try {
    const expected = await seedObjects(server);
    const retries = new RetryCounter();
    const client = countingClient(server.url, retries, { timeoutMs: TIMEOUT_MS });
    const opts = dsOpts(server, { client, prefetchConcurrency: scenario === "spike" ? 48 : 16 });
    injectFaults(server, scenario, rate, seed);

    const iterable = await tally(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, opts));
    let checked = assertExactlyOnce(iterable, expected);
    const map = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, opts);
    expect(map.length).toBe(OBJECTS);
    checked += assertExactlyOnce(await tally(map), expected);
    const items = await map.getMany(map.indices(7));
    checked += assertExactlyOnce(await tally(fromArray(items)), expected);

    const f = faultsOf(server);
    clearFaults(server);
    report(`datasets, ${pct(rate)} ${scenario}`, {
      ...f,
      retries,
      checked: `${checked} objects checked (iterable, map, getMany)`,
    });
    expect(f.faults).toBeGreaterThan(0);
    if (scenario === "reset") {
      // fetch's connection pool resends by itself a request whose reused connection closed before any response
      // byte, so only some resets reach the client's retry loop.
      expect(retries.total).toBeLessThanOrEqual(f.faults);
      if (rate >= 0.1) expect(retries.total).toBeGreaterThan(0);
    } else {
      // Every 503, truncated body or spike costs one retry (a slow machine may add timeouts of its own).
      expect(retries.total).toBeGreaterThanOrEqual(f.faults);
    }
  } finally {
    await server.close();
  }
}

async function* fromArray<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}
