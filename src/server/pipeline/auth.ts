/**
 * The authentication stage of the emulator's pipeline ({@linkcode authenticate}), and what it does besides
 * checking the signature: the S3 form's answer to a
 * presigned URL with an out-of-range lifetime, and `Expect: 100-continue`, answered only once a request
 * has been authenticated and its body is read (the connection proxy hides the expectation from
 * `Deno.serve`, which would answer it at once; see request_framing.ts).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { parseExpires } from "../../signer/auth_parse.ts";
import { SignatureVerificationError, verifyRequest } from "../../signer/verify.ts";
import type { EmulatorContext, EmulatorEnv, EmulatorRuntime } from "../context.ts";
import { EmulatorError } from "../error.ts";
import { EXPECT_CONTINUE_MARKER } from "../http/request_framing.ts";

/**
 * S3 refuses a presigned URL whose `X-Amz-Expires` is not 1-604800 seconds with 403
 * AuthorizationQueryParametersError (the signature check would answer OSS's 400 InvalidArgument).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkS3PresignExpires } from "./auth.ts";
 * try {
 *   checkS3PresignExpires(new URL("http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604801"));
 * } catch (err) {
 *   expect((err as { code: string; status: number }).status).toEqual(403);
 * }
 * ```
 */
export function checkS3PresignExpires(url: URL): void {
  const expires = url.search.length > 1 ? url.searchParams.get("X-Amz-Expires") : null;
  if (expires === null || !url.searchParams.has("X-Amz-Algorithm")) return;
  try {
    parseExpires(expires, "X-Amz-Expires");
  } catch (err) {
    throw new EmulatorError("AuthorizationQueryParametersError", (err as Error).message);
  }
}

/**
 * The request headers as the client signed them: the `Expect` header the connection proxy renamed is put
 * back (a client may have signed it).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signedRequestHeaders } from "./auth.ts";
 * const h = signedRequestHeaders(new Headers({ "ossflow-expect": "100-continue" }));
 * expect([h.get("expect"), h.has("ossflow-expect")]).toEqual(["100-continue", false]);
 * ```
 */
export function signedRequestHeaders(headers: Headers): Headers {
  const expect = headers.get(EXPECT_CONTINUE_MARKER);
  if (expect === null) return headers;
  const restored = new Headers(headers);
  restored.delete(EXPECT_CONTINUE_MARKER);
  restored.set("expect", expect);
  return restored;
}

/**
 * When the client waits for `100 Continue` (the proxy marked its request) replaces the request body with
 * one that asks the proxy for `100 Continue` when it is first read: a request refused before its body is
 * read (authentication, a missing upload, an unsupported sub-resource) never gets one.
 *
 * @example
 * ```ts ignore
 * continueOnFirstRead(c); // after authentication
 * ```
 */
export function continueOnFirstRead(c: EmulatorContext): void {
  const req = c.req.raw;
  const send = c.env?.continueRequest;
  if (!send || !req.body || !req.headers.has(EXPECT_CONTINUE_MARKER)) return;
  const reader = req.body.getReader();
  let asked = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!asked) {
        asked = true;
        await send();
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  c.req.raw = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    duplex: "half",
  } as RequestInit);
}

/**
 * The authentication middleware: when the server has credentials, every request but a CORS preflight must be
 * signed (OSS4 or SigV4, header or presigned URL) by one of them; a failed check answers with the signer's
 * code and status. Then the body may be read: `100 Continue` is sent on its first read.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "../emulator.ts";
 * const credentials = [{ accessKeyId: "id", accessKeySecret: "secret" }];
 * const app = createEmulator({ buckets: ["data"], credentials }); // authenticate(...) is a stage
 * const res = await app.request("/data/a.txt");
 * expect([res.status, await res.text()]).toEqual([403, expect.stringContaining("<Code>AccessDenied</Code>")]);
 * ```
 */
export function authenticate(
  rt: EmulatorRuntime,
  opts: { maxSkewMs?: number },
): MiddlewareHandler<EmulatorEnv> {
  return async (c, next) => {
    if (rt.lookupSecret && c.get("op") !== "Options") {
      if (c.get("form") === "s3") checkS3PresignExpires(c.get("url"));
      let who;
      try {
        who = await verifyRequest(
          {
            method: c.req.method,
            url: c.get("url"),
            headers: signedRequestHeaders(c.req.raw.headers),
            bucket: c.get("bucket"),
            key: c.get("key"),
          },
          {
            lookupSecret: rt.lookupSecret,
            region: rt.checkRegion ? rt.region : undefined,
            maxSkewMs: opts.maxSkewMs,
          },
        );
      } catch (err) {
        if (err instanceof SignatureVerificationError) {
          throw new EmulatorError(err.code, err.message, { status: err.status });
        }
        throw err;
      }
      if (who.scheme === "anonymous") {
        throw new EmulatorError(
          "AccessDenied",
          "You have no right to access this object: the request is not signed.",
        );
      }
    }
    continueOnFirstRead(c);
    await next();
  };
}
