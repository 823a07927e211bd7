/**
 * The bench's child processes and where they run: the server processes (the emulator and the bare limit
 * server), the long-lived client processes and the one-job checkpoint processes, each pinned to its core with
 * `taskset` when the machine allows it (servers on one core, the client under test on another), so that a
 * client's CPU cost can be neither hidden in nor charged to the server's core.
 *
 * @module
 */
import { DENO_RUN, type Settings } from "./common.ts";
import type { JobResult } from "./peer_process.ts";

const here = (p: string) => new URL(p, import.meta.url);

/** Where the servers and the clients run. */
export interface Pinning {
  /** CPU of the server processes (and of the orchestrator), or undefined when not pinned. */
  serverCpu?: number;
  /** CPU of the client process under test, or undefined when not pinned. */
  clientCpu?: number;
  /** One line for the log and the results: how processes were placed, or why they were not pinned. */
  note: string;
}

/** CPUs this process may run on, from `taskset -cp` (e.g. "0,1" or "0-3,6"); undefined without taskset. */
async function allowedCpus(): Promise<number[] | undefined> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("taskset", { args: ["-cp", String(Deno.pid)], stderr: "null" }).output();
  } catch {
    return undefined; // not installed
  }
  if (!out.success) return undefined;
  const list = new TextDecoder().decode(out.stdout).split(":").pop()!.trim();
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus.filter(Number.isInteger);
}

/**
 * Decides the pinning: the first allowed CPU for the servers, the second for the client under test; no
 * pinning (with a note saying why) when `taskset` is missing, only one CPU is allowed, or `enabled` is false.
 * When pinned, the orchestrator itself (every thread) moves to the server's CPU, so it stays off the client's.
 */
export async function decidePinning(enabled: boolean): Promise<Pinning> {
  if (!enabled) return { note: "not pinned (--no-pin): servers and clients share every CPU" };
  const cpus = await allowedCpus();
  if (cpus === undefined) {
    return { note: "not pinned: taskset is not available, so servers and clients share every CPU" };
  }
  if (cpus.length < 2) {
    return { note: `not pinned: only CPU ${cpus.join(",")} is available, so servers and clients share it` };
  }
  const [serverCpu, clientCpu] = cpus;
  await new Deno.Command("taskset", {
    args: ["-a", "-cp", String(serverCpu), String(Deno.pid)],
    stdout: "null",
  })
    .output();
  return {
    serverCpu,
    clientCpu,
    note: `pinned with taskset: servers and the orchestrator on CPU ${serverCpu}, the client under test on ` +
      `CPU ${clientCpu}`,
  };
}

/** A `Deno.Command` running `deno <args>` on `cpu` (through taskset) when one is given. */
export function denoCommand(
  cpu: number | undefined,
  args: string[],
  opts: Deno.CommandOptions,
): Deno.Command {
  return cpu === undefined
    ? new Deno.Command(Deno.execPath(), { ...opts, args })
    : new Deno.Command("taskset", { ...opts, args: ["-c", String(cpu), Deno.execPath(), ...args] });
}

/** Lines of a child's stdout, one at a time. */
export class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.trim() !== "") return line;
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("child process ended early (see its stderr above)");
      this.#buf += value;
    }
  }
}

/** A server process: started once, seeded, stopped by closing its stdin. */
export interface Server {
  url: string;
  seededMs: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `script` (bench/server.ts or bench/limit_server.ts) on the server CPU with `args` and waits for its
 * `{"url", "seededMs"}` line. Under taskset the child's pid is taskset's, which execs the server: the same pid.
 */
export async function startServer(script: string, args: string[], pin: Pinning): Promise<Server> {
  const child = denoCommand(pin.serverCpu, [...DENO_RUN, here(script).pathname, ...args], {
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const info = JSON.parse(await new Lines(child.stdout).next());
  const stdin = child.stdin.getWriter();
  return {
    ...info,
    pid: child.pid,
    async stop() {
      await stdin.close().catch(() => {});
      await child.status;
    },
  };
}

/** The arguments of bench/peer_process.ts for `peer` against `url`. */
export function peerArgs(peer: string, url: string, s: Settings, extra: string[] = []): string[] {
  return [
    ...DENO_RUN,
    here("./peer_process.ts").pathname,
    "--peer",
    peer,
    "--url",
    url,
    "--settings",
    JSON.stringify(s),
    ...extra,
  ];
}

/** Longest a single job may take before its client is killed and left out. */
const JOB_TIMEOUT_MS = 240_000;

/** A long-lived client process for scenarios 1, 2 and 4, on the client CPU. */
export class PeerProcess {
  readonly name: string;
  /** The server this client talks to (the emulator, or the limit server for the `limit` client). */
  readonly server: Server;
  #child: Deno.ChildProcess;
  #lines: Lines;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  notes = "";

  constructor(name: string, server: Server, s: Settings, pin: Pinning) {
    this.name = name;
    this.server = server;
    this.#child = denoCommand(pin.clientCpu, peerArgs(name, server.url, s), {
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = new Lines(this.#child.stdout);
    this.#stdin = this.#child.stdin.getWriter();
  }

  async ready(): Promise<void> {
    this.notes = JSON.parse(await this.#lines.next()).notes;
  }

  async run(op: string): Promise<JobResult> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify({ op }) + "\n"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
        reject(new Error(`${this.name} ${op}: no answer within ${JOB_TIMEOUT_MS / 1000} s, killed`));
      }, JOB_TIMEOUT_MS);
    });
    try {
      const r = JSON.parse(await Promise.race([this.#lines.next(), timeout]));
      if (r.error) throw new Error(`${this.name} ${op}: ${r.error}`);
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`{"op":"exit"}\n`)).catch(() => {});
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
  }
}

/** Runs one checkpoint job (`ckpt-write`, `ckpt-write-path` or `ckpt-read`) in a fresh process on the client CPU. */
export async function checkpointJob(
  peer: string,
  url: string,
  s: Settings,
  pin: Pinning,
  job: string,
  key: string,
  file: string,
): Promise<JobResult> {
  const out = await denoCommand(
    pin.clientCpu,
    peerArgs(peer, url, s, ["--job", job, "--key", key, "--file", file]),
    {
      stdout: "piped",
      stderr: "inherit",
    },
  ).output();
  if (!out.success) throw new Error(`${peer} ${job} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}
