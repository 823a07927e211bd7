/**
 * `deno task build:npm [--out DIR]`: the npm package for Node.js, Bun and bundlers, in `dist/npm/` by default:
 *
 * - `package.json`: name, version and license from deno.json; an `exports` entry (types and code) for each of
 *   deno.json's `exports`, plus the prefetch worker; `dependencies`: the npm packages the library's modules
 *   import, pinned to the versions of deno.json's import map; `type: module`, `engines`, `sideEffects: false`.
 * - every module the exports and the prefetch worker reach (found with `deno info`), transpiled file by file by
 *   TypeScript's compiler into ES2022 modules beside their `.d.ts` declarations, generated per file too
 *   (`isolatedDeclarations`: the explicit types that JSR's "no slow types" already demands make that
 *   possible). Relative `.ts` specifiers become `.js`, also in `new URL("….ts", import.meta.url)`;
 * - the browser bundle in `dist/` (as `deno task build` makes it; the preview app serves it), README.md and
 *   LICENSE.
 *
 * It fails on a module outside the repository, a `node:` import, or a declaration TypeScript cannot emit from
 * its file alone, and prints the package's size.
 *
 * @module
 */
import ts from "typescript";
import { build as buildBrowser, nodeImports } from "./build.ts";

const ROOT = new URL("../", import.meta.url);
/** The prefetch worker: started by URL (src/dataset/fetcher.ts), so no import reaches it. */
const WORKER = "./workers/prefetch_worker.ts";
/** Node.js ≥ 20.16: `process.getBuiltinModule` (src/fs.ts). */
const ENGINES = { node: ">=20.16" };
const DESCRIPTION =
  "Stream machine-learning datasets and checkpoints from Alibaba Cloud OSS and S3-compatible " +
  "stores with Web Platform APIs only (fetch, Web Streams, WebCrypto, Web Workers).";

/** The parts of deno.json the package is made from. */
export interface DenoConfig {
  name: string;
  version: string;
  license?: string;
  exports: string | Record<string, string>;
  imports?: Record<string, string>;
}

/** What a build wrote. */
export interface NpmBuild {
  /** The package directory. */
  dir: URL;
  /** Its package.json. */
  packageJson: Record<string, unknown>;
  /** Modules transpiled (each as `.js` and `.d.ts`). */
  modules: number;
  /** Bytes of every file written. */
  bytes: number;
}

interface ModuleGraph {
  /** Repository-relative paths of the local modules, e.g. `src/client.ts`. */
  local: Set<string>;
  /** npm package name → version, of the packages the local modules import. */
  npm: Map<string, string>;
}

interface DenoInfo {
  modules: { kind: string; specifier: string; npmPackage?: string; error?: string }[];
  npmPackages: Record<string, { name: string; version: string }>;
}

/** deno.json's `exports` as a map (`"./mod.ts"` alone means `{ ".": "./mod.ts" }`). */
export function exportMap(config: DenoConfig): Record<string, string> {
  return typeof config.exports === "string" ? { ".": config.exports } : config.exports;
}

/** `./src/server/mod.ts` → `./src/server/mod.js` (or `.d.ts`). */
function emitted(path: string, ext: ".js" | ".d.ts"): string {
  if (!path.endsWith(".ts")) throw new Error(`build:npm: expected a .ts module, got "${path}"`);
  return path.slice(0, -".ts".length) + ext;
}

/** The package.json of the package, from deno.json and the npm packages the modules import. */
export function packageJson(config: DenoConfig, npm: Map<string, string>): Record<string, unknown> {
  const exports: Record<string, unknown> = {};
  for (const [key, path] of Object.entries(exportMap(config))) {
    exports[key] = { types: emitted(path, ".d.ts"), default: emitted(path, ".js") };
  }
  const worker = emitted(WORKER, ".js");
  exports[worker] = worker;
  exports["./package.json"] = "./package.json";
  const main = exportMap(config)["."];
  return {
    name: config.name,
    version: config.version,
    description: DESCRIPTION,
    license: config.license,
    type: "module",
    ...(main ? { main: emitted(main, ".js"), types: emitted(main, ".d.ts") } : {}),
    exports,
    sideEffects: false,
    engines: ENGINES,
    dependencies: Object.fromEntries([...npm].sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The local modules and npm packages that `entry` reaches, as Deno resolves them with the root config. */
async function graphOf(entry: string, into: ModuleGraph): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`build:npm: deno info ${entry} failed:\n${text.decode(out.stderr)}`);
  const info = JSON.parse(text.decode(out.stdout)) as DenoInfo;
  for (const m of info.modules) {
    if (m.error) throw new Error(`build:npm: ${m.specifier}: ${m.error}`);
    if (m.kind === "npm") {
      const pkg = info.npmPackages[m.npmPackage!];
      const pinned = into.npm.get(pkg.name);
      if (pinned && pinned !== pkg.version) {
        throw new Error(
          `build:npm: ${pkg.name} is imported at ${pinned} and ${pkg.version}; pin one version`,
        );
      }
      into.npm.set(pkg.name, pkg.version);
    } else if (m.kind === "esm" && m.specifier.startsWith(ROOT.href)) {
      into.local.add(m.specifier.slice(ROOT.href.length));
    } else {
      throw new Error(
        `build:npm: ${entry} reaches ${m.specifier} (${m.kind}); the package holds only the repository's ` +
          `modules and npm packages (no node:, jsr: or remote imports in the library)`,
      );
    }
  }
}

/** Whether `node` is `new URL(<string>, import.meta.url)`. */
function isModuleRelativeUrl(node: ts.Node): node is ts.NewExpression {
  if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== "URL") {
    return false;
  }
  const [first, base] = node.arguments ?? [];
  return first !== undefined && ts.isStringLiteral(first) && base !== undefined &&
    ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression) && base.name.text === "url";
}

/**
 * The source with every relative `.ts` module specifier (imports, exports, `import()`, `import("…").T`) and
 * every `new URL("….ts", import.meta.url)` ending in `.js` instead, as Node.js and bundlers look for the
 * emitted files. Other specifiers (npm packages, non-`.ts` URLs) stay as written.
 */
export function jsSpecifiers(source: string, fileName: string): string {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const literals: ts.StringLiteral[] = [];
  const visit = (node: ts.Node): void => {
    let literal: ts.Expression | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal = node.moduleSpecifier;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      literal = node.arguments[0];
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      literal = node.argument.literal;
    } else if (isModuleRelativeUrl(node)) literal = node.arguments![0];
    if (literal && ts.isStringLiteral(literal) && /^\.\.?\/.*\.ts$/.test(literal.text)) {
      literals.push(literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = source;
  for (const literal of literals.sort((a, b) => b.getStart(file) - a.getStart(file))) {
    const start = literal.getStart(file);
    const quote = source[start];
    out = out.slice(0, start) + quote + literal.text.slice(0, -".ts".length) + ".js" + quote +
      out.slice(literal.getEnd());
  }
  return out;
}

const JS_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  newLine: ts.NewLineKind.LineFeed,
};
/**
 * Declarations come from one program over every module rather than file by file (`transpileDeclaration`, which
 * in TypeScript 5.9 and 6.0 declares a `[Symbol.asyncIterator]()` method twice, once as a property). Still
 * `isolatedDeclarations`, so each file's declarations depend on that file alone, and `noCheck`: `deno check`
 * type-checks the sources; npm packages and Deno's types need not resolve here.
 */
const DTS_OPTIONS: ts.CompilerOptions = {
  ...JS_OPTIONS,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  declaration: true,
  emitDeclarationOnly: true,
  isolatedDeclarations: true,
  noCheck: true,
  skipLibCheck: true,
  types: [],
};

function diagnosticsText(diagnostics: readonly ts.Diagnostic[]): string {
  return diagnostics.map((d) => {
    const where = d.file && d.start !== undefined
      ? (({ line, character }) => `${d.file!.fileName}:${line + 1}:${character + 1}: `)(
        d.file.getLineAndCharacterOfPosition(d.start),
      )
      : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  }).join("\n");
}

/**
 * The modules (absolute path → source) as `.js` and `.d.ts` (absolute path of each output → text); throws on
 * what TypeScript cannot emit.
 */
export function transpile(sources: Map<string, string>): Map<string, string> {
  const rewritten = new Map([...sources].map(([path, source]) => [path, jsSpecifiers(source, path)]));
  const out = new Map<string, string>();
  const problems: ts.Diagnostic[] = [];
  for (const [path, source] of rewritten) {
    const js = ts.transpileModule(source, {
      compilerOptions: JS_OPTIONS,
      fileName: path,
      reportDiagnostics: true,
    });
    problems.push(...js.diagnostics ?? []);
    out.set(emitted(path, ".js"), js.outputText);
  }
  const host = ts.createCompilerHost(DTS_OPTIONS);
  const { getSourceFile, fileExists } = host;
  host.fileExists = (path) => rewritten.has(path) || fileExists(path);
  host.getSourceFile = (path, version, ...rest) => {
    const text = rewritten.get(path);
    return text === undefined
      ? getSourceFile(path, version, ...rest)
      : ts.createSourceFile(path, text, version, true);
  };
  host.writeFile = (path, text) => out.set(path, text);
  const program = ts.createProgram([...rewritten.keys()], DTS_OPTIONS, host);
  const emit = program.emit(undefined, undefined, undefined, true);
  problems.push(...program.getDeclarationDiagnostics(), ...emit.diagnostics);
  if (problems.length > 0) throw new Error(`build:npm:\n${diagnosticsText(problems)}`);
  for (const path of rewritten.keys()) {
    if (!out.has(emitted(path, ".d.ts"))) throw new Error(`build:npm: no declarations emitted for ${path}`);
  }
  return out;
}

async function write(dir: URL, path: string, text: string | Uint8Array): Promise<number> {
  const url = new URL(path, dir);
  await Deno.mkdir(new URL("./", url), { recursive: true });
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  await Deno.writeFile(url, bytes);
  return bytes.length;
}

/**
 * Writes the npm package into `dir` (emptied first).
 *
 * @example
 * ```ts ignore
 * import { buildNpm } from "./build_npm.ts";
 * const { packageJson, modules } = await buildNpm(new URL("../dist/npm/", import.meta.url));
 * console.log(packageJson.name, modules);
 * ```
 */
export async function buildNpm(dir: URL): Promise<NpmBuild> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as DenoConfig;
  const graph: ModuleGraph = { local: new Set(), npm: new Map() };
  for (const entry of [...Object.values(exportMap(config)), WORKER]) await graphOf(entry, graph);
  await Deno.remove(dir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  let bytes = 0;
  const sources = new Map<string, string>();
  for (const path of graph.local) {
    sources.set(new URL(path, ROOT).pathname, await Deno.readTextFile(new URL(path, ROOT)));
  }
  for (const [path, text] of transpile(sources)) {
    const bad = path.endsWith(".js") ? nodeImports(text) : [];
    if (bad.length > 0) throw new Error(`build:npm: ${path} imports Node built-ins: ${bad.join(", ")}`);
    bytes += await write(dir, path.slice(ROOT.pathname.length), text);
  }
  // The browser bundle, without its source maps (1.8 MB: four fifths of the package otherwise).
  const browser = new URL("dist/", dir);
  for (const file of await buildBrowser(browser)) {
    const code = await Deno.readTextFile(file.path);
    bytes += await write(
      browser,
      file.path.split("/").pop()!,
      code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n"),
    );
    await Deno.remove(`${file.path}.map`);
  }
  await Deno.remove(new URL("package.json", browser)); // the package's own says `type: module`
  for (const file of ["README.md", "LICENSE"]) {
    bytes += await write(dir, file, await Deno.readFile(new URL(file, ROOT)));
  }
  const pkg = packageJson(config, graph.npm);
  bytes += await write(dir, "package.json", JSON.stringify(pkg, null, 2) + "\n");
  return { dir, packageJson: pkg, modules: graph.local.size, bytes };
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--out");
  if (at >= 0 && !Deno.args[at + 1]) {
    console.error("--out: expected a directory");
    Deno.exit(2);
  }
  const started = performance.now();
  const out = at >= 0
    ? new URL(`${Deno.args[at + 1].replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`)
    : undefined;
  const result = await buildNpm(out ?? new URL("dist/npm/", ROOT));
  const deps = Object.entries(result.packageJson.dependencies as Record<string, string>);
  console.log(
    `${result.dir.pathname}: ${result.packageJson.name}@${result.packageJson.version}, ${result.modules} modules ` +
      `(.js + .d.ts), ${(result.bytes / 1024).toFixed(0)} KiB; dependencies: ${
        deps.map(([n, v]) => `${n}@${v}`).join(", ")
      }; built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
