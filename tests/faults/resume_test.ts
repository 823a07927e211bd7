// Truncated bodies in the fault suite: `client.get` streams resume a body cut short (Range + If-Match from the
// byte they reached) instead of fetching it again, and deliver every object byte-exact.
import { expect } from "expect";
import { prefetch } from "../../src/prefetch.ts";
import { startServer } from "../dataset_fixture.ts";
import {
  BUCKET,
  clearFaults,
  countingClient,
  faultsOf,
  injectFaults,
  pct,
  RATES,
  report,
  RetryCounter,
  seedObjects,
  sha256,
} from "./fault_fixture.ts";

const OBJECTS = 120;

for (const rate of RATES) {
  Deno.test(`faults: truncated bodies at ${pct(rate)} are resumed by client.get streams, every byte checked`, async () => {
    const server = await startServer();
    try {
      const expected = await seedObjects(server, OBJECTS);
      const retries = new RetryCounter();
      const client = countingClient(server.url, retries);
      injectFaults(server, "truncate", rate, 1200, (_m, _k, op) => op === "GetObject");
      const got = new Map<string, string>();
      for await (
        const [key, hash] of prefetch([...expected.keys()], async (key) => {
          const res = await client.get(BUCKET, key);
          const bytes = new Uint8Array(await new Response(res.body).arrayBuffer());
          return [key, await sha256(bytes)] as const;
        }, { concurrency: 8 })
      ) got.set(key, hash);
      const f = faultsOf(server);
      clearFaults(server);
      expect(got).toEqual(expected);
      expect(f.byKind.truncate ?? 0).toBeGreaterThan(0);
      // Every truncated body was resumed from where it stopped, none fetched again from the start.
      expect(retries.resumes).toBe(f.byKind.truncate);
      expect(retries.requests).toBe(0);
      report(`resume truncate ${pct(rate)}`, { ...f, retries, checked: `${got.size} objects byte-exact` });
    } finally {
      await server.close();
    }
  });
}
