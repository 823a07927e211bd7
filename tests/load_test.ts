// The load test (tests/load/load_case.ts: 512 concurrent streams through one client for 60 s, no errors, bounded
// RSS, no leaks) in a `deno test` process of its own: beside the other test files of the suite, which run in the
// same process, its RSS bound would measure them too.
import { expect } from "expect";

const CASE = new URL("./load/load_case.ts", import.meta.url).pathname;
const DEV_CONFIG = new URL("../deno.dev.json", import.meta.url).pathname;

Deno.test("the load test passes in a process of its own (512 streams, no errors, bounded RSS, no leaks)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--config", DEV_CONFIG, CASE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const report = text.split("\n").find((line) => line.includes("[load]"));
  if (report) console.log(report.trim());
  if (out.code !== 0) throw new Error(`the load case failed (exit ${out.code}):\n${text.slice(-4000)}`);
  expect(report).toBeDefined();
  expect(text).toContain("1 passed");
});
