/**
 * Tests that need a tool some machines lack (Chromium, workerd, Bun, Node.js) declare it:
 *
 *   Deno.test(needs(CHROMIUM, { name: "the preview page shows thumbnails", fn: async () => {...} }));
 *
 * Where the tool is missing the test is ignored, and the skip is recorded: `deno task test` (tests/suite.ts)
 * then lists, once at the end of the run, every skipped test and the command that installs what it needs.
 * Under a plain `deno test` (nobody collecting), each skip is printed as its module loads. CI installs every
 * tool and fails on any skipped test (.ci/run).
 *
 * @module
 */

/** A tool that some tests need, where to find it, and how to install it. */
export interface Tool {
  /** Short name, e.g. "Chromium". */
  name: string;
  /** The command that installs it, run from the repository root. */
  install: string;
  /** Whether this machine has it. */
  present: boolean;
}

/** One skipped test, as recorded in the file named by {@linkcode SKIP_LOG_ENV} (one JSON object a line). */
export interface SkipRecord {
  test: string;
  missing: { name: string; install: string }[];
}

/** The variable naming the file where skips are recorded (set by tests/suite.ts). */
export const SKIP_LOG_ENV = "OSSFLOW_SKIP_LOG";

const ROOT = new URL("../", import.meta.url);
const RUNTIMES_BIN = new URL(".runtimes/node_modules/.bin/", ROOT);

function isFile(path: string | URL): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/**
 * The Chromium executable: `$CHROMIUM_PATH`, else the first of /usr/bin/chromium, /usr/bin/chromium-browser,
 * /usr/bin/google-chrome that exists; undefined when there is none.
 */
export function chromiumPath(): string | undefined {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  return (fromEnv ? [fromEnv] : CHROMIUM_CANDIDATES).find((path) => isFile(path));
}

/** The major version of the `node` on PATH, or 0 when there is none. */
function nodeMajor(): number {
  try {
    // Deno answers a "node" command itself when none is on PATH: only a "vNN..." answer is Node.js.
    const out = new Deno.Command("node", { args: ["--version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return Number(/^v(\d+)\./.exec(new TextDecoder().decode(out.stdout))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Debian's Chromium, driven by playwright-core (the browser end-to-end tests). */
export const CHROMIUM: Tool = {
  name: "Chromium",
  install: "apt-get install -y chromium",
  present: chromiumPath() !== undefined,
};

/** Cloudflare's workerd, pinned in .runtimes/package-lock.json. */
export const WORKERD: Tool = {
  name: "workerd",
  install: "npm ci --prefix .runtimes",
  present: isFile(new URL("workerd", RUNTIMES_BIN)),
};

/** Bun, pinned in .runtimes/package-lock.json. */
export const BUN: Tool = {
  name: "Bun",
  install: "npm ci --prefix .runtimes",
  present: isFile(new URL("bun", RUNTIMES_BIN)),
};

/** Node.js ≥ 20 and npm on PATH. */
export const NODE: Tool = {
  name: "Node.js >= 20 with npm",
  install: "apt-get install -y nodejs npm",
  present: nodeMajor() >= 20,
};

/**
 * The test `def`, ignored unless every tool in `tools` is present; a skip is recorded for tests/suite.ts (or
 * printed, when nobody collects skips).
 *
 * @example
 * ```ts ignore
 * Deno.test(needs([NODE, BUN], { name: "the npm package runs in Node and Bun", fn: async () => {} }));
 * ```
 */
export function needs(tools: Tool | Tool[], def: Deno.TestDefinition): Deno.TestDefinition {
  const missing = [tools].flat().filter((t) => !t.present);
  if (missing.length === 0 || def.ignore === true) return def;
  const record: SkipRecord = {
    test: def.name,
    missing: missing.map(({ name, install }) => ({ name, install })),
  };
  const log = Deno.env.get(SKIP_LOG_ENV);
  const needed = record.missing.map((m) => `${m.name} (${m.install})`).join(", ");
  if (log) Deno.writeTextFileSync(log, JSON.stringify(record) + "\n", { append: true });
  else console.warn(`skipped "${record.test}": needs ${needed}`);
  return { ...def, ignore: true };
}
