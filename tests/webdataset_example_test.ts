/**
 * examples/webdataset_shards.ts, run as a user runs it (its own process): it packs a prefix of small objects
 * into tar shards and reads them back across ranks. Against a server of the test's, GNU tar then lists every
 * shard it wrote.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const EXAMPLE = new URL("../examples/webdataset_shards.ts", import.meta.url).pathname;
const CREDS = { accessKeyId: "example-test-key", accessKeySecret: "example-test-secret" };

async function runExample(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", EXAMPLE, ...args], env })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the shards example packs 120 samples into shards of 25 and three ranks read each object once", async () => {
  const { code, stdout, stderr } = await runExample(["--samples=120", "--per-shard=25", "--world=3"], {
    OSS_ENDPOINT: "",
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toMatch(/^packed 240 objects as 5 shards \(\d+\.\d MiB\)$/m);
  const ranks = [...stdout.matchAll(/^rank \d of 3: (\d+) samples$/gm)].map((m) => Number(m[1]));
  expect([ranks.length, ranks.reduce((a, b) => a + b, 0)]).toEqual([3, 120]);
  expect(stdout).toMatch(/^verified: all 240 objects read back once from the shards, byte for byte$/m);
});

Deno.test("the shards the example writes to a given store are tar archives GNU tar lists, every object once", async () => {
  const server = await serveEmulator({ buckets: ["corpus"], credentials: [CREDS] });
  try {
    const client = new OssClient({ endpoint: server.url, credentials: CREDS });
    const names: string[] = [];
    for (let i = 0; i < 30; i++) {
      const stem = `doc_${String(i).padStart(3, "0")}`;
      await client.put("corpus", `in/${stem}.txt`, `document ${i}`);
      await client.put("corpus", `in/${stem}.cls`, String(i % 4));
      names.push(`${stem}.cls`, `${stem}.txt`);
    }
    const { code, stderr } = await runExample(["--per-shard=8", "--world=2"], {
      OSS_ENDPOINT: server.url,
      OSS_ACCESS_KEY_ID: CREDS.accessKeyId,
      OSS_ACCESS_KEY_SECRET: CREDS.accessKeySecret,
      OSS_SOURCE_PREFIX: "oss://corpus/in/",
      OSS_SHARD_PREFIX: "oss://corpus/out/",
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const shards = (await Array.fromAsync(client.list("corpus", { prefix: "out/" }))).map((o) => o.key)
      .filter((k) => k.endsWith(".tar"));
    expect(shards).toEqual([
      "out/shard-000000.tar",
      "out/shard-000001.tar",
      "out/shard-000002.tar",
      "out/shard-000003.tar",
    ]);
    const listed: string[] = [];
    for (const key of shards) {
      const tar = new Deno.Command("tar", { args: ["-tf", "-"], stdin: "piped", stdout: "piped" }).spawn();
      const w = tar.stdin.getWriter();
      await w.write((await client.getBytes("corpus", key)).bytes);
      await w.close();
      const out = await tar.output();
      expect(out.code).toBe(0);
      listed.push(...new TextDecoder().decode(out.stdout).trim().split("\n"));
    }
    expect(listed.sort()).toEqual(names.sort());
  } finally {
    await server.close();
  }
});
