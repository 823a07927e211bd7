// The public API stays small: the root export carries at most 45 names (what the README uses), internals are
// reachable from no entry point of deno.json `exports`, and no exported declaration mentions zod's types.
import { expect } from "expect";

const ROOT = new URL("../", import.meta.url);

interface DocNode {
  name: string;
  declarations?: unknown[];
}

async function exportsOf(entry: string): Promise<{ names: string[]; json: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno doc --json ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  const json = new TextDecoder().decode(out.stdout);
  const doc = JSON.parse(json) as { nodes: Record<string, { symbols: DocNode[] }> };
  return { names: Object.values(doc.nodes).flatMap((m) => m.symbols.map((s) => s.name)), json };
}

const entries: Record<string, string> =
  JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).exports;

Deno.test("the root export carries at most 45 names, among them the README's", async () => {
  const { names } = await exportsOf(entries["."]);
  expect(names.length).toBeLessThanOrEqual(45);
  for (const name of ["OssClient", "OssIterableDataset", "OssMapDataset", "OssCheckpoint", "presignUrl"]) {
    expect(names).toContain(name);
  }
});

Deno.test("internals are exported from no entry point and zod's types from none", async () => {
  const internals = [
    "configSchema",
    "resolveRetryOptions",
    "backoffDelay",
    "verifyRequest",
    "LineSplitStream",
  ];
  for (const [path, file] of Object.entries(entries)) {
    const { names, json } = await exportsOf(file);
    expect([path, names.filter((n) => internals.includes(n))]).toEqual([path, []]);
    expect([path, /Zod[A-Z]\w*/.exec(json)?.[0] ?? null]).toEqual([path, null]);
  }
});

Deno.test("every entry point of deno.json exports has a module doc and at least one export", async () => {
  for (const [path, file] of Object.entries(entries)) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    expect([path, text.includes("@module")]).toEqual([path, true]);
    expect([path, (await exportsOf(file)).names.length > 0]).toEqual([path, true]);
  }
});

Deno.test("deno task check and .ci/run lint the docs of every entry point and run the doc examples", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  for (const script of [config.tasks.check as string, ci]) {
    const lint = /(?:^|&& )deno doc --lint ([^&\n]+)/m.exec(script)?.[1].trim().split(/\s+/) ?? [];
    expect(lint.sort()).toEqual(Object.values(entries).map((f) => f.replace(/^\.\//, "")).sort());
    expect(script).toMatch(/(?:^|&& )deno test --doc [^&\n]*mod\.ts src\/ workers\//m);
  }
});
