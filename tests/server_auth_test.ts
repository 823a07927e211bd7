import { expect } from "expect";
import { presignOss4, signOss4 } from "../src/signer/oss4.ts";
import { presignS3v4, signS3v4 } from "../src/signer/s3v4.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";

const AK = "LTAI-test-key";
const SK = "test-secret-value";
const enc = new TextEncoder();

function code(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

async function withServer(fn: (s: RunningEmulator) => Promise<void>, opts: ServeEmulatorOptions = {}) {
  const s = await serveEmulator({
    buckets: ["data"],
    credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
    ...opts,
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

interface SignOpts {
  scheme: "oss4" | "s3v4";
  accessKeyId?: string;
  secret?: string;
  date?: Date;
  region?: string;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | string;
  /** Changes the request after signing, e.g. to tamper with it. */
  after?: (url: URL, headers: Headers) => void;
}

/** Sends a header-signed request to `${s.url}${path}` (path style). */
async function signed(
  s: RunningEmulator,
  method: string,
  path: string,
  o: SignOpts,
): Promise<[number, string]> {
  const url = new URL(`${s.url}${path}`);
  const headers = new Headers(o.headers);
  const body = typeof o.body === "string" ? enc.encode(o.body) : o.body;
  const [bucket, ...rest] = url.pathname.slice(1).split("/").map(decodeURIComponent);
  const credentials = { accessKeyId: o.accessKeyId ?? AK, accessKeySecret: o.secret ?? SK };
  const req = { method, url, headers, bucket, key: rest.length ? rest.join("/") : undefined };
  const region = o.region ?? "cn-hangzhou";
  if (o.scheme === "oss4") await signOss4(req, { credentials, region, date: o.date });
  else await signS3v4(req, { credentials, region, date: o.date });
  o.after?.(url, headers);
  const res = await fetch(url, { method, headers, body });
  return [res.status, await res.text()];
}

for (const scheme of ["oss4", "s3v4"] as const) {
  Deno.test(`server auth ${scheme}: correctly signed requests are served`, async () => {
    await withServer(async (s) => {
      const [put] = await signed(s, "PUT", "/data/dir/a%20b.txt", {
        scheme,
        body: "signed body",
        headers: { "content-type": "text/plain", "x-oss-meta-who": "me" },
      });
      expect(put).toBe(200);
      expect(await signed(s, "GET", "/data/dir/a%20b.txt", { scheme })).toEqual([200, "signed body"]);
      const [list, xml] = await signed(s, "GET", "/data?list-type=2&prefix=dir%2F", { scheme });
      expect(list).toBe(200);
      expect(xml).toContain("<Key>dir/a b.txt</Key>");
    });
  });

  Deno.test(`server auth ${scheme}: a wrong secret or a tampered request is SignatureDoesNotMatch`, async () => {
    await withServer(async (s) => {
      const [status, xml] = await signed(s, "GET", "/data/k", { scheme, secret: "not-the-secret" });
      expect([status, code(xml)]).toEqual([403, "SignatureDoesNotMatch"]);
      expect(xml).not.toContain(SK);
      const tampered = await signed(s, "GET", "/data/k", {
        scheme,
        after: (url) => (url.pathname = "/data/other"),
      });
      expect([tampered[0], code(tampered[1])]).toEqual([403, "SignatureDoesNotMatch"]);
    });
  });

  Deno.test(`server auth ${scheme}: an unknown AccessKey ID is InvalidAccessKeyId`, async () => {
    await withServer(async (s) => {
      const [status, xml] = await signed(s, "GET", "/data/k", { scheme, accessKeyId: "LTAI-nobody" });
      expect([status, code(xml)]).toEqual([403, "InvalidAccessKeyId"]);
    });
  });

  Deno.test(`server auth ${scheme}: a request time more than 15 minutes off is RequestTimeTooSkewed`, async () => {
    await withServer(async (s) => {
      const old = new Date(Date.now() - 20 * 60 * 1000);
      const [status, xml] = await signed(s, "GET", "/data/k", { scheme, date: old });
      expect([status, code(xml)]).toEqual([403, "RequestTimeTooSkewed"]);
      const recent = new Date(Date.now() - 10 * 60 * 1000);
      expect((await signed(s, "GET", "/data/k", { scheme, date: recent }))[0]).toBe(404); // authenticated: NoSuchKey
    });
  });

  Deno.test(`server auth ${scheme}: presigned URLs work until they expire`, async () => {
    await withServer(async (s) => {
      await s.store.put("data", "shared.txt", enc.encode("shared"));
      const presign = async (date: Date, expires: number) => {
        const url = new URL(`${s.url}/data/shared.txt`);
        const req = { method: "GET", url, bucket: "data", key: "shared.txt" };
        const opts = {
          credentials: { accessKeyId: AK, accessKeySecret: SK },
          region: "cn-hangzhou",
          date,
          expires,
        };
        return scheme === "oss4" ? await presignOss4(req, opts) : await presignS3v4(req, opts);
      };
      const fresh = await fetch(await presign(new Date(), 300));
      expect([fresh.status, await fresh.text()]).toEqual([200, "shared"]);
      const expired = await fetch(await presign(new Date(Date.now() - 2 * 3600 * 1000), 60));
      expect([expired.status, code(await expired.text())]).toEqual([403, "AccessDenied"]);
      const forged = await presign(new Date(), 300);
      forged.pathname = "/data/other.txt";
      const res = await fetch(forged);
      expect([res.status, code(await res.text())]).toEqual([403, "SignatureDoesNotMatch"]);
    });
  });
}

Deno.test("server auth: unsigned requests are AccessDenied when credentials are configured", async () => {
  await withServer(async (s) => {
    for (
      const [method, path] of [["GET", "/data/k"], ["PUT", "/data/k"], ["GET", "/data?list-type=2"], [
        "GET",
        "/",
      ]]
    ) {
      const res = await fetch(`${s.url}${path}`, { method, body: method === "PUT" ? "x" : undefined });
      expect([method, path, res.status, code(await res.text())]).toEqual([method, path, 403, "AccessDenied"]);
    }
    const head = await fetch(`${s.url}/data/k`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([403, ""]);
    const preflight = await fetch(`${s.url}/data/k`, {
      method: "OPTIONS",
      headers: { origin: "http://app.test", "access-control-request-method": "PUT" },
    });
    await preflight.body?.cancel();
    expect(preflight.status).toBe(200); // a CORS preflight needs no signature
    expect(await s.store.head("data", "k")).toBeUndefined();
  }, { cors: { origins: "*" } });
});

Deno.test("server auth: any signing region is accepted unless checkRegion is set, then it must be the server's", async () => {
  await withServer(async (s) => {
    const [status, xml] = await signed(s, "GET", "/data/k", { scheme: "s3v4", region: "us-east-1" });
    expect([status, code(xml)]).toEqual([400, "InvalidArgument"]);
    expect((await signed(s, "GET", "/data/k", { scheme: "s3v4", region: "oss-cn-hangzhou" }))[0]).toBe(404);
  }, { checkRegion: true });
  await withServer(async (s) => {
    expect((await signed(s, "GET", "/data/k", { scheme: "s3v4", region: "us-east-1" }))[0]).toBe(404);
    expect((await signed(s, "GET", "/data/k", { scheme: "oss4", region: "eu-central-1" }))[0]).toBe(404);
  });
});

Deno.test("server auth: a SigV4 streaming (aws-chunked) upload is authenticated by its seed signature", async () => {
  await withServer(async (s) => {
    const wire = "5;chunk-signature=" + "0".repeat(64) + "\r\nhello\r\n0;chunk-signature=" + "0".repeat(64) +
      "\r\n\r\n";
    const [status] = await signed(s, "PUT", "/data/streamed", {
      scheme: "s3v4",
      body: wire,
      headers: {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "5",
      },
    });
    expect(status).toBe(200);
    const { body } = await s.store.get("data", "streamed");
    expect(await new Response(body).text()).toBe("hello");
  });
});

Deno.test("server auth: a signed payload hash that does not match the body is rejected", async () => {
  await withServer(async (s) => {
    const [status, xml] = await signed(s, "PUT", "/data/k", {
      scheme: "s3v4",
      body: "actual body",
      headers: { "x-amz-content-sha256": "a".repeat(64) },
    });
    expect([status, code(xml)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
    expect(await s.store.head("data", "k")).toBeUndefined();
  });
});
