/**
 * examples/checkpoint_save_load.ts, run as a user runs it (its own process, its embedded local server): it saves
 * a safetensors file through the checkpoint writer, loads it back and checks every tensor itself.
 */
import { expect } from "expect";

Deno.test("the checkpoint example saves, loads and verifies a safetensors checkpoint", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../examples/checkpoint_save_load.ts", import.meta.url).pathname,
      "--size-mib=8",
    ],
    env: { OSS_ENDPOINT: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  expect({ code: out.code, stderr: out.success ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toMatch(/state dict: \d+ tensors, 8\.0 MiB of F32 weights/);
  expect(stdout).toMatch(/saved in .*CRC-64 verified/);
  expect(stdout).toMatch(/loaded in .*CRC-64 verified/);
  expect(stdout).toMatch(/reload verified: \d+ tensors identical/);
});
