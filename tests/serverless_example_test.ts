/**
 * examples/serverless_preprocess.ts against the local server: every rank of a world of 3 through the Hono app
 * (in-process `app.request`, real HTTP, and Worker-style bindings), outputs disjoint, complete and correct;
 * bad input answered with 400 and a message that says what was expected.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { needs, WORKERD } from "./needs.ts";
import worker, {
  createPreprocessApp,
  type ObjectFeatures,
  type PreprocessEnv,
  type ShardSummary,
} from "../examples/serverless_preprocess.ts";

const KEY = { accessKeyId: "LTAIserverless", accessKeySecret: "serverless-test-secret-42" };
const BUCKET = "pipeline";
const COUNT = 40;

/** Source objects: text with a varying number of lines, and some binary ones. */
function source(i: number): Uint8Array {
  if (i % 4 === 3) return Uint8Array.from({ length: 100 + i * 37 }, (_, j) => (i * 31 + j * 7) % 256);
  return new TextEncoder().encode(
    Array.from({ length: i + 1 }, (_, j) => `record ${i}.${j}`).join("\n") + "\n",
  );
}

async function expected(key: string, bytes: Uint8Array): Promise<ObjectFeatures> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return {
    key,
    size: bytes.length,
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    meanByte: bytes.reduce((a, b) => a + b, 0) / bytes.length,
    lines: bytes.filter((b) => b === 10).length + (bytes.at(-1) === 10 ? 0 : 1),
  };
}

async function setup() {
  const server = await serveEmulator({ buckets: [BUCKET], credentials: [KEY] });
  const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: KEY });
  const want = new Map<string, ObjectFeatures>();
  await Promise.all(Array.from({ length: COUNT }, async (_, i) => {
    const key = `raw/part-${String(i).padStart(3, "0")}.dat`;
    const bytes = source(i);
    await client.put(BUCKET, key, bytes);
    want.set(key, await expected(key, bytes));
  }));
  await client.put(BUCKET, "elsewhere/not-in-the-dataset.txt", "ignored\n");
  const env: PreprocessEnv = {
    OSS_ENDPOINT: server.url, // as the README has it: no OSS_REGION for the local server
    OSS_BUCKET: BUCKET,
    OSS_ACCESS_KEY_ID: KEY.accessKeyId,
    OSS_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    SOURCE_PREFIX: "raw/",
    OUTPUT_PREFIX: "features/",
  };
  return { server, client, want, env };
}

async function readShard(client: OssClient, uri: string): Promise<ObjectFeatures[]> {
  const key = uri.slice(`oss://${BUCKET}/`.length);
  const text = new TextDecoder().decode((await client.getBytes(BUCKET, key)).bytes);
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("serverless example: 3 ranks write disjoint, complete and correct shard outputs", async () => {
  const { server, client, want, env } = await setup();
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, createPreprocessApp(env).fetch);
  try {
    const app = createPreprocessApp(env);
    const summaries: ShardSummary[] = [];
    // rank 0: query string; rank 1: JSON body; rank 2: real HTTP with a JSON body.
    const r0 = await app.request("/preprocess?rank=0&worldSize=3", { method: "POST" });
    const r1 = await app.request("/preprocess", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rank: 1, worldSize: 3 }),
    });
    const r2 = await fetch(`http://127.0.0.1:${http.addr.port}/preprocess`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rank: "2", worldSize: "3" }),
    });
    for (const [rank, res] of [r0, r1, r2].entries()) {
      const body = await res.json();
      expect({ status: res.status, body }).toEqual({
        status: 200,
        body: expect.objectContaining({
          rank,
          worldSize: 3,
          output: `oss://${BUCKET}/features/shard-0000${rank}-of-00003.jsonl`,
        }),
      });
      summaries.push(body);
    }

    const seen = new Map<string, number>();
    for (const s of summaries) {
      const rows = await readShard(client, s.output);
      expect(rows.length).toBe(s.objects);
      expect(s.objects).toBeGreaterThan(0); // 40 objects over 3 ranks: everyone gets some
      expect(s.bytes).toBe(rows.reduce((n, r) => n + r.size, 0));
      const head = await client.head(BUCKET, s.output.slice(`oss://${BUCKET}/`.length));
      expect(head.size).toBe(s.outputBytes);
      for (const row of rows) {
        expect(seen.has(row.key)).toBe(false); // disjoint
        seen.set(row.key, s.rank);
        expect(row).toEqual(want.get(row.key)); // correct
      }
    }
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort()); // complete, nothing from elsewhere/
    expect(summaries.reduce((n, s) => n + s.objects, 0)).toBe(COUNT);
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("serverless example: the default export reads Worker bindings per request", async () => {
  const { server, client, want, env } = await setup();
  try {
    const req = (rank: number) =>
      new Request(`http://worker.example/preprocess?rank=${rank}&worldSize=2`, { method: "POST" });
    const outs = await Promise.all([0, 1].map(async (rank) => {
      const res = await worker.fetch(req(rank), env);
      expect(res.status).toBe(200);
      return (await res.json()) as ShardSummary;
    }));
    const rows = (await Promise.all(outs.map((s) => readShard(client, s.output)))).flat();
    expect(rows.map((r) => r.key).sort()).toEqual([...want.keys()].sort());

    // Missing bindings: a 500 naming the variables, never a secret's value.
    const { OSS_BUCKET: _b, OSS_ACCESS_KEY_ID: _k, ...partial } = env;
    const res = await worker.fetch(req(0), partial);
    const body = await res.json();
    expect({ status: res.status, body }).toEqual({
      status: 500,
      body: {
        error:
          "configuration: OSS_BUCKET, OSS_ACCESS_KEY_ID not set (environment variables or Worker bindings)",
      },
    });
    expect(JSON.stringify(body)).not.toContain(KEY.accessKeySecret);
  } finally {
    await server.close();
  }
});

Deno.test("serverless example: bad shard input gets a 400 saying what was expected", async () => {
  const { server, env } = await setup();
  try {
    const app = createPreprocessApp(env);
    const cases: [string, RequestInit, string][] = [
      ["/preprocess?rank=3&worldSize=3", {}, "rank: expected an integer from 0 to 2 (worldSize - 1), got 3"],
      [
        "/preprocess?rank=0",
        {},
        'worldSize missing: pass ?rank=0&worldSize=3 or a JSON body {"rank": 0, "worldSize": 3}',
      ],
      [
        "/preprocess",
        {},
        'rank and worldSize missing: pass ?rank=0&worldSize=3 or a JSON body {"rank": 0, "worldSize": 3}',
      ],
      ["/preprocess?rank=-1&worldSize=3", {}, 'rank: expected a non-negative integer, got "-1"'],
      ["/preprocess?rank=0&worldSize=two", {}, 'worldSize: expected a non-negative integer, got "two"'],
      ["/preprocess?rank=0&worldSize=0", {}, "worldSize: expected an integer from 1 to 100000, got 0"],
      ["/preprocess", { body: "{not json" }, 'body: expected JSON like {"rank": 0, "worldSize": 3}'],
      [
        "/preprocess",
        { body: "[1, 2]" },
        'body: expected a JSON object like {"rank": 0, "worldSize": 3}, got [1,2]',
      ],
      [
        "/preprocess",
        { body: '{"rank": 1.5, "worldSize": 3}' },
        "rank: expected a non-negative integer, got 1.5",
      ],
    ];
    for (const [path, init, error] of cases) {
      const res = await app.request(path, { method: "POST", ...init });
      expect({ path, status: res.status, body: await res.json() }).toEqual({
        path,
        status: 400,
        body: { error },
      });
    }
    // Nothing was written for a refused request.
    const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: KEY });
    expect(await Array.fromAsync(client.list(BUCKET, { prefix: "features/" }))).toEqual([]);
  } finally {
    await server.close();
  }
});

Deno.test("serverless example: configuration errors name the environment variable to set, not a code option", async () => {
  const { server, env } = await setup();
  try {
    const error = async (extra: PreprocessEnv) => {
      const res = await createPreprocessApp({ ...env, ...extra }).request("/preprocess?rank=0&worldSize=1", {
        method: "POST",
      });
      expect(res.status).toBe(500);
      return ((await res.json()) as { error: string }).error;
    };
    const accelerate = "https://oss-accelerate.aliyuncs.com";
    expect(await error({ OSS_ENDPOINT: accelerate })).toBe(
      `configuration: OSS_REGION not set, and OSS_ENDPOINT ${accelerate} names no region: set OSS_REGION (e.g. cn-hangzhou)`,
    );
    expect(await error({ OSS_ENDPOINT: "ftp://oss.example.com" })).toMatch(
      /^configuration: OSS_ENDPOINT: invalid endpoint "ftp:\/\/oss.example.com": expected http:\/\/ or https:\/\//,
    );
    expect(await error({ OSS_BUCKET: "" })).toBe(
      "configuration: OSS_BUCKET not set (environment variables or Worker bindings)",
    );
  } finally {
    await server.close();
  }
});

Deno.test("serverless example: PREPROCESS_TOKEN requires a bearer token", async () => {
  const { server, env } = await setup();
  try {
    const app = createPreprocessApp({ ...env, PREPROCESS_TOKEN: "let-me-in" });
    const without = await app.request("/preprocess?rank=0&worldSize=1", { method: "POST" });
    expect(without.status).toBe(401);
    await without.body?.cancel();
    const wrong = await app.request("/preprocess?rank=0&worldSize=1", {
      method: "POST",
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    const ok = await app.request("/preprocess?rank=0&worldSize=1", {
      method: "POST",
      headers: { authorization: "Bearer let-me-in" },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as ShardSummary).objects).toBe(COUNT);
  } finally {
    await server.close();
  }
});

const WORKERD_BIN = new URL("../.runtimes/node_modules/.bin/workerd", import.meta.url);

Deno.test(needs(WORKERD, {
  name: "serverless example: deployed as-is to workerd (Cloudflare's runtime) with bindings, every rank",
  async fn() {
    const { server, client, want, env } = await setup();
    const dir = await Deno.makeTempDir({ prefix: "ossflow-serverless-" });
    let child: Deno.ChildProcess | undefined;
    try {
      const bundle = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--quiet",
          "--platform=browser",
          "--format=esm",
          "--output",
          `${dir}/worker.js`,
          "examples/serverless_preprocess.ts",
        ],
        cwd: new URL("..", import.meta.url),
      }).output();
      expect(bundle.code).toBe(0);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      const bindings = Object.entries(env).map(([name, text]) =>
        `(name = "${name}", text = ${JSON.stringify(text)})`
      );
      await Deno.writeTextFile(
        `${dir}/config.capnp`,
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .w), (name = "loopback", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const w :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  globalOutbound = "loopback",
  bindings = [${bindings.join(", ")}],
);
`,
      );
      child = new Deno.Command(WORKERD_BIN, {
        args: ["serve", `${dir}/config.capnp`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0;; i++) {
        try {
          await (await fetch(base)).body?.cancel();
          break;
        } catch (e) {
          if (i > 300) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const summaries = await Promise.all([0, 1, 2].map(async (rank) => {
        const res = await fetch(`${base}/preprocess?rank=${rank}&worldSize=3`, { method: "POST" });
        expect(res.status).toBe(200);
        return (await res.json()) as ShardSummary;
      }));
      const rows = (await Promise.all(summaries.map((s) => readShard(client, s.output)))).flat();
      expect(rows.map((r) => r.key).sort()).toEqual([...want.keys()].sort());
      for (const row of rows) expect(row).toEqual(want.get(row.key));
      const bad = await fetch(`${base}/preprocess?rank=3&worldSize=3`, { method: "POST" });
      expect({ status: bad.status, body: await bad.json() }).toEqual({
        status: 400,
        body: { error: "rank: expected an integer from 0 to 2 (worldSize - 1), got 3" },
      });
    } finally {
      if (child) {
        child.kill("SIGTERM");
        await child.status;
      }
      await Deno.remove(dir, { recursive: true });
      await server.close();
    }
  },
}));

Deno.test("serverless example: run as main, it listens on PORT and answers with the configuration from the environment", async () => {
  const { server, client, want, env } = await setup();
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "examples/serverless_preprocess.ts"],
    cwd: new URL("..", import.meta.url),
    env: { ...env, PORT: String(port), NO_COLOR: "1" }, // the port a hosting platform hands out
    stdin: "null",
    stdout: "null",
    stderr: "piped", // where Deno.serve says "Listening on ..."
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000); // never hang the suite
  try {
    let seen = "";
    let m: RegExpMatchArray | null = null;
    while (!(m = seen.match(/Listening on (http:\/\/[^/]+:(\d+))\//))) {
      const r = await lines.read();
      if (r.done) throw new Error(`the example exited before listening: ${seen}`);
      seen += r.value;
    }
    expect(Number(m[2])).toBe(port);
    const res = await fetch(`http://127.0.0.1:${port}/preprocess`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rank: 0, worldSize: 1 }),
    });
    const summary = (await res.json()) as ShardSummary;
    expect({ status: res.status, objects: summary.objects }).toEqual({ status: 200, objects: COUNT });
    const rows = await readShard(client, summary.output);
    expect(rows.map((r) => r.key).sort()).toEqual([...want.keys()].sort());
  } finally {
    clearTimeout(timer);
    child.kill("SIGTERM");
    await lines.cancel();
    await child.status;
    await server.close();
  }
});
