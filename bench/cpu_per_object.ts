/**
 * Client CPU per small object, in one process, for the paths a small-object read can take, against two
 * baselines:
 *
 * - `fetch loop`: a bare `fetch` loop signed with `signOss4` as bench/peers/fetch.ts signs; no checks.
 * - `fetch peer`: bench/peers/fetch.ts itself (that loop plus its regex listing), the row's peer in
 *   `deno task bench`.
 * - `checked peer`: bench/peers/fetch_checked.ts (the fetch peer plus an AbortSignal per GET and the
 *   Content-Length and CRC-64 checks of each body), the `fetch-checked` row of `deno task bench`.
 * - `integrity floor`: the fetch loop plus what no ossflow read can drop: an AbortSignal per request (what makes
 *   a request cancellable and its inactivity timeout possible) and the CRC-64 check of the body. The cheapest
 *   loop that keeps ossflow's promises.
 * - `OssClient.getBytes` from a key list, and `dataset fromPrefix` (listing included, as scenario 1 of
 *   `deno task bench`).
 *
 * The server runs in its own process on another CPU when `taskset` allows (bench/processes.ts); with no
 * injected latency (default) the run is CPU-bound on the client, `--latency 15 --bandwidth-mib 100` is the
 * bench's scenario 1. Each repetition runs every path once, order rotated; CPU = user + system time of this
 * process (every thread) / objects. Prints each path's µs per object (user and system apart) and its ratio to
 * the fetch loop of the same round. `--size 4194304 --objects 300 --concurrency 16 --latency 15 --bandwidth-mib
 * 100` is scenario 2's medium objects, where CRC-64 is most of what separates the paths.
 *
 *   deno run -A --config deno.dev.json bench/cpu_per_object.ts [--objects 2000] [--reps 3] [--concurrency 64]
 *     [--latency 0] [--bandwidth-mib 100000] [--size 16384] [--only "fetch peer,dataset fromPrefix"]
 *   deno run -A --config deno.dev.json --cpu-prof --cpu-prof-dir=/tmp/prof bench/cpu_per_object.ts --only client
 *
 * @module
 */
import process from "node:process";
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { crc64 } from "../src/crc64.ts";
import { BUCKET, cpuMicros, CREDS, PREFIX, readEach, REGION, seededKey, spread } from "./common.ts";
import { signOss4 } from "../src/signer/oss4.ts";
import fetchPeer from "./peers/fetch.ts";
import checkedPeer from "./peers/fetch_checked.ts";
import { decidePinning, startServer } from "./processes.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
const objects = Number(flag("objects", "2000"));
const size = Number(flag("size", "16384"));
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
  [
    "--latency",
    flag("latency", "0"),
    "--bandwidth-mib",
    flag("bandwidth-mib", "100000"),
    "--seed",
    `${PREFIX.small}:${objects}:${size}`,
  ],
  pin,
);
const endpoint = server.url;
const client = new OssClient({ endpoint, region: REGION, credentials: CREDS });
const keys = Array.from({ length: objects }, (_, i) => seededKey(PREFIX.small, i));
async function* keyList() {
  yield* keys;
}

const peer = await fetchPeer(endpoint, {} as never);
const checked = await checkedPeer(endpoint, {} as never);

const paths: Record<string, () => Promise<number>> = {
  "fetch loop": async () => (await readEach(keyList(), concurrency, (key) => bareGet(key))).objects,
  "fetch peer": async () => (await peer.readPrefix(PREFIX.small, concurrency)).objects,
  "checked peer": async () => (await checked.readPrefix(PREFIX.small, concurrency)).objects,
  "integrity floor": async () =>
    (await readEach(keyList(), concurrency, async (key) => {
      const bytes = await bareGet(key, new AbortController().signal);
      await crc64(bytes);
      return bytes;
    })).objects,
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
async function bareGet(key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const u = new URL(`/${BUCKET}/${key.split("/").map(encodeURIComponent).join("/")}`, endpoint);
  const headers = new Headers();
  await signOss4({ method: "GET", url: u, headers, bucket: BUCKET, key }, {
    credentials: CREDS,
    region: REGION,
  });
  const res = await fetch(u, signal ? { headers, signal } : { headers });
  if (!res.ok) throw new Error(`GET ${key}: HTTP ${res.status}`);
  return await res.bytes();
}

// --only: a comma-separated list of paths, or one word that picks the paths naming it (the fetch loop always runs).
const names = only.includes(",")
  ? ["fetch loop", ...only.split(",").map((n) => n.trim()).filter((n) => n !== "fetch loop")]
  : Object.keys(paths).filter((n) => only === "" || n === "fetch loop" || n.toLowerCase().includes(only));
for (const n of names) if (!(n in paths)) throw new Error(`--only: no path ${JSON.stringify(n)}`);
for (const n of names) await paths[n](); // warm-up: JIT, connections
const perObject: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const userSys: Record<string, [number[], number[]]> = Object.fromEntries(names.map((n) => [n, [[], []]]));
const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < reps; r++) {
  const round: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) {
    const n = names[(i + r) % names.length];
    const u0 = process.cpuUsage();
    const c0 = cpuMicros();
    const got = await paths[n]();
    round[n] = (cpuMicros() - c0) / got;
    const u1 = process.cpuUsage();
    userSys[n][0].push((u1.user - u0.user) / got);
    userSys[n][1].push((u1.system - u0.system) / got);
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
    }) [user ${spread(userSys[n][0]).median.toFixed(0)}, system ${
      spread(userSys[n][1]).median.toFixed(0)
    }], ×${ratio.median.toFixed(2)} the fetch loop (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`,
  );
}
