/**
 * Serverless preprocessing: a Hono app that preprocesses one shard of a dataset per request — the fan-out
 * step of a pipeline where N function invocations (`rank` 0..N-1 of `worldSize` N) each take their share of
 * the objects under a source prefix, stream them from OSS with `OssIterableDataset`, compute per-object
 * features (size, SHA-256, mean byte value, line count), and write one JSON-lines result object per shard back
 * with an `OssCheckpoint` writer (a multipart upload that appears only when complete, so a retried invocation
 * never leaves a half-written shard behind).
 *
 * ```
 * POST /preprocess?rank=0&worldSize=3          (or a JSON body {"rank": 0, "worldSize": 3})
 * -> 200 {"rank": 0, "worldSize": 3, "objects": 14, "bytes": 52341, "output": "oss://bucket/out/shard-00000-of-00003.jsonl", ...}
 * -> 400 {"error": "rank: expected an integer from 0 to 2 (worldSize - 1), got 3"}
 * ```
 *
 * Configuration (environment variables on Deno Deploy, bindings / secrets on Cloudflare Workers):
 * `OSS_ENDPOINT`, `OSS_BUCKET`, `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET`, optional `OSS_SESSION_TOKEN`,
 * `OSS_REGION` (default: the endpoint's; needed for OSS endpoints that name none), `OSS_SIGNATURE_VERSION`
 * (`oss4` | `s3v4`), `SOURCE_PREFIX` (default `raw/`), `OUTPUT_PREFIX` (default `preprocessed/`), and
 * `PREPROCESS_TOKEN`: when set, requests need `Authorization: Bearer <token>`. `PORT` sets the port when run
 * with Deno (default 8000). Every object of the source is processed by exactly one rank (`evenShards: "none"`).
 *
 * Deploy as-is (no `node:*` imports; the library uses fetch, Web Streams and WebCrypto only):
 * - Deno / Deno Deploy: `deno run --allow-net --allow-env examples/serverless_preprocess.ts` serves
 *   `Deno.serve(app.fetch)` on `PORT` (default 8000) with the configuration from the environment (Deno's hint
 *   about `deno serve` can be ignored: run as main, the module serves itself).
 * - Cloudflare Workers: use this file as `main` in wrangler.toml; `export default { fetch }` reads the
 *   configuration from the Worker's bindings on each request.
 *
 * @module
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { ConfigError, envCredentials, OssCheckpoint, OssClient, OssIterableDataset } from "../mod.ts";

/** The configuration: environment variables (Deno) or bindings (Cloudflare Workers). */
export interface PreprocessEnv {
  OSS_ENDPOINT?: string;
  OSS_BUCKET?: string;
  OSS_ACCESS_KEY_ID?: string;
  OSS_ACCESS_KEY_SECRET?: string;
  OSS_SESSION_TOKEN?: string;
  OSS_REGION?: string;
  OSS_SIGNATURE_VERSION?: string;
  SOURCE_PREFIX?: string;
  OUTPUT_PREFIX?: string;
  PREPROCESS_TOKEN?: string;
}

/** What the app writes per source object, one JSON line each. */
export interface ObjectFeatures {
  /** Source key. */
  key: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /** Mean byte value (0..255), 0 for an empty object. */
  meanByte: number;
  /** Number of "\n"-terminated lines (plus one for a last unterminated line). */
  lines: number;
}

/** The JSON answer of `POST /preprocess`. */
export interface ShardSummary {
  rank: number;
  worldSize: number;
  /** Objects of this shard. */
  objects: number;
  /** Their bytes. */
  bytes: number;
  /** Where this shard's results went (`oss://bucket/<OUTPUT_PREFIX>shard-RRRRR-of-WWWWW.jsonl`). */
  output: string;
  /** Bytes of the result object. */
  outputBytes: number;
  /** Wall time of the request, ms. */
  ms: number;
}

/** A request the caller got wrong: answered with 400 and the message. */
class BadRequest extends Error {}

/** The settings of one request, checked. */
interface Settings {
  endpoint: string;
  bucket: string;
  region?: string;
  signatureVersion: "oss4" | "s3v4";
  sourcePrefix: string;
  outputPrefix: string;
  env: PreprocessEnv;
}

/** Reads the configuration; names the variable that is missing or malformed (never a secret's value). */
function settingsFrom(env: PreprocessEnv): Settings {
  const missing = (["OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"] as const)
    .filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `configuration: ${missing.join(", ")} not set (environment variables or Worker bindings)`,
    );
  }
  const sig = env.OSS_SIGNATURE_VERSION || "oss4";
  if (sig !== "oss4" && sig !== "s3v4") {
    throw new Error(
      `configuration: OSS_SIGNATURE_VERSION: expected "oss4" or "s3v4", got ${JSON.stringify(sig)}`,
    );
  }
  const prefix = (name: "SOURCE_PREFIX" | "OUTPUT_PREFIX", def: string) => {
    const p = env[name] || def;
    return p.endsWith("/") ? p : `${p}/`;
  };
  const s: Settings = {
    endpoint: env.OSS_ENDPOINT!,
    bucket: env.OSS_BUCKET!,
    region: env.OSS_REGION || undefined,
    signatureVersion: sig,
    sourcePrefix: prefix("SOURCE_PREFIX", "raw/"),
    outputPrefix: prefix("OUTPUT_PREFIX", "preprocessed/"),
    env,
  };
  if (s.outputPrefix.startsWith(s.sourcePrefix)) {
    throw new Error(
      `configuration: OUTPUT_PREFIX "${s.outputPrefix}" is inside SOURCE_PREFIX "${s.sourcePrefix}": results would be read back as input`,
    );
  }
  checkConnection(s);
  return s;
}

/**
 * Builds a client once (no request) so that a bad endpoint or a missing region is told now, in terms of the
 * variables that set them: the library's own messages name its code options (`{ region: … }`).
 */
function checkConnection(s: Settings): void {
  try {
    new OssClient({
      endpoint: s.endpoint,
      region: s.region,
      signatureVersion: s.signatureVersion,
      credentials: {
        accessKeyId: "unused",
        accessKeySecret: "unused",
      },
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (/region/.test(e.message) && s.region === undefined) {
      throw new Error(
        `configuration: OSS_REGION not set, and OSS_ENDPOINT ${s.endpoint} names no region: set OSS_REGION ` +
          `(e.g. cn-hangzhou)`,
      );
    }
    throw new Error(`configuration: OSS_ENDPOINT: ${e.message}`);
  }
}

const MAX_WORLD_SIZE = 100_000;

function integerParam(name: string, v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new BadRequest(`${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** `rank` and `worldSize` from the query string, else from a JSON body. */
async function shardOf(req: Request): Promise<{ rank: number; worldSize: number }> {
  const url = new URL(req.url);
  let rank: unknown = url.searchParams.get("rank") ?? undefined;
  let worldSize: unknown = url.searchParams.get("worldSize") ?? undefined;
  if (rank === undefined && worldSize === undefined && req.body !== null) {
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      throw new BadRequest('body: expected JSON like {"rank": 0, "worldSize": 3}');
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new BadRequest(
        `body: expected a JSON object like {"rank": 0, "worldSize": 3}, got ${JSON.stringify(body)}`,
      );
    }
    ({ rank, worldSize } = body as Record<string, unknown>);
  }
  if (rank === undefined || worldSize === undefined) {
    const which = [rank === undefined ? "rank" : "", worldSize === undefined ? "worldSize" : ""].filter(
      Boolean,
    );
    throw new BadRequest(
      `${which.join(" and ")} missing: pass ?rank=0&worldSize=3 or a JSON body {"rank": 0, "worldSize": 3}`,
    );
  }
  const w = integerParam("worldSize", worldSize);
  if (w < 1 || w > MAX_WORLD_SIZE) {
    throw new BadRequest(`worldSize: expected an integer from 1 to ${MAX_WORLD_SIZE}, got ${w}`);
  }
  const r = integerParam("rank", rank);
  if (r >= w) throw new BadRequest(`rank: expected an integer from 0 to ${w - 1} (worldSize - 1), got ${r}`);
  return { rank: r, worldSize: w };
}

/**
 * The per-object preprocessing: features of the bytes.
 *
 * @example
 * ```ts
 * import { features } from "./serverless_preprocess.ts";
 * const f = await features("a.txt", new TextEncoder().encode("a\nb\n"));
 * console.log(f.size, f.lines); // 4 2
 * ```
 */
export async function features(key: string, bytes: Uint8Array): Promise<ObjectFeatures> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let sum = 0, lines = 0;
  for (let i = 0; i < bytes.length; i++) {
    sum += bytes[i];
    if (bytes[i] === 10) lines++;
  }
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 10) lines++;
  return {
    key,
    size: bytes.length,
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    meanByte: bytes.length ? sum / bytes.length : 0,
    lines,
  };
}

/** Streams the shard's objects, preprocesses them, writes the result object; returns the summary. */
async function preprocessShard(s: Settings, rank: number, worldSize: number): Promise<ShardSummary> {
  const t0 = performance.now();
  const scheme = s.signatureVersion === "s3v4" ? "s3" : "oss";
  const connection = {
    endpoint: s.endpoint,
    region: s.region,
    credentials: envCredentials(s.env as Record<string, string | undefined>),
    signatureVersion: s.signatureVersion,
  };
  const dataset = OssIterableDataset.fromPrefix(`${scheme}://${s.bucket}/${s.sourcePrefix}`, {
    ...connection,
    rank,
    worldSize,
    evenShards: "none", // every object exactly once (training would pad shards to equal sizes)
    prefetchConcurrency: 8,
    prefetchWorker: 0, // serverless runtimes: one isolate, no Web Workers
    transform: async (item) => features(item.key, await item.bytes()),
  });
  const name = `shard-${String(rank).padStart(5, "0")}-of-${String(worldSize).padStart(5, "0")}.jsonl`;
  const output = `${scheme}://${s.bucket}/${s.outputPrefix}${name}`;
  let objects = 0, bytes = 0, outputBytes = 0;
  const encoder = new TextEncoder();
  const lines = ReadableStream.from((async function* () {
    for await (const f of dataset) {
      objects++;
      bytes += f.size;
      const line = encoder.encode(`${JSON.stringify(f)}\n`);
      outputBytes += line.length;
      yield line;
    }
  })());
  // Small parts and two uploads at once: memory stays within a serverless isolate's budget.
  const checkpoint = new OssCheckpoint({ ...connection, partSize: 5 * 1024 * 1024, uploadConcurrency: 2 });
  await lines.pipeTo(checkpoint.writer(output));
  return { rank, worldSize, objects, bytes, output, outputBytes, ms: Math.round(performance.now() - t0) };
}

/**
 * The configuration of a request without a fixed one: the Worker's bindings (Cloudflare passes them as the
 * second argument of `fetch`), else, in Deno (where that argument is the connection info), the environment.
 */
function bindingsOrProcessEnv(bindings: unknown): PreprocessEnv {
  if (bindings !== null && typeof bindings === "object" && "OSS_ENDPOINT" in bindings) {
    return bindings as PreprocessEnv;
  }
  const deno = (globalThis as { Deno?: { env: { toObject(): Record<string, string> } } }).Deno;
  return deno ? deno.env.toObject() : (bindings ?? {}) as PreprocessEnv;
}

/**
 * The app. With `env`, that configuration serves every request; without, each request reads the Worker's
 * bindings (`c.env`, Cloudflare Workers) or, in Deno, the environment.
 *
 * @example
 * ```ts ignore
 * const app = createPreprocessApp({ OSS_ENDPOINT: "https://oss-cn-hangzhou.aliyuncs.com", OSS_BUCKET: "my-bucket", ... });
 * const res = await app.request("/preprocess?rank=0&worldSize=4", { method: "POST" });
 * console.log(await res.json()); // { rank: 0, worldSize: 4, objects: ..., output: "oss://my-bucket/preprocessed/shard-00000-of-00004.jsonl" }
 * ```
 */
export function createPreprocessApp(env?: PreprocessEnv): Hono<{ Bindings: PreprocessEnv }> {
  const app = new Hono<{ Bindings: PreprocessEnv }>();
  const config = (c: { env: unknown }): PreprocessEnv => env ?? bindingsOrProcessEnv(c.env);

  app.use("/preprocess", async (c, next) => {
    const token = config(c).PREPROCESS_TOKEN;
    if (!token) return await next();
    return await bearerAuth<{ Bindings: PreprocessEnv }>({ token })(c, next);
  });

  app.get("/", (c) => {
    let s: Settings | undefined;
    try {
      s = settingsFrom(config(c));
    } catch { /* described below */ }
    return c.json({
      usage: 'POST /preprocess?rank=0&worldSize=3 (or a JSON body {"rank": 0, "worldSize": 3})',
      source: s ? `${s.bucket}/${s.sourcePrefix}` : "(not configured)",
      output: s ? `${s.bucket}/${s.outputPrefix}` : "(not configured)",
    });
  });

  app.post("/preprocess", async (c) => {
    let settings: Settings;
    try {
      settings = settingsFrom(config(c));
    } catch (e) {
      return c.json({ error: (e as Error).message }, 500);
    }
    let shard: { rank: number; worldSize: number };
    try {
      shard = await shardOf(c.req.raw);
    } catch (e) {
      if (e instanceof BadRequest) return c.json({ error: e.message }, 400);
      throw e;
    }
    try {
      // Not cancelled when the caller goes away: the shard is finished and its output stays usable (the
      // request's own signal is not used: Deno.serve aborts it after every response, with a warning).
      return c.json(await preprocessShard(settings, shard.rank, shard.worldSize));
    } catch (e) {
      // Library errors name the bucket/key and the OSS error code, never a credential.
      const err = e as Error;
      return c.json({ error: `${err.name}: ${err.message}`, ...shard }, 502);
    }
  });

  return app;
}

/** The deployed app: configured by the Worker's bindings (Cloudflare) or the environment (Deno). */
const app = createPreprocessApp();

/** Cloudflare Workers' entry point. */
export default { fetch: app.fetch };

/** The port to listen on: `PORT` (what hosting platforms set), else Deno.serve's default 8000. */
function portFromEnv(): number | undefined {
  const port = Deno.env.get("PORT");
  if (port === undefined || port === "") return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(
      `configuration: PORT: expected a port number from 0 to 65535, got ${JSON.stringify(port)}`,
    );
  }
  return n;
}

if (import.meta.main) {
  // Deno / Deno Deploy (`deno run --allow-net --allow-env`): PORT, else 8000 (DENO_SERVE_ADDRESS overrides).
  const port = portFromEnv();
  Deno.serve(port === undefined ? {} : { port }, app.fetch);
}
