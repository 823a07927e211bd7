/**
 * The npm package as a Node.js user gets it: `deno task build:npm`, `npm pack`, the tarball installed into a
 * scratch Node project (its dependencies from the npm registry), a TypeScript consumer type-checked against the
 * package's .d.ts files by `tsc --noEmit`, the runtime smoke test (tests/runtimes/smoke.mjs) importing the
 * package by name in Node and Bun, and an app bundled by esbuild with the prefetch worker as an entry of its
 * own, run in Deno and Bun with its transform inside those workers. Against the local server.
 */
import { expect } from "expect";
import { serveEmulator } from "../src/server/mod.ts";
import { BUN, needs, NODE } from "./needs.ts";

const ROOT = new URL("../", import.meta.url);
const BUN_BIN = new URL(".runtimes/node_modules/.bin/bun", ROOT).pathname;
/** The consumer's tools, from the npm registry. */
const CONSUMER_TOOLS = ["typescript@7.0.2", "esbuild@0.28.2"];
const CREDS = { accessKeyId: "LTAInpmpackage", accessKeySecret: "npm-package-secret-42" };
const BUCKET = "npm";
const PACKAGE = "@ossflow/ossflow";

const decoder = new TextDecoder();

/** Runs a command to completion; throws with its output when it fails. */
async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const stdout = decoder.decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}):\n${stdout}\n${decoder.decode(out.stderr)}`,
    );
  }
  return stdout;
}

/** The JSON after `marker` on the line of stdout that starts with it. */
function resultLine<T>(stdout: string, marker: string): T {
  const line = stdout.split("\n").find((l) => l.startsWith(`${marker} `));
  if (!line) throw new Error(`no ${marker} line in:\n${stdout}`);
  return JSON.parse(line.slice(marker.length + 1));
}

/** Every `.js` file under `dir`, as paths relative to it. */
async function jsFiles(dir: string, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${sub}`)) {
    const path = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await jsFiles(dir, path));
    else if (e.name.endsWith(".js")) out.push(path);
  }
  return out;
}

/** A TypeScript consumer of the root export and three subpaths; the last line must not type-check. */
const CONSUMER_TS = `import { type DataObject, OssClient, OssIterableDataset } from "${PACKAGE}";
import { crc64 } from "${PACKAGE}/crc64";
import { createEmulator, type RunningEmulator } from "${PACKAGE}/server";
import { MemoryStore } from "${PACKAGE}/server/store";

const credentials = { accessKeyId: "LTAIexample", accessKeySecret: "example" };
const dataset = OssIterableDataset.fromPrefix("oss://bucket/train/", {
  endpoint: "http://127.0.0.1:9000",
  region: "cn-hangzhou",
  credentials,
  prefetchWorker: 2,
  prefetchWorkerUrl: new URL("./prefetch_worker.js", import.meta.url),
  transform: async (item: DataObject) => (await item.bytes()).length,
});
for await (const size of dataset) {
  const n: number = size;
  console.log(n);
}
const digest: string = await crc64(new Uint8Array(3));
const app = createEmulator({ buckets: ["data"], store: new MemoryStore() });
const res: Response = await app.fetch(new Request("http://local/data/k"));
const server: RunningEmulator | undefined = undefined;
console.log(digest, res.status, server, new OssClient({ endpoint: "http://127.0.0.1:9000", credentials }));
// @ts-expect-error: endpoint is a string, not a number (the types are real, not any)
new OssClient({ endpoint: 9000 });
`;

const TSCONFIG = {
  compilerOptions: {
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    lib: ["es2023", "dom", "dom.iterable"],
    types: [],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ["consumer.ts"],
};

/** The local server's Hono app, without Deno.serve: a PUT, then a GET with its CRC-64. */
const SERVER_APP = `import { createEmulator } from "${PACKAGE}/server";
const app = createEmulator({ buckets: ["data"] });
const put = await app.fetch(new Request("http://local/data/k", { method: "PUT", body: "hello" }));
const got = await app.fetch(new Request("http://local/data/k"));
const get = [got.status, await got.text(), got.headers.get("x-oss-hash-crc64ecma")];
console.log("SERVER_RESULT " + JSON.stringify({ put: put.status, get }));
`;

/** A bundled app: a dataset pass whose transform module runs in 2 prefetch workers started from beside it. */
const APP = `import { OssIterableDataset } from "${PACKAGE}";
globalThis.mainThread = true;
const g = globalThis;
const cfg = JSON.parse(g.Deno ? g.Deno.args[0] : g.process.argv[2]);
const warnings = [];
const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m), async flush() {} };
const dataset = OssIterableDataset.fromPrefix(cfg.uri, {
  ...cfg.options,
  prefetchWorker: 2,
  prefetchWorkerUrl: new URL("./prefetch_worker.js", import.meta.url),
  transform: new URL("./transform.mjs", import.meta.url),
  logger,
});
const items = [];
for await (const item of dataset) items.push(item);
console.log("APP_RESULT " + JSON.stringify({ items, warnings }));
if (g.Deno) g.Deno.exit(0); else g.process.exit(0);
`;
const TRANSFORM = `export default async (item) => ({
  key: item.key,
  size: (await item.bytes()).length,
  mainThread: globalThis.mainThread === true,
});
`;

interface SmokeResult {
  ok: boolean;
  steps: { name: string; ok: boolean; error?: string }[];
  env: { worker: boolean; prefetchWorkers: number };
}

Deno.test(needs([NODE, BUN], {
  name:
    "the npm package installs from its tarball, type-checks with tsc, passes the smoke test in Node and Bun, " +
    "and bundles with esbuild, prefetch worker included",
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "ossflow-npm-" });
    const server = await serveEmulator({ buckets: [BUCKET], credentials: [CREDS] });
    const options = { endpoint: server.url, region: "cn-hangzhou", credentials: CREDS };
    const pkgDir = `${work}/package`;
    const app = `${work}/app`;
    try {
      await t.step(
        "deno task build:npm: package.json from deno.json, ES modules and .d.ts, no node: imports",
        async () => {
          await run(Deno.execPath(), ["task", "build:npm", "--out", pkgDir], ROOT.pathname);
          const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
          const pkg = JSON.parse(await Deno.readTextFile(`${pkgDir}/package.json`));
          expect(pkg).toMatchObject({
            name: deno.name,
            version: deno.version,
            type: "module",
            sideEffects: false,
          });
          for (const [key, path] of Object.entries(deno.exports as Record<string, string>)) {
            const entry = { types: path.replace(/\.ts$/, ".d.ts"), default: path.replace(/\.ts$/, ".js") };
            expect(pkg.exports[key]).toEqual(entry);
            for (const file of Object.values(entry)) await Deno.stat(`${pkgDir}/${file}`);
          }
          for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>)) {
            expect(deno.imports[name]).toBe(`npm:${name}@${version}`);
          }
          const files = await jsFiles(pkgDir);
          expect(files).toContain("workers/prefetch_worker.js");
          for (const file of files) {
            const code = await Deno.readTextFile(`${pkgDir}/${file}`);
            expect({ file, node: code.match(/\b(?:from|import)\s*\(?\s*["']node:[^"']*["']/g) }).toEqual({
              file,
              node: null,
            });
          }
        },
      );

      let tarball = "";
      await t.step("npm pack, then npm install of the tarball into a scratch project", async () => {
        const [packed] = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", work], pkgDir));
        const names = (packed.files as { path: string }[]).map((f) => f.path);
        for (
          const file of ["package.json", "README.md", "LICENSE", "mod.js", "mod.d.ts", "dist/ossflow.js"]
        ) {
          expect(names).toContain(file);
        }
        tarball = `${work}/${packed.filename}`;
        await Deno.mkdir(app);
        await Deno.writeTextFile(`${app}/package.json`, JSON.stringify({ private: true, type: "module" }));
        await run("npm", ["install", "--no-audit", "--no-fund", tarball, ...CONSUMER_TOOLS], app);
      });

      await t.step("tsc --noEmit type-checks a TypeScript consumer against the .d.ts files", async () => {
        await Deno.writeTextFile(`${app}/consumer.ts`, CONSUMER_TS);
        await Deno.writeTextFile(`${app}/tsconfig.json`, JSON.stringify(TSCONFIG));
        expect(await run(`${app}/node_modules/.bin/tsc`, ["--noEmit", "-p", "."], app)).toBe("");
      });

      await t.step(
        "the ./server export: createEmulator's fetch handler serves a PUT and a GET in Node and Bun",
        async () => {
          await Deno.writeTextFile(`${app}/server.mjs`, SERVER_APP);
          for (const bin of ["node", BUN_BIN]) {
            expect({ bin, ...resultLine<object>(await run(bin, ["server.mjs"], app), "SERVER_RESULT") })
              .toEqual({
                bin,
                put: 200,
                get: [200, "hello", "11177612005948864433"],
              });
          }
        },
      );

      await Deno.copyFile(new URL("runtimes/smoke.mjs", import.meta.url), `${app}/smoke.mjs`);
      await Deno.copyFile(new URL("runtimes/cli_entry.mjs", import.meta.url), `${app}/cli_entry.mjs`);
      for (const [runtime, bin] of [["node", "node"], ["bun", BUN_BIN]]) {
        await t.step(`the runtime smoke test imports "${PACKAGE}" in ${runtime}`, async () => {
          const cfg = { bundle: PACKAGE, ...options, ...CREDS, bucket: BUCKET, prefix: `smoke-${runtime}/` };
          const result = resultLine<SmokeResult>(
            await run(bin, ["cli_entry.mjs", JSON.stringify(cfg)], app),
            "SMOKE_RESULT",
          );
          expect(result.steps.filter((s) => !s.ok)).toEqual([]);
          expect(result.ok).toBe(true);
          // Bun has Web Workers: they start from the package's workers/prefetch_worker.js.
          expect(result.env.prefetchWorkers).toBe(runtime === "bun" ? 2 : 0);
        });
      }

      await t.step(
        "esbuild bundles an app and the prefetch worker; Deno and Bun run it with workers",
        async () => {
          await Deno.writeTextFile(`${app}/app.mjs`, APP);
          await run(`${app}/node_modules/.bin/esbuild`, [
            "app.mjs",
            `node_modules/${PACKAGE}/workers/prefetch_worker.js`,
            "--bundle",
            "--format=esm",
            "--platform=browser",
            "--entry-names=[name]",
            "--outdir=out",
            "--log-level=error",
          ], app);
          await Deno.writeTextFile(`${app}/out/transform.mjs`, TRANSFORM);
          await Deno.remove(`${app}/node_modules`, { recursive: true }); // the bundle needs nothing from there
          const client = (await import("../src/client.ts")).OssClient;
          const writer = new client(options);
          for (
            const [runtime, cmd] of [
              ["deno", [
                Deno.execPath(),
                "run",
                "--no-config",
                "--no-lock",
                "--allow-net=127.0.0.1",
                `--allow-read=${app}`,
              ]],
              ["bun", [BUN_BIN]],
            ] as const
          ) {
            const prefix = `bundled-${runtime}/`;
            const sizes = [10, 2000, 70_000];
            for (const [i, size] of sizes.entries()) {
              await writer.put(BUCKET, `${prefix}${i}.bin`, new Uint8Array(size));
            }
            const cfg = { uri: `oss://${BUCKET}/${prefix}`, options };
            const out = await run(cmd[0], [...cmd.slice(1), "out/app.js", JSON.stringify(cfg)], app);
            const result = resultLine<{ items: unknown[]; warnings: string[] }>(out, "APP_RESULT");
            expect({ runtime, ...result }).toEqual({
              runtime,
              items: sizes.map((size, i) => ({ key: `${prefix}${i}.bin`, size, mainThread: false })),
              warnings: [],
            });
          }
        },
      );
    } finally {
      await server.close();
      await Deno.remove(work, { recursive: true });
    }
  },
}));
