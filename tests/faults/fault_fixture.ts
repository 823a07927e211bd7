/**
 * Shared setup of the fault suite (tests/faults/): seeded objects of 4–64 KiB on the dataset fixture's server,
 * a client whose retries are counted through `onRetry`, an exactly-once check over keys and SHA-256 content
 * hashes, a restartable server on a data directory, and one report line per run.
 */
import { OssClient } from "../../src/client.ts";
import type { OssClientOptions } from "../../src/client_types.ts";
import type { DataObject } from "../../src/dataset/item.ts";
import { prefetch } from "../../src/prefetch.ts";
import type { RetryEvent } from "../../src/retry.ts";
import { DirectoryStore } from "../../src/server/store/directory.ts";
import { type RunningEmulator, serveEmulator } from "../../src/server/emulator.ts";
import { FaultInjector, type FaultKind, type FaultOptions } from "../../src/server/faults.ts";
import { EmulatorStats } from "../../src/server/stats.ts";
import { BUCKET, bytesOf, CREDS, keyOf, REGION, type Server } from "../dataset_fixture.ts";

export { BUCKET, CREDS, REGION };

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** The fault rates every scenario runs at. */
export const RATES = [0.01, 0.1, 0.3] as const;

/** Object count of the dataset scenarios. */
export const OBJECTS = 300;

/** Retries generous enough that 30 % faults never exhaust them (0.3^12 ≈ 5e-7 per request). */
export const RETRY = { maxAttempts: 12, minDelayMs: 2, maxDelayMs: 100 } as const;

/** Client timeout of the latency-spike scenarios, and a spike well beyond it. */
export const TIMEOUT_MS = 500;
export const SPIKE_MS = 1200;

/** Size of object `i`: 4 KiB to 64 KiB, spread over the range. */
export const sizeOf = (i: number): number => 4 * KiB + ((i * 7919) % (60 * KiB + 1));

export const pct = (rate: number): string => `${Math.round(rate * 100)}%`;

/** Counts the retries (and resumes) a client takes. */
export class RetryCounter {
  requests = 0;
  resumes = 0;
  byStatus: Record<string, number> = {};
  readonly onRetry = (e: RetryEvent): void => {
    if (e.kind === "resume") this.resumes++;
    else this.requests++;
    const why = e.status !== undefined
      ? String(e.status)
      : e.error instanceof DOMException && e.error.name === "TimeoutError"
      ? "timeout"
      : e.kind === "resume"
      ? "broken body"
      : "network";
    this.byStatus[why] = (this.byStatus[why] ?? 0) + 1;
  };
  get total(): number {
    return this.requests + this.resumes;
  }
}

/** A client for `url` whose retries `counter` counts. */
export function countingClient(
  url: string,
  counter: RetryCounter,
  extra: Partial<OssClientOptions> = {},
): OssClient {
  return new OssClient({
    endpoint: url,
    region: REGION,
    credentials: CREDS,
    ...extra,
    retry: { ...RETRY, ...extra.retry, onRetry: counter.onRetry },
  });
}

/** Hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Puts `n` objects of {@linkcode sizeOf} bytes under `prefix` (no faults yet); returns key → SHA-256. */
export async function seedObjects(
  server: { url: string },
  n = OBJECTS,
  prefix = "train/",
): Promise<Map<string, string>> {
  const client = new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS });
  const expected = new Map<string, string>();
  const indices = Array.from({ length: n }, (_, i) => i);
  for await (
    const [key, hash] of prefetch(indices, async (i) => {
      const key = keyOf(prefix, i), bytes = bytesOf(i, sizeOf(i)) as Uint8Array<ArrayBuffer>;
      await client.put(BUCKET, key, bytes);
      return [key, await sha256(bytes)] as const;
    }, { concurrency: 16 })
  ) expected.set(key, hash);
  return expected;
}

/** Every delivery of a pass: key → content hashes, one per time the key was delivered. */
export async function tally(items: AsyncIterable<DataObject>): Promise<Map<string, string[]>> {
  const got = new Map<string, string[]>();
  for await (const item of items) {
    const hash = await sha256(await item.bytes() as Uint8Array<ArrayBuffer>);
    const seen = got.get(item.key);
    if (seen) seen.push(hash);
    else got.set(item.key, [hash]);
  }
  return got;
}

/**
 * Throws unless `got` holds each key of `expected` exactly once with its hash and nothing else; returns the
 * number of objects checked.
 */
export function assertExactlyOnce(got: Map<string, string[]>, expected: Map<string, string>): number {
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  const repeated = [...got].filter(([, hashes]) => hashes.length > 1).map(([k, h]) => `${k} ×${h.length}`);
  const wrong = [...got].filter(([k, hashes]) => expected.has(k) && hashes[0] !== expected.get(k)).map((
    [k],
  ) => k);
  if (missing.length || extra.length || repeated.length || wrong.length) {
    const some = (xs: string[]) => `${xs.length} ${JSON.stringify(xs.slice(0, 5))}`;
    throw new Error(
      `not exactly once: missing ${some(missing)}, unexpected ${some(extra)}, duplicated ${
        some(repeated)
      }, wrong bytes ${some(wrong)}`,
    );
  }
  return expected.size;
}

/** The one line each run reports. */
export function report(
  what: string,
  f: { faults: number; byKind?: Record<string, number>; retries: RetryCounter; checked: string },
): void {
  const kinds = f.byKind && Object.keys(f.byKind).length ? ` ${JSON.stringify(f.byKind)}` : "";
  console.log(
    `[faults] ${what}: ${f.faults} faults injected${kinds}, ${f.retries.total} retries (${f.retries.requests} requests, ${f.retries.resumes} resumes ${
      JSON.stringify(f.retries.byStatus)
    }), ${f.checked}`,
  );
}

/** Error faults, or latency spikes past the client timeout. */
export type Scenario = FaultKind | "spike";
export const SCENARIOS: readonly Scenario[] = ["slowdown", "reset", "truncate", "spike"];

function faultOptions(scenario: Scenario, rate: number, spikeMs = SPIKE_MS): FaultOptions {
  return scenario === "spike"
    ? { latencySpike: { rate, ms: spikeMs } }
    : { errorRate: rate, errorKinds: [scenario] };
}

/**
 * The first seed from `base` that puts at least `min` faults into the first `requests` requests, so that even a
 * 1 % run injects some (which requests get them still depends on arrival order).
 */
export function seedWithFaults(
  scenario: Scenario,
  rate: number,
  base: number,
  requests = 250,
  min = 2,
): number {
  for (let seed = base;; seed++) {
    const probe = new FaultInjector({ ...faultOptions(scenario, rate), seed });
    let n = 0;
    for (let i = 0; i < requests; i++) if (probe.plan("GET", "k", "GetObject").fault) n++;
    if (n + probe.latencySpikes >= min) return seed;
  }
}

/**
 * Turns the `scenario` on at `rate` for every request `match` accepts (default all: listing, reads and writes
 * alike), seeded from `base` by {@linkcode seedWithFaults}; spikes last `spikeMs` (default {@linkcode SPIKE_MS}).
 */
export function injectFaults(
  server: Server,
  scenario: Scenario,
  rate: number,
  base: number,
  match?: FaultOptions["match"],
  spikeMs?: number,
): void {
  server.faults.update({
    ...faultOptions(scenario, rate, spikeMs),
    seed: seedWithFaults(scenario, rate, base),
    match,
  });
  server.stats.reset();
}

/** Faults off (verification runs without them). */
export function clearFaults(server: Server): void {
  server.faults.update({ errorRate: 0, latencySpike: undefined, latencyMs: 0, match: undefined });
}

/** Faults injected so far: errors counted by the server, spikes by the injector. */
export function faultsOf(server: Server): { faults: number; byKind: Record<string, number> } {
  const byKind = { ...server.stats.faultsByKind };
  const spikes = server.faults.latencySpikes;
  if (spikes) byKind.spike = spikes;
  return { faults: server.stats.faultsInjected + spikes, byKind };
}

/**
 * A server on a data directory that can be restarted on the same port: the store is closed and reopened from
 * disk, while the fault settings and counters carry over.
 */
export class RestartableServer {
  readonly dir: string;
  readonly faults: FaultInjector;
  readonly stats: EmulatorStats = new EmulatorStats();
  restarts = 0;
  #server!: RunningEmulator;
  #store!: DirectoryStore;

  private constructor(dir: string, faults: FaultInjector) {
    this.dir = dir;
    this.faults = faults;
  }

  static async start(): Promise<RestartableServer> {
    const s = new RestartableServer(
      await Deno.makeTempDir({ prefix: "ossflow-faults-" }),
      new FaultInjector(),
    );
    await s.#open(0);
    return s;
  }

  get url(): string {
    return this.#server.url;
  }

  get port(): number {
    return this.#server.port;
  }

  async #open(port: number): Promise<void> {
    this.#store = new DirectoryStore(this.dir);
    const deadline = performance.now() + 5000;
    for (;;) {
      try {
        this.#server = await serveEmulator({
          port,
          store: this.#store,
          credentials: [CREDS],
          buckets: [BUCKET],
          region: REGION,
          minPartSize: 100 * KiB,
          faults: this.faults,
          stats: this.stats,
        });
        return;
      } catch (err) {
        // The old socket may hold the port for a moment after close.
        if (!(err instanceof Deno.errors.AddrInUse) || performance.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Stops the server (cutting every connection), closes the store, and starts both again on the same port. */
  async restart(): Promise<void> {
    const port = this.port;
    await this.#server.close();
    await this.#store.close();
    await this.#open(port);
    this.restarts++;
  }

  async close(): Promise<void> {
    await this.#server.close();
    await this.#store.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** A server for checkpoints: parts under 100 KiB (but the last) are refused, as on OSS. */
export function startCheckpointServer(): Promise<RunningEmulator> {
  return serveEmulator({
    port: 0,
    credentials: [CREDS],
    buckets: [BUCKET],
    region: REGION,
    minPartSize: 100 * KiB,
  });
}

/** Deterministic pseudo-random bytes (xorshift32), shared with the client tests. */
export { bytesOf as randomBytes } from "../client_fixtures.ts";

/** Writes `data` to `ws` in chunks of varied sizes (1 B to 300 KiB), the way serializers emit them. */
export async function writeChunked(ws: WritableStream<Uint8Array>, data: Uint8Array): Promise<void> {
  const w = ws.getWriter();
  let s = data.length | 1;
  for (let off = 0; off < data.length;) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const n = s % 3 === 0 ? 1 + (s % 97) : 1 + (s % (300 * KiB));
    await w.write(data.subarray(off, Math.min(data.length, off + n)));
    off += n;
  }
  await w.close();
}
