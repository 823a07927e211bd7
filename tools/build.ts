/**
 * `deno task build`: bundles the library for browsers, workers, workerd, Bun and Node ≥ 20 with `deno bundle`
 * (esbuild underneath): `dist/ossflow.js` (ESM, every export of `mod.ts`) and `dist/prefetch_worker.js` (the
 * prefetch Web Worker, started from beside the bundle), each minified with a linked source map, plus a
 * `dist/package.json` marking them as ES modules for Node. Then it checks that the bundle imports no Node
 * built-in and prints the sizes.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const DIST = new URL("dist/", ROOT);

/** The worker URL as `src/dataset/fetcher.ts` builds it, relative to its own module. */
const WORKER_SOURCE_URL = `"../../workers/prefetch_worker.ts"`;
/**
 * Beside the bundle the worker is `./prefetch_worker.js`. Padded to the same length inside parentheses, so
 * that the source map's columns stay right.
 */
const WORKER_BUNDLE_URL = `("./prefetch_worker.js"`.padEnd(WORKER_SOURCE_URL.length - 1) + ")";

/** One output file of the build. */
export interface BuiltFile {
  /** Absolute path. */
  path: string;
  /** Bytes. */
  size: number;
  /** Bytes once gzipped (what a browser downloads from a server that compresses). */
  gzipSize: number;
}

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const zipped = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(zipped).arrayBuffer()).byteLength;
}

async function bundle(entry: string, out: URL): Promise<void> {
  const args = [
    "bundle",
    "--quiet",
    "--platform=browser",
    "--format=esm",
    "--minify",
    "--keep-names",
    "--sourcemap=linked",
    "--output",
    out.pathname,
    new URL(entry, ROOT).pathname,
  ];
  const run = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!run.success) throw new Error(`deno ${args.join(" ")} failed (exit code ${run.code})`);
}

/** Static imports of Node built-ins (`node:fs`, `fs`, ...) or `require()` calls: none may be left. */
export function nodeImports(code: string): string[] {
  const found = code.match(
    /\b(?:from|import)\s*\(?\s*["'](?:node:[\w/]+|fs|path|os|crypto|stream|buffer|util|events|http|https|net|url|zlib|worker_threads)["']|\brequire\(\s*["'][^"']+["']\s*\)/g,
  );
  return found ?? [];
}

/**
 * Builds `ossflow.js` and `prefetch_worker.js` in `dist` (default `dist/`); returns the files with their sizes.
 *
 * @example
 * ```ts ignore
 * import { build } from "./build.ts";
 * for (const f of await build()) console.log(f.path, f.size);
 * ```
 */
export async function build(dist: URL = DIST): Promise<BuiltFile[]> {
  await Deno.mkdir(dist, { recursive: true });
  await Promise.all([
    bundle("mod.ts", new URL("ossflow.js", dist)),
    bundle("workers/prefetch_worker.ts", new URL("prefetch_worker.js", dist)),
  ]);
  const main = new URL("ossflow.js", dist);
  let code = await Deno.readTextFile(main);
  const hits = code.split(WORKER_SOURCE_URL).length - 1;
  if (hits !== 1) {
    throw new Error(
      `build: expected the prefetch worker URL ${WORKER_SOURCE_URL} once in dist/ossflow.js, found it ${hits} ` +
        `times (did src/dataset/fetcher.ts change how it starts workers?)`,
    );
  }
  code = code.replace(WORKER_SOURCE_URL, WORKER_BUNDLE_URL);
  await Deno.writeTextFile(main, code);
  // Node < 20.19 and tools that follow Node's rules read a `.js` file as CommonJS unless told otherwise.
  await Deno.writeTextFile(new URL("package.json", dist), `{ "type": "module" }\n`);
  const files: BuiltFile[] = [];
  for (const name of ["ossflow.js", "prefetch_worker.js"]) {
    const url = new URL(name, dist);
    const bytes = await Deno.readFile(url);
    const bad = nodeImports(new TextDecoder().decode(bytes));
    if (bad.length > 0) throw new Error(`build: dist/${name} imports Node built-ins: ${bad.join(", ")}`);
    files.push({ path: url.pathname, size: bytes.length, gzipSize: await gzipSize(bytes) });
  }
  return files;
}

if (import.meta.main) {
  const started = performance.now();
  const files = await build();
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  for (const f of files) {
    console.log(`${f.path.replace(ROOT.pathname, "")}: ${kib(f.size)} (${kib(f.gzipSize)} gzipped)`);
  }
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
