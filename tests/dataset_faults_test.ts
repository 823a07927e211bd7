import { expect } from "expect";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import { assertSameObjects, BUCKET, collect, dsOpts, seed, startServer } from "./dataset_fixture.ts";

for (const prefetchWorker of [0, 2]) {
  Deno.test(`5% injected faults still yield every object byte-exact exactly once (prefetchWorker ${prefetchWorker})`, async () => {
    const server = await startServer({
      errorRate: 0.05,
      errorKinds: ["slowdown", "reset", "truncate"],
      seed: 1234 + prefetchWorker,
    });
    try {
      const expected = await seed(server, 300, "train/", 4096 + 123);
      const opts = dsOpts(server, {
        prefetchWorker,
        prefetchConcurrency: 16,
        retry: { maxAttempts: 8, minDelayMs: 5, maxDelayMs: 50 },
      });
      assertSameObjects(
        await collect(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, opts)),
        expected,
      );
      assertSameObjects(
        await collect(await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, opts)),
        expected,
      );
      expect(server.stats.faultsInjected).toBeGreaterThan(10);
    } finally {
      await server.close();
    }
  });
}
