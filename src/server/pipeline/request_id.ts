/**
 * The request-id middleware: gives each request an id (reported as `x-oss-request-id` and `x-amz-request-id`,
 * and in error documents) and the defaults the later stages refine (API form `oss`, operation `Unknown`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { EmulatorEnv } from "../context.ts";

/**
 * A generator of request ids: 16 random hex digits fixed per server, then a counter, as OSS's 24-digit ids.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { requestIds } from "./request_id.ts";
 * const next = requestIds();
 * const [a, b] = [next(), next()];
 * expect(a).toMatch(/^[0-9A-F]{24}$/);
 * expect(a.slice(0, 16)).toBe(b.slice(0, 16));
 * expect(a).not.toBe(b);
 * ```
 */
export function requestIds(): () => string {
  const prefix = crypto.getRandomValues(new Uint32Array(2));
  const head = Array.from(prefix, (n) => n.toString(16).padStart(8, "0")).join("").toUpperCase();
  let n = 0;
  return () => head + (n++).toString(16).toUpperCase().padStart(8, "0");
}

/**
 * Sets the request id and the default form and operation; once the response is made (an error response too),
 * adds the request-id and `server` headers. A connection reset has no response to decorate.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Hono } from "hono";
 * import type { EmulatorEnv } from "../context.ts";
 * import { requestId } from "./request_id.ts";
 * const app = new Hono<EmulatorEnv>().use(requestId(() => "ID1")).get("/", (c) => c.text(c.get("rid")));
 * const res = await app.request("/");
 * expect([await res.text(), res.headers.get("x-oss-request-id")]).toEqual(["ID1", "ID1"]);
 * ```
 */
export function requestId(nextId: () => string = requestIds()): MiddlewareHandler<EmulatorEnv> {
  return async (c, next) => {
    c.set("rid", nextId());
    c.set("form", "oss");
    c.set("op", "Unknown");
    await next();
    if (c.get("plan")?.fault === "reset") return;
    c.res.headers.set("x-oss-request-id", c.get("rid"));
    c.res.headers.set("x-amz-request-id", c.get("rid"));
    c.res.headers.set("server", "ossflow-emulator");
  };
}
