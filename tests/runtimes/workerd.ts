// Cloudflare workerd for the runtime matrix (run.ts): the smoke test as a module worker whose outbound fetches
// may reach loopback addresses (the local server), driven over HTTP.

const decoder = new TextDecoder();

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * The smoke test as a Cloudflare Worker (module syntax): POST the settings as JSON, get the result as JSON.
 * Written beside a copy of the bundle, which workerd embeds as the module "ossflow.js".
 */
const WORKERD_ENTRY = `import * as lib from "./ossflow.js";
import { smoke } from "./smoke.mjs";

export default {
  async fetch(request) {
    if (request.method !== "POST") return new Response("POST the smoke settings as JSON\\n", { status: 405 });
    return Response.json(await smoke(lib, await request.json()));
  },
};
`;

/** A workerd config: the smoke worker on `port`, its outbound fetches allowed to loopback addresses. */
function workerdConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .smoke),
    # workerd's default outbound network refuses private and loopback addresses; the local server is on 127.0.0.1.
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const smoke :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "ossflow.js", esModule = embed "ossflow.js"),
    (name = "smoke.mjs", esModule = embed "smoke.mjs"),
  ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "loopback",
);
`;
}

/** What {@linkcode runInWorkerd} needs. */
export interface WorkerdRun {
  /** The workerd executable. */
  bin: URL;
  /** The library bundle (dist/ossflow.js). */
  bundle: URL;
  /** The smoke module (smoke.mjs). */
  smoke: URL;
  /** Longest wait for the result, ms. */
  timeoutMs: number;
}

/**
 * Runs the smoke test in workerd: writes the worker and its config to a temporary folder, serves it on a free
 * loopback port, POSTs the settings and returns the result (or an error with workerd's last log lines).
 */
export async function runInWorkerd(
  cfg: unknown,
  run: WorkerdRun,
): Promise<{ result?: unknown; error?: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-workerd-" });
  try {
    await Deno.copyFile(run.bundle, `${dir}/ossflow.js`);
    await Deno.copyFile(run.smoke, `${dir}/smoke.mjs`);
    await Deno.writeTextFile(`${dir}/worker.mjs`, WORKERD_ENTRY);
    const port = freePort();
    await Deno.writeTextFile(`${dir}/config.capnp`, workerdConfig(port));
    const child = new Deno.Command(run.bin, {
      args: ["serve", `${dir}/config.capnp`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    try {
      const url = `http://127.0.0.1:${port}/`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await (await fetch(url)).body?.cancel(); // 405 once listening
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`workerd did not start listening: ${err}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const res = await fetch(url, {
        method: "POST",
        body: JSON.stringify(cfg),
        headers: { "content-type": "application/json" },
        signal: AbortSignal.timeout(run.timeoutMs),
      });
      const text = await res.text();
      if (!res.ok) return { error: `HTTP ${res.status}: ${tail(text)}` };
      return { result: JSON.parse(text) };
    } catch (err) {
      child.kill("SIGTERM");
      const { stderr } = await output;
      return { error: `${err}\n${tail(decoder.decode(stderr))}` };
    } finally {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await output;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
