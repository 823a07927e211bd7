/**
 * One client of the bench in a process of its own, so that clients never share a heap, a connection pool or
 * a CPU-time counter. Started by `bench/main.ts`:
 *
 * - `--peer NAME --url URL --settings JSON`: loads the peer, prints `{"ready":true}`, then runs one job per
 *   JSON line read from stdin (`{"op":"warm"|"small"|"medium"|"list"}`) and answers each with one JSON line.
 * - the same plus `--job ckpt-write|ckpt-read --key KEY --file FILE`: runs that one checkpoint job, prints its
 *   result with the process's peak RSS (`VmHWM`), and exits.
 *
 * @module
 */
import {
  cpuMicros,
  MiB,
  peakRssMiB,
  PEER_MODULES,
  type PeerFactory,
  PREFIX,
  rssMiB,
  type Settings,
  WARM_COUNT,
} from "./common.ts";

function flag(name: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) throw new Error(`peer_process: --${name} is required`);
  return Deno.args[i + 1];
}

/** Result of one job, as main.ts reads it. */
export interface JobResult {
  ms: number;
  cpuUs: number;
  objects?: number;
  bytes?: number;
  keys?: number;
  firstKeyMs?: number;
  peakRssMiB?: number;
  baselineRssMiB?: number;
  /** CPU time the server process spent meanwhile (filled in by main.ts). */
  serverCpuUs?: number;
  notes?: string;
}

const name = flag("peer");
const url = flag("url");
const settings: Settings = JSON.parse(flag("settings"));
const factory: PeerFactory = (await import(PEER_MODULES[name])).default;
const peer = await factory(url, settings);

async function run(op: string): Promise<JobResult> {
  const c0 = cpuMicros(), t0 = performance.now();
  const done = (r: Partial<JobResult>): JobResult => ({
    ms: performance.now() - t0,
    cpuUs: cpuMicros() - c0,
    ...r,
  });
  switch (op) {
    case "warm":
    case "small":
    case "medium": {
      const r = await peer.readPrefix(
        op === "medium" ? PREFIX.medium : op === "warm" ? PREFIX.warm : PREFIX.small,
        op === "medium" ? settings.streamConcurrency : settings.concurrency,
      );
      const out = done(r);
      const want = op === "small"
        ? [settings.smallCount, settings.smallCount * settings.smallKiB * 1024]
        : op === "warm"
        ? [WARM_COUNT, WARM_COUNT * 16 * 1024]
        : [settings.mediumCount, settings.mediumCount * settings.mediumMiB * MiB];
      if (r.objects !== want[0] || r.bytes !== want[1]) {
        throw new Error(
          `${name} ${op}: read ${r.objects} objects / ${r.bytes} B, expected ${want.join(" / ")}`,
        );
      }
      return out;
    }
    case "list": {
      const r = await peer.listAll(PREFIX.list);
      const out = done(r);
      if (r.keys !== settings.listKeys) {
        throw new Error(`${name} list: ${r.keys} keys, expected ${settings.listKeys}`);
      }
      return out;
    }
  }
  throw new Error(`unknown op ${op}`);
}

const job = Deno.args.includes("--job") ? flag("job") : undefined;
if (job) {
  const size = settings.ckptMiB * MiB, part = settings.partMiB * MiB, conc = settings.streamConcurrency;
  const key = flag("key");
  const baselineRssMiB = rssMiB();
  const c0 = cpuMicros(), t0 = performance.now();
  if (job === "ckpt-write") await peer.writeCheckpoint(key, flag("file"), size, part, conc);
  else {
    const n = await peer.readCheckpoint(key, size, part, conc);
    if (n !== size) throw new Error(`${name} ${job}: read ${n} bytes, expected ${size}`);
  }
  const result: JobResult = {
    ms: performance.now() - t0,
    cpuUs: cpuMicros() - c0,
    bytes: size,
    peakRssMiB: peakRssMiB(),
    baselineRssMiB,
  };
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

console.log(JSON.stringify({ ready: true, notes: peer.notes }));
for await (const line of stdinLines()) {
  if (line.trim() === "") continue;
  const { op } = JSON.parse(line) as { op: string };
  if (op === "exit") break;
  try {
    console.log(JSON.stringify(await run(op)));
  } catch (err) {
    console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
  }
}
Deno.exit(0);

async function* stdinLines(): AsyncGenerator<string> {
  let buf = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += text;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}
