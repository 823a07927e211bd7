/**
 * Every TypeScript block of README.md, as a user would paste it: each is written to a file and run with
 * `deno run --check` against the local server, or only type-checked (`deno check`) when its first line says
 * `// Type-checked only: …` (it needs real OSS or a bundle). So that the blocks run unchanged, three things are
 * substituted, and nothing else:
 *
 * - the package specifiers `jsr:@ossflow/ossflow`, `@ossflow/ossflow` (and their subpaths, `/server`,
 *   `/shards`, …) become this checkout's modules as deno.json `exports` maps them;
 * - an OSS endpoint string literal, `"oss-<region>[-internal].aliyuncs.com"` with or without `https://`, becomes
 *   the local server's `http://127.0.0.1:PORT`, which names no region (the documented default applies);
 * - the credential file `/etc/oss/credentials.json` becomes a file holding the local server's key.
 *
 * The local server holds the buckets the README names (`my-bucket` with objects under `train/`, `datasets` with
 * objects under `pets/`). A block that serves (`Deno.serve`) is started with `PORT=0`, asked for a listing with
 * its token, then stopped. The `json` block of config.json is parsed by `parseConfig`.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { parseConfig } from "../src/config.ts";
import { serveEmulator } from "../src/server/mod.ts";

const ROOT = new URL("../", import.meta.url);
const DEV_CONFIG = new URL("deno.dev.json", ROOT).pathname;
const KEY = { accessKeyId: "LTAIreadme", accessKeySecret: "readme-test-secret" };
const TOKEN = "readme-preview-token";
const TYPE_CHECKED_ONLY = "// Type-checked only:";
/** deno.json `exports`: the subpath a block imports (`@ossflow/ossflow/shards`) → its module in this checkout. */
const EXPORTS: Record<string, string> = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).exports;

/** A fenced block of README.md: its language, first line number and text. */
interface Block {
  lang: string;
  line: number;
  code: string;
}

/** The fenced code blocks of a Markdown text, in order. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that is never closed`);
    blocks.push({ lang: open[1], line: i + 1, code: lines.slice(i + 1, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

/** The block with the package, the endpoint and the credential file pointed at this checkout and the server. */
function substitute(code: string, endpoint: string, credPath: string): string {
  return code
    .replace(
      /"(?:jsr:)?@ossflow\/ossflow(\/[a-z0-9/]+)?"/g,
      (_, sub) => JSON.stringify(new URL(EXPORTS[`.${sub ?? ""}`], ROOT).href),
    )
    .replace(/"(?:https:\/\/)?oss-[a-z0-9-]+\.aliyuncs\.com"/g, JSON.stringify(endpoint))
    .replaceAll('"/etc/oss/credentials.json"', JSON.stringify(credPath));
}

const README = await Deno.readTextFile(new URL("README.md", ROOT));
const BLOCKS = fencedBlocks(README);
const decoder = new TextDecoder();

Deno.test("README.md has TypeScript blocks, and those that are not run say why", () => {
  const ts = BLOCKS.filter((b) => b.lang === "ts");
  expect(ts.length).toBeGreaterThanOrEqual(6);
  for (const b of ts.filter((b) => b.code.startsWith(TYPE_CHECKED_ONLY))) {
    expect(b.code.split("\n")[0].length).toBeGreaterThan(TYPE_CHECKED_ONLY.length + 10); // the reason
  }
});

Deno.test("README.md's config.json example is a valid config, logLevel by name", () => {
  const json = BLOCKS.filter((b) => b.lang === "json");
  expect(json.length).toBe(1);
  const config = parseConfig(JSON.parse(json[0].code), `README.md:${json[0].line}`);
  expect(config.logLevel).toBe(1);
  expect(config.checkpointConfig.uploadConcurrency).toBe(64);
});

Deno.test("every TypeScript block of README.md runs against the local server (or type-checks)", async (t) => {
  const server = await serveEmulator({ buckets: ["my-bucket", "datasets"], credentials: [KEY] });
  const dir = await Deno.makeTempDir({ prefix: "ossflow-readme-" });
  try {
    const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: KEY });
    for (let i = 0; i < 8; i++) {
      await client.put("my-bucket", `train/${i}.bin`, new Uint8Array(1024).fill(i));
    }
    await client.put("datasets", "pets/README.txt", "pets for the preview\n");
    const credPath = `${dir}/credentials.json`;
    await Deno.writeTextFile(
      credPath,
      JSON.stringify({ AccessKeyId: KEY.accessKeyId, AccessKeySecret: KEY.accessKeySecret }),
    );

    for (const block of BLOCKS.filter((b) => b.lang === "ts")) {
      const checkOnly = block.code.startsWith(TYPE_CHECKED_ONLY);
      await t.step(`README.md:${block.line} ${checkOnly ? "type-checks" : "runs"}`, async () => {
        const file = `${dir}/block_${block.line}.ts`;
        await Deno.writeTextFile(file, substitute(block.code, server.url, credPath));
        const cmd = new Deno.Command(Deno.execPath(), {
          args: checkOnly
            ? ["check", "--config", DEV_CONFIG, file]
            : ["run", "--check", "--allow-all", "--config", DEV_CONFIG, file],
          cwd: dir,
          env: { PORT: "0", PREVIEW_TOKEN: TOKEN, NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        });
        if (!checkOnly && block.code.includes("Deno.serve(")) return await serving(cmd, block);
        const out = await cmd.output();
        const stderr = decoder.decode(out.stderr);
        expect({ block: block.line, code: out.code, stderr: out.success ? "" : stderr }).toEqual({
          block: block.line,
          code: 0,
          stderr: "",
        });
        expect(stderr).not.toMatch(/warn/i); // e.g. a prefix that matches nothing
      });
    }
    // What the blocks wrote is there.
    expect((await client.head("my-bucket", "ckpt/epoch-1.bin")).size).toBe(1 << 20);
    expect(await client.exists("my-bucket", "llm/model.safetensors")).toBe(true);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts a block that serves, waits for its address, lists `pets/` through it with the token, stops it. */
async function serving(cmd: Deno.Command, block: Block): Promise<void> {
  const child = cmd.spawn();
  const stdout = child.stdout.pipeTo(new WritableStream());
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    let address: string | undefined;
    while (address === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`README.md:${block.line} exited before listening:\n${seen}`);
      seen += value;
      address = /Listening on (http:\/\/[^/\s]+)\//.exec(seen)?.[1];
    }
    const res = await fetch(`${address}/api/list?prefix=pets/`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const listing = await res.json() as { objects: { key: string }[] };
    expect(res.status).toBe(200);
    expect(listing.objects.map((o) => o.key)).toEqual(["pets/README.txt"]);
  } finally {
    child.kill(); // the child this test started
    await child.status;
    await stdout;
    while (!(await reader.read()).done) { /* drain */ }
  }
}
