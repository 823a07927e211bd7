/**
 * `deno task bench:checkpoint`: saves and loads a 1 GiB checkpoint through {@linkcode OssCheckpoint} against the
 * local server, which caps every connection at 50 MiB/s, with 1, 4 and 16 parts (and ranges) in flight.
 * Prints throughput and the peak RSS of this process while writing, and writes bench/results/checkpoint.json.
 *
 * The server runs in a child process (this file with `--serve`, without the reset proxy, which only the
 * `reset` fault needs), and each concurrency level runs in a fresh child process (`--level=N`), so the RSS
 * measured is that of one client doing one job.
 *
 * Options: `--size-mib=1024`, `--concurrency=1,4,16`, `--part-mib=8`, `--bandwidth-mib=50`.
 *
 * @module
 */
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { OssClient } from "../src/client.ts";

const MiB = 1024 * 1024;
const BUCKET = "bench";
const CREDS = { accessKeyId: "bench-key-id", accessKeySecret: "bench-key-secret" };

function flag(name: string, fallback: string): string {
  const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

if (Deno.args.includes("--serve")) {
  // Imported here only: the level processes, whose RSS is measured, never load the server's code.
  const { serveEmulator } = await import("../src/server/emulator.ts");
  const server = await serveEmulator({
    port: 0,
    buckets: [BUCKET],
    credentials: [CREDS],
    minPartSize: 100 * 1024,
    connectionProxy: false,
    faults: { bandwidthBytesPerSec: Number(flag("bandwidth-mib", "50")) * MiB },
  });
  console.log(server.url);
  await new Promise(() => {}); // until killed
}

interface Row {
  concurrency: number;
  writeMiBps: number;
  readMiBps: number;
  writeSeconds: number;
  readSeconds: number;
  peakRssMiB: number;
  baselineRssMiB: number;
  boundMiB: number;
  peakBufferedMiB: number;
}

async function startServer(bandwidthMiB: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--serve", `--bandwidth-mib=${bandwidthMiB}`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("bench server exited before printing its URL");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: text.trim(),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** A 4 MiB block of random bytes, written over and over: the source never holds the whole checkpoint. */
function randomBlock(): Uint8Array<ArrayBuffer> {
  const block = new Uint8Array(4 * MiB);
  for (let i = 0; i < block.length; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  return block;
}

function rssMiB(): number {
  return Deno.memoryUsage().rss / MiB;
}

/** One concurrency level: write then read `sizeMiB`, in this (fresh) process. */
async function level(url: string, concurrency: number, sizeMiB: number, partMiB: number): Promise<Row> {
  const size = sizeMiB * MiB;
  const block = randomBlock();
  const checkpoint = new OssCheckpoint({
    endpoint: url,
    region: "cn-hangzhou",
    credentials: CREDS,
    partSize: partMiB * MiB,
    uploadConcurrency: concurrency,
    prefetchConcurrency: concurrency,
  });
  const uri = `oss://${BUCKET}/bench/ckpt-${concurrency}.bin`;
  const baseline = rssMiB();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 10);

  const t0 = performance.now();
  const writer = checkpoint.writer(uri, { sizeHint: size });
  const w = writer.getWriter();
  for (let off = 0; off < size; off += 4 * MiB) {
    const at = off % block.length;
    await w.write(block.subarray(at, at + Math.min(4 * MiB, size - off)));
    peak = Math.max(peak, rssMiB());
  }
  await w.close();
  const writeSeconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB());

  const t1 = performance.now();
  let read = 0;
  for await (const chunk of checkpoint.reader(uri)) read += chunk.length;
  const readSeconds = (performance.now() - t1) / 1000;
  if (read !== size) throw new Error(`read ${read} bytes, expected ${size}`);
  // Free the server's memory for the next level.
  await new OssClient({ endpoint: url, region: "cn-hangzhou", credentials: CREDS }).delete(
    BUCKET,
    uri.slice(`oss://${BUCKET}/`.length),
  );
  return {
    concurrency,
    writeMiBps: round(sizeMiB / writeSeconds),
    readMiBps: round(sizeMiB / readSeconds),
    writeSeconds: round(writeSeconds),
    readSeconds: round(readSeconds),
    peakRssMiB: round(peak),
    baselineRssMiB: round(baseline),
    boundMiB: partMiB * (concurrency + 1) + 100,
    peakBufferedMiB: round(writer.stats.peakBufferedBytes / MiB),
  };
}

async function runLevel(url: string, concurrency: number, sizeMiB: number, partMiB: number): Promise<Row> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      `--level=${concurrency}`,
      `--url=${url}`,
      `--size-mib=${sizeMiB}`,
      `--part-mib=${partMiB}`,
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`bench level ${concurrency} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function run(): Promise<void> {
  const sizeMiB = Number(flag("size-mib", "1024"));
  const partMiB = Number(flag("part-mib", "8"));
  const bandwidthMiB = Number(flag("bandwidth-mib", "50"));
  const levels = flag("concurrency", "1,4,16").split(",").map(Number);
  const server = await startServer(bandwidthMiB);
  const rows: Row[] = [];
  console.log(
    `checkpoint bench: ${sizeMiB} MiB, part ${partMiB} MiB, server capped at ${bandwidthMiB} MiB/s per connection, ` +
      `${navigator.hardwareConcurrency} CPUs`,
  );
  try {
    for (const concurrency of levels) {
      const row = await runLevel(server.url, concurrency, sizeMiB, partMiB);
      rows.push(row);
      console.log(
        `concurrency ${
          String(concurrency).padStart(2)
        }: write ${row.writeMiBps} MiB/s (${row.writeSeconds} s), ` +
          `read ${row.readMiBps} MiB/s (${row.readSeconds} s), peak RSS during write ${row.peakRssMiB} MiB ` +
          `(baseline ${row.baselineRssMiB} MiB; target <= ${row.boundMiB} MiB), part buffers peak ${row.peakBufferedMiB} MiB`,
      );
    }
  } finally {
    await server.stop();
  }
  const base = rows[0];
  if (base) {
    for (const r of rows.slice(1)) {
      console.log(
        `scaling x${r.concurrency / base.concurrency}: write x${round(r.writeMiBps / base.writeMiBps)}, ` +
          `read x${round(r.readMiBps / base.readMiBps)}`,
      );
    }
  }
  const out = new URL("./results/checkpoint.json", import.meta.url);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        deno: Deno.version.deno,
        cpus: navigator.hardwareConcurrency,
        sizeMiB,
        partMiB,
        bandwidthMiBPerConnection: bandwidthMiB,
        rows,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`results: ${out.pathname}`);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.main && !Deno.args.includes("--serve")) {
  const levelArg = flag("level", "");
  if (levelArg) {
    const row = await level(
      flag("url", ""),
      Number(levelArg),
      Number(flag("size-mib", "1024")),
      Number(flag("part-mib", "8")),
    );
    console.log(JSON.stringify(row));
  } else {
    await run();
  }
}
