/**
 * CORS for the local server, as OSS applies a bucket's CORS rule: off unless configured (a preflight is then
 * refused, and responses carry no `Access-Control-*` header, so a browser page on another origin cannot read
 * them); when on, preflights from allowed origins are answered and responses expose the headers the library
 * reads (ETag, CRC-64, request ids, ranges, append positions).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { EmulatorEnv } from "../context.ts";
import { EmulatorError } from "../error.ts";

/**
 * CORS settings of the local server (`EmulatorOptions.cors`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { CorsPolicy, type CorsOptions } from "./cors.ts";
 * const opts: CorsOptions = { origins: ["http://*.example.com"], maxAgeSeconds: 600 };
 * const headers = new Headers();
 * new CorsPolicy(opts).decorate("http://app.example.com", headers);
 * expect(headers.get("access-control-allow-origin")).toEqual("http://app.example.com");
 * ```
 */
export interface CorsOptions {
  /**
   * Origins allowed to read responses: `"*"` for any, or a list of origins such as `http://127.0.0.1:8080`;
   * an entry may hold one `*` wildcard, as OSS allows (`http://*.example.com`).
   */
  origins: string[] | "*";
  /** How long a browser may cache a preflight answer, seconds (`Access-Control-Max-Age`). Default: not sent. */
  maxAgeSeconds?: number;
}

/** Response headers a page may read cross-origin (besides the CORS-safelisted ones). */
export const CORS_EXPOSED_HEADERS: readonly string[] = [
  "etag",
  "content-length",
  "content-range",
  "last-modified",
  "x-oss-request-id",
  "x-oss-hash-crc64ecma",
  "x-oss-next-append-position",
  "x-oss-object-type",
  "x-amz-request-id",
  "x-amz-version-id",
];

const ALLOWED_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"];
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

function refused(message: string): EmulatorError {
  return new EmulatorError("AccessForbidden", `CORSResponse: ${message}`, { status: 403 });
}

/**
 * The server's CORS rule: answers preflights and decorates responses. Built from {@linkcode CorsOptions}, or
 * from nothing for a server without CORS.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { CorsPolicy } from "./cors.ts";
 * const cors = new CorsPolicy({ origins: ["http://127.0.0.1:8080"], maxAgeSeconds: 600 });
 * const res = cors.preflight(
 *   new Headers({ origin: "http://127.0.0.1:8080", "access-control-request-method": "PUT" }),
 * );
 * expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([200, "http://127.0.0.1:8080"]);
 * const headers = new Headers();
 * cors.decorate("http://evil.example", headers);
 * expect(headers.has("access-control-allow-origin")).toBe(false);
 * ```
 */
export class CorsPolicy {
  #any = false;
  #exact = new Set<string>();
  #patterns: RegExp[] = [];
  #maxAge?: number;
  /** Whether CORS is on. */
  readonly enabled: boolean;

  /** Checks `opts` (`undefined`: CORS off); throws a `TypeError` naming the bad entry. */
  constructor(opts?: CorsOptions) {
    this.enabled = opts !== undefined;
    if (!opts) return;
    const origins = opts.origins;
    if (origins === "*") this.#any = true;
    else if (!Array.isArray(origins) || origins.length === 0) {
      throw new TypeError(
        `cors.origins: expected "*" or a non-empty array of origins, got ${String(origins)}`,
      );
    } else {
      for (const [i, origin] of origins.entries()) {
        const wildcards = typeof origin === "string" ? origin.split("*").length - 1 : -1;
        if (origin === "*") this.#any = true;
        else if (typeof origin !== "string" || !ORIGIN.test(origin) || wildcards > 1) {
          throw new TypeError(
            `cors.origins[${i}]: expected an origin such as "http://127.0.0.1:8080" (scheme://host[:port], ` +
              `no path, at most one "*"), got ${JSON.stringify(origin)}`,
          );
        } else if (wildcards === 1) {
          const [head, tail] = origin.toLowerCase().split("*").map((s) =>
            s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
          );
          this.#patterns.push(new RegExp(`^${head}[^/]*${tail}$`));
        } else this.#exact.add(origin.toLowerCase());
      }
    }
    const maxAge = opts.maxAgeSeconds;
    if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && maxAge >= 0)) {
      throw new TypeError(`cors.maxAgeSeconds: expected a non-negative integer, got ${maxAge}`);
    }
    this.#maxAge = maxAge;
  }

  /** Whether a page from `origin` may read responses. */
  allows(origin: string | null | undefined): boolean {
    if (!this.enabled || !origin) return false;
    if (this.#any) return true;
    const o = origin.toLowerCase();
    return this.#exact.has(o) || this.#patterns.some((p) => p.test(o));
  }

  /** Adds the CORS headers of an actual (non-preflight) response to a request from `origin`, if allowed. */
  decorate(origin: string | null | undefined, headers: Headers): void {
    if (!this.allows(origin)) return;
    this.#allowOrigin(origin!, headers);
    headers.set("access-control-expose-headers", CORS_EXPOSED_HEADERS.join(", "));
  }

  /**
   * Answers an `OPTIONS` preflight from its request headers: 200 with the `Access-Control-Allow-*` headers,
   * or throws `AccessForbidden` (403) when CORS is off, the origin or method is not allowed, or the request
   * is not a preflight.
   */
  preflight(request: Headers): Response {
    if (!this.enabled) throw refused("CORS is not enabled for this bucket.");
    const origin = request.get("origin");
    const method = request.get("access-control-request-method");
    if (!origin) throw refused("Insufficient information. Origin request header needed.");
    if (!method) {
      throw refused("Insufficient information. Access-Control-Request-Method request header needed.");
    }
    if (!this.allows(origin) || !ALLOWED_METHODS.includes(method.toUpperCase())) {
      throw refused(
        "This CORS request is not allowed. This is usually because the evaluation of Origin, request method / " +
          "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      );
    }
    const headers = new Headers({ "access-control-allow-methods": ALLOWED_METHODS.join(", ") });
    this.#allowOrigin(origin, headers);
    const asked = request.get("access-control-request-headers");
    if (asked) headers.set("access-control-allow-headers", asked.toLowerCase());
    headers.set("access-control-expose-headers", CORS_EXPOSED_HEADERS.join(", "));
    if (this.#maxAge !== undefined) headers.set("access-control-max-age", String(this.#maxAge));
    return new Response(null, { status: 200, headers });
  }

  #allowOrigin(origin: string, headers: Headers): void {
    if (this.#any) {
      headers.set("access-control-allow-origin", "*");
      return;
    }
    headers.set("access-control-allow-origin", origin);
    headers.append("vary", "Origin");
  }
}

/**
 * The CORS middleware: once a response is made (an error response too), adds the CORS headers `policy` allows
 * for the request's `Origin`. Preflights (`OPTIONS`) are answered by the route, with their own headers.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "../emulator.ts";
 * const app = createEmulator({ buckets: ["data"], cors: { origins: ["http://127.0.0.1:8080"] } });
 * const res = await app.request("/data/missing.txt", { headers: { origin: "http://127.0.0.1:8080" } });
 * expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([404, "http://127.0.0.1:8080"]);
 * ```
 */
export function corsHeaders(policy: CorsPolicy): MiddlewareHandler<EmulatorEnv> {
  return async (c, next) => {
    await next();
    if (c.get("plan")?.fault === "reset" || c.get("op") === "Options") return;
    policy.decorate(c.req.header("origin"), c.res.headers);
  };
}
