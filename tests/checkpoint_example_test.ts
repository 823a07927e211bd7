/**
 * examples/checkpoint_save_load.ts, run as a user runs it (its own process, its embedded local server): it saves
 * a safetensors file with saveSafetensors, loads it back with OssSafetensors and checks every tensor itself.
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
  // 8 MiB of tensors plus the header (a multiple of 8 bytes after the 8-byte length).
  const size = Number(/saved in .*, (\d+) bytes, CRC-64 \d+ verified/.exec(stdout)?.[1]);
  expect(size - 8 * 1024 * 1024).toBeGreaterThan(8);
  expect(size % 8).toBe(0);
  expect(stdout).toMatch(/loaded in .*CRC-64 verified/);
  expect(stdout).toMatch(/reload verified: 6 tensors identical, metadata \{"format":"pt","step":"1000"\}/);
});

Deno.test("the checkpoint example asks for OSS_CHECKPOINT_URI when OSS_ENDPOINT is set", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/checkpoint_save_load.ts", import.meta.url).pathname],
    env: { OSS_ENDPOINT: "http://127.0.0.1:9", OSS_CHECKPOINT_URI: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  expect({ code: out.code, stderr: new TextDecoder().decode(out.stderr) }).toEqual({
    code: 2,
    stderr: "OSS_ENDPOINT is set: set OSS_CHECKPOINT_URI too, e.g. oss://my-bucket/ckpt/model.safetensors\n",
  });
});
