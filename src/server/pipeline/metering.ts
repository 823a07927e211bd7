/**
 * The metering middleware, outermost of the emulator's pipeline: counts each request from its start to the
 * last byte of its response, caps the response's bandwidth, and cuts a response short for the `truncate` fault.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { BUFFERED, type EmulatorEnv, type EmulatorRuntime } from "../context.ts";
import { meteredStream } from "../faults.ts";
import { resetConnection } from "./faults.ts";

/**
 * Begins the request's count in `rt.stats`; after the rest of the pipeline, ends it when the response body
 * has been sent: at once for a buffered response the HTTP server sends natively, otherwise through a metered
 * stream (bandwidth cap, byte count, `truncate` at half the Content-Length, or a reset when there is no body
 * to cut).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "../emulator.ts";
 * import { EmulatorStats } from "../stats.ts";
 * const stats = new EmulatorStats();
 * const app = createEmulator({ buckets: ["data"], stats }); // meterResponses(rt) is its first stage
 * await (await app.request("/data/a.txt", { method: "PUT", body: "hello" })).body?.cancel();
 * expect(await (await app.request("/data/a.txt")).text()).toBe("hello");
 * expect(stats.bytesSent).toBeGreaterThanOrEqual(5);
 * ```
 */
export function meterResponses(rt: EmulatorRuntime): MiddlewareHandler<EmulatorEnv> {
  return async (c, next) => {
    const end = rt.stats.begin(c.req.method);
    try {
      await next();
    } catch (err) {
      end(); // a reset without a connection hook escapes as a non-Error: the request is over all the same
      throw err;
    }
    const fault = c.get("plan")?.fault;
    if (fault === "reset") {
      end();
      return;
    }
    const res = c.res;
    const bytesPerSec = c.get("plan")?.bytesPerSec;
    if (BUFFERED.has(res) && !bytesPerSec && fault !== "truncate") {
      // Sent natively by the HTTP server: count it now rather than re-streaming it through JavaScript.
      rt.stats.bytesSent += c.req.method === "HEAD" ? 0 : Number(res.headers.get("content-length") ?? 0);
      end();
      return;
    }
    if (fault === "truncate") {
      const length = Number(res.headers.get("content-length") ?? 0);
      if (!res.body || c.req.method === "HEAD" || !(length > 0)) {
        end();
        await res.body?.cancel();
        resetConnection(c); // the proxy cuts the connection before the (already sent-for) response goes out
        return;
      }
    }
    if (!res.body) {
      end();
      return;
    }
    const body = meteredStream(res.body, {
      bytesPerSec,
      truncateAfter: fault === "truncate"
        ? Math.floor(Number(res.headers.get("content-length")) / 2)
        : undefined,
      onBytes: (n) => (rt.stats.bytesSent += n),
      onEnd: end,
      signal: rt.signal,
    });
    c.res = new Response(body, { status: res.status, headers: res.headers });
  };
}
