// CORS of the local server over real HTTP: off by default (like an OSS bucket without a CORS rule), and when
// configured, preflights from allowed origins answered and the OSS headers exposed to pages.
import { expect } from "expect";
import { type CorsOptions, serveEmulator } from "../src/server/emulator.ts";
import { parseArgs } from "../src/server/cli.ts";
import { CorsPolicy } from "../src/server/pipeline/cors.ts";
import { signOss4 } from "../src/signer/oss4.ts";

const APP = "http://127.0.0.1:8080";
const CREDS = { accessKeyId: "LTAIcors", accessKeySecret: "cors-secret" };

async function withServer(
  cors: CorsOptions | undefined,
  fn: (url: string) => Promise<void>,
  credentials?: (typeof CREDS)[],
): Promise<void> {
  const server = await serveEmulator({ buckets: ["data"], cors, credentials });
  try {
    await fn(server.url);
  } finally {
    await server.close();
  }
}

async function send(
  url: string,
  init: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const preflight = (url: string, origin: string | undefined, method = "PUT", requestHeaders?: string) =>
  send(url, {
    method: "OPTIONS",
    headers: {
      ...(origin ? { origin } : {}),
      "access-control-request-method": method,
      ...(requestHeaders ? { "access-control-request-headers": requestHeaders } : {}),
    },
  });

const code = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

Deno.test("cors: off by default — preflights refused with AccessForbidden, responses carry no CORS headers", async () => {
  await withServer(undefined, async (url) => {
    const pre = await preflight(`${url}/data/k`, APP);
    expect([pre.status, code(pre.body)]).toEqual([403, "AccessForbidden"]);
    expect(pre.body).toContain("CORS is not enabled");
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("x-oss-request-id")).toBe(/<RequestId>([^<]+)<\/RequestId>/.exec(pre.body)?.[1]);
    const put = await send(`${url}/data/k`, { method: "PUT", body: "x", headers: { origin: APP } });
    expect(put.status).toBe(200);
    expect(put.headers.get("access-control-allow-origin")).toBeNull();
    expect(put.headers.get("access-control-expose-headers")).toBeNull();
  });
});

Deno.test("cors: a preflight from an allowed origin is answered with the allowed method, headers and max age", async () => {
  await withServer({ origins: [APP], maxAgeSeconds: 300 }, async (url) => {
    const pre = await preflight(
      `${url}/data/k`,
      APP,
      "PUT",
      "Authorization, X-Oss-Date, x-oss-content-sha256",
    );
    expect(pre.status).toBe(200);
    expect(pre.headers.get("access-control-allow-origin")).toBe(APP);
    expect(pre.headers.get("access-control-allow-methods")).toContain("PUT");
    expect(pre.headers.get("access-control-allow-headers")).toBe(
      "authorization, x-oss-date, x-oss-content-sha256",
    );
    expect(pre.headers.get("access-control-max-age")).toBe("300");
    expect(pre.headers.get("vary")).toBe("Origin");
  });
});

Deno.test("cors: a preflight from another origin, or for an unknown method, or without Origin is refused", async () => {
  await withServer({ origins: [APP] }, async (url) => {
    for (
      const [origin, method, message] of [
        ["http://evil.example", "GET", "not allowed"],
        ["http://127.0.0.1:8081", "GET", "not allowed"],
        [APP, "PATCH", "not allowed"],
        [undefined, "GET", "Origin request header needed"],
      ] as const
    ) {
      const pre = await preflight(`${url}/data/k`, origin, method);
      expect([origin, method, pre.status, code(pre.body)]).toEqual([origin, method, 403, "AccessForbidden"]);
      expect(pre.body).toContain(message);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    }
    const noMethod = await send(`${url}/data/k`, { method: "OPTIONS", headers: { origin: APP } });
    expect([noMethod.status, code(noMethod.body)]).toEqual([403, "AccessForbidden"]);
    expect(noMethod.body).toContain("Access-Control-Request-Method");
    // The actual response to a refused origin carries no CORS header: the browser hides it from the page.
    const get = await send(`${url}/data/none`, { headers: { origin: "http://evil.example" } });
    expect(get.status).toBe(404);
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });
});

Deno.test("cors: responses to an allowed origin expose the OSS headers, errors included", async () => {
  await withServer({ origins: [APP] }, async (url) => {
    const put = await send(`${url}/data/k`, { method: "PUT", body: "hello", headers: { origin: APP } });
    expect(put.status).toBe(200);
    expect(put.headers.get("access-control-allow-origin")).toBe(APP);
    const exposed = put.headers.get("access-control-expose-headers")!.split(", ");
    for (
      const h of [
        "etag",
        "x-oss-request-id",
        "x-oss-hash-crc64ecma",
        "content-length",
        "content-range",
        "x-oss-next-append-position",
        "x-amz-request-id",
      ]
    ) expect(exposed).toContain(h);
    const get = await send(`${url}/data/k`, { headers: { origin: APP, range: "bytes=1-2" } });
    expect([get.status, get.body, get.headers.get("access-control-allow-origin")]).toEqual([206, "el", APP]);
    const missing = await send(`${url}/data/none`, { headers: { origin: APP } });
    expect([missing.status, code(missing.body)]).toEqual([404, "NoSuchKey"]);
    expect(missing.headers.get("access-control-allow-origin")).toBe(APP);
  });
});

Deno.test("cors: preflights need no signature; signed requests from the page still do", async () => {
  await withServer({ origins: "*" }, async (url) => {
    const pre = await preflight(`${url}/data/k`, "http://anywhere.example", "GET", "authorization");
    expect(pre.status).toBe(200);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("vary")).toBeNull();
    const unsigned = await send(`${url}/data/k`, { headers: { origin: "http://anywhere.example" } });
    expect([unsigned.status, code(unsigned.body)]).toEqual([403, "AccessDenied"]);
    expect(unsigned.headers.get("access-control-allow-origin")).toBe("*");
    const req = {
      method: "PUT",
      url: new URL(`${url}/data/k`),
      headers: new Headers({ origin: "http://anywhere.example" }),
      bucket: "data",
      key: "k",
    };
    await signOss4(req, { credentials: CREDS, region: "cn-hangzhou" });
    const put = await send(req.url.href, {
      method: "PUT",
      headers: req.headers,
      body: new Uint8Array([120]),
    });
    expect([put.status, put.body]).toEqual([200, ""]);
    expect(put.headers.get("access-control-expose-headers")).toContain("x-oss-hash-crc64ecma");
  }, [CREDS]);
});

Deno.test("cors: an origin pattern with one wildcard matches subdomains only", () => {
  const cors = new CorsPolicy({ origins: ["https://*.example.com", "http://localhost:3000"] });
  expect(cors.allows("https://app.example.com")).toBe(true);
  expect(cors.allows("HTTPS://A.B.EXAMPLE.COM")).toBe(true);
  expect(cors.allows("https://example.com")).toBe(false);
  expect(cors.allows("https://evil.com/.example.com")).toBe(false);
  expect(cors.allows("http://localhost:3000")).toBe(true);
  expect(cors.allows("http://localhost:3001")).toBe(false);
  expect(new CorsPolicy().allows(APP)).toBe(false);
});

Deno.test("cors: bad settings are refused naming the setting", () => {
  expect(() => new CorsPolicy({ origins: [] })).toThrow(/cors\.origins: expected "\*" or a non-empty array/);
  expect(() => new CorsPolicy({ origins: ["127.0.0.1:8080"] })).toThrow(
    /cors\.origins\[0\]: expected an origin/,
  );
  expect(() => new CorsPolicy({ origins: [APP, "http://x/path"] })).toThrow(/cors\.origins\[1\]/);
  expect(() => new CorsPolicy({ origins: ["http://*.*.a"] })).toThrow(/at most one "\*"/);
  expect(() => new CorsPolicy({ origins: "*", maxAgeSeconds: -1 })).toThrow(/cors\.maxAgeSeconds/);
});

Deno.test("cors: the CLI's --cors-origin and --cors-max-age", () => {
  expect(parseArgs(["--cors-origin", `${APP},http://localhost:3000`, "--cors-max-age", "60"], {}).cors)
    .toEqual({ origins: [APP, "http://localhost:3000"], maxAgeSeconds: 60 });
  expect(parseArgs(["--cors-origin=*", "--cors-origin", APP], {}).cors?.origins).toBe("*");
  expect(parseArgs([], {}).cors).toBeUndefined();
  expect(() => parseArgs(["--cors-origin", "nope"], {})).toThrow(/--cors-origin: cors\.origins\[0\]/);
  expect(() => parseArgs(["--cors-max-age", "5"], {})).toThrow(/--cors-max-age: expected --cors-origin/);
});
