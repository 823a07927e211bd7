/**
 * The dataset preview app ({@linkcode createPreviewApp}): a plain Hono app that lists a prefix as JSON,
 * previews objects (images as-is; text and JSON lines truncated; binary as a hex head), hands out short-lived
 * presigned URLs, and serves a small page that shows a grid of previews, fetching images straight from the store
 * by presigned URL through the library's browser bundle. `/api/*` needs a bearer token; CORS is limited to the
 * configured origins; answers never carry a secret.
 *
 * Routes: `GET /api/config`, `GET /api/list?prefix=&cursor=&limit=&delimiter=`, `GET /api/preview?key=`,
 * `GET /api/presign?key=[&key=…]&expires=`, `GET /` (the page), `GET /app.js`, `GET /ossflow.js` and
 * `GET /prefetch_worker.js` (the bundle and its source maps, unless the bundle comes from elsewhere).
 *
 * @module
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { OssClient } from "../../client.ts";
import type { ServerApp } from "../context.ts";
import type { OssClientOptions } from "../../client_types.ts";
import type { PresignOptions } from "../../presign.ts";
import { API_HEADERS, badParam, errorResponse, intParam, jsonResponse, PreviewApiError } from "./http.ts";
import { previewObject } from "./object.ts";
import { isSafetensorsKey, previewSafetensors } from "./safetensors.ts";
import { isTarKey, previewTar } from "./tar.ts";
import { pageCsp, PREVIEW_PAGE_SCRIPT, previewPageHtml } from "./page.ts";
import { bundleRoute, resolveOptions } from "./options.ts";

export type { ObjectPreview } from "./object.ts";

/**
 * What presigns the URLs the app hands out: an `OssClient` with credentials, or anything with its `presignUrl`.
 */
export interface PreviewPresigner {
  /** See `OssClient.presignUrl`. */
  presignUrl(bucket: string, key: string, opts?: PresignOptions): Promise<string>;
}

/**
 * Options of {@linkcode createPreviewApp}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { PreviewAppOptions } from "./app.ts";
 * const opts: PreviewAppOptions = {
 *   client: { endpoint: "https://oss-cn-hangzhou.aliyuncs.com", credentials: { accessKeyId: "id", accessKeySecret: "secret" } },
 *   bucket: "datasets",
 *   prefixes: ["imagenet/val/"],
 *   token: "a-long-random-token",
 *   corsOrigins: ["https://labeling.example.com"],
 * };
 * expect(opts.bucket).toEqual("datasets");
 * ```
 */
export interface PreviewAppOptions {
  /** The client the app reads and presigns with, or the options to make one (endpoint, credentials, …). */
  client: OssClient | OssClientOptions;
  /**
   * Presigns the URLs handed to browsers; default `client`. Use a client of the store's public endpoint when
   * the app itself reaches the store by an internal one.
   */
  presigner?: PreviewPresigner;
  /** The bucket shown. */
  bucket: string;
  /**
   * Key prefixes that may be listed, previewed and presigned, e.g. `["train/", "val/"]`; `[""]` allows the whole
   * bucket. Compared as plain string prefixes: end them with `/`. The first is the page's default.
   */
  prefixes: string[];
  /** The bearer token(s) `/api/*` accepts (compared in constant time). Give this or `verifyToken`. */
  token?: string | string[];
  /** Decides whether a bearer token is good (instead of `token`). */
  verifyToken?: (token: string) => boolean | Promise<boolean>;
  /**
   * Origins allowed to call `/api/*` from other pages (CORS), e.g. `["https://ui.example.com"]`; `["*"]` for any.
   * Default none: the app's own page works without CORS, and preflights from other origins are refused (403).
   */
  corsOrigins?: string[];
  /** Lifetime of a presigned URL when the request does not say, seconds. Default 300. */
  presignExpires?: number;
  /** Longest lifetime handed out, seconds (1..604800); longer requests are cut to it. Default 900. */
  maxPresignExpires?: number;
  /** Bytes of text (and JSON lines) shown by `/api/preview`. Default 65536. */
  previewBytes?: number;
  /** Bytes of a binary object shown as hex. Default 256. */
  hexBytes?: number;
  /** Largest image `/api/preview` serves as-is, bytes. Default 16 MiB. */
  maxImageBytes?: number;
  /** Keys a `/api/list` page holds when the request does not say (1..1000). Default 100. */
  listLimit?: number;
  /**
   * Where the page loads the browser bundle (`dist/ossflow.js` of `deno task build`) from.
   * `{ dir }`: the app serves `ossflow.js` and `prefetch_worker.js` from this directory — a path (absolute, or
   * relative to the current directory: `{ dir: "dist" }`) or a `file:` or `http(s):` URL, read with `fetch`.
   * `{ url }`: the page imports the bundle from this URL and the app serves none.
   * Default: `{ dir }` of the repository's `dist/` when this module is a local file.
   */
  bundle?: { dir: string | URL } | { url: string };
  /** Page title. Default "ossflow preview". */
  title?: string;
  /** Told about unexpected failures (answered with a bare 500 or 502), e.g. to log them. */
  onError?: (err: unknown) => void;
}

/**
 * Builds the preview app: a plain Hono app (`app.fetch`, `app.request`; `Deno.serve(app.fetch)`).
 *
 * @throws {TypeError} or {RangeError} on bad options, naming the option.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../../client.ts";
 * import { serveEmulator } from "../emulator.ts";
 * import { createPreviewApp } from "./app.ts";
 *
 * const credentials = { accessKeyId: "demo-id", accessKeySecret: "demo-secret" };
 * const store = await serveEmulator({ buckets: ["data"], credentials: [credentials] });
 * const client = new OssClient({ endpoint: store.url, region: "cn-hangzhou", credentials });
 * await client.put("data", "train/0.txt", "hello");
 * const app = createPreviewApp({ client, bucket: "data", prefixes: ["train/"], token: "s3cret-token" });
 * const auth = { authorization: "Bearer s3cret-token" };
 * const list = await (await app.request("/api/list?prefix=train/", { headers: auth })).json();
 * expect(list.objects[0].key).toEqual("train/0.txt");
 * expect((await app.request("/api/list")).status).toEqual(401);
 * await store.close();
 * ```
 */
export function createPreviewApp(opts: PreviewAppOptions): ServerApp<unknown> {
  const o = resolveOptions(opts);
  const client = o.client;
  const app = new Hono();
  // HTTPException: the bearer-token refusals, already shaped as JSON 401s.
  app.onError((err) => err instanceof HTTPException ? err.getResponse() : errorResponse(err, opts.onError));
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? jsonResponse({ error: { code: "NotFound", message: `no route ${c.req.method} ${c.req.path}` } }, 404)
      : c.text("Not found", 404)
  );

  // A preflight from another origin is refused outright (hono/cors would answer it without the allow header).
  const corsAllowed = (origin: string) => o.corsOrigins === "*" || o.corsOrigins.includes(origin);
  app.use("/api/*", async (c, next) => {
    const origin = c.req.header("origin");
    if (c.req.method === "OPTIONS" && origin !== undefined && !corsAllowed(origin)) {
      return jsonResponse(
        { error: { code: "CorsRefused", message: "this origin may not call the API" } },
        403,
      );
    }
    await next();
  });
  app.use(
    "/api/*",
    cors({
      origin: o.corsOrigins,
      allowMethods: ["GET", "HEAD"],
      allowHeaders: ["authorization"],
      exposeHeaders: ["content-length", "etag", "www-authenticate"],
      maxAge: 600,
    }),
  );
  const refuse = (wwwAuthenticate: string, message: string) => ({
    wwwAuthenticateHeader: wwwAuthenticate,
    message: () =>
      jsonResponse({ error: { code: "Unauthorized", message } }, 401, {
        "www-authenticate": wwwAuthenticate,
      }),
  });
  app.use(
    "/api/*",
    bearerAuth({
      ...(o.verifyToken ? { verifyToken: (t: string) => o.verifyToken!(t) } : { token: o.tokens }),
      realm: "ossflow-preview",
      noAuthenticationHeader: refuse(
        'Bearer realm="ossflow-preview"',
        "send Authorization: Bearer <token>",
      ),
      invalidAuthenticationHeader: refuse(
        'Bearer realm="ossflow-preview", error="invalid_request"',
        "expected Authorization: Bearer <token>",
      ),
      invalidToken: refuse('Bearer realm="ossflow-preview", error="invalid_token"', "the token was refused"),
    }),
  );

  const allowed = (what: string, value: string): string => {
    if (value.length > 1024) badParam(what, "at most 1024 characters", value);
    if (value.split("/").some((s) => s === "." || s === "..")) {
      badParam(what, 'a key without "." or ".." segments', value);
    }
    if (!o.prefixes.some((p) => value.startsWith(p))) {
      throw new PreviewApiError(
        403,
        "PrefixNotAllowed",
        `${what} ${JSON.stringify(value)} is outside the allowed prefixes ${JSON.stringify(o.prefixes)}`,
      );
    }
    return value;
  };
  const keyParam = (value: string | undefined): string => {
    if (!value) badParam("key", "an object key", value);
    return allowed("key", value);
  };

  app.get("/api/config", () =>
    jsonResponse({
      bucket: o.bucket,
      prefixes: o.prefixes,
      listLimit: o.listLimit,
      previewBytes: o.limits.previewBytes,
      presignExpires: o.presignExpires,
      maxPresignExpires: o.maxPresignExpires,
    }));

  app.get("/api/list", async (c) => {
    const prefix = allowed("prefix", c.req.query("prefix") ?? o.prefixes[0]);
    const limit = intParam("limit", c.req.query("limit"), 1, 1000, o.listLimit);
    const cursor = c.req.query("cursor") || undefined;
    if (cursor !== undefined && cursor.length > 4096) {
      badParam("cursor", "a cursor from a previous page", cursor);
    }
    const delimiter = c.req.query("delimiter") || undefined;
    if (delimiter !== undefined && delimiter.length > 16) {
      badParam("delimiter", "at most 16 characters", delimiter);
    }
    const page = await client.listPage(o.bucket, {
      prefix,
      delimiter,
      continuationToken: cursor,
      maxKeys: limit,
    });
    return jsonResponse({
      bucket: o.bucket,
      prefix,
      objects: page.objects.map((s) => ({
        key: s.key,
        size: s.size,
        etag: s.etag,
        lastModified: s.lastModified.toISOString(),
      })),
      commonPrefixes: page.commonPrefixes,
      nextCursor: page.isTruncated ? page.nextContinuationToken : undefined,
    });
  });

  // Requests to the store are not tied to c.req.raw.signal: Deno aborts it when a response starts (its legacy
  // behaviour), which would cut a streamed image; a client that leaves cancels the streamed body anyway.
  app.get("/api/preview", (c) => {
    const key = keyParam(c.req.query("key"));
    if (isSafetensorsKey(key)) return previewSafetensors(client, o.bucket, key, (k) => allowed("shard", k));
    if (isTarKey(key)) return previewTar(client, o.bucket, key);
    return previewObject(client, o.bucket, key, o.limits);
  });

  app.get("/api/presign", async (c) => {
    const keys = c.req.queries("key") ?? [];
    if (keys.length === 0 || keys.length > 1000) {
      badParam("key", "1 to 1000 object keys", String(keys.length));
    }
    keys.forEach(keyParam);
    const asked = intParam("expires", c.req.query("expires"), 1, Number.MAX_SAFE_INTEGER, o.presignExpires);
    const expires = Math.min(asked, o.maxPresignExpires);
    const date = new Date();
    const items = await Promise.all(
      keys.map(async (key) => ({ key, url: await o.presigner.presignUrl(o.bucket, key, { expires, date }) })),
    );
    const expiresAt = new Date(Math.floor(date.getTime() / 1000) * 1000 + expires * 1000).toISOString();
    return jsonResponse({ key: items[0].key, url: items[0].url, expires, expiresAt, items });
  });

  let store: string | undefined; // found once; a failed attempt (e.g. credentials not yet there) is retried
  app.get("/", async (c) => {
    store ??= await storeOrigin(o.presigner, o.bucket, o.prefixes[0]);
    const page = { title: o.title, bundleUrl: o.bundleUrl, connectOrigins: store ? [store] : [] };
    return c.html(previewPageHtml(page), 200, {
      "content-security-policy": pageCsp(page),
      "referrer-policy": "no-referrer",
      ...API_HEADERS,
    });
  });
  app.get("/app.js", (c) =>
    c.body(PREVIEW_PAGE_SCRIPT, 200, {
      "content-type": "text/javascript; charset=utf-8",
      ...API_HEADERS,
    }));
  if (o.bundleDir) app.get("/:file{(?:ossflow|prefetch_worker)\\.js(?:\\.map)?}", bundleRoute(o.bundleDir));
  return app;
}

/** The origin presigned URLs point at (for the page's connect-src); undefined when presigning fails. */
async function storeOrigin(
  presigner: PreviewPresigner,
  bucket: string,
  prefix: string,
): Promise<string | undefined> {
  try {
    return new URL(await presigner.presignUrl(bucket, `${prefix}x`, { expires: 60 })).origin;
  } catch {
    return undefined;
  }
}
