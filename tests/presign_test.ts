/**
 * Presigned URLs (`OssClient#presignUrl`, `presignUrl(uri, { client })`) for OSS4 and SigV4, used without
 * credentials against the real local server (which requires a valid signature on every request), and checked
 * against independent signers: ali-oss's `signatureUrlV4` (OSS4) and aws4fetch (SigV4).
 */
import { expect } from "expect";
import OSS from "ali-oss";
import { AwsV4Signer } from "aws4fetch";
import { OssClient } from "../src/client.ts";
import { ConfigError } from "../src/errors.ts";
import { presignUrl } from "../src/presign.ts";
import { BUCKET, CREDS, REGION, type Server, startServer } from "./dataset_fixture.ts";

type Sig = "oss4" | "s3v4";
const SIGS: Sig[] = ["oss4", "s3v4"];

function clientFor(server: Server, sig: Sig, credentials: typeof CREDS | undefined = CREDS): OssClient {
  return new OssClient({ endpoint: server.url, region: REGION, credentials, signatureVersion: sig });
}

async function withServer(fn: (server: Server) => Promise<void>): Promise<void> {
  const server = await startServer();
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Sends a request without credentials; returns status, the error code (if any) and the body text. */
async function send(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; code: string; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? "", text };
}

/** `20250102T030405Z` → Date. */
function isoBasic(s: string): Date {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s)!;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

const signatureOf = (url: string) => {
  const q = new URL(url).searchParams;
  return q.get("x-oss-signature") ?? q.get("X-Amz-Signature");
};

for (const sig of SIGS) {
  Deno.test(`${sig}: a presigned GET fetches the object without credentials; the URL carries the signing parameters`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, sig);
      await client.put(BUCKET, "dir/cat 1.txt", "meow");
      const url = await client.presignUrl(BUCKET, "dir/cat 1.txt", { expires: 120 });
      const q = new URL(url).searchParams;
      if (sig === "oss4") {
        expect(q.get("x-oss-signature-version")).toBe("OSS4-HMAC-SHA256");
        expect(q.get("x-oss-expires")).toBe("120");
        expect(q.get("x-oss-credential")).toMatch(
          new RegExp(`^${CREDS.accessKeyId}/\\d{8}/${REGION}/oss/aliyun_v4_request$`),
        );
        expect(q.get("x-oss-signature")).toMatch(/^[0-9a-f]{64}$/);
      } else {
        expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
        expect(q.get("X-Amz-Expires")).toBe("120");
        expect(q.get("X-Amz-Credential")).toMatch(
          new RegExp(`^${CREDS.accessKeyId}/\\d{8}/${REGION}/s3/aws4_request$`),
        );
        expect(q.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
      }
      expect(url).not.toContain(CREDS.accessKeySecret);
      expect(await send(url)).toMatchObject({ status: 200, text: "meow" });
      // The default lifetime is 900 seconds.
      const def = new URL(await client.presignUrl(BUCKET, "dir/cat 1.txt")).searchParams;
      expect(def.get("x-oss-expires") ?? def.get("X-Amz-Expires")).toBe("900");
      // The function form takes a URI.
      const viaUri = await presignUrl(`${sig === "oss4" ? "oss" : "s3"}://${BUCKET}/dir/cat 1.txt`, {
        client,
      });
      expect(await send(viaUri)).toMatchObject({ status: 200, text: "meow" });
    });
  });

  Deno.test(`${sig}: a presigned URL is good for its method and object only; tampering is refused`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, sig);
      await client.put(BUCKET, "a.txt", "A");
      await client.put(BUCKET, "b.txt", "B");
      const url = await client.presignUrl(BUCKET, "a.txt", { expires: 60 });
      const other = url.replace("/a.txt?", "/b.txt?");
      expect(await send(other)).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect(await send(url, { method: "PUT", body: "overwrite" })).toMatchObject({
        status: 403,
        code: "SignatureDoesNotMatch",
      });
      const longer = url.replace(/((?:x-oss-expires|X-Amz-Expires)=)60/, "$1600");
      expect(longer).not.toBe(url);
      expect((await send(longer)).status).toBe(403);
      expect(await send(url)).toMatchObject({ status: 200, text: "A" });
    });
  });

  Deno.test(`${sig}: a presigned PUT uploads; its signed headers must be sent unchanged`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, sig);
      const meta = sig === "oss4" ? "x-oss-meta-owner" : "x-amz-meta-owner";
      const headers = { "content-type": "text/plain", [meta]: "alice" };
      const url = await client.presignUrl(BUCKET, "up/load.txt", { method: "PUT", expires: 60, headers });
      // Without a signed header: OSS4's signature then differs; the local server's SigV4 check refuses a request
      // lacking a header listed in X-Amz-SignedHeaders as malformed (400 InvalidArgument).
      const missing = await send(url, {
        method: "PUT",
        body: "uploaded",
        headers: { "content-type": "text/plain" },
      });
      expect(missing).toMatchObject(
        sig === "oss4"
          ? { status: 403, code: "SignatureDoesNotMatch" }
          : { status: 400, code: "InvalidArgument" },
      );
      expect(
        await send(url, {
          method: "PUT",
          body: "uploaded",
          headers: { ...headers, "content-type": "text/html" },
        }),
      ).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect((await send(url, { method: "PUT", body: "uploaded", headers })).status).toBe(200);
      const got = await client.getBytes(BUCKET, "up/load.txt");
      expect(new TextDecoder().decode(got.bytes)).toBe("uploaded");
      expect(got.contentType).toBe("text/plain");
      expect(got.headers.get("x-oss-meta-owner") ?? got.headers.get("x-amz-meta-owner")).toBe("alice");
    });
  });

  Deno.test(`${sig}: an expired presigned URL is refused by the local server with AccessDenied`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, sig);
      await client.put(BUCKET, "old.txt", "x");
      const expired = await client.presignUrl(BUCKET, "old.txt", {
        expires: 60,
        date: new Date(Date.now() - 61_000),
      });
      const res = await send(expired);
      expect(res).toMatchObject({ status: 403, code: "AccessDenied" });
      expect(res.text).toContain("expired");
      const fresh = await client.presignUrl(BUCKET, "old.txt", {
        expires: 60,
        date: new Date(Date.now() - 30_000),
      });
      expect((await send(fresh)).status).toBe(200);
      const oneSecond = await client.presignUrl(BUCKET, "old.txt", { expires: 1 });
      await new Promise((r) => setTimeout(r, 2_100));
      expect(await send(oneSecond)).toMatchObject({ status: 403, code: "AccessDenied" });
    });
  });

  Deno.test(`${sig}: signed query parameters are part of the signature`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, sig);
      await client.put(BUCKET, "q.txt", "q");
      const url = await client.presignUrl(BUCKET, "q.txt", {
        expires: 60,
        query: { "response-content-disposition": "attachment" },
      });
      expect(new URL(url).searchParams.get("response-content-disposition")).toBe("attachment");
      expect((await send(url)).status).toBe(200);
      const changed = url.replace(
        "response-content-disposition=attachment",
        "response-content-disposition=inline",
      );
      expect(changed).not.toBe(url);
      expect((await send(changed)).status).toBe(403);
    });
  });
}

Deno.test("presignUrl: lifetimes outside 1..604800 seconds and other bad options fail with a ConfigError naming them", async () => {
  const client = new OssClient({ endpoint: "http://127.0.0.1:9", region: REGION, credentials: CREDS });
  const s3 = new OssClient({
    endpoint: "http://127.0.0.1:9",
    region: REGION,
    credentials: CREDS,
    signatureVersion: "s3v4",
  });
  for (const c of [client, s3]) {
    for (const expires of [1, 604800]) {
      expect(await c.presignUrl(BUCKET, "k", { expires })).toContain(`=${expires}`);
    }
    for (const expires of [0, -1, 604801, 1.5, Number.NaN, Infinity, "60" as unknown as number]) {
      const err = await c.presignUrl(BUCKET, "k", { expires }).then(() => undefined, (e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain("expires");
      expect((err as Error).message).toContain("604800");
    }
  }
  const bad: [string, () => Promise<unknown>, string][] = [
    ["method", () => client.presignUrl(BUCKET, "k", { method: "PATCH" }), "method"],
    ["date", () => client.presignUrl(BUCKET, "k", { date: new Date("nope") }), "date"],
    ["empty key", () => client.presignUrl(BUCKET, ""), "key"],
    ["URI without key", () => presignUrl("oss://b01", { client }), "oss://b01"],
    ["URI scheme", () => presignUrl("http://b01/k", { client }), "http://b01/k"],
    ["no client", () => presignUrl("oss://b01/k", {} as never), "client"],
  ];
  for (const [name, run, needle] of bad) {
    let err: unknown;
    try {
      await run();
    } catch (e) {
      err = e;
    }
    expect(`${name}: ${(err as Error)?.message}`).toContain(needle);
  }
  const anonymous = new OssClient({ endpoint: "http://127.0.0.1:9", region: REGION });
  await expect(anonymous.presignUrl(BUCKET, "k")).rejects.toThrow(ConfigError);
  await expect(anonymous.presignUrl(BUCKET, "k")).rejects.toThrow("credentials");
});

Deno.test({
  name:
    "oss4: presigned URLs match ali-oss's signatureUrlV4 for the same inputs, and the server accepts both",
  // ali-oss may keep agents and timers beyond the test.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withServer(async (server) => {
      const client = clientFor(server, "oss4");
      await client.put(BUCKET, "img/cat 1.png", "png bytes");
      const ali = new OSS({
        endpoint: server.url,
        region: `oss-${REGION}`,
        accessKeyId: CREDS.accessKeyId,
        accessKeySecret: CREDS.accessKeySecret,
        bucket: BUCKET,
        authorizationV4: true,
      });
      const cases: { method: string; headers: Record<string, string>; additional?: string[] }[] = [
        { method: "GET", headers: {} },
        { method: "PUT", headers: { "content-type": "image/png", "x-oss-meta-a": "1" } },
        { method: "PUT", headers: { "content-disposition": "inline" }, additional: ["content-disposition"] },
      ];
      for (const c of cases) {
        const theirs: string = await ali.signatureUrlV4(
          c.method,
          300,
          { headers: c.headers },
          "img/cat 1.png",
          c.additional,
        );
        const tq = new URL(theirs).searchParams;
        const ours = await client.presignUrl(BUCKET, "img/cat 1.png", {
          method: c.method,
          expires: 300,
          headers: c.headers,
          date: isoBasic(tq.get("x-oss-date")!),
        });
        const oq = new URL(ours).searchParams;
        for (const p of ["x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-additional-headers"]) {
          expect(`${c.method} ${p}=${oq.get(p)}`).toBe(`${c.method} ${p}=${tq.get(p)}`);
        }
        expect(signatureOf(ours)).toBe(signatureOf(theirs));
      }
      // ali-oss's URL (its query on the path-style URL of the local server) works against the server too.
      const theirs: string = await ali.signatureUrlV4("GET", 300, {}, "img/cat 1.png");
      const direct = `${server.url}/${BUCKET}/img/cat%201.png${new URL(theirs).search}`;
      expect(await send(direct)).toMatchObject({ status: 200, text: "png bytes" });
    });
  },
});

Deno.test("s3v4: presigned URLs match aws4fetch's for the same inputs, and the server accepts both", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "s3v4");
    await client.put(BUCKET, "img/cat 1.png", "png bytes");
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    const datetime = date.toISOString().replace(/[:-]|\.\d{3}/g, "");
    const cases: { method: string; headers: Record<string, string> }[] = [
      { method: "GET", headers: {} },
      { method: "PUT", headers: { "content-type": "image/png", "x-amz-meta-a": "1" } },
    ];
    for (const c of cases) {
      const ours = await client.presignUrl(BUCKET, "img/cat 1.png", {
        method: c.method,
        expires: 300,
        headers: c.headers,
        date,
      });
      const signed = await new AwsV4Signer({
        method: c.method,
        url: `${server.url}/${BUCKET}/img/cat%201.png?X-Amz-Expires=300`,
        headers: c.headers,
        accessKeyId: CREDS.accessKeyId,
        secretAccessKey: CREDS.accessKeySecret,
        service: "s3",
        region: REGION,
        datetime,
        signQuery: true,
        allHeaders: true, // aws4fetch leaves content-type unsigned by default
      }).sign();
      const theirs = signed.url.href;
      const oq = new URL(ours).searchParams, tq = new URL(theirs).searchParams;
      for (const p of ["X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"]) {
        expect(`${c.method} ${p}=${oq.get(p)}`).toBe(`${c.method} ${p}=${tq.get(p)}`);
      }
      expect(signatureOf(ours)).toBe(signatureOf(theirs));
      if (c.method === "GET") expect(await send(theirs)).toMatchObject({ status: 200, text: "png bytes" });
      else {
        const res = await send(theirs, { method: "PUT", headers: c.headers, body: "new png" });
        expect(res.status).toBe(200);
      }
    }
    expect(new TextDecoder().decode((await client.getBytes(BUCKET, "img/cat 1.png")).bytes)).toBe("new png");
  });
});
