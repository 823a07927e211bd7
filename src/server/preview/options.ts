/**
 * Checking and defaulting the options of the preview app, and serving the browser bundle from a directory.
 * Internal: see `app.ts`.
 *
 * @module
 */
import type { Context } from "hono";
import { OssClient } from "../../client.ts";
import type { PreviewAppOptions, PreviewPresigner } from "./app.ts";
import type { PreviewLimits } from "./object.ts";

/** The options of `createPreviewApp`, checked and with defaults filled in. */
export interface ResolvedPreviewOptions {
  /** The client reads go through. */
  client: OssClient;
  /** Presigns browser URLs. */
  presigner: PreviewPresigner;
  /** The bucket. */
  bucket: string;
  /** Allowed key prefixes. */
  prefixes: string[];
  /** Accepted tokens (when no verifyToken). */
  tokens: string[];
  /** Custom token check. */
  verifyToken?: (token: string) => boolean | Promise<boolean>;
  /** CORS origins (`"*"`: any). */
  corsOrigins: string[] | "*";
  /** Default presign lifetime, s. */
  presignExpires: number;
  /** Longest presign lifetime, s. */
  maxPresignExpires: number;
  /** Preview byte limits. */
  limits: PreviewLimits;
  /** Default list page size. */
  listLimit: number;
  /** Page title. */
  title: string;
  /** What the page imports. */
  bundleUrl: string;
  /** Directory the app serves the bundle from, if any. */
  bundleDir?: URL;
}

const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

function fail(name: string, expected: string, got: unknown): never {
  const shown = typeof got === "string"
    ? JSON.stringify(got.length > 40 ? got.slice(0, 40) + "…" : got)
    : got === null || got === undefined || typeof got === "number"
    ? String(got)
    : Array.isArray(got)
    ? "an array"
    : `a ${typeof got}`;
  throw new TypeError(`createPreviewApp: ${name}: expected ${expected}, got ${shown}`);
}

function int(name: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(
      `createPreviewApp: ${name}: expected an integer from ${min} to ${max}, got ${
        typeof v === "number" ? v : typeof v
      }`,
    );
  }
  return v;
}

/**
 * Checks `opts` and fills in the defaults.
 *
 * @throws {TypeError} or {RangeError} naming the option and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveOptions } from "./options.ts";
 * const o = resolveOptions({
 *   client: { endpoint: "http://127.0.0.1:9000" },
 *   bucket: "data",
 *   prefixes: ["train/"],
 *   token: "t0ken",
 * });
 * expect([o.maxPresignExpires, o.limits.previewBytes]).toEqual([900, 65536]);
 * ```
 */
export function resolveOptions(opts: PreviewAppOptions): ResolvedPreviewOptions {
  if (opts === null || typeof opts !== "object") fail("options", "an options object", opts);
  const c = opts.client as unknown;
  if (c === null || typeof c !== "object") fail("client", "an OssClient or OssClient options", c);
  const client = typeof (c as OssClient).listPage === "function"
    ? c as OssClient
    : new OssClient(c as ConstructorParameters<typeof OssClient>[0]);
  const presigner = opts.presigner ?? client;
  if (typeof presigner?.presignUrl !== "function") fail("presigner", "an object with presignUrl", presigner);
  if (typeof opts.bucket !== "string" || opts.bucket === "" || opts.bucket.includes("/")) {
    fail("bucket", 'a bucket name without "/"', opts.bucket);
  }
  const prefixes = opts.prefixes;
  if (!Array.isArray(prefixes) || prefixes.length === 0) {
    fail("prefixes", 'a non-empty array of key prefixes (`[""]` for the whole bucket)', prefixes);
  }
  prefixes.forEach((p, i) => {
    if (typeof p !== "string") fail(`prefixes[${i}]`, "a string", p);
  });
  if ((opts.token === undefined) === (opts.verifyToken === undefined)) {
    fail("token", "either token or verifyToken (exactly one)", opts.token === undefined ? undefined : "both");
  }
  const tokens = opts.token === undefined ? [] : Array.isArray(opts.token) ? opts.token : [opts.token];
  if (opts.token !== undefined && tokens.length === 0) fail("token", "at least one token", opts.token);
  tokens.forEach((t, i) => {
    // The value is not shown: it is a secret.
    if (typeof t !== "string" || !TOKEN.test(t)) {
      throw new TypeError(
        `createPreviewApp: token${Array.isArray(opts.token) ? `[${i}]` : ""}: expected a bearer token ` +
          `(letters, digits and . _ ~ + / - only)`,
      );
    }
  });
  if (opts.verifyToken !== undefined && typeof opts.verifyToken !== "function") {
    fail("verifyToken", "a function", opts.verifyToken);
  }
  const origins = opts.corsOrigins ?? [];
  if (!Array.isArray(origins)) fail("corsOrigins", "an array of origins", origins);
  origins.forEach((o, i) => {
    if (o !== "*" && (typeof o !== "string" || URL.parse(o)?.origin !== o)) {
      fail(`corsOrigins[${i}]`, 'an origin such as "https://ui.example.com" (no path, no trailing slash)', o);
    }
  });
  const maxPresignExpires = int("maxPresignExpires", opts.maxPresignExpires, 1, 604800, 900);
  const presignExpires = int(
    "presignExpires",
    opts.presignExpires,
    1,
    maxPresignExpires,
    Math.min(300, maxPresignExpires),
  );
  const { bundleUrl, bundleDir } = resolveBundle(opts.bundle);
  if (opts.title !== undefined && typeof opts.title !== "string") fail("title", "a string", opts.title);
  return {
    client,
    presigner,
    bucket: opts.bucket,
    prefixes: [...prefixes],
    tokens,
    verifyToken: opts.verifyToken,
    corsOrigins: origins.includes("*") ? "*" : [...origins],
    presignExpires,
    maxPresignExpires,
    limits: {
      previewBytes: int("previewBytes", opts.previewBytes, 1, 64 * 1024 ** 2, 65536),
      hexBytes: int("hexBytes", opts.hexBytes, 1, 65536, 256),
      maxImageBytes: int("maxImageBytes", opts.maxImageBytes, 0, Number.MAX_SAFE_INTEGER, 16 * 1024 ** 2),
    },
    listLimit: int("listLimit", opts.listLimit, 1, 1000, 100),
    title: opts.title ?? "ossflow preview",
    bundleUrl,
    bundleDir,
  };
}

function resolveBundle(bundle: PreviewAppOptions["bundle"]): { bundleUrl: string; bundleDir?: URL } {
  if (bundle === undefined) {
    const dir = new URL("../../../dist/", import.meta.url);
    return { bundleUrl: "./ossflow.js", bundleDir: dir.protocol === "file:" ? dir : undefined };
  }
  if (bundle !== null && typeof bundle === "object" && "url" in bundle) {
    if (typeof bundle.url !== "string" || bundle.url === "") fail("bundle.url", "a URL", bundle.url);
    return { bundleUrl: bundle.url };
  }
  if (bundle !== null && typeof bundle === "object" && "dir" in bundle) {
    const raw = String(bundle.dir);
    const dir = directoryUrl(raw.endsWith("/") || raw.endsWith("\\") ? raw : raw + "/");
    if (!dir || !["file:", "http:", "https:"].includes(dir.protocol)) {
      fail("bundle.dir", "a directory: a path, or a file: or http(s): URL", bundle.dir);
    }
    return { bundleUrl: "./ossflow.js", bundleDir: dir };
  }
  return fail("bundle", "{ dir } or { url }", bundle);
}

/** The current directory as a `file:` URL (Deno, Node, Bun), or undefined where there is none (browsers, workerd). */
function cwdUrl(): URL | undefined {
  const g = globalThis as { Deno?: { cwd(): string }; process?: { cwd?(): string } };
  const cwd = g.Deno?.cwd() ?? g.process?.cwd?.();
  return cwd === undefined ? undefined : pathToFileUrl(cwd.endsWith("/") ? cwd : cwd + "/");
}

/** An absolute path (POSIX, or Windows `C:\…`) as a `file:` URL, each segment percent-encoded. */
function pathToFileUrl(path: string): URL {
  const slashed = path.replaceAll("\\", "/");
  const rooted = /^[A-Za-z]:\//.test(slashed) ? "/" + slashed : slashed;
  return new URL(
    "file://" + rooted.split("/").map((seg) => encodeURIComponent(seg)).join("/").replace(
      /^\/([A-Za-z])%3A/,
      "/$1:",
    ),
  );
}

/**
 * A directory given as a URL (`file:`, `http(s):`) or a path: absolute (`/srv/dist/`, `C:\dist\`) or relative
 * to the current directory (`dist/`, `./dist/`). Undefined when it is neither.
 */
function directoryUrl(raw: string): URL | undefined {
  if (/^[A-Za-z]:[\\/]/.test(raw) || raw.startsWith("/")) return pathToFileUrl(raw);
  const url = URL.parse(raw);
  if (url) return url;
  const cwd = cwdUrl();
  if (cwd === undefined) return undefined;
  return new URL(raw.replaceAll("\\", "/").split("/").map((seg) => encodeURIComponent(seg)).join("/"), cwd);
}

/**
 * A Hono handler serving `:file` of the bundle directory (read with `fetch`: `file:` URLs work in Deno and Bun).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Hono } from "hono";
 * import { bundleRoute } from "./options.ts";
 * const app = new Hono().get("/:file{ossflow\\.js}", bundleRoute(new URL("file:///nowhere/")));
 * expect((await app.request("/ossflow.js")).status).toEqual(404);
 * ```
 */
export function bundleRoute(dir: URL): (c: Context) => Promise<Response> {
  return async (c) => {
    const file = c.req.param("file") ?? "";
    let res: Response | undefined;
    try {
      res = await fetch(new URL(file, dir));
    } catch {
      res = undefined;
    }
    if (!res?.ok) {
      await res?.body?.cancel();
      return c.text(`${file} not found: build the browser bundle with \`deno task build\``, 404);
    }
    return new Response(res.body, {
      headers: {
        "content-type": file.endsWith(".map") ? "application/json" : "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    });
  };
}
