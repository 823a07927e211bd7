/**
 * One rank of a distributed safetensors save, in its own process, so a fault test can SIGKILL it midway:
 *
 *   deno run -A tests/faults/safetensors_rank.ts <endpoint> <uri> <rank> <worldSize> <seed>
 *
 * Saves `rankTensors(rank, seed)` (tests/faults/safetensors_test.ts) with generous retries and prints "saved".
 */
import { saveSafetensors } from "../../src/safetensors/writer.ts";
import { CREDS, REGION, RETRY } from "./fault_fixture.ts";
import { rankTensors } from "./safetensors_tensors.ts";

const [endpoint, uri, rank, worldSize, seed] = Deno.args;
await saveSafetensors(uri, rankTensors(Number(rank), Number(seed)), {
  endpoint,
  region: REGION,
  credentials: CREDS,
  retry: RETRY,
  partSize: 128 * 1024,
  uploadConcurrency: 2,
  rank: Number(rank),
  worldSize: Number(worldSize),
  pollIntervalMs: 20,
});
console.log("saved");
