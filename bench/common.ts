/**
 * What the bench processes share: settings and their flags, the peer interface, the object layout on the
 * server, and small measuring helpers (statistics, bounded pools, process CPU time and peak RSS).
 *
 * @module
 */
import process from "node:process";

/**
 * `deno run` and its flags for a bench child process: every permission, and the development config
 * (deno.dev.json), whose import map has the peers' packages (ali-oss, the AWS SDK), which the root one leaves out.
 */
export const DENO_RUN: string[] = [
  "run",
  "-A",
  "--config",
  new URL("../deno.dev.json", import.meta.url).pathname,
];

/** The key pair the bench server verifies every request against. */
export const CREDS = { accessKeyId: "LTAIossflowbench", accessKeySecret: "ossflow-bench-secret-0123456789" };
/** The one bucket of the bench. */
export const BUCKET = "bench";
/** Region of the server; ali-oss wants it as `oss-<region>`. */
export const REGION = "cn-hangzhou";
/** What every emulator the bench clients talk to is started with: a free local port, the key pair, the bucket. */
export const SERVER_BASE = {
  port: 0,
  hostname: "127.0.0.1",
  credentials: [CREDS],
  buckets: [BUCKET],
  region: REGION,
};
/** Prefixes of the seeded data sets. */
export const PREFIX = {
  small: "small/",
  medium: "medium/",
  list: "list/",
  ckpt: "ckpt/",
  warm: "warm/",
} as const;
/** Objects under `warm/` (16 KiB each): the untimed warm-up pass of every client process. */
export const WARM_COUNT = 4000;
export const MiB = 1024 * 1024;

/** Every knob of a run; `--quick` shrinks the sizes. */
export interface Settings {
  quick: boolean;
  /** Injected first-byte latency of every request, ms. */
  latencyMs: number;
  /** Bandwidth cap of every request and response body (one at a time per HTTP/1.1 connection), MiB/s. */
  bandwidthMiB: number;
  /** Requests in flight, small objects (scenario 1) and every client. */
  concurrency: number;
  /** Requests in flight for medium objects and checkpoint parts/ranges (scenarios 2 and 3). */
  streamConcurrency: number;
  smallCount: number;
  smallKiB: number;
  mediumCount: number;
  mediumMiB: number;
  ckptMiB: number;
  partMiB: number;
  listKeys: number;
  /** Most timed repetitions of scenarios 1, 2, 4 and 5 (after one untimed warm-up pass). */
  reps: number;
  /** Most timed repetitions of scenario 3 (fresh processes, no warm-up: a checkpoint is a cold job). */
  ckptReps: number;
  /** Time per signer and repetition in scenario 5, ms. */
  signMs: number;
  scenarios: number[];
  clients: string[];
  /** ossflow dataset: prefetch workers (0 = inline fetches). */
  ossflowWorkers: number;
  /** ossflow checkpoint write: 0 = `save(uri, { path })` (parts read from the file), 1 = the file's readable. */
  ossflowWriteStream: number;
  /**
   * Target duration of the whole run, s. Each scenario gets a share; a scenario stops starting new rounds
   * (one repetition of every client) when the next would overrun its share. The first round always runs.
   */
  budgetS: number;
  /** Pin the servers and the client under test to different CPUs with taskset (`--no-pin` turns it off). */
  pin: boolean;
  /** Measure each scenario's physical limit (bench/limit_server.ts read by a bare fetch loop; `--no-limit`). */
  limit: boolean;
}

/** Shares of {@linkcode Settings.budgetS} per scenario (the rest: start-up, seeding, warm-up, signing). */
export const BUDGET_SHARE: Record<number, number> = { 1: 0.21, 2: 0.23, 3: 0.4, 4: 0.14 };

/** The clients compared, in table order. */
export const CLIENTS = ["ossflow", "ali-oss", "aws-sdk", "fetch", "fetch-checked"] as const;

/** The module of each client (and of the `limit` pseudo-client): its default export is a {@linkcode PeerFactory}. */
export const PEER_MODULES: Record<string, string> = Object.fromEntries(
  [
    ["ossflow", "ossflow"],
    ["ali-oss", "ali_oss"],
    ["aws-sdk", "aws_sdk"],
    ["fetch", "fetch"],
    ["fetch-checked", "fetch_checked"],
    ["limit", "limit"],
  ].map(([client, file]) => [client, new URL(`./peers/${file}.ts`, import.meta.url).href]),
);

/**
 * Clients measured only where they read objects (scenarios 1 and 2, and CPU per small object): `fetch-checked`
 * lists and writes checkpoints as `fetch` does, so running those jobs again would only cost time.
 */
export const READS_ONLY: ReadonlySet<string> = new Set(["fetch-checked"]);

const DEFAULTS: Settings = {
  quick: false,
  latencyMs: 15,
  bandwidthMiB: 100,
  concurrency: 64,
  streamConcurrency: 16,
  smallCount: 10_000,
  smallKiB: 16,
  mediumCount: 500,
  mediumMiB: 4,
  ckptMiB: 1024,
  partMiB: 8,
  listKeys: 100_000,
  reps: 3,
  ckptReps: 3,
  signMs: 400,
  scenarios: [1, 2, 3, 4, 5],
  clients: [...CLIENTS],
  ossflowWorkers: 0,
  ossflowWriteStream: 0,
  budgetS: 300,
  pin: true,
  limit: true,
};

const QUICK: Partial<Settings> = {
  smallCount: 1_000,
  mediumCount: 24,
  ckptMiB: 64,
  listKeys: 5_000,
  reps: 2,
  ckptReps: 1,
  signMs: 100,
};

const FLAGS: Record<string, keyof Settings> = {
  "latency": "latencyMs",
  "bandwidth-mib": "bandwidthMiB",
  "concurrency": "concurrency",
  "stream-concurrency": "streamConcurrency",
  "small-count": "smallCount",
  "small-kib": "smallKiB",
  "medium-count": "mediumCount",
  "medium-mib": "mediumMiB",
  "ckpt-mib": "ckptMiB",
  "part-mib": "partMiB",
  "list-keys": "listKeys",
  "reps": "reps",
  "ckpt-reps": "ckptReps",
  "sign-ms": "signMs",
  "ossflow-workers": "ossflowWorkers",
  "ossflow-write-stream": "ossflowWriteStream",
  "budget-s": "budgetS",
};

/** The usage text of `deno task bench`. */
export const USAGE = `deno task bench [--quick] [--scenarios 1,2,3,4,5] [--clients ${CLIENTS.join(",")}]
  [--latency 15] [--bandwidth-mib 100] [--concurrency 64] [--stream-concurrency 16]
  [--small-count 10000] [--small-kib 16] [--medium-count 500] [--medium-mib 4]
  [--ckpt-mib 1024] [--part-mib 8] [--list-keys 100000] [--reps 3] [--ckpt-reps 3] [--sign-ms 400]
  [--ossflow-workers 0] [--ossflow-write-stream 0] [--budget-s 300] [--out bench/results/latest.json] [--no-readme] [--no-pin] [--no-limit]`;

/** Flags without a value. */
const SWITCHES = ["--quick", "--no-readme", "--help", "--no-pin", "--no-limit"];

/**
 * Parses `--name value` / `--name=value` flags over the defaults (and `--quick`'s smaller sizes). `out` is
 * `--out`; `partial` says the run leaves out scenarios or clients (its results then go to
 * `bench/results/partial.json`, not `latest.json`); `readme` is true only for a full, non-quick run to the
 * default file, so that the README's table always shows a whole run.
 */
export function parseSettings(
  args: readonly string[],
): { settings: Settings; out?: string; partial: boolean; readme: boolean } {
  const pairs = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const eq = a.indexOf("=");
    if (eq > 0) pairs.set(a.slice(2, eq), a.slice(eq + 1));
    else if (SWITCHES.includes(a)) pairs.set(a.slice(2), "");
    else pairs.set(a.slice(2), args[++i] ?? "");
  }
  if (pairs.has("help")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const quick = pairs.has("quick");
  const s: Settings = {
    ...DEFAULTS,
    ...(quick ? QUICK : {}),
    quick,
    pin: !pairs.has("no-pin"),
    limit: !pairs.has("no-limit"),
  };
  for (const [flag, value] of pairs) {
    const key = FLAGS[flag];
    if (key) {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: expected a number >= 0, got "${value}"`);
      (s as unknown as Record<string, number>)[key] = n;
    } else if (flag === "scenarios") {
      s.scenarios = value.split(",").map(Number).filter((n) => n >= 1 && n <= 5);
    } else if (flag === "clients") {
      const names = value.split(",");
      const bad = names.filter((n) => !(CLIENTS as readonly string[]).includes(n));
      if (bad.length > 0) {
        throw new Error(`--clients: unknown ${bad.join(", ")} (known: ${CLIENTS.join(", ")})`);
      }
      s.clients = CLIENTS.filter((c) => names.includes(c));
    } else if (flag !== "out" && !SWITCHES.includes(`--${flag}`)) {
      throw new Error(`unknown flag --${flag}\n${USAGE}`);
    }
  }
  if (s.reps < 1 || s.ckptReps < 1) throw new Error("--reps and --ckpt-reps must be >= 1");
  // Only a full run to the default results file speaks for the README's table: a run of some scenarios or
  // clients, or one written elsewhere, must not replace it.
  const full = s.scenarios.length === DEFAULTS.scenarios.length && s.clients.length === CLIENTS.length;
  return {
    settings: s,
    out: pairs.get("out"),
    partial: !full,
    readme: !pairs.has("no-readme") && !quick && full && !pairs.has("out"),
  };
}

/** The key of object `i` of a seeded prefix: fixed width, so listing order is numeric order. */
export function seededKey(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(7, "0")}.bin`;
}

/** What a peer must do; every method runs at the concurrency given, with the peer's own API. */
export interface Peer {
  /** Lists `prefix` and reads every object in it, `concurrency` GETs in flight. */
  readPrefix(prefix: string, concurrency: number): Promise<{ objects: number; bytes: number }>;
  /** Lists every key under `prefix`; `firstKeyMs` is the time until the first key is in hand. */
  listAll(prefix: string): Promise<{ keys: number; firstKeyMs: number }>;
  /** Uploads `file` (`size` bytes) as `key` with `concurrency` parts of `partSize` in flight. */
  writeCheckpoint(
    key: string,
    file: string,
    size: number,
    partSize: number,
    concurrency: number,
  ): Promise<void>;
  /** Reads `key` (`size` bytes) front to back, `concurrency` ranges in flight; resolves with the byte count. */
  readCheckpoint(key: string, size: number, partSize: number, concurrency: number): Promise<number>;
  /** How the peer was set up, for the report. */
  readonly notes: string;
}

/** What a peer module exports. */
export type PeerFactory = (url: string, settings: Settings) => Promise<Peer>;

/** Runs `fn` over every item of `items` with at most `concurrency` calls in flight (completion order). */
export async function pool<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = Symbol.asyncIterator in items
    ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (items as Iterable<T>)[Symbol.iterator]();
  let failed = false;
  const worker = async () => {
    while (!failed) {
      const { done, value } = await it.next();
      if (done) return;
      try {
        await fn(value);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

/** Reads every object `keys` yields with `getBytes`, `concurrency` at once; counts objects and bytes. */
export async function readEach(
  keys: AsyncIterable<string>,
  concurrency: number,
  getBytes: (key: string) => Promise<{ byteLength: number }>,
): Promise<{ objects: number; bytes: number }> {
  let objects = 0, bytes = 0;
  await pool(keys, concurrency, async (key) => {
    const body = await getBytes(key); // (not `bytes += await …`: that reads `bytes` before awaiting)
    bytes += body.byteLength;
    objects++;
  });
  return { objects, bytes };
}

/** Drains a key listing; counts keys and the time to the first one. */
export async function timeListing(
  keys: AsyncIterable<unknown>,
): Promise<{ keys: number; firstKeyMs: number }> {
  const t0 = performance.now();
  let n = 0, firstKeyMs = -1;
  for await (const _ of keys) {
    if (n++ === 0) firstKeyMs = performance.now() - t0;
  }
  return { keys: n, firstKeyMs };
}

/**
 * Reads `size` bytes as ranges of `partSize`, `concurrency` in flight, consumed in order (a sliding window,
 * what ossflow's checkpoint reader does): the hand-written parallel download the peers' docs recommend.
 */
export async function orderedRanges(
  size: number,
  partSize: number,
  concurrency: number,
  fetchRange: (start: number, end: number) => Promise<{ byteLength: number }>,
): Promise<number> {
  const window: Promise<{ byteLength: number }>[] = [];
  let next = 0, total = 0;
  const fill = () => {
    while (window.length < concurrency && next < size) {
      const start = next, end = Math.min(size, next + partSize) - 1;
      next = end + 1;
      const p = fetchRange(start, end);
      p.catch(() => {});
      window.push(p);
    }
  };
  fill();
  while (window.length > 0) {
    total += (await window.shift()!).byteLength;
    fill();
  }
  return total;
}

/** Median, min and max of a list of numbers. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1] };
}

/** User + system CPU time of this process (every thread: JS, fetch's I/O threads, GC), µs. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Peak resident set size of this process so far (Linux `VmHWM`), MiB; current RSS elsewhere. */
export function peakRssMiB(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+)\s+kB/);
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / MiB;
}

/** User + system CPU time of another process so far (Linux `/proc/<pid>/stat`, 10 ms ticks), µs; NaN elsewhere. */
export function processCpuMicros(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10_000; // utime + stime, USER_HZ = 100
  } catch {
    return NaN;
  }
}

/** Current resident set size, MiB. */
export function rssMiB(): number {
  return Deno.memoryUsage().rss / MiB;
}

/** Rounds to 3 significant digits (and integers above 1000), for JSON and tables. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (Math.abs(x) >= 1000) return Math.round(x);
  return Number(x.toPrecision(3));
}
