/**
 * `deno task bench:models`: safetensors model files against the local server (bench/server.ts: every request
 * delayed by `--latency` ms, every body capped at `--bandwidth-mib` MiB/s per connection, as `deno task bench`
 * does), checking the targets of the model-files issue and printing PASS or FAIL for each:
 *
 * 1. loading 10 % of the tensors of a 1 GiB file (`open` + `getMany`) transfers at most 12 % of its bytes
 *    (counted by the client's `fetch`: every GET's Content-Length);
 * 2. and takes at most 20 % of the time of a full load (`open` + `loadAll`);
 * 3. `loadAll` reaches at least the throughput of the checkpoint reader (`OssCheckpoint.load`) on the same file
 *    (medians of alternating runs; `open` + `loadAll` is printed beside it);
 * 4. a distributed save of the same bytes by 4 ranks (4 processes, `uploadConcurrency` C/4 each) reaches at
 *    least 0.9× the throughput of one `OssCheckpoint.save` at `uploadConcurrency` C, both timed from a "go"
 *    sent to processes that have their data ready until every one of them has finished (for the ranks: until
 *    the index is committed and every rank has seen it).
 *
 * The file has `--size-mib` / `--tensor-mib` F32 tensors; the 10 % are drawn by a seeded shuffle. Every load
 * and save runs against the same server process; each save runs in fresh processes. Exit status 1 when a target
 * fails. Writes bench/results/models.json (models-quick.json with `--quick`: 64 MiB of 1 MiB tensors, 2 load
 * reps, 1 save rep; a smoke run, whose times are dominated by latency and say little about the targets).
 *
 *   deno task bench:models [--quick] [--size-mib=1024] [--tensor-mib=4] [--latency=15] [--bandwidth-mib=100]
 *     [--concurrency=16] [--part-mib=8] [--reps=5] [--save-reps=3] [--poll-ms=100]
 *
 * @module
 */
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { OssClient } from "../src/client.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import { BUCKET, CREDS, MiB, REGION, round, spread } from "./common.ts";

interface Settings {
  quick: boolean;
  sizeMiB: number;
  tensorMiB: number;
  latencyMs: number;
  bandwidthMiB: number;
  concurrency: number;
  partMiB: number;
  reps: number;
  saveReps: number;
  pollMs: number;
}

function settingsFrom(args: readonly string[]): Settings {
  const quick = args.includes("--quick");
  const flag = (name: string, full: number, small = full) => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    return hit ? Number(hit.slice(name.length + 3)) : quick ? small : full;
  };
  return {
    quick,
    sizeMiB: flag("size-mib", 1024, 64),
    tensorMiB: flag("tensor-mib", 4, 1),
    latencyMs: flag("latency", 15),
    bandwidthMiB: flag("bandwidth-mib", 100),
    concurrency: flag("concurrency", 16),
    partMiB: flag("part-mib", 8),
    reps: flag("reps", 5, 2),
    saveReps: flag("save-reps", 3, 1),
    pollMs: flag("poll-ms", 100),
  };
}

const here = (p: string) => new URL(p, import.meta.url).pathname;
const log = (msg: string) => console.error(`[models] ${msg}`);

/** Lines of a child's stdout. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== "") yield line;
    }
  }
}

async function firstLine(it: AsyncGenerator<string>, who: string): Promise<string> {
  const { value, done } = await it.next();
  if (done) throw new Error(`${who} ended before printing (see its stderr above)`);
  return value;
}

/** A client whose every GET response adds its Content-Length to `counter.bytes`. */
function countingClient(url: string, counter: { bytes: number; gets: number }): OssClient {
  const counting: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    if (method === "GET") {
      counter.gets++;
      counter.bytes += Number(res.headers.get("content-length") ?? 0);
    }
    return res;
  };
  return new OssClient({ endpoint: url, region: REGION, credentials: CREDS, fetch: counting });
}

function checkpointFor(
  url: string,
  s: Settings,
  uploadConcurrency: number,
  client?: OssClient,
): OssCheckpoint {
  return new OssCheckpoint({
    ...(client ? { client } : { endpoint: url, region: REGION, credentials: CREDS }),
    partSize: s.partMiB * MiB,
    uploadConcurrency,
    prefetchConcurrency: s.concurrency,
  });
}

/** `count` F32 tensors of `tensorMiB` each, all views of one random block (the bytes matter, not their variety). */
function tensors(count: number, tensorMiB: number, prefix: string): Map<string, Tensor> {
  const block = new Float32Array((tensorMiB * MiB) / 4);
  const bytes = new Uint8Array(block.buffer);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return new Map(Array.from({ length: count }, (_, i) => [`${prefix}.${i}`, {
    dtype: "F32" as const,
    shape: [block.length],
    data: block,
  }]));
}

/** The 10 % of `names` a seeded shuffle picks. */
function tenPercent(names: string[]): string[] {
  const a = [...names];
  let seed = 20240601;
  for (let i = a.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, Math.max(1, Math.round(names.length / 10)));
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [(performance.now() - t0) / 1000, value];
}

/** The read measurements, in one client process. */
async function readRole(url: string, s: Settings): Promise<Record<string, unknown>> {
  const counter = { bytes: 0, gets: 0 };
  const checkpoint = checkpointFor(url, s, s.concurrency, countingClient(url, counter));
  const uri = `oss://${BUCKET}/models/read/model.safetensors`;
  const count = Math.round(s.sizeMiB / s.tensorMiB);
  const saved = await saveSafetensors(uri, tensors(count, s.tensorMiB, "layer"), { checkpoint });
  const size = saved.files[0].size;
  await checkpoint.load(uri); // warm-up: connections, server caches
  const ckpt: number[] = [], loadAll: number[] = [], openLoadAll: number[] = [];
  const viaReader = async () => {
    const [t, bytes] = await timed(() => checkpoint.load(uri));
    if (bytes.length !== size) {
      throw new Error(`checkpoint.load gave ${bytes.length} bytes, expected ${size}`);
    }
    ckpt.push(t);
  };
  const viaSafetensors = async () => {
    const [open, model] = await timed(() => OssSafetensors.open(uri, { checkpoint }));
    const [load, all] = await timed(() => model.loadAll());
    if (all.size !== count) throw new Error(`loadAll gave ${all.size} tensors, expected ${count}`);
    loadAll.push(load);
    openLoadAll.push(open + load);
  };
  // Alternating which goes first: the one after pays for collecting the other's buffer.
  for (let rep = 0; rep < s.reps; rep++) {
    for (const load of rep % 2 === 0 ? [viaReader, viaSafetensors] : [viaSafetensors, viaReader]) {
      await load();
    }
  }
  const names = [...saved.files[0].tensors];
  const picked = tenPercent(names);
  const partial: number[] = [], partialBytes: number[] = [], partialGets: number[] = [];
  for (let rep = 0; rep < s.reps; rep++) {
    const before = { ...counter };
    const [t, got] = await timed(async () => {
      const model = await OssSafetensors.open(uri, { checkpoint });
      return await model.getMany(picked);
    });
    if (got.size !== picked.length) throw new Error(`getMany gave ${got.size} tensors`);
    partial.push(t);
    partialBytes.push(counter.bytes - before.bytes);
    partialGets.push(counter.gets - before.gets);
  }
  await new OssClient({ endpoint: url, region: REGION, credentials: CREDS }).delete(
    BUCKET,
    "models/read/model.safetensors",
  );
  return {
    size,
    count,
    picked: picked.length,
    ckpt,
    loadAll,
    openLoadAll,
    partial,
    partialBytes,
    partialGets,
  };
}

/** One save (a single OssCheckpoint.save, or one rank's saveSafetensors) once the parent says go. */
async function saveRole(url: string, s: Settings, role: string, rank: number, tag: string): Promise<void> {
  const ranks = 4;
  const count = Math.round(s.sizeMiB / s.tensorMiB);
  if (role === "single") {
    const data = new Uint8Array(count * s.tensorMiB * MiB);
    const block = new Uint8Array(tensors(1, s.tensorMiB, "x").get("x.0")!.data.buffer);
    for (let at = 0; at < data.length; at += block.length) data.set(block, at);
    const checkpoint = checkpointFor(url, s, s.concurrency);
    console.log("ready");
    await firstLine(lines(Deno.stdin.readable), "parent");
    const [t] = await timed(() => checkpoint.save(`oss://${BUCKET}/models/${tag}/single.bin`, data));
    console.log(JSON.stringify({ seconds: t }));
    return;
  }
  const mine = tensors(count / ranks, s.tensorMiB, `rank${rank}`);
  const checkpoint = checkpointFor(url, s, s.concurrency / ranks);
  console.log("ready");
  await firstLine(lines(Deno.stdin.readable), "parent");
  const [t] = await timed(() =>
    saveSafetensors(`oss://${BUCKET}/models/${tag}/model.safetensors`, mine, {
      checkpoint,
      rank,
      worldSize: ranks,
      pollIntervalMs: s.pollMs,
    })
  );
  console.log(JSON.stringify({ seconds: t }));
}

/** Starts `role` processes, waits until all are ready, says go, and times until all have finished. */
async function timeProcesses(url: string, s: Settings, roles: { role: string; rank: number }[], tag: string) {
  const children = roles.map(({ role, rank }) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        here("./models.ts"),
        `--role=${role}`,
        `--rank=${rank}`,
        `--url=${url}`,
        `--tag=${tag}`,
        `--settings=${JSON.stringify(s)}`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn()
  );
  const outs = children.map((c) => lines(c.stdout));
  for (const [i, out] of outs.entries()) {
    const ready = await firstLine(out, roles[i].role);
    if (ready !== "ready") throw new Error(`${roles[i].role}: expected "ready", got ${ready}`);
  }
  const t0 = performance.now();
  const writers = children.map((c) => c.stdin.getWriter());
  await Promise.all(writers.map((w) => w.write(new TextEncoder().encode("go\n"))));
  const results = await Promise.all(outs.map((o, i) => firstLine(o, roles[i].role)));
  const wall = (performance.now() - t0) / 1000;
  await Promise.all(writers.map((w) => w.close().catch(() => {})));
  const statuses = await Promise.all(children.map((c) => c.status));
  if (statuses.some((st) => !st.success)) throw new Error("a save process failed (see its stderr above)");
  // Free the server's memory for the next run.
  const client = new OssClient({ endpoint: url, region: REGION, credentials: CREDS });
  for await (const o of client.list(BUCKET, { prefix: `models/${tag}/` })) await client.delete(BUCKET, o.key);
  return { wall, each: results.map((r) => JSON.parse(r).seconds as number) };
}

async function startServer(s: Settings): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      here("./server.ts"),
      "--latency",
      String(s.latencyMs),
      "--bandwidth-mib",
      String(s.bandwidthMiB),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const info = JSON.parse(await firstLine(lines(child.stdout), "bench server"));
  const stdin = child.stdin.getWriter();
  return {
    url: info.url,
    async stop() {
      await stdin.close().catch(() => {});
      await child.status;
    },
  };
}

async function run(s: Settings): Promise<boolean> {
  const size = s.sizeMiB * MiB;
  log(
    `${s.sizeMiB} MiB file of ${
      Math.round(s.sizeMiB / s.tensorMiB)
    } F32 tensors of ${s.tensorMiB} MiB; server ` +
      `latency ${s.latencyMs} ms, ${s.bandwidthMiB} MiB/s per connection; concurrency ${s.concurrency}, parts ` +
      `${s.partMiB} MiB; ${s.reps} load reps, ${s.saveReps} save reps; ${navigator.hardwareConcurrency} CPUs`,
  );
  const server = await startServer(s);
  try {
    log("loads (one client process) …");
    const read = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        here("./models.ts"),
        "--role=read",
        `--url=${server.url}`,
        `--settings=${JSON.stringify(s)}`,
      ],
      stderr: "inherit",
    }).output();
    if (!read.success) throw new Error("the read process failed");
    const r = JSON.parse(new TextDecoder().decode(read.stdout));
    const fileMiB = r.size / MiB;
    const mibps = (secs: number[]) => round(fileMiB / spread(secs).median);
    const single: number[] = [], dist: number[] = [];
    for (let rep = 0; rep < s.saveReps; rep++) {
      // Alternate which goes first, so drift on the machine does not favour one.
      for (const kind of rep % 2 === 0 ? ["single", "dist"] : ["dist", "single"]) {
        log(`save rep ${rep + 1}: ${kind} …`);
        const roles = kind === "single"
          ? [{ role: "single", rank: 0 }]
          : [0, 1, 2, 3].map((rank) => ({ role: "rank", rank }));
        const { wall } = await timeProcesses(server.url, s, roles, `${kind}-${rep}`);
        (kind === "single" ? single : dist).push(wall);
      }
    }
    const partialShare = spread(r.partialBytes).median / r.size;
    const partialTime = spread(r.partial).median / spread(r.openLoadAll).median;
    const loadRatio = spread(r.ckpt).median / spread(r.loadAll).median;
    const saveRatio = spread(single).median / spread(dist).median;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const best = (secs: number[]) => round(fileMiB / spread(secs).min);
    console.log(
      `full load   : checkpoint reader ${mibps(r.ckpt)} MiB/s, loadAll ${mibps(r.loadAll)} MiB/s, ` +
        `open + loadAll ${mibps(r.openLoadAll)} MiB/s (medians of ${s.reps}; best ${best(r.ckpt)}, ` +
        `${best(r.loadAll)}, ${best(r.openLoadAll)})`,
    );
    console.log(
      `10% load    : ${r.picked} of ${r.count} tensors, ${
        round(spread(r.partialBytes).median / MiB)
      } MiB in ` +
        `${spread(r.partialGets).median} GETs (${pct(partialShare)} of the file), ${
          round(spread(r.partial).median)
        } s vs ${round(spread(r.openLoadAll).median)} s for open + loadAll (${pct(partialTime)})`,
    );
    console.log(
      `save        : one OssCheckpoint.save at ${s.concurrency} parts in flight ${
        round(size / MiB / spread(single).median)
      } MiB/s; ` +
        `4 ranks at ${s.concurrency / 4} each ${
          round(size / MiB / spread(dist).median)
        } MiB/s (poll ${s.pollMs} ms)`,
    );
    const targets: [string, boolean, string][] = [
      ["a 10% load transfers at most 12% of the file", partialShare <= 0.12, pct(partialShare)],
      ["a 10% load takes at most 20% of a full load's time", partialTime <= 0.2, pct(partialTime)],
      ["loadAll reaches at least the checkpoint reader's throughput", loadRatio >= 1, `${round(loadRatio)}×`],
      ["a 4-rank save reaches at least 0.9× a single save", saveRatio >= 0.9, `${round(saveRatio)}×`],
    ];
    console.log("targets:");
    for (const [what, ok, figure] of targets) console.log(`  ${ok ? "PASS" : "FAIL"} ${what}: ${figure}`);
    const out = here(`./results/models${s.quick ? "-quick" : ""}.json`);
    await Deno.writeTextFile(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          deno: Deno.version.deno,
          cpus: navigator.hardwareConcurrency,
          settings: s,
          read: r,
          save: { single, distributed: dist },
          targets: targets.map(([what, ok, figure]) => ({ what, ok, figure })),
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`results: ${out}`);
    return targets.every(([, ok]) => ok);
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const role = arg("role");
  if (role === undefined) {
    Deno.exit((await run(settingsFrom(Deno.args))) ? 0 : 1);
  }
  const s: Settings = JSON.parse(arg("settings")!);
  if (role === "read") console.log(JSON.stringify(await readRole(arg("url")!, s)));
  else await saveRole(arg("url")!, s, role, Number(arg("rank")), arg("tag")!);
  Deno.exit(0);
}
