/**
 * What went wrong when `fetch` got no response, in words a user can act on. Runtimes wrap the reason: Node's
 * `TypeError: fetch failed` holds `connect ECONNREFUSED 127.0.0.1:9000` (code `ECONNREFUSED`) in its `cause`;
 * Deno's holds `error sending request for url (…): client error (Connect): tcp connect error: Connection
 * refused`; Bun puts the code on the error itself; browsers say only `Failed to fetch`. The whole cause chain is
 * read, and the known reasons are named the same way everywhere.
 *
 * @module
 */

/** Known reasons: a test over the chain's codes and messages, and what to say. */
const REASONS: [RegExp, string][] = [
  [/ECONNREFUSED|connection refused/i, "connection refused (nothing listens on that port?)"],
  [
    /ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup address|name or service not known|getaddrinfo/i,
    "host name not found (DNS)",
  ],
  [/certificate|CERT_|UNABLE_TO_VERIFY|self[- ]signed/i, "TLS certificate rejected"],
  [
    /ERR_SSL|EPROTO|wrong version number|InvalidContentType|corrupt message|tls handshake|ssl routines/i,
    "TLS handshake failed (an http:// server addressed as https://?)",
  ],
  [/ECONNRESET|connection reset/i, "connection reset"],
  [/ETIMEDOUT|timed out/i, "connection timed out"],
  [/EHOSTUNREACH|ENETUNREACH|unreachable/i, "host unreachable"],
  [
    /EPIPE|socket hang up|other side closed|UND_ERR_SOCKET|connection closed/i,
    "connection closed by the server",
  ],
  [/bad port|are blocked/i, "the port is one fetch refuses to use (a browser 'bad port')"],
  [
    /^(?:TypeError: )?(?:Failed to fetch|NetworkError when attempting to fetch resource\.?|Load failed)$/i,
    "the browser gives no reason (a closed port, a TLS error or a missing CORS rule)",
  ],
];

/** A URL's query and fragment can hold a presigned signature: they never appear in a description. */
function withoutQueries(text: string): string {
  return text.replace(/(https?:\/\/[^\s?#)]*)[?#][^\s)]*/gi, "$1");
}

/**
 * A short description of why a request got no response, from the error `fetch` (or a body read) threw and its
 * `cause` chain: a named reason (`connection refused`, `host name not found (DNS)`, `TLS handshake failed …`)
 * with the runtime's error code when it has one, else the innermost message. URLs in it lose their query.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { describeNetworkFailure } from "./network_error.ts";
 * const node = new TypeError("fetch failed", {
 *   cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9000"), { code: "ECONNREFUSED" }),
 * });
 * expect(describeNetworkFailure(node)).toEqual("connection refused (nothing listens on that port?) [ECONNREFUSED]");
 * const other = await fetch("http://127.0.0.1:9/").catch((e) => e);
 * expect(describeNetworkFailure(other)).toEqual("the port is one fetch refuses to use (a browser 'bad port')");
 * ```
 */
export function describeNetworkFailure(err: unknown): string {
  const texts: string[] = [];
  let code: string | undefined;
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const x = e as { message?: unknown; code?: unknown; cause?: unknown };
    if (typeof x.code === "string" && /^[A-Z][A-Z0-9_]+$/.test(x.code)) code = x.code; // the innermost wins
    texts.push(typeof x.message === "string" ? x.message : String(e));
    if (typeof e !== "object") break;
    e = x.cause;
  }
  const all = [...texts, code ?? ""].join("\n");
  for (const [test, reason] of REASONS) {
    if (test.test(all) || texts.some((t) => test.test(t.trim()))) {
      return code !== undefined && !reason.includes(code) ? `${reason} [${code}]` : reason;
    }
  }
  // Unknown: the innermost message, without Deno's "error sending request for url (…):" preamble.
  const inner = texts[texts.length - 1] ?? String(err);
  const text = withoutQueries(inner.replace(/^error sending request for url \([^)]*\):\s*/i, "")).slice(
    0,
    300,
  );
  return code !== undefined && !text.includes(code) ? `${text} [${code}]` : text;
}
