/**
 * `deno task test [paths] [deno test flags]`: the test suite (tests/ unless files or folders are named) with the
 * development config (deno.dev.json: the library's imports plus the test-only packages), then, once, the tests
 * that were skipped because this machine lacks a tool (see tests/needs.ts) and the commands that install it.
 * Exits with `deno test`'s status.
 *
 * @module
 */
import { SKIP_LOG_ENV, type SkipRecord } from "./needs.ts";

const ROOT = new URL("../", import.meta.url);
const DEV_CONFIG = new URL("deno.dev.json", ROOT).pathname;
const TESTS = new URL("tests/", ROOT).pathname;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The `deno test` arguments: ours, then the caller's, then tests/ when the caller named no file or folder. */
export function testArgs(args: string[]): string[] {
  const paths = args.filter((a) => !a.startsWith("-") && exists(a));
  return [
    "test",
    "--config",
    DEV_CONFIG,
    "--allow-all",
    "--parallel",
    ...args,
    ...(paths.length ? [] : [TESTS]),
  ];
}

/** The closing report: the skipped tests and the install commands, each once. */
export function skipReport(records: SkipRecord[]): string {
  const skipped = [...new Map(records.map((r) => [r.test, r])).values()];
  if (skipped.length === 0) return "skipped tests: none";
  const installs = [...new Set(skipped.flatMap((r) => r.missing.map((m) => m.install)))];
  return [
    `skipped tests: ${skipped.length} (this machine lacks a tool they need)`,
    ...skipped.map((r) => `  - ${r.test}: needs ${r.missing.map((m) => m.name).join(", ")}`),
    "install what they need, then run again:",
    ...installs.map((cmd) => `  ${cmd}`),
  ].join("\n");
}

function readSkips(path: string): SkipRecord[] {
  return Deno.readTextFileSync(path).split("\n").filter(Boolean).map((line) =>
    JSON.parse(line) as SkipRecord
  );
}

if (import.meta.main) {
  const log = Deno.makeTempFileSync({ prefix: "ossflow-skips-", suffix: ".jsonl" });
  try {
    const status = await new Deno.Command(Deno.execPath(), {
      args: testArgs(Deno.args),
      env: { [SKIP_LOG_ENV]: log },
      stdin: "inherit",
    }).spawn().status;
    console.log(skipReport(readSkips(log)));
    Deno.exitCode = status.code;
  } finally {
    Deno.removeSync(log);
  }
}
