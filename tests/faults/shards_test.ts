// Tar shards through seeded faults at 10 % of all requests (503 SlowDown, connection resets before headers,
// bodies truncated mid-stream): fromShards delivers every sample exactly once, byte-exact (a broken shard body
// resumes with a Range and the whole shard passes its CRC-64 check), and OssMapDataset.fromTar's ranged GETs
// deliver every member byte-exact.
import { expect } from "expect";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { OssMapDataset } from "../../src/dataset/map.ts";
import { ShardWriter } from "../../src/dataset/tar_write.ts";
import { startServer } from "../dataset_fixture.ts";
import { assertSameMembers, membersOf } from "../tar/tar_fixture.ts";
import {
  BUCKET,
  clearFaults,
  countingClient,
  faultsOf,
  injectFaults,
  randomBytes,
  report,
  RetryCounter,
  sizeOf,
} from "./fault_fixture.ts";
import { BEHAVIOUR } from "./dataset_scenario.ts";

const SHARDS = 6, PER_SHARD = 40;

for (const [s, scenario] of (["slowdown", "reset", "truncate"] as const).entries()) {
  Deno.test(`shard samples and indexed tar members arrive exactly once byte-exact through 10% ${BEHAVIOUR[scenario]}`, async () => {
    const server = await startServer();
    try {
      const retries = new RetryCounter();
      const client = countingClient(server.url, retries);
      const expected = new Map<string, Uint8Array>();
      const writer = new ShardWriter(`oss://${BUCKET}/faults/shard-%03d.tar`, {
        client,
        maxCount: PER_SHARD,
      });
      for (let i = 0; i < SHARDS * PER_SHARD; i++) {
        const key = `train/${String(i).padStart(5, "0")}`;
        const bin = randomBytes(sizeOf(i), i);
        await writer.write({ key, members: { bin, cls: String(i % 10) } });
        expected.set(`${key}.bin`, bin);
        expected.set(`${key}.cls`, new TextEncoder().encode(String(i % 10)));
      }
      expect((await writer.close()).length).toEqual(SHARDS);

      injectFaults(server, scenario, 0.1, 2000 + 10 * s, (method) => method === "GET");
      const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/faults/shard-{000..005}.tar`, {
        client,
        prefetchShards: 3,
      });
      assertSameMembers(await membersOf(ds), expected);

      const first = new Map([...expected].filter(([k]) => Number(k.slice(6, 11)) < PER_SHARD));
      const map = await OssMapDataset.fromTar(`oss://${BUCKET}/faults/shard-000.tar`, undefined, { client });
      const got = new Map<string, Uint8Array>();
      for (const m of await map.getMany(Array.from({ length: map.length }, (_, i) => map.length - 1 - i))) {
        got.set(m.key, await m.bytes());
      }
      assertSameMembers(got, first);
      const f = faultsOf(server);
      clearFaults(server);
      report(`shards, 10% ${scenario}`, { ...f, retries, checked: `${expected.size} members exactly once` });
      expect(f.faults).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
}
