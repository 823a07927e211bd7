/**
 * The OSS-compatible local server: a plain Hono app ({@linkcode createEmulator}) and a runner on
 * 127.0.0.1 ({@linkcode serveEmulator}). It speaks the OSS REST API (x-oss-* headers, OSS XML) and its
 * S3-compatible form (x-amz-* headers, S3 XML), chosen per request from the signature scheme and headers;
 * verifies OSS4 and SigV4 signatures and presigned URLs when credentials are configured; keeps new objects
 * invisible until their write completes; and injects latency, bandwidth caps and faults.
 *
 * `createEmulator` reads as its pipeline of named Hono middlewares (in `pipeline/`): metering → request id →
 * CORS headers → addressing → faults → authentication → the operation's route (in `routes/`), over an
 * `ObjectStore` (in `store/`).
 *
 * @module
 */
import { Hono } from "hono";
import type { EmulatorBindings, EmulatorEnv, EmulatorRuntime, ServerApp } from "./context.ts";
import { type EmulatorContext, xml } from "./context.ts";
import { EmulatorError } from "./error.ts";
import { FaultInjector, type FaultOptions } from "./faults.ts";
import { ResetProxy } from "./http/reset_proxy.ts";
import { addressing } from "./pipeline/addressing.ts";
import { authenticate } from "./pipeline/auth.ts";
import { corsHeaders, type CorsOptions, CorsPolicy } from "./pipeline/cors.ts";
import { injectFaults } from "./pipeline/faults.ts";
import { meterResponses } from "./pipeline/metering.ts";
import { requestId } from "./pipeline/request_id.ts";
import { bucketRoutes } from "./routes/bucket.ts";
import { multipartRoutes } from "./routes/multipart.ts";
import { objectRoutes, type Route } from "./routes/object.ts";
import { notImplemented } from "./routes/subresources.ts";
import { errorXml } from "./routes/xml_responses.ts";
import { EmulatorStats } from "./stats.ts";
import { MemoryStore } from "./store/memory.ts";
import type { ObjectStore } from "./store/types.ts";
import { checkEmulatorOptions, checkListenOptions } from "./emulator_options.ts";

export type { EmulatorBindings, EmulatorEnv, ServerApp } from "./context.ts";
export type { CorsOptions } from "./pipeline/cors.ts";

/**
 * Options of {@linkcode createEmulator}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator, type EmulatorOptions } from "./emulator.ts";
 * const opts: EmulatorOptions = { buckets: ["data"], region: "cn-beijing", autoCreateBuckets: true };
 * const res = await createEmulator(opts).request("/other/a.txt", { method: "PUT", body: "hi" });
 * expect(res.status).toEqual(200);
 * ```
 */
export interface EmulatorOptions {
  /** Where objects live. Default a new {@linkcode MemoryStore}. */
  store?: ObjectStore;
  /** When set, every request must be signed (OSS4 or SigV4, header or presigned URL) by one of these keys. */
  credentials?: { accessKeyId: string; accessKeySecret: string }[];
  /** Region, e.g. `cn-hangzhou` (OSS location `oss-cn-hangzhou`). Default `cn-hangzhou`. */
  region?: string;
  /**
   * Whether a signature's scope region must be `region` (SigV4 may also use `oss-<region>`). Default false: any
   * region is accepted, so clients configured for any region (`us-east-1` for S3 tools, `cn-hangzhou` for OSS
   * ones) work against the local server as they are; set it to test that a client signs with the right region.
   */
  checkRegion?: boolean;
  /** Largest accepted clock difference of header-signed requests, ms. Default 15 minutes. */
  maxSkewMs?: number;
  /** Buckets created at start (PutBucket creates more). */
  buckets?: string[];
  /** Create a missing bucket on the first write to it instead of answering `NoSuchBucket`. Default false. */
  autoCreateBuckets?: boolean;
  /** Latency, bandwidth and error injection; a {@linkcode FaultInjector} can be shared to change them live. */
  faults?: FaultOptions | FaultInjector;
  /** Largest accepted request body, bytes (`EntityTooLarge` beyond). Default 5 GiB. */
  maxBodyBytes?: number;
  /**
   * Largest accepted request header section (names + values), bytes: beyond it `RequestHeaderSectionTooLarge`.
   * Default 48 KiB. Deno's HTTP server refuses sections over about 64 KiB itself; `serveEmulator` then still
   * answers with an OSS error document (see {@linkcode ServeEmulatorOptions.connectionProxy}).
   */
  maxHeaderBytes?: number;
  /** Smallest part size (all parts but the last) accepted by CompleteMultipartUpload. Default 100 KiB, as on OSS. */
  minPartSize?: number;
  /** Extra service host names for virtual-hosted addressing (`bucket.<host>`); `localhost` and `oss-*.aliyuncs.com` always work. */
  virtualHosts?: string[];
  /** Counters to update; default a new {@linkcode EmulatorStats}. */
  stats?: EmulatorStats;
  /** When aborted, response and request bodies still streaming are cut (used by `close()`). */
  signal?: AbortSignal;
  /**
   * Lets browser pages on these origins call the server: preflights are answered and responses expose the
   * OSS headers. Default off, like an OSS bucket without a CORS rule (preflights get 403 AccessForbidden).
   */
  cors?: CorsOptions;
}

const DEFAULT_MAX_BODY = 5 * 1024 ** 3;
/** Below the ~64 KiB at which Deno's HTTP server refuses a request before the emulator sees it. */
const DEFAULT_MAX_HEADER = 48 * 1024;

/**
 * Builds the emulator as a plain Hono app (`app.fetch`, `app.request`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "./emulator.ts";
 * const app = createEmulator({ buckets: ["data"] });
 * await app.request("/data/hello.txt", { method: "PUT", body: "hi" });
 * const res = await app.request("/data/hello.txt");
 * expect([res.status, await res.text()]).toEqual([200, "hi"]);
 * ```
 */
export function createEmulator(opts: EmulatorOptions = {}): ServerApp<EmulatorBindings> {
  checkEmulatorOptions("createEmulator", opts);
  const secrets = opts.credentials
    ? new Map(opts.credentials.map((c) => [c.accessKeyId, c.accessKeySecret]))
    : undefined;
  const rt: EmulatorRuntime = {
    store: opts.store ?? new MemoryStore(),
    stats: opts.stats ?? new EmulatorStats(),
    faults: opts.faults instanceof FaultInjector ? opts.faults : new FaultInjector(opts.faults),
    region: opts.region ?? "cn-hangzhou",
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
    minPartSize: opts.minPartSize ?? 100 * 1024,
    autoCreateBuckets: opts.autoCreateBuckets ?? false,
    virtualHosts: opts.virtualHosts ?? [],
    lookupSecret: secrets ? (id) => secrets.get(id) : undefined,
    checkRegion: opts.checkRegion ?? false,
    signal: opts.signal,
  };
  const ready = Promise.all((opts.buckets ?? []).map((b) => rt.store.createBucket(b)));
  const cors = new CorsPolicy(opts.cors);
  const routes: Record<string, Route> = {
    ...bucketRoutes(rt),
    ...objectRoutes(rt),
    ...multipartRoutes(rt),
    Options: (c) => Promise.resolve(cors.preflight(c.req.raw.headers)),
  };

  // The pipeline, outermost first. A stage that throws an Error gets the OSS error document (renderError);
  // the stages around it still add their headers and meter it.
  return new Hono<EmulatorEnv>()
    .onError((err, c) => renderError(rt, err, c))
    .use(meterResponses(rt))
    .use(requestId())
    .use(corsHeaders(cors))
    .use(addressing(rt, { ready, maxHeaderBytes: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER }))
    .use(injectFaults(rt))
    .use(authenticate(rt, { maxSkewMs: opts.maxSkewMs }))
    .all("*", (c) => {
      const route = routes[c.get("op")];
      if (route) return route(c);
      if (c.get("op") === "NotImplemented") throw notImplemented(c.req.method, c.get("subresource")!);
      throw new EmulatorError(
        "MethodNotAllowed",
        `The specified method is not allowed against this resource.`,
        {
          headers: { allow: "GET, HEAD, PUT, POST, DELETE, OPTIONS" },
        },
      );
    });
}

/** An error as OSS answers it: the XML error document (no body for HEAD and 304), counted by code. */
function renderError(rt: EmulatorRuntime, err: Error, c: EmulatorContext): Response {
  // Never the message of an unexpected error: it may name files under the data directory.
  const e = err instanceof EmulatorError ? err : new EmulatorError(
    "InternalError",
    `We encountered an internal error (${err.name}). Please try again.`,
  );
  rt.stats.error(e.code);
  const headers = new Headers(e.headers);
  if (e.status === 304 || c.req.method === "HEAD") return new Response(null, { status: e.status, headers });
  const body = errorXml({
    code: e.code,
    message: e.message,
    requestId: c.get("rid"),
    hostId: c.get("url")?.host ?? hostOf(c.req.url),
    bucket: e.bucket ?? (e.code === "NoSuchBucket" ? c.get("bucket") : undefined),
    key: e.key ?? (e.code === "NoSuchKey" ? c.get("key") : undefined),
  });
  return xml(body, e.status, headers);
}

/** The host of a request URL for error documents; never throws (the URL may be unparsable). */
function hostOf(url: string): string {
  return URL.parse(url)?.host ?? "";
}

/**
 * Options of {@linkcode serveEmulator}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { serveEmulator, type ServeEmulatorOptions } from "./emulator.ts";
 * const opts: ServeEmulatorOptions = { buckets: ["data"], hostname: "127.0.0.1", connectionProxy: false };
 * const server = await serveEmulator(opts);
 * expect(server.url.startsWith("http://127.0.0.1:")).toBe(true);
 * await server.close();
 * ```
 */
export interface ServeEmulatorOptions extends EmulatorOptions {
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /**
   * Put a small TCP proxy in front of the server so the `reset` fault can close connections before any
   * response byte, `Expect: 100-continue` is answered only after authentication, and a request that Deno's
   * HTTP server refuses before the emulator sees it (a header section over about 64 KiB) is answered with an
   * OSS error document rather than a bare 400. Default true; false serves directly (a `reset` then becomes
   * Deno's 500 answer, and `Deno.serve` sends `100 Continue` at once).
   */
  connectionProxy?: boolean;
}

/**
 * A running emulator.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type RunningEmulator, serveEmulator } from "./emulator.ts";
 * const server: RunningEmulator = await serveEmulator({ buckets: ["data"] });
 * await server.store.put("data", "a.txt", new TextEncoder().encode("hi"));
 * expect(await (await fetch(`${server.url}/data/a.txt`)).text()).toEqual("hi");
 * await server.close();
 * ```
 */
export interface RunningEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (path-style: `${url}/bucket/key`). */
  url: string;
  /** The listening port. */
  port: number;
  /** Counters. */
  stats: EmulatorStats;
  /** The store behind the server. */
  store: ObjectStore;
  /** Fault settings; `faults.update({...})` changes them while the server runs. */
  faults: FaultInjector;
  /** Stops the server (and closes the store if this call created it). */
  close(): Promise<void>;
}

/**
 * Starts the emulator on 127.0.0.1 (a free port unless `port` is given).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { serveEmulator } from "./emulator.ts";
 * const server = await serveEmulator({ buckets: ["data"] });
 * await fetch(`${server.url}/data/a.txt`, { method: "PUT", body: "hello" }).then((r) => r.body?.cancel());
 * expect(await (await fetch(`${server.url}/data/a.txt`)).text()).toEqual("hello");
 * await server.close();
 * ```
 */
export async function serveEmulator(opts: ServeEmulatorOptions = {}): Promise<RunningEmulator> {
  checkEmulatorOptions("serveEmulator", opts);
  checkListenOptions("serveEmulator", opts);
  const ownStore = opts.store === undefined;
  const store = opts.store ?? new MemoryStore();
  const stats = opts.stats ?? new EmulatorStats();
  const faults = opts.faults instanceof FaultInjector ? opts.faults : new FaultInjector(opts.faults);
  const shutdown = new AbortController();
  const app = createEmulator({ ...opts, store, stats, faults, signal: shutdown.signal });
  for (const b of opts.buckets ?? []) await store.createBucket(b);
  const hostname = opts.hostname ?? "127.0.0.1";
  const quiet = { onListen() {}, onError: () => new Response(null, { status: 500 }) };
  let server: Deno.HttpServer<Deno.NetAddr>;
  let proxy: ResetProxy | undefined;
  if (opts.connectionProxy === false) {
    server = Deno.serve({ hostname, port: opts.port ?? 0, ...quiet }, (req) => app.fetch(req, undefined));
  } else {
    const listener = Deno.listen({ hostname, port: opts.port ?? 0 });
    server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, ...quiet },
      (req, info) =>
        app.fetch(req, {
          resetConnection: () => proxy?.reset(info.remoteAddr.port),
          continueRequest: () => proxy?.sendContinue(info.remoteAddr.port),
        }),
    );
    proxy = new ResetProxy(listener, server.addr);
  }
  const port = proxy?.port ?? server.addr.port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}`,
    port,
    stats,
    store,
    faults,
    async close() {
      shutdown.abort(new Error("ossflow emulator: server closed"));
      await proxy?.close();
      await server.shutdown();
      if (ownStore) await store.close();
    },
  };
}
