/**
 * What every route of the emulator shares: the runtime (store, stats, faults, settings), the Hono
 * environment type, and response helpers.
 *
 * @module
 */
import type { Context } from "hono";
import type { ObjectStore } from "./store/types.ts";
import type { EmulatorStats } from "./stats.ts";
import type { FaultInjector, FaultPlan } from "./faults.ts";
import type { ApiForm } from "./routes/xml_responses.ts";

/**
 * Per-connection hooks `serveEmulator` passes to the app as Hono bindings (`c.env`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "./emulator.ts";
 * import type { EmulatorBindings } from "./context.ts";
 * let resets = 0;
 * const env: EmulatorBindings = { resetConnection: () => void resets++ };
 * const app = createEmulator({ buckets: ["data"], faults: { errorRate: 1, errorKinds: ["reset"] } });
 * await app.request("/data/a.txt", {}, env);
 * expect(resets).toEqual(1);
 * ```
 */
export interface EmulatorBindings {
  /** Drops the client connection before any response byte is sent. */
  resetConnection?: () => void;
  /** Sends `100 Continue` to a client that asked for it (`Expect: 100-continue`) and has not had it. */
  continueRequest?: () => Promise<void> | undefined;
}

/**
 * Hono environment of the emulator app.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Hono } from "hono";
 * import type { EmulatorEnv } from "./context.ts";
 * const app = new Hono<EmulatorEnv>().use(async (c, next) => { c.set("op", "GetObject"); await next(); });
 * app.get("*", (c) => c.text(`${c.get("op")}, bindings: ${c.env === undefined ? "none" : "set"}`));
 * expect(await (await app.request("/data/a.txt")).text()).toEqual("GetObject, bindings: none");
 * ```
 */
export interface EmulatorEnv {
  /** Hooks from `serveEmulator`; undefined under `app.request()` or a plain `Deno.serve(app.fetch)`. */
  Bindings: EmulatorBindings | undefined;
  /** Per-request facts set by the lifecycle middleware. */
  Variables: {
    /** Request id reported as x-oss-request-id / x-amz-request-id. */
    rid: string;
    /** API form of the request. */
    form: ApiForm;
    /** Addressed bucket. */
    bucket?: string;
    /** Addressed key. */
    key?: string;
    /** Operation name. */
    op: string;
    /** The sub-resource a `NotImplemented` request names. */
    subresource?: string;
    /** The request URL, parsed once. */
    url: URL;
    /** Injected latency, bandwidth cap and fault of this request. */
    plan: FaultPlan;
  };
}

/**
 * What {@linkcode createEmulator} and `createPreviewApp` return, as their users call it: a Hono app (at run time
 * a `Hono` instance) with its `fetch` handler, for `Deno.serve(app.fetch)` or any runtime's fetch event, and
 * `request`, which answers without a network (tests).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "./emulator.ts";
 * import type { EmulatorBindings, ServerApp } from "./context.ts";
 * const app: ServerApp<EmulatorBindings> = createEmulator({ buckets: ["data"] });
 * expect((await app.request("/data/missing")).status).toBe(404);
 * ```
 */
export interface ServerApp<Bindings = undefined> {
  /** Answers a request; `env` carries the server's hooks (see {@linkcode EmulatorBindings}). */
  fetch: (request: Request, env?: Bindings) => Response | Promise<Response>;
  /** Answers a request given as a path or URL and an init, without a network (`env` as for `fetch`). */
  request: (
    input: string | Request | URL,
    init?: RequestInit,
    env?: Bindings,
  ) => Response | Promise<Response>;
}

/**
 * Responses whose body is a byte array (or absent): the lifecycle can let the HTTP server send them
 * natively instead of re-streaming them through JavaScript when no bandwidth cap or truncation applies.
 */
export const BUFFERED: WeakSet<Response> = new WeakSet();

/**
 * Marks `res` as having a buffered body (see {@linkcode BUFFERED}) and returns it.
 *
 * @example
 * ```ts ignore
 * return buffered(new Response(bytes, { headers }));
 * ```
 */
export function buffered(res: Response): Response {
  BUFFERED.add(res);
  return res;
}

/** Context of an emulator request. */
export type EmulatorContext = Context<EmulatorEnv>;

/** Settings and services the routes use. */
export interface EmulatorRuntime {
  store: ObjectStore;
  stats: EmulatorStats;
  faults: FaultInjector;
  /** Region, e.g. `cn-hangzhou`. */
  region: string;
  maxBodyBytes: number;
  minPartSize: number;
  autoCreateBuckets: boolean;
  /** Extra service hosts for virtual-hosted addressing. */
  virtualHosts: readonly string[];
  /** Secret lookup when signatures are verified. */
  lookupSecret?: (accessKeyId: string) => string | undefined;
  /** Whether the signing region must be the server's. */
  checkRegion: boolean;
  /** Aborted when the server shuts down: streaming bodies are cut. */
  signal?: AbortSignal;
}

/**
 * An XML response.
 *
 * @example
 * ```ts ignore
 * return xml("<a/>", 200);
 * ```
 */
export function xml(body: string, status = 200, headers?: HeadersInit): Response {
  const bytes = new TextEncoder().encode(body);
  const h = new Headers(headers);
  h.set("content-type", "application/xml");
  h.set("content-length", String(bytes.byteLength));
  return buffered(new Response(bytes, { status, headers: h }));
}

/**
 * A response without a body.
 *
 * @example
 * ```ts ignore
 * return empty(204);
 * ```
 */
export function empty(status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  if (status !== 204 && status !== 304) h.set("content-length", "0");
  return buffered(new Response(null, { status, headers: h }));
}

/** The addressed bucket; routes only run when it is present. */
export function bucketOf(c: EmulatorContext): string {
  return c.get("bucket")!;
}

/** The addressed key; object routes only run when it is present. */
export function keyOf(c: EmulatorContext): string {
  return c.get("key")!;
}

/** A query parameter, or undefined when absent. */
export function query(c: EmulatorContext, name: string): string | undefined {
  return c.req.query(name);
}
