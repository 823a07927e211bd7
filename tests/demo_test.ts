/**
 * `deno task demo` as a user runs it: a subprocess (stdout and stderr piped, so not a TTY), against its own
 * embedded server and against a separately started server through --endpoint and credentials.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const ROOT = new URL("..", import.meta.url);
const KEY = { accessKeyId: "LTAIdemotest", accessKeySecret: "demo-test-secret-0123456789" };
const SMALL = ["--images", "25", "--image-size", "32", "--checkpoint-mib", "2"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Deno's cache, kept when a test changes HOME (a new cache would download every package again). */
const denoDir = Deno.env.get("DENO_DIR") ?? await (async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" }).output();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
})();

/**
 * Runs `deno task demo ARGS` with a minimal environment (no OSS_* variables unless given). With `terminal`, in
 * a pseudo-terminal (util-linux `script`), as a user at a terminal sees it: stdout then holds what was drawn.
 */
async function demo(args: string[], env: Record<string, string> = {}, terminal = false): Promise<Run> {
  const base: Record<string, string> = { NO_COLOR: "1", DENO_DIR: denoDir };
  for (const name of ["PATH", "HOME", "TMPDIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) base[name] = v;
  }
  const command = [Deno.execPath(), "task", "demo", ...args];
  const out = await new Deno.Command(terminal ? "script" : command[0], {
    args: terminal ? ["-qefc", command.map((a) => `'${a}'`).join(" "), "/dev/null"] : command.slice(1),
    cwd: ROOT,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function expectSummary(r: Run, objects: number): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(r.stdout).toMatch(
    new RegExp(`^seed: ${objects} PNG images .* \\+ manifest\\.jsonl written in`, "m"),
  );
  expect(r.stdout).toMatch(
    new RegExp(`^dataset: ${objects} objects, [\\d.]+ MB in [\\d.]+ s: \\d+ objects/s, [\\d.]+ MB/s`, "m"),
  );
  expect(r.stdout).toMatch(/every image's size, label and mean pixel verified/);
  expect(r.stdout).toMatch(/^checkpoint write: [\d.]+ MiB .* in [\d.]+ s: [\d.]+ MB\/s/m);
  expect(r.stdout).toMatch(/^checkpoint read: [\d.]+ MiB in [\d.]+ s: [\d.]+ MB\/s .*every byte verified/m);
  expect(r.stdout).toMatch(/^done in [\d.]+ s$/m);
  // Not a TTY: no progress bar, no cursor control in the logs.
  for (const s of [r.stdout, r.stderr]) {
    expect(s).not.toContain("\x1b[");
    expect(s).not.toContain("█");
  }
}

Deno.test("demo: runs with nothing configured against its embedded server and prints the summary", async () => {
  const r = await demo([...SMALL, "--workers", "2"]);
  expectSummary(r, 25);
  expect(r.stdout).toMatch(/^ossflow demo -> local server http:\/\/127\.0\.0\.1:\d+ /m);
  expect(r.stdout).toContain("2 prefetch workers");
  expect(r.stdout).toContain("labels: circle 5, square 5, triangle 5, ring 5, cross 5");
});

Deno.test("demo: at a terminal every progress bar ends at 100% with its count at its total (32/32 MiB)", async () => {
  // The 32 MiB checkpoint is just under 32 MiB (room for the safetensors header): it must end at 32/32, not 31/32.
  const r = await demo(["--images", "25", "--image-size", "32", "--checkpoint-mib", "32"], {}, true);
  expect(r.code).toBe(0);
  // Each frame redraws the line from column 1 (ESC [1G); the last frame of a bar is drawn as it stops.
  const last = new Map<string, string>();
  for (const frame of r.stdout.split("\x1b[1G")) {
    const line = frame.split("\x1b[0K")[0]; // the line ends where the rest of it is erased
    const m = line.match(/^(seed|dataset|checkpoint write|checkpoint read)\s+\[[^\]]*\] (.*)$/);
    if (m) last.set(m[1], m[2]);
  }
  expect([...last.keys()]).toEqual(["seed", "dataset", "checkpoint write", "checkpoint read"]);
  expect(last.get("seed")).toMatch(/^100% \| 25\/25 images \|/);
  expect(last.get("dataset")).toMatch(/^100% \| 25\/25 objects \|/);
  expect(last.get("checkpoint write")).toMatch(/^100% \| 32\/32 MiB \|/);
  expect(last.get("checkpoint read")).toMatch(/^100% \| 32\/32 MiB \|/);
});

Deno.test("demo: --help explains the flags and exits 0", async () => {
  const r = await demo(["--help"]);
  expect(r.code).toBe(0);
  for (
    const flag of [
      "--endpoint",
      "--region",
      "--bucket",
      "--prefix",
      "--signature-version",
      "OSS_ACCESS_KEY_ID",
    ]
  ) {
    expect(r.stdout).toContain(flag);
  }
});

Deno.test("demo: bad flags exit 2 naming the flag and what it expects", async () => {
  const images = await demo(["--images", "0"]);
  expect(images.code).toBe(2);
  expect(images.stderr).toContain('--images: expected an integer from 1 to 100000, got "0"');
  const sig = await demo(["--signature-version", "v2"]);
  expect(sig.code).toBe(2);
  expect(sig.stderr).toContain('--signature-version: expected "oss4" or "s3v4", got "v2"');
  const bucket = await demo(["--endpoint", "http://127.0.0.1:9"]);
  expect(bucket.code).toBe(2);
  expect(bucket.stderr).toContain("--bucket: required with --endpoint");
  const unknown = await demo(["--imagez", "3"]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("--imagez");
});

Deno.test("demo: --endpoint with env credentials and no --region runs against a separately started server", async () => {
  const server = await serveEmulator({ buckets: ["remote-demo"], credentials: [KEY] });
  try {
    const r = await demo(
      [
        ...SMALL,
        "--endpoint", // as the README has it: no --region for an endpoint that names none
        server.url,
        "--bucket",
        "remote-demo",
        "--prefix",
        "run1",
      ],
      { OSS_ACCESS_KEY_ID: KEY.accessKeyId, OSS_ACCESS_KEY_SECRET: KEY.accessKeySecret },
    );
    expectSummary(r, 25);
    expect(r.stdout).toContain(`ossflow demo -> ${server.url} (from --endpoint, oss4, region cn-hangzhou)`);
    expect(r.stdout).toContain("writing to oss://remote-demo/run1/");
    expect(r.stdout).toContain("cleanup: deleted the 27 objects the demo wrote");
    // The demo really went through this server, and left nothing behind.
    expect(server.stats.byOperation.PutObject).toBeGreaterThanOrEqual(26); // images + manifest
    expect(server.stats.byOperation.GetObject).toBeGreaterThanOrEqual(27); // manifest, images, checkpoint
    const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: KEY });
    expect(await Array.fromAsync(client.list("remote-demo"))).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(KEY.accessKeySecret);
  } finally {
    await server.close();
  }
});

Deno.test("demo: --cred-path, s3v4 --region us-east-1 and --keep leave the dataset, its manifest and the checkpoint", async () => {
  const server = await serveEmulator({ buckets: ["keep-demo"], credentials: [KEY] });
  const dir = await Deno.makeTempDir();
  try {
    const credPath = `${dir}/credentials.json`;
    await Deno.writeTextFile(
      credPath,
      JSON.stringify({ AccessKeyId: KEY.accessKeyId, AccessKeySecret: KEY.accessKeySecret }),
    );
    const r = await demo([
      ...SMALL,
      "--workers",
      "0",
      "--endpoint",
      server.url,
      "--bucket",
      "keep-demo",
      "--prefix",
      "kept/",
      "--signature-version", // the README's S3 line, as written
      "s3v4",
      "--region",
      "us-east-1",
      "--cred-path",
      credPath,
      "--keep",
    ]);
    expectSummary(r, 25);
    expect(r.stdout).toContain("inline prefetch");
    expect(r.stdout).toContain("writing to s3://keep-demo/kept/");
    const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: KEY });
    const keys = (await Array.fromAsync(client.list("keep-demo"))).map((o) => o.key);
    expect(keys.length).toBe(27);
    expect(keys).toContain("kept/manifest.jsonl");
    expect(keys).toContain("kept/checkpoints/step-1000.safetensors");
    const manifest = await (await client.get("keep-demo", "kept/manifest.jsonl")).body.pipeThrough(
      new TextDecoderStream(),
    ).getReader().read();
    expect(JSON.parse(manifest.value!.split("\n")[0])).toEqual({
      data: { source: "s3://keep-demo/kept/images/00000.png" },
      label: "circle",
    });
    const png = (await client.getBytes("keep-demo", "kept/images/00001.png")).bytes;
    expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]); // the PNG signature
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo: wrong credentials, or no region where one is needed, fail with exit 1 and a clear message, without the secret", async () => {
  const server = await serveEmulator({ buckets: ["remote-demo"], credentials: [KEY] });
  try {
    const wrong = "wrong-secret-should-not-appear";
    // OSS's global acceleration endpoint names no region, and OSS signatures need the bucket's.
    const accelerate = "https://oss-accelerate.aliyuncs.com";
    const noRegion = await demo([...SMALL, "--endpoint", accelerate, "--bucket", "remote-demo"], {
      OSS_ACCESS_KEY_ID: KEY.accessKeyId,
      OSS_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    });
    expect(noRegion.code).toBe(1);
    expect(noRegion.stderr).toContain(`--region: the endpoint ${accelerate} names no region`);
    const args = [...SMALL, "--endpoint", server.url, "--bucket", "remote-demo", "--region", "cn-hangzhou"];
    const r = await demo(args, {
      OSS_ACCESS_KEY_ID: KEY.accessKeyId,
      OSS_ACCESS_KEY_SECRET: wrong,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/demo failed: OssError: .*SignatureDoesNotMatch/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    const none = await demo(["--endpoint", server.url, "--bucket", "remote-demo"], {
      HOME: "/nonexistent-home",
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET are not set");
  } finally {
    await server.close();
  }
});
