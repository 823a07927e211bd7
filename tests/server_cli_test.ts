import { expect } from "expect";
import { parseArgs } from "../src/server/cli.ts";
import { signOss4 } from "../src/signer/oss4.ts";
import { ConfigError } from "../src/errors.ts";

Deno.test("cli: parseArgs maps flags to server options", () => {
  const opts = parseArgs([
    "--data",
    "/tmp/x",
    "--port=9000",
    "--bucket",
    "a-1",
    "--bucket",
    "b-2",
    "--region",
    "oss-cn-beijing",
    "--latency",
    "25",
    "--bandwidth",
    "2m",
    "--error-rate",
    "0.1",
    "--error-kinds",
    "slowdown,reset",
    "--seed",
    "5",
    "--max-body-bytes",
    "1g",
  ], {});
  expect(opts).toEqual({
    data: "/tmp/x",
    port: 9000,
    buckets: ["a-1", "b-2"],
    region: "cn-beijing",
    maxBodyBytes: 1024 ** 3,
    faults: {
      latencyMs: 25,
      bandwidthBytesPerSec: 2 * 1024 ** 2,
      errorRate: 0.1,
      errorKinds: ["slowdown", "reset"],
      seed: 5,
    },
  });
});

Deno.test("cli: credentials come from flags or the environment, and --no-auth turns them off", () => {
  const env = { OSS_ACCESS_KEY_ID: "env-id", OSS_ACCESS_KEY_SECRET: "env-secret" };
  expect(parseArgs([], env).credentials).toEqual([{ accessKeyId: "env-id", accessKeySecret: "env-secret" }]);
  expect(parseArgs(["--access-key-id", "a", "--access-key-secret", "b"], env).credentials).toEqual([
    { accessKeyId: "a", accessKeySecret: "b" },
  ]);
  expect(parseArgs(["--no-auth"], env).credentials).toBeUndefined();
  expect(() => parseArgs(["--access-key-id", "only-id"], {})).toThrow("--access-key-secret");
});

Deno.test("cli: bad arguments fail with a ConfigError naming the flag", () => {
  expect(() => parseArgs(["--port", "70000"], {})).toThrow(ConfigError);
  expect(() => parseArgs(["--port", "70000"], {})).toThrow("--port");
  expect(() => parseArgs(["--error-rate", "1.5"], {})).toThrow("--error-rate");
  expect(() => parseArgs(["--error-kinds", "boom"], {})).toThrow("--error-kinds");
  expect(() => parseArgs(["--data"], {})).toThrow("--data: expected a value");
  expect(() => parseArgs(["--what"], {})).toThrow('unknown option "--what"');
});

/** Starts the CLI, returns its URL once it prints it, and a function stopping it with SIGTERM. */
async function startCli(args: string[]): Promise<{ url: string; stop: () => Promise<number> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "src/server/cli.ts",
      ...args,
    ],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "inherit",
    env: { OSS_ACCESS_KEY_ID: "", OSS_ACCESS_KEY_SECRET: "" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/http:\/\/\S+/.test(seen)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`cli exited before printing its URL: ${seen}`);
    seen += value;
  }
  const url = /http:\/\/\S+/.exec(seen)![0];
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep stdout flowing */ }
  })();
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      const status = await child.status;
      await drain;
      return status.code;
    },
  };
}

Deno.test("cli: serves a data directory with signature checks, stops on SIGTERM, and keeps data across restarts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-cli-" });
  const args = ["--data", dir, "--bucket", "data", "--access-key-id", "AK", "--access-key-secret", "SK"];
  try {
    const first = await startCli(args);
    const unsigned = await fetch(`${first.url}/data/k.txt`, { method: "PUT", body: "x" });
    expect([unsigned.status, (await unsigned.text()).includes("AccessDenied")]).toEqual([403, true]);
    const url = new URL(`${first.url}/data/k.txt`);
    const headers = new Headers({ "content-type": "text/plain" });
    await signOss4({ method: "PUT", url, headers, bucket: "data", key: "k.txt" }, {
      credentials: { accessKeyId: "AK", accessKeySecret: "SK" },
      region: "cn-hangzhou",
    });
    const put = await fetch(url, { method: "PUT", headers, body: "persisted" });
    await put.body?.cancel();
    expect(put.status).toBe(200);
    expect(await first.stop()).toBe(0);

    const second = await startCli(["--data", dir, "--no-auth"]);
    expect(await (await fetch(`${second.url}/data/k.txt`)).text()).toBe("persisted");
    expect(await second.stop()).toBe(0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
