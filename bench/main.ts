/**
 * `deno task bench`: ossflow against the clients users would pick instead (ali-oss, the AWS SDK v3 with
 * lib-storage, a plain fetch loop), on one local server process with injected latency and bandwidth, and the
 * physical limit of each scenario (bare server, bare fetch loop), servers and clients pinned apart. See
 * bench/README.md for the scenarios, the method and how to read the results.
 *
 * Writes bench/results/latest.json and latest.svg (bench/results/quick.* with `--quick`) and, for a full run,
 * regenerates the benchmark table of README.md.
 *
 * @module
 */
import { OssClient } from "../src/client.ts";
import {
  BUCKET,
  BUDGET_SHARE,
  CREDS,
  DENO_RUN,
  MiB,
  parseSettings,
  pool,
  PREFIX,
  processCpuMicros,
  READS_ONLY,
  REGION,
  round,
  type Settings,
  spread,
  WARM_COUNT,
} from "./common.ts";
import type { JobResult } from "./peer_process.ts";
import {
  checkpointJob,
  decidePinning,
  denoCommand,
  PeerProcess,
  type Pinning,
  type Server,
  startServer,
} from "./processes.ts";
import {
  type BenchResults,
  type Metric,
  renderSvg,
  renderTable,
  type Scenario,
  type Stat,
  updateReadme,
} from "./report.ts";

const here = (p: string) => new URL(p, import.meta.url);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (msg: string) => console.error(`[${elapsed().padStart(5)}] ${msg}`);

/** The emulator's seeds of the scenarios asked for (`prefix:count:size`), shared by the limit server. */
function seedArgs(s: Settings): string[] {
  const seeds: string[] = ["--seed", `${PREFIX.warm}:${WARM_COUNT}:16384`];
  if (s.scenarios.includes(1)) seeds.push("--seed", `${PREFIX.small}:${s.smallCount}:${s.smallKiB * 1024}`);
  if (s.scenarios.includes(2)) seeds.push("--seed", `${PREFIX.medium}:${s.mediumCount}:${s.mediumMiB * MiB}`);
  if (s.scenarios.includes(4)) seeds.push("--seed", `${PREFIX.list}:${s.listKeys}:0`);
  return seeds;
}

/** The emulator, and the limit server unless `--no-limit`. */
interface Servers {
  emulator: Server;
  limit?: Server;
}

/** Starts the emulator (bench/server.ts) and the limit server (bench/limit_server.ts), seeded alike. */
async function startServers(s: Settings, pin: Pinning): Promise<Servers> {
  const shaping = ["--latency", String(s.latencyMs), "--bandwidth-mib", String(s.bandwidthMiB)];
  const emulator = await startServer("./server.ts", [...shaping, ...seedArgs(s)], pin);
  log(`server ${emulator.url}: seeded in ${emulator.seededMs} ms`);
  if (!s.limit) return { emulator };
  const ckptBytes = s.scenarios.includes(3) ? s.ckptMiB * MiB : 0;
  const limit = await startServer(
    "./limit_server.ts",
    [...shaping, "--ckpt-bytes", String(ckptBytes), ...seedArgs(s)],
    pin,
  );
  log(`limit server ${limit.url}: ready in ${limit.seededMs} ms`);
  return { emulator, limit };
}

/** The name of the pseudo-client that measures each scenario's limit; it never appears as a client. */
const LIMIT = "limit";

/**
 * Runs rounds (one repetition of each client, the order rotating between rounds) until `reps` rounds are done
 * or the next round would overrun `budgetMs`; the first round always runs. Returns the results and the
 * number of rounds.
 */
async function rounds(
  clients: string[],
  reps: number,
  budgetMs: number,
  label: string,
  job: (client: string, round: number) => Promise<JobResult>,
): Promise<{ runs: Map<string, JobResult[]>; reps: number }> {
  const runs = new Map<string, JobResult[]>(clients.map((c) => [c, []]));
  const t0 = performance.now();
  let r = 0;
  for (; r < reps; r++) {
    const spent = performance.now() - t0;
    if (r > 0 && spent + spent / r > budgetMs) {
      log(
        `  ${label}: stopping after ${r} round(s): the next would overrun the ${
          Math.round(budgetMs / 1000)
        } s budget`,
      );
      break;
    }
    for (let i = 0; i < clients.length; i++) {
      const c = clients[(i + r) % clients.length];
      if (failures.has(c)) continue;
      try {
        runs.get(c)!.push(await job(c, r));
      } catch (err) {
        // One client failing must not cost the whole run: drop it from here on and report why.
        failures.set(c, `${label}: ${String((err as Error)?.message ?? err).slice(0, 500)}`);
        runs.delete(c);
        log(`  ${label}: ${c} FAILED, left out from here on: ${failures.get(c)}`);
      }
    }
  }
  return { runs, reps: r };
}

/** Clients that failed a job, with the reason; they are left out of later jobs and the results. */
const failures = new Map<string, string>();

/** Runs `op` in the long-lived client processes, in budgeted rounds, with their server's CPU time per job. */
function interleaved(
  procs: PeerProcess[],
  op: string,
  reps: number,
  budgetMs: number,
): Promise<{ runs: Map<string, JobResult[]>; reps: number }> {
  const byName = new Map(procs.map((p) => [p.name, p]));
  return rounds(procs.map((p) => p.name), reps, budgetMs, op, async (name, r) => {
    const proc = byName.get(name)!;
    const c0 = processCpuMicros(proc.server.pid);
    const res = await proc.run(op);
    res.serverCpuUs = processCpuMicros(proc.server.pid) - c0;
    log(`  ${op} round ${r + 1} ${name}: ${(res.ms / 1000).toFixed(2)} s`);
    return res;
  });
}

function stat(values: number[]): Stat {
  const { median, min, max } = spread(values);
  return { runs: values.map(round), median: round(median), min: round(min), max: round(max) };
}

/**
 * One metric over every client's runs; the `limit` pseudo-client's runs, when present, become the metric's
 * limit (when `withLimit`), never a client's results.
 */
function metricOf(
  runs: Map<string, JobResult[]>,
  m: Omit<Metric, "results" | "limit">,
  value: (r: JobResult) => number,
  withLimit = true,
): Metric {
  const results: Record<string, Stat> = {};
  let limit: Stat | undefined;
  for (const [name, rs] of runs) {
    if (rs.length === 0) continue;
    if (name === LIMIT) limit = withLimit ? stat(rs.map(value)) : undefined;
    else results[name] = stat(rs.map(value));
  }
  return { ...m, results, ...(limit ? { limit } : {}) };
}

/** A 1 GiB (`--ckpt-mib`) file of random 4 MiB blocks, the source every client uploads. */
async function checkpointFile(sizeMiB: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ossflow-bench-ckpt-", suffix: ".bin" });
  const block = new Uint8Array(4 * MiB);
  for (let i = 0; i < block.length; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  using f = await Deno.open(path, { write: true });
  for (let off = 0; off < sizeMiB * MiB; off += block.length) {
    const n = Math.min(block.length, sizeMiB * MiB - off);
    let w = 0;
    while (w < n) w += await f.write(block.subarray(w, n));
  }
  // On disk now, not later: the kernel writes dirty pages back ~30 s after they were written, which would be
  // during the first timed job (measured: that job's write took 4.5 s against 2.6–2.7 s for the next ones).
  await f.syncData();
  return path;
}

/**
 * One untimed multipart upload and ranged read-back (64 MiB) before the timed rounds: otherwise whichever client
 * goes first meets a cold server (its multipart, MD5 and CRC paths not yet compiled) and loses seconds to it.
 */
async function warmServerForCheckpoints(admin: OssClient, s: Settings): Promise<void> {
  const key = `${PREFIX.ckpt}warm-up.bin`;
  const part = new Uint8Array(s.partMiB * MiB);
  crypto.getRandomValues(part.subarray(0, 65536));
  const parts = Math.max(1, Math.ceil(64 / s.partMiB));
  const t0 = performance.now();
  const partIndices = Array.from({ length: parts }, (_, i) => i);
  const uploadId = await admin.initiateMultipart(BUCKET, key);
  const etags: string[] = [];
  // `streamConcurrency` at a time, half the parts with a Content-Length, half chunked (clients send either).
  await pool(partIndices, s.streamConcurrency, async (i) => {
    const body = i % 2 ? new Blob([part]).stream() : part;
    etags[i] = (await admin.uploadPart(BUCKET, key, uploadId, i + 1, body, { stream: i % 2 === 1 })).etag;
  });
  await admin.completeMultipart(BUCKET, key, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
  await pool(partIndices, s.streamConcurrency, async (i) => {
    await admin.getBytes(BUCKET, key, { range: { start: i * part.length, end: (i + 1) * part.length - 1 } });
  });
  await admin.delete(BUCKET, key);
  log(
    `  checkpoint warm-up (${parts * s.partMiB} MiB multipart + ranged reads, untimed): ${
      Math.round(performance.now() - t0)
    } ms`,
  );
}

async function scenario3(servers: Servers, s: Settings, pin: Pinning): Promise<Scenario> {
  const url = servers.emulator.url;
  const file = await checkpointFile(s.ckptMiB);
  const admin = new OssClient({ endpoint: url, region: REGION, credentials: CREDS });
  const writers = s.clients.filter((c) => !READS_ONLY.has(c));
  const clients = servers.limit ? [...writers, LIMIT] : writers;
  const reads = new Map<string, JobResult[]>(clients.map((c) => [c, []]));
  await warmServerForCheckpoints(admin, s);
  // Whichever job comes first after that still ran 1.3–1.6 s slower in 512 MiB runs (ali-oss or ossflow alike,
  // whichever was put first): one untimed job of the first client takes that spot.
  const warmKey = `${PREFIX.ckpt}warm-up-job.bin`;
  const tw = performance.now();
  await checkpointJob(clients[0], url, s, pin, "ckpt-write", warmKey, file);
  await checkpointJob(clients[0], url, s, pin, "ckpt-read", warmKey, file);
  await admin.delete(BUCKET, warmKey);
  log(`  checkpoint warm-up job (${clients[0]}, untimed): ${Math.round(performance.now() - tw)} ms`);
  let done;
  try {
    done = await rounds(
      clients,
      s.ckptReps,
      BUDGET_SHARE[3] * s.budgetS * 1000,
      "checkpoint",
      async (peer, r) => {
        const key = `${PREFIX.ckpt}${peer}-${r}.bin`;
        // The limit server drops what it is sent and serves reads under ckpt/ from memory.
        const peerServer = peer === LIMIT ? servers.limit! : servers.emulator;
        const c0 = processCpuMicros(peerServer.pid);
        const w = await checkpointJob(peer, peerServer.url, s, pin, "ckpt-write", key, file);
        w.serverCpuUs = processCpuMicros(peerServer.pid) - c0;
        if (peer !== LIMIT) {
          const head = await admin.head(BUCKET, key);
          if (head.size !== s.ckptMiB * MiB) throw new Error(`${peer} wrote ${head.size} bytes`);
        }
        const rd = await checkpointJob(peer, peerServer.url, s, pin, "ckpt-read", key, file);
        reads.get(peer)!.push(rd);
        if (peer !== LIMIT) await admin.delete(BUCKET, key); // frees the server's memory
        log(
          `  checkpoint round ${r + 1} ${peer}: write ${(w.ms / 1000).toFixed(1)} s, read ${
            (rd.ms / 1000).toFixed(1)
          } s`,
        );
        return w;
      },
    );
  } finally {
    await Deno.remove(file).catch(() => {});
  }
  const writes = done.runs;
  for (const c of reads.keys()) if (!writes.has(c)) reads.delete(c); // a client that failed later on
  const mibps = (r: JobResult) => s.ckptMiB / (r.ms / 1000);
  const conc = s.streamConcurrency;
  return {
    id: 3,
    title: `Checkpoint write and read, ${s.ckptMiB} MiB`,
    setup: `parts/ranges of ${s.partMiB} MiB, ${conc} in flight (fetch: one streamed PUT / GET); ` +
      `each job in a fresh process`,
    reps: done.reps,
    metrics: [
      metricOf(writes, { name: "write", unit: "MiB/s", better: "higher", chart: true }, mibps),
      metricOf(reads, { name: "read", unit: "MiB/s", better: "higher", chart: true }, mibps),
      // When the server's core is busy all through every client's write, the write row measures the server.
      metricOf(
        writes,
        {
          name: "server core busy while writing (not the client's)",
          unit: "%",
          better: "lower",
          informational: true,
        },
        (r) => r.serverCpuUs! / (r.ms * 10),
      ),
      metricOf(
        writes,
        { name: "write peak RSS", unit: "MiB", better: "lower", chart: true },
        (r) => r.peakRssMiB!,
        false,
      ),
      metricOf(
        reads,
        { name: "read peak RSS", unit: "MiB", better: "lower", chart: true },
        (r) => r.peakRssMiB!,
        false,
      ),
      metricOf(
        writes,
        { name: "RSS before the job", unit: "MiB", better: "lower" },
        (r) => r.baselineRssMiB!,
        false,
      ),
    ],
  };
}

async function signingRuns(s: Settings, pin: Pinning): Promise<Record<string, number[]>> {
  const args = [
    ...DENO_RUN,
    here("./signing.ts").pathname,
    "--ms",
    String(s.signMs),
    "--reps",
    String(s.reps),
  ];
  const out = await denoCommand(pin.clientCpu, args, { stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error("signing bench failed");
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

async function main(): Promise<void> {
  const { settings: s, out: outArg, partial, readme } = parseSettings(Deno.args);
  const out = outArg ?? here(`./results/${s.quick ? "quick" : partial ? "partial" : "latest"}.json`).pathname;
  log(
    `settings: ${JSON.stringify(s)}\n  ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, ` +
      `results to ${out}`,
  );
  const pin = await decidePinning(s.pin);
  log(pin.note);
  const servers = await startServers(s, pin);
  const server = servers.emulator;
  const scenarios: Scenario[] = [];
  const notes: Record<string, string> = {};
  let cpuRuns: Map<string, JobResult[]> | undefined;
  try {
    const streaming = s.scenarios.filter((n) => n === 1 || n === 2 || n === 4);
    if (streaming.length > 0) {
      const procs = s.clients.map((c) => new PeerProcess(c, server, s, pin));
      if (servers.limit) procs.push(new PeerProcess(LIMIT, servers.limit, s, pin));
      await Promise.all(procs.map((p) => p.ready()));
      for (const p of procs) notes[p.name] = p.notes;
      try {
        // One untimed pass warms up JIT and connection pools (ops share their code paths: list, GET, parse).
        for (const p of procs) {
          await p.run("warm").catch((err) => {
            failures.set(p.name, `warm-up: ${String(err?.message ?? err).slice(0, 500)}`);
            log(`  warm-up: ${p.name} FAILED, left out: ${failures.get(p.name)}`);
          });
        }
        log(`warm-up done (${WARM_COUNT} small objects per client)`);
        const budget = (n: number) => BUDGET_SHARE[n] * s.budgetS * 1000;
        if (s.scenarios.includes(1)) {
          const { runs, reps } = await interleaved(procs, "small", s.reps, budget(1));
          cpuRuns = runs;
          const ideal = s.concurrency / (s.latencyMs / 1000);
          const ops = (r: JobResult) => r.objects! / (r.ms / 1000);
          scenarios.push({
            id: 1,
            title: `Small objects: ${
              s.smallCount.toLocaleString("en")
            } × ${s.smallKiB} KiB by prefix listing`,
            setup: `${s.concurrency} GETs in flight; ideal = concurrency / latency = ${
              Math.round(ideal)
            } objects/s`,
            reps,
            metrics: [
              metricOf(runs, { name: "throughput", unit: "objects/s", better: "higher", chart: true }, ops),
              metricOf(
                runs,
                { name: "share of ideal", unit: "%", better: "higher" },
                (r) => 100 * ops(r) / ideal,
              ),
              metricOf(
                runs,
                { name: "server CPU per object (not the client's)", unit: "µs", better: "lower" },
                (r) => r.serverCpuUs! / r.objects!,
              ),
            ],
          });
        }
        if (s.scenarios.includes(2)) {
          const { runs, reps } = await interleaved(procs, "medium", s.reps, budget(2));
          scenarios.push({
            id: 2,
            title: `Medium objects: ${s.mediumCount} × ${s.mediumMiB} MiB by prefix listing`,
            setup: `${s.streamConcurrency} GETs in flight`,
            reps,
            metrics: [
              metricOf(
                runs,
                { name: "throughput", unit: "MiB/s", better: "higher", chart: true },
                (r) => r.bytes! / MiB / (r.ms / 1000),
              ),
            ],
          });
        }
        if (s.scenarios.includes(4)) {
          const listers = procs.filter((p) => !READS_ONLY.has(p.name));
          const { runs, reps } = await interleaved(listers, "list", s.reps, budget(4));
          scenarios.push({
            id: 4,
            title: `Listing ${s.listKeys.toLocaleString("en")} keys`,
            setup: "ListObjectsV2 pages of 1,000; each peer's paginator, ossflow's listFast (16 key ranges)",
            reps,
            metrics: [
              metricOf(
                runs,
                { name: "keys/s", unit: "keys/s", better: "higher", chart: true },
                (r) => r.keys! / (r.ms / 1000),
              ),
              metricOf(
                runs,
                { name: "time to first key", unit: "ms", better: "lower", chart: true },
                (r) => r.firstKeyMs!,
              ),
            ],
          });
        }
      } finally {
        await Promise.all(procs.map((p) => p.close()));
      }
    }
    if (s.scenarios.includes(3)) scenarios.push(await scenario3(servers, s, pin));
    if (s.scenarios.includes(5)) {
      const sig = await signingRuns(s, pin);
      const metrics: Metric[] = [
        {
          name: "OSS4 signatures/s",
          unit: "1/s",
          better: "higher",
          chart: true,
          results: { "ossflow": stat(sig["ossflow OSS4"]), "ali-oss": stat(sig["ali-oss V4"]) },
        },
        {
          name: "SigV4 signatures/s",
          unit: "1/s",
          better: "higher",
          chart: true,
          results: { "ossflow": stat(sig["ossflow SigV4"]), "aws-sdk": stat(sig["@smithy/signature-v4"]) },
        },
      ];
      if (cpuRuns) {
        metrics.push(metricOf(
          cpuRuns,
          { name: "client CPU per small object", unit: "µs", better: "lower", chart: true },
          (r) => r.cpuUs / r.objects!,
        ));
      }
      scenarios.push({
        id: 5,
        title: "Signing and per-request CPU",
        setup:
          "signers in one process, one fresh GET signed per call; CPU = user+system time of the client " +
          "process over scenario 1 (listing included) / objects",
        reps: s.reps,
        metrics,
      });
    }
  } finally {
    await Promise.all([server.stop(), servers.limit?.stop()]);
  }
  scenarios.sort((a, b) => a.id - b.id);
  const results: BenchResults = {
    date: new Date().toISOString(),
    source: await sourceVersion(),
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    durationS: Math.round((performance.now() - started) / 1000),
    settings: s,
    seededMs: server.seededMs,
    pinning: pin.note,
    clients: s.clients,
    notes,
    failures: Object.fromEntries(failures),
    scenarios,
  };
  await Deno.mkdir(here("./results/"), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(out.replace(/\.json$/, ".svg"), renderSvg(results));
  console.log(renderTable(results));
  if (readme) await updateReadme(here("../README.md"), results);
  log(`done: ${out} and ${out.replace(/\.json$/, ".svg")}${readme ? ", README.md table" : ""}`);
}

/** The commit measured, and whether src/ had uncommitted changes (then the figures are of the working tree). */
async function sourceVersion(): Promise<string> {
  const git = async (...args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd: here("../").pathname, stderr: "null" }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
    } catch {
      return undefined; // git is not installed (Deno.Command throws before any promise exists)
    }
  };
  const commit = await git("rev-parse", "--short", "HEAD");
  if (commit === undefined) return "unknown";
  const dirty = await git("status", "--porcelain", "--", "src/", "mod.ts");
  return dirty ? `${commit} + uncommitted changes in src/` : commit;
}

if (import.meta.main) await main();
