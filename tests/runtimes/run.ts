// `deno task test:runtimes`: the runtime matrix. Builds the bundle (dist/ossflow.js), starts the local server
// (signed requests only, CORS for the test page's origin), then runs the same smoke test (smoke.mjs) in Deno,
// Node ≥ 20, Bun, Cloudflare workerd and headless Chromium, prints a table and exits non-zero if any failed.
//
//   deno task test:runtimes [--no-build] [--only=deno,node,bun,workerd,chromium] [--verbose]
//
// Bun and workerd come from .runtimes/ (npm ci --prefix .runtimes; done here when missing), Node from PATH,
// Chromium from Debian's package (apt-get install -y chromium) driven by playwright-core.
import { type RunningEmulator, serveEmulator } from "../../src/server/mod.ts";
import { build } from "../../tools/build.ts";
import { openBrowser } from "../e2e/browser.ts";
import { runInWorkerd } from "./workerd.ts";

const ROOT = new URL("../../", import.meta.url);
const HERE = new URL("./", import.meta.url);
const DIST = new URL("dist/", ROOT);
const TOOLS = new URL(".runtimes/", ROOT);
const BIN = new URL("node_modules/.bin/", TOOLS);
const BUCKET = "smoke";
const REGION = "cn-hangzhou";
const CREDS = { accessKeyId: "LTAIruntimes", accessKeySecret: "runtime-matrix-secret" };
const TIMEOUT_MS = 120_000;
const RUNTIMES = ["deno", "node", "bun", "workerd", "chromium"] as const;
type Runtime = (typeof RUNTIMES)[number];

interface SmokeStep {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
  error?: string;
}

interface SmokeResult {
  ok: boolean;
  steps: SmokeStep[];
  env: { wasm: boolean; worker: boolean; prefetchWorkers: number };
  ms: number;
}

interface Outcome {
  runtime: Runtime;
  version: string;
  ok: boolean;
  ms: number;
  result?: SmokeResult;
  error?: string;
  preflights?: number;
}

type SmokeConfig = {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  accessKeySecret: string;
};

const decoder = new TextDecoder();

/** Runs a command to completion (or the timeout), collecting its output. */
async function exec(
  cmd: string | URL,
  args: string[],
  opts: { cwd?: URL; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function version(cmd: string | URL, args = ["--version"]): Promise<string> {
  try {
    const { code, stdout } = await exec(cmd, args, { timeoutMs: 20_000 });
    return code === 0 ? stdout.trim().split("\n")[0] : "?";
  } catch {
    return "not found";
  }
}

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** The `SMOKE_RESULT {...}` line a command-line runtime prints. */
function parseResult(stdout: string, stderr: string): { result?: SmokeResult; error?: string } {
  const line = stdout.split("\n").find((l) => l.startsWith("SMOKE_RESULT "));
  if (!line) return { error: `no result printed\n${tail(stderr || stdout)}` };
  return { result: JSON.parse(line.slice("SMOKE_RESULT ".length)) };
}

async function commandLine(cmd: string | URL, args: string[], cfg: SmokeConfig) {
  const config = JSON.stringify({ bundle: new URL("ossflow.js", DIST).href, ...cfg });
  const { stdout, stderr } = await exec(cmd, [...args, new URL("cli_entry.mjs", HERE).pathname, config], {
    cwd: HERE,
  });
  return parseResult(stdout, stderr);
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}

/** Serves the browser test page, the bundle and the smoke module, from an origin of its own. */
function servePage(): Deno.HttpServer<Deno.NetAddr> {
  const page = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>ossflow runtime smoke</title></head>
<body><pre id="status">loading</pre>
<script type="module">
  import * as lib from "/dist/ossflow.js";
  import { smoke } from "/smoke.mjs";
  const status = document.getElementById("status");
  globalThis.runSmoke = async (cfg) => {
    status.textContent = "running";
    const result = await smoke(lib, cfg);
    status.textContent = [\`ossflow runtime smoke in \${navigator.userAgent}: \${result.ok ? "pass" : "FAIL"}\`,
      ...result.steps.map((s) => \`\${s.ok ? "ok  " : "FAIL"} \${s.name} (\${s.ms} ms) \${s.detail ?? s.error}\`)].join("\\n");
    return result;
  };
  status.textContent = "ready";
</script></body></html>`;
  const files: Record<string, URL> = {
    "/dist/ossflow.js": new URL("ossflow.js", DIST),
    "/dist/prefetch_worker.js": new URL("prefetch_worker.js", DIST),
    "/smoke.mjs": new URL("smoke.mjs", HERE),
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    const file = files[path];
    if (!file) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(file), { headers: { "content-type": "text/javascript" } });
  });
}

async function runChromium(cfg: SmokeConfig, pageUrl: string) {
  let session;
  try {
    session = await openBrowser({ timeoutMs: TIMEOUT_MS });
  } catch (err) {
    return { error: String(err), version: "not found" };
  }
  try {
    await session.page.goto(pageUrl);
    await session.page.waitForFunction(() => "runSmoke" in globalThis);
    const result = await session.page.evaluate(
      (c) => (globalThis as unknown as { runSmoke(c: unknown): Promise<SmokeResult> }).runSmoke(c),
      cfg,
    );
    await session.screenshot("runtimes_chromium.png");
    const errors = session.errors.length ? session.errors.join("\n") : undefined;
    return { result, version: session.version, error: result.ok ? undefined : errors };
  } catch (err) {
    return { error: `${err}\n${session.errors.join("\n")}`, version: session.version };
  } finally {
    await session.close();
  }
}

async function ensureTools(): Promise<void> {
  if (await exists(new URL("bun", BIN)) && await exists(new URL("workerd", BIN))) return;
  console.log("installing Bun and workerd into .runtimes/ (npm ci)");
  const { code, stderr } = await exec("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: TOOLS,
    timeoutMs: 300_000,
  });
  if (code !== 0) throw new Error(`npm ci in .runtimes/ failed:\n${tail(stderr)}`);
}

async function runOne(
  runtime: Runtime,
  server: RunningEmulator,
  pageUrl: string,
): Promise<Outcome> {
  const cfg: SmokeConfig = {
    endpoint: server.url,
    region: REGION,
    bucket: BUCKET,
    prefix: `${runtime}/`,
    ...CREDS,
  };
  const preflightsBefore = server.stats.byOperation["Options"] ?? 0;
  const started = performance.now();
  let v = "?";
  let run: { result?: SmokeResult; error?: string };
  try {
    switch (runtime) {
      case "deno":
        v = `deno ${Deno.version.deno}`;
        run = await commandLine(Deno.execPath(), [
          "run",
          "--no-config",
          "--no-lock",
          "--allow-net=127.0.0.1",
          `--allow-read=${DIST.pathname}`,
        ], cfg);
        break;
      case "node": {
        // Deno runs itself for a "node" command when none is on PATH: only a "vNN..." answer is Node.js.
        const found = await version("node");
        const major = Number(/^v(\d+)\./.exec(found)?.[1]);
        v = major ? `node ${found.slice(1)}` : "not found";
        if (!(major >= 20)) {
          run = { error: `Node.js >= 20 is needed on PATH, found: ${found}` };
          break;
        }
        run = await commandLine("node", [], cfg);
        break;
      }
      case "bun":
        v = `bun ${await version(new URL("bun", BIN))}`;
        run = await commandLine(new URL("bun", BIN), [], cfg);
        break;
      case "workerd":
        v = await version(new URL("workerd", BIN));
        run = await runInWorkerd(cfg, {
          bin: new URL("workerd", BIN),
          bundle: new URL("ossflow.js", DIST),
          smoke: new URL("smoke.mjs", HERE),
          timeoutMs: TIMEOUT_MS,
        }) as { result?: SmokeResult; error?: string };
        break;
      case "chromium": {
        const r = await runChromium(cfg, pageUrl);
        v = `chromium ${r.version}`;
        run = r;
        break;
      }
    }
  } catch (err) {
    run = { error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  const ms = Math.round(performance.now() - started);
  const preflights = (server.stats.byOperation["Options"] ?? 0) - preflightsBefore;
  const ok = run.result?.ok === true && !run.error;
  return { runtime, version: v, ok, ms, result: run.result, error: run.error, preflights };
}

function notes(o: Outcome): string {
  const env = o.result?.env;
  if (!env) return "";
  const parts = [
    `crc64 ${env.wasm ? "wasm" : "js fallback"}`,
    env.prefetchWorkers ? `${env.prefetchWorkers} prefetch workers` : "inline prefetch (no Worker)",
  ];
  if (o.preflights) parts.push(`${o.preflights} CORS preflights`);
  return parts.join(", ");
}

function table(outcomes: Outcome[]): string {
  const rows = [
    ["runtime", "version", "result", "time", "steps", "notes"],
    ...outcomes.map((o) => [
      o.runtime,
      o.version,
      o.ok ? "pass" : "FAIL",
      `${(o.ms / 1000).toFixed(1)} s`,
      o.result ? `${o.result.steps.filter((s) => s.ok).length}/${o.result.steps.length}` : "-",
      notes(o),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

async function main(args: string[]): Promise<number> {
  const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  for (const name of only ?? []) {
    if (!RUNTIMES.includes(name as Runtime)) {
      console.error(`--only: expected a comma-separated list of ${RUNTIMES.join(", ")}, got "${name}"`);
      return 2;
    }
  }
  const verbose = args.includes("--verbose");
  const selected = RUNTIMES.filter((r) => !only || only.includes(r));
  const t0 = performance.now();
  if (!args.includes("--no-build")) {
    const files = await build();
    const size = files.map((f) => `${f.path.replace(ROOT.pathname, "")} ${(f.size / 1024).toFixed(0)} KiB`);
    console.log(`built ${size.join(", ")}`);
  }
  if (selected.includes("bun") || selected.includes("workerd")) await ensureTools();

  const page = servePage();
  const pageOrigin = `http://127.0.0.1:${page.addr.port}`;
  // The page's origin differs from the server's (another port): the browser must use CORS.
  const server = await serveEmulator({
    buckets: [BUCKET],
    credentials: [CREDS],
    region: REGION,
    cors: { origins: [pageOrigin], maxAgeSeconds: 60 },
  });
  const outcomes: Outcome[] = [];
  try {
    for (const runtime of selected) {
      const o = await runOne(runtime, server, `${pageOrigin}/`);
      outcomes.push(o);
      console.log(`${o.ok ? "ok  " : "FAIL"} ${runtime} (${(o.ms / 1000).toFixed(1)} s)`);
      if (verbose || !o.ok) {
        for (const s of o.result?.steps ?? []) {
          console.log(
            `     ${s.ok ? "ok  " : "FAIL"} ${s.name} ${s.ms} ms${s.detail ? `: ${s.detail}` : ""}`,
          );
          if (s.error) console.log(`          ${s.error}`);
        }
        if (o.error) console.log(o.error.replace(/^/gm, "     "));
      }
    }
  } finally {
    await server.close();
    await page.shutdown();
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  console.log(`\n${table(outcomes)}\n`);
  console.log(
    `runtimes: ${outcomes.length - failed} passed, ${failed} failed (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
