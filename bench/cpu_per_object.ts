/**
 * Client CPU per small object, in one process, for the paths a small-object read can take: `OssClient.getBytes`
 * from a key list, `OssIterableDataset.fromPrefix` (listing included, as scenario 1 of `deno task bench`), and
 * a bare `fetch` loop signed with `signOss4` as bench/peers/fetch.ts signs. The server runs in its own process on
 * another CPU when `taskset` allows (bench/processes.ts), with no injected latency, so the run is CPU-bound on
 * the client. Each repetition runs every path once, order rotated; CPU = user + system time of this process
 * (every thread) / objects. Prints each path's µs per object and its ratio to the fetch loop of the same round.
 *
 *   deno run -A --config deno.dev.json bench/cpu_per_object.ts [--objects 2000] [--reps 3] [--concurrency 64]
 *   deno run -A --config deno.dev.json --cpu-prof --cpu-prof-dir=/tmp/prof bench/cpu_per_object.ts --only client
 *
 * @module
 */
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { BUCKET, cpuMicros, CREDS, PREFIX, readEach, REGION, seededKey, spread } from "./common.ts";
import { signOss4 } from "../src/signer/oss4.ts";
import { decidePinning, startServer } from "./processes.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
const objects = Number(flag("objects", "2000"));
const reps = Number(flag("reps", "3"));
const concurrency = Number(flag("concurrency", "64"));
const only = flag("only", "");

const pin = await decidePinning(true);
console.error(pin.note);
// The orchestrator's pinning moved this process to the server's CPU: the client under test goes back to its own.
if (pin.clientCpu !== undefined) {
  await new Deno.Command("taskset", {
    args: ["-a", "-cp", String(pin.clientCpu), String(Deno.pid)],
    stdout: "null",
  })
    .output();
}
const server = await startServer(
  "./server.ts",
  ["--latency", "0", "--bandwidth-mib", "100000", "--seed", `${PREFIX.small}:${objects}:16384`],
  pin,
);
const endpoint = server.url;
const client = new OssClient({ endpoint, region: REGION, credentials: CREDS });
const keys = Array.from({ length: objects }, (_, i) => seededKey(PREFIX.small, i));
async function* keyList() {
  yield* keys;
}

const paths: Record<string, () => Promise<number>> = {
  "fetch loop": async () => (await readEach(keyList(), concurrency, (key) => bareGet(key))).objects,
  "OssClient.getBytes": async () =>
    (await readEach(keyList(), concurrency, async (key) => (await client.getBytes(BUCKET, key)).bytes))
      .objects,
  "dataset fromPrefix": async () => {
    const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/${PREFIX.small}`, {
      client,
      prefetchConcurrency: concurrency,
      ordered: false,
    });
    let n = 0;
    for await (const item of ds) {
      await item.bytes();
      n++;
    }
    return n;
  },
};
/** One GET as the fetch peer (bench/peers/fetch.ts) sends it: signed with signOss4, read with bytes(). */
async function bareGet(key: string): Promise<Uint8Array> {
  const u = new URL(`/${BUCKET}/${key.split("/").map(encodeURIComponent).join("/")}`, endpoint);
  const headers = new Headers();
  await signOss4({ method: "GET", url: u, headers, bucket: BUCKET, key }, {
    credentials: CREDS,
    region: REGION,
  });
  const res = await fetch(u, { headers });
  if (!res.ok) throw new Error(`GET ${key}: HTTP ${res.status}`);
  return await res.bytes();
}

const names = Object.keys(paths).filter((n) =>
  only === "" || n === "fetch loop" || n.toLowerCase().includes(only)
);
for (const n of names) await paths[n](); // warm-up: JIT, connections
const perObject: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < reps; r++) {
  const round: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) {
    const n = names[(i + r) % names.length];
    const c0 = cpuMicros();
    const got = await paths[n]();
    round[n] = (cpuMicros() - c0) / got;
    if (got !== objects) throw new Error(`${n}: ${got} objects, expected ${objects}`);
  }
  for (const n of names) {
    perObject[n].push(round[n]);
    ratios[n].push(round[n] / round["fetch loop"]);
  }
}
await server.stop();
for (const n of names) {
  const cpu = spread(perObject[n]), ratio = spread(ratios[n]);
  console.log(
    `${n.padEnd(20)} ${cpu.median.toFixed(0).padStart(5)} µs/object (${cpu.min.toFixed(0)}–${
      cpu.max.toFixed(0)
    }), ×${ratio.median.toFixed(2)} the fetch loop (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`,
  );
}
