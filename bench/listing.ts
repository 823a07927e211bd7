/**
 * `deno task bench:listing [--keys 1000000] [--latency 15] [--concurrency 16] [--reps 3] [--quick]`: listing a
 * prefix of `--keys` keys from the bench server (its own process, `--latency` ms before every request), by
 * ossflow's one listing (`OssClient.list`), ossflow's fast listing (`listFast`, `--concurrency` ranges), and
 * the peers' paginators (ali-oss `listV2`, the AWS SDK's `ListObjectsV2`, a bare fetch loop), the order rotated
 * each repetition. Prints keys/s and time to first key per client (median, min..max), and each client's keys/s
 * as a multiple of ossflow's one listing. `--quick`: 50,000 keys, 2 repetitions. With `taskset` and two or
 * more cores, the server runs on core 0 and the clients on core 1.
 *
 * @module
 */
import { OssClient } from "../src/client.ts";
import { listFast } from "../src/fast_list.ts";
import {
  BUCKET,
  CLIENTS,
  CREDS,
  DENO_RUN,
  PEER_MODULES,
  type PeerFactory,
  PREFIX,
  READS_ONLY,
  REGION,
  type Settings,
  spread,
  timeListing,
} from "./common.ts";
import { parseSettings } from "./common.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const quick = Deno.args.includes("--quick");
const keys = flag("keys", quick ? 50_000 : 1_000_000);
const latencyMs = flag("latency", 15);
const concurrency = flag("concurrency", 16);
const reps = flag("reps", quick ? 2 : 3);

/** `taskset -c CORE` before a command, when taskset exists and the machine has a second core. */
async function pinned(core: number): Promise<string[]> {
  if (navigator.hardwareConcurrency < 2) return [];
  try {
    const ok = await new Deno.Command("taskset", { args: ["-c", "0", "true"] }).output();
    return ok.success ? ["taskset", "-c", String(core)] : [];
  } catch {
    return [];
  }
}

const pin = await pinned(0);
const serverArgs = [
  ...DENO_RUN,
  new URL("./server.ts", import.meta.url).pathname,
  "--latency",
  String(latencyMs),
  "--bandwidth-mib",
  "1000",
  "--seed",
  `${PREFIX.list}:${keys}:0`,
];
const child = new Deno.Command(pin[0] ?? Deno.execPath(), {
  args: pin.length ? [...pin.slice(1), Deno.execPath(), ...serverArgs] : serverArgs,
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
if (pin.length) await new Deno.Command("taskset", { args: ["-p", "-c", "1", String(Deno.pid)] }).output();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let line = "";
while (!line.includes("\n")) line += (await reader.read()).value ?? "";
const { url, seededMs } = JSON.parse(line.split("\n")[0]);
console.log(
  `server: ${keys.toLocaleString("en")} keys seeded in ${seededMs} ms, ${latencyMs} ms latency` +
    (pin.length ? ", pinned: server core 0, clients core 1" : ", not pinned (no taskset or one core)"),
);

const settings: Settings = parseSettings([]).settings;
const client = new OssClient({ endpoint: url, region: REGION, credentials: CREDS });
type Lister = () => Promise<{ keys: number; firstKeyMs: number }>;
const listers: [string, Lister][] = [
  ["ossflow list", () => timeListing(client.list(BUCKET, { prefix: PREFIX.list }))],
  [
    `ossflow listFast ×${concurrency}`,
    () => timeListing(listFast(client, BUCKET, { prefix: PREFIX.list, concurrency })),
  ],
];
for (const peer of CLIENTS.filter((c) => c !== "ossflow" && !READS_ONLY.has(c))) {
  const factory: PeerFactory = (await import(PEER_MODULES[peer])).default;
  const p = await factory(url, settings);
  listers.push([peer, () => p.listAll(PREFIX.list)]);
}

const results = new Map<string, { rate: number[]; first: number[] }>(
  listers.map(([n]) => [n, { rate: [], first: [] }]),
);
for (let rep = 0; rep < reps; rep++) {
  const order = listers.map((_, i) => listers[(i + rep) % listers.length]);
  for (const [name, list] of order) {
    const t0 = performance.now();
    const r = await list();
    const s = (performance.now() - t0) / 1000;
    if (r.keys !== keys) throw new Error(`${name}: listed ${r.keys} keys, expected ${keys}`);
    results.get(name)!.rate.push(r.keys / s);
    results.get(name)!.first.push(r.firstKeyMs);
  }
}
await child.stdin.close();
await child.status;

const base = spread(results.get("ossflow list")!.rate).median;
console.log(`\n| client | keys/s median (min..max) | × ossflow list | first key ms median (min..max) |`);
console.log(`|---|---|---|---|`);
for (const [name, r] of results) {
  const k = spread(r.rate), f = spread(r.first);
  console.log(
    `| ${name} | ${k.median.toFixed(0)} (${k.min.toFixed(0)}..${k.max.toFixed(0)}) | ${
      (k.median / base).toFixed(2)
    } | ` +
      `${f.median.toFixed(1)} (${f.min.toFixed(1)}..${f.max.toFixed(1)}) |`,
  );
}
