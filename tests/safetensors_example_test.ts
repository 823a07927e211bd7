/**
 * examples/safetensors_partial_load.ts, run as a user runs it (its own process, its embedded local server): it
 * saves a sharded model, then loads the tensors of one layer and checks them against the saved ones.
 */
import { expect } from "expect";

async function runExample(args: string[], env: Record<string, string> = { OSS_ENDPOINT: "" }) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../examples/safetensors_partial_load.ts", import.meta.url).pathname,
      ...args,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the partial-load example fetches one layer of twelve, about a twelfth of the model", async () => {
  const { code, stdout, stderr } = await runExample(["--layers=12", "--hidden=128"]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toMatch(/^saved 63 tensors \(4\.8 MiB\) as \d+ shards$/m);
  expect(stdout).toMatch(/^model: 63 tensors in \d+ file\(s\), 4\.8 MiB; headers read with \d+ requests$/m);
  expect(stdout).toMatch(/^loading 5 tensors matching \/\^layers\\\.3\\\.\/: layers\.3\./m);
  const share = Number(/\((\d+\.\d)% of the model\)/.exec(stdout)?.[1]);
  // One layer holds 12 × 128² × 2 bytes of weights (+ a norm): 7.9 % of the model; the fetch adds nothing.
  expect(share).toBeGreaterThan(7.5);
  expect(share).toBeLessThan(8.5);
  expect(stdout).toMatch(/layers\.3\.norm\.weight: F32 \[128\] as Float32Array/);
  expect(stdout).toMatch(/layers\.3\.mlp\.up\.weight: BF16 \[512, 128\] as Uint8Array/);
  expect(stdout).toMatch(/^verified: 5 tensors identical to the saved ones$/m);
});

Deno.test("the partial-load example names what it matched nothing with", async () => {
  const { code, stderr } = await runExample(["--layers=2", "--hidden=16", "--match=^nothing"]);
  expect(code).toBe(1);
  expect(stderr).toMatch(/no tensor name matches \/\^nothing\//);
});
