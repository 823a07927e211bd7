/**
 * `deno task test` (tests/suite.ts) with tests that need tools (tests/needs.ts): a test whose tool is missing
 * is ignored, and the run ends with one list of the skipped tests and the commands that install what they
 * need; `deno test`'s exit status passes through.
 */
import { expect } from "expect";
import { skipReport } from "./suite.ts";

const SUITE = new URL("./suite.ts", import.meta.url).pathname;
const NEEDS = new URL("./needs.ts", import.meta.url).href;

/** Runs the suite runner on one generated test file; returns its exit code and plain output. */
async function suiteOn(testSource: string): Promise<{ code: number; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-suite-" });
  try {
    await Deno.writeTextFile(`${dir}/tools_test.ts`, testSource);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", SUITE, `${dir}/tools_test.ts`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TOOLS = `import { needs, type Tool } from ${JSON.stringify(NEEDS)};
const frobnicator: Tool = { name: "frobnicator", install: "apt-get install -y frobnicator", present: false };
const widget: Tool = { name: "widget", install: "npm ci --prefix .widgets", present: false };
const here: Tool = { name: "here", install: "true", present: true };
`;

Deno.test("the run ends with the skipped tests and each install command once; the others run", async () => {
  const { code, stdout } = await suiteOn(
    TOOLS +
      `Deno.test(needs(frobnicator, { name: "needs the frobnicator", fn() {} }));
Deno.test(needs([frobnicator, widget], { name: "needs both", fn() {} }));
Deno.test(needs(here, { name: "needs what is here", fn() {} }));
`,
  );
  expect(code).toBe(0);
  expect(stdout).toContain("needs what is here ... ok");
  expect(stdout).toMatch(/\| 1 passed \| 0 failed \| 2 ignored/);
  const report = stdout.slice(stdout.indexOf("skipped tests:"));
  expect(report.trim().split("\n")).toEqual([
    "skipped tests: 2 (this machine lacks a tool they need)",
    "  - needs the frobnicator: needs frobnicator",
    "  - needs both: needs frobnicator, widget",
    "install what they need, then run again:",
    "  apt-get install -y frobnicator",
    "  npm ci --prefix .widgets",
  ]);
});

Deno.test("with every tool present the run says no test was skipped, and a failure fails the run", async () => {
  const { code, stdout } = await suiteOn(
    TOOLS +
      `Deno.test(needs(here, { name: "needs what is here", fn() {} }));
Deno.test("fails", () => { throw new Error("boom"); });
`,
  );
  expect(code).toBe(1);
  expect(stdout).toMatch(/\| 1 passed \| 1 failed/);
  expect(stdout.trim().split("\n").at(-1)).toBe("skipped tests: none");
});

Deno.test("skipReport lists a test once however often its module loaded", () => {
  const record = { test: "t", missing: [{ name: "Bun", install: "npm ci --prefix .runtimes" }] };
  expect(skipReport([record, record])).toBe(
    "skipped tests: 1 (this machine lacks a tool they need)\n  - t: needs Bun\n" +
      "install what they need, then run again:\n  npm ci --prefix .runtimes",
  );
  expect(skipReport([])).toBe("skipped tests: none");
});
