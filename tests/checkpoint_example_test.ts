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

/** Runs the example against `env` (credentials included, so that only what the test varies can fail). */
async function runExample(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../examples/checkpoint_save_load.ts", import.meta.url).pathname,
      "--size-mib=1",
    ],
    env: { OSS_ACCESS_KEY_ID: "LTAIexample", OSS_ACCESS_KEY_SECRET: "example-secret", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the checkpoint example asks for OSS_CHECKPOINT_URI when OSS_ENDPOINT is set", async () => {
  const out = await runExample({ OSS_ENDPOINT: "http://127.0.0.1:9", OSS_CHECKPOINT_URI: "" });
  expect({ code: out.code, stderr: out.stderr }).toEqual({
    code: 2,
    stderr: "OSS_ENDPOINT is set: set OSS_CHECKPOINT_URI too, e.g. oss://my-bucket/ckpt/model.safetensors\n",
  });
  expect(out.stdout).toBe(""); // nothing about an "undefined" destination
});

Deno.test("the checkpoint example says what is wrong with a malformed OSS_CHECKPOINT_URI, without a stack trace", async () => {
  const out = await runExample({ OSS_ENDPOINT: "http://127.0.0.1:9", OSS_CHECKPOINT_URI: "my-bucket/model" });
  expect({ code: out.code, stderr: out.stderr }).toEqual({
    code: 2,
    stderr:
      'OSS_CHECKPOINT_URI: invalid object URI "my-bucket/model": expected "oss://bucket/key" or "s3://bucket/key"\n',
  });
});

Deno.test("the checkpoint example reports a failed run in one line naming the endpoint, exit code 1, no stack trace", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now: connection refused
  const out = await runExample({
    OSS_ENDPOINT: `http://127.0.0.1:${port}`,
    OSS_CHECKPOINT_URI: "oss://my-bucket/ckpt/model.safetensors",
  });
  expect(out.code).toBe(1);
  expect(out.stderr).toMatch(
    new RegExp(`^checkpoint_save_load failed: OssError: NetworkError .*127\\.0\\.0\\.1:${port}.*\n$`),
  );
  expect(out.stderr).not.toMatch(/^\s+at /m);
  expect(out.stderr).not.toContain("example-secret");
});
