/**
 * The fault-injection middleware: draws the request's plan from the {@linkcode FaultInjector} (latency,
 * bandwidth cap, fault), waits out the latency, and answers `slowdown` (503 SlowDown) and `reset` (a closed
 * connection) at once; `truncate` and the bandwidth cap are applied to the response by the metering stage.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { EmulatorContext, EmulatorEnv, EmulatorRuntime } from "../context.ts";
import { EmulatorError } from "../error.ts";
import { sleep } from "../../retry.ts";

const CONNECTION_RESET = Object.freeze({ reason: "ossflow emulator: connection reset (injected fault)" });

/**
 * Closes the request's connection through the connection hook the server passed in (the reset proxy); without
 * one, throws a non-Error, which escapes Hono's error handler so that `app.fetch` rejects.
 *
 * @example
 * ```ts ignore
 * return resetConnection(c); // in a middleware: the client sees the connection close, no response
 * ```
 */
export function resetConnection(c: EmulatorContext): Response {
  const hook = c.env?.resetConnection;
  if (!hook) throw CONNECTION_RESET; // not an Error: escapes Hono's error handler, so app.fetch rejects
  hook();
  return new Response(null, { status: 500 });
}

/**
 * Plans each request's faults (not for CORS preflights), sleeps its latency, counts the fault, and answers
 * `slowdown` and `reset` without running the rest of the pipeline.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "../emulator.ts";
 * const app = createEmulator({ buckets: ["data"], faults: { errorRate: 1, errorKinds: ["slowdown"] } });
 * expect((await app.request("/data/a.txt")).status).toBe(503); // injectFaults(rt) is a stage of the pipeline
 * ```
 */
export function injectFaults(rt: EmulatorRuntime): MiddlewareHandler<EmulatorEnv> {
  return async (c, next) => {
    if (c.get("op") === "Options") return await next();
    const plan = rt.faults.plan(c.req.method, c.get("key") ?? "", c.get("op"));
    c.set("plan", plan);
    if (plan.latencyMs > 0) {
      // A client that gave up while the request waited (its timeout, an abort) frees the handler at once. (Deno
      // before `no-legacy-abort` also aborts the signal after every successful response, and warns of it.)
      const gone = await sleep(plan.latencyMs, c.req.raw.signal).then(() => false, () => true);
      if (gone) return new Response(null, { status: 499 }); // nobody reads it: the connection is closed
    }
    if (plan.fault) rt.stats.fault(plan.fault);
    if (plan.fault === "slowdown") throw new EmulatorError("SlowDown", "Please reduce your request rate.");
    if (plan.fault === "reset") return resetConnection(c);
    await next();
  };
}
