/**
 * HTTP plumbing of the preview app: its JSON error type and how every failure becomes a JSON answer that never
 * carries a secret (messages of the store are not passed on, only its error code), and query parameter
 * parsing that names the parameter and what was expected.
 *
 * @module
 */
import { OssError, OssflowError } from "../../errors.ts";

/**
 * An error the preview app answers with: `{ "error": { "code", "message" } }` and `status`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { PreviewApiError } from "./http.ts";
 * const err = new PreviewApiError(403, "PrefixNotAllowed", 'prefix "private/" is outside the allowed prefixes');
 * expect([err.status, err.code]).toEqual([403, "PrefixNotAllowed"]);
 * ```
 */
export class PreviewApiError extends OssflowError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** A short machine-readable code, e.g. `BadRequest`. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "PreviewApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * Headers of every API answer: never cached, never sniffed.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { API_HEADERS } from "./http.ts";
 * expect(API_HEADERS["cache-control"]).toEqual("no-store");
 * ```
 */
export const API_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/**
 * A JSON answer with {@linkcode API_HEADERS}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { jsonResponse } from "./http.ts";
 * const res = jsonResponse({ ok: true }, 201);
 * expect([res.status, res.headers.get("content-type")]).toEqual([201, "application/json; charset=utf-8"]);
 * ```
 */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...API_HEADERS, ...headers },
  });
}

/**
 * The JSON answer for any failure. Errors of the store become 404 (missing object) or 502 with the store's
 * error code only; anything unexpected becomes a bare 500, reported to `report` (for the operator's log).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { errorResponse } from "./http.ts";
 * import { OssError } from "../../errors.ts";
 * const res = errorResponse(new OssError({ code: "NoSuchKey", status: 404, message: "gone", key: "a.txt" }));
 * expect([res.status, await res.json()]).toEqual([404, { error: { code: "NoSuchKey", message: 'no object "a.txt"' } }]);
 * ```
 */
export function errorResponse(err: unknown, report?: (err: unknown) => void): Response {
  if (err instanceof PreviewApiError) {
    return jsonResponse({ error: { code: err.code, message: err.message } }, err.status);
  }
  if (err instanceof OssError) {
    const code = /^[A-Za-z0-9]{1,64}$/.test(err.code) ? err.code : "UpstreamError";
    if (err.status === 404) {
      const message = err.code === "NoSuchKey" && err.key !== undefined
        ? `no object ${JSON.stringify(err.key)}`
        : `the store answered ${code} (HTTP 404)`;
      return jsonResponse({ error: { code, message } }, 404);
    }
    if (err.status !== 403) report?.(err);
    const hint = err.status === 403 || err.status === 401
      ? ": the store refused the app's request (check the app's credentials and permissions)"
      : "";
    const status = err.status === 0 ? "no response" : `HTTP ${err.status}`;
    return jsonResponse({ error: { code, message: `the store answered ${code} (${status})${hint}` } }, 502);
  }
  report?.(err);
  return jsonResponse({ error: { code: "InternalError", message: "internal error" } }, 500);
}

/**
 * Throws a {@linkcode PreviewApiError} 400 naming the query parameter `name` and what was expected.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { badParam, PreviewApiError } from "./http.ts";
 * try {
 *   badParam("limit", "an integer", "ten");
 * } catch (err) {
 *   expect((err as PreviewApiError).message).toEqual('query parameter limit: expected an integer, got "ten"');
 * }
 * ```
 */
export function badParam(name: string, expected: string, got: string | undefined): never {
  const shown = got === undefined
    ? "nothing"
    : JSON.stringify(got.length > 80 ? got.slice(0, 80) + "…" : got);
  throw new PreviewApiError(400, "BadRequest", `query parameter ${name}: expected ${expected}, got ${shown}`);
}

/**
 * An integer query parameter in `min..max`; `fallback` when absent.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { intParam } from "./http.ts";
 * expect(intParam("limit", "20", 1, 1000, 100)).toEqual(20);
 * expect(intParam("limit", undefined, 1, 1000, 100)).toEqual(100);
 * ```
 */
export function intParam(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (raw === undefined || raw === "") return fallback;
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    badParam(
      name,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`,
      raw,
    );
  }
  return n;
}
