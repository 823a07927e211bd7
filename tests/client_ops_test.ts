// Every object operation over real HTTP against the signing emulator, in OSS mode and in S3 mode.
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { ConfigError, OssError } from "../src/errors.ts";
import { parseErrorResponse } from "../src/xml.ts";
import {
  bytesOf,
  clientFor,
  CREDS,
  expectBytes,
  MODES,
  readAll,
  streamOf,
  withServer,
} from "./client_fixtures.ts";

for (const mode of MODES) {
  Deno.test(`${mode}: put and get round-trip bytes, strings, Blobs and streams byte-exact`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const sizes = [0, 1, 1000, 65_536, 65_537, 3 * 1024 * 1024 + 7];
      for (const [i, n] of sizes.entries()) {
        const data = bytesOf(n, i + 1);
        const put = await client.put("bkt", `obj/${n}.bin`, data);
        expect(put.etag).toMatch(/^"[0-9a-f]{32}"$/);
        expect(put.crc64).toMatch(/^\d+$/);
        const got = await client.get("bkt", `obj/${n}.bin`);
        expect(got).toMatchObject({ status: 200, size: n, objectSize: n, etag: put.etag, crc64: put.crc64 });
        expectBytes(await readAll(got.body), data, `get ${n}`);
        expectBytes((await client.getBytes("bkt", `obj/${n}.bin`)).bytes, data, `getBytes ${n}`);
      }
      await client.put("bkt", "s.txt", "héllo wörld", { contentType: "text/plain; charset=utf-8" });
      const text = await client.get("bkt", "s.txt");
      expect(text.contentType).toBe("text/plain; charset=utf-8");
      expect(await new Response(text.body).text()).toBe("héllo wörld");

      const blobData = bytesOf(100_000, 9);
      await client.put("bkt", "blob.bin", new Blob([blobData], { type: "image/png" }));
      expect((await client.head("bkt", "blob.bin")).contentType).toBe("image/png");
      expectBytes((await client.getBytes("bkt", "blob.bin")).bytes, blobData);

      const streamed = bytesOf(1_500_000, 10);
      await client.put("bkt", "stream-buffered.bin", streamOf(streamed));
      expectBytes((await client.getBytes("bkt", "stream-buffered.bin")).bytes, streamed);
      if (mode === "oss4") {
        await client.put("bkt", "stream-chunked.bin", streamOf(streamed), { stream: true });
        expectBytes((await client.getBytes("bkt", "stream-chunked.bin")).bytes, streamed);
      } else {
        // S3 refuses a chunked body; with its size the stream goes with a Content-Length (tests/sized_body_test.ts).
        const err = await client.put("bkt", "stream-chunked.bin", streamOf(streamed), { stream: true })
          .catch((e) => e);
        expect(err).toMatchObject({ status: 501, code: "NotImplemented" });
      }
      await client.put("bkt", "stream-sized.bin", streamOf(streamed), {
        stream: true,
        size: streamed.length,
      });
      expectBytes((await client.getBytes("bkt", "stream-sized.bin")).bytes, streamed);
    });
  });

  Deno.test(`${mode}: ranges (first, middle, last, open-ended, suffix) return exactly those bytes`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const data = bytesOf(1_000_003, 42);
      await client.put("bkt", "r.bin", data);
      const n = data.length;
      const cases = [
        [{ start: 0, end: 0 }, 0, 0],
        [{ start: 0, end: 99 }, 0, 99],
        [{ start: 500_000, end: 700_000 }, 500_000, 700_000],
        [{ start: n - 1, end: n - 1 }, n - 1, n - 1],
        [{ start: n - 10, end: n + 1000 }, n - 10, n - 1], // end past the object is clipped
        [{ start: 999_000 }, 999_000, n - 1],
        [{ suffix: 17 }, n - 17, n - 1],
      ] as const;
      for (const [range, start, end] of cases) {
        const r = await client.get("bkt", "r.bin", { range });
        expect(r).toMatchObject({ status: 206, range: { start, end }, size: end - start + 1, objectSize: n });
        expectBytes(await readAll(r.body), data.subarray(start, end + 1), JSON.stringify(range));
        const b = await client.getBytes("bkt", "r.bin", { range });
        expectBytes(b.bytes, data.subarray(start, end + 1), `getBytes ${JSON.stringify(range)}`);
      }
      const err = await client.get("bkt", "r.bin", { range: { start: n + 5 } }).catch((e) => e);
      expect(err).toBeInstanceOf(OssError);
      expect(err).toMatchObject({
        code: "InvalidRange",
        status: 416,
        key: "r.bin",
        bucket: "bkt",
        method: "GET",
      });
    });
  });

  Deno.test(`${mode}: head reports size, etag, crc64 and type; delete removes; copy duplicates`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const data = bytesOf(12_345, 5);
      const put = await client.put("bkt", "dir/a b+c%.bin", data, { contentType: "application/x-test" });
      const meta = await client.head("bkt", "dir/a b+c%.bin");
      expect(meta).toMatchObject({
        size: 12_345,
        etag: put.etag,
        crc64: put.crc64,
        contentType: "application/x-test",
        objectType: "Normal",
      });
      expect(meta.lastModified).toBeInstanceOf(Date);
      expect(meta.requestId).toMatch(/^[0-9A-F]+$/);

      const copy = await client.copy("bkt", "dir/a b+c%.bin", "other", "copies/中文 key.bin");
      expect(copy.etag).toBe(put.etag);
      expectBytes((await client.getBytes("other", "copies/中文 key.bin")).bytes, data);

      await client.delete("bkt", "dir/a b+c%.bin");
      await client.delete("bkt", "dir/a b+c%.bin"); // deleting a missing object succeeds
      const gone = await client.head("bkt", "dir/a b+c%.bin").catch((e) => e);
      expect(gone).toMatchObject({ name: "OssError", status: 404, key: "dir/a b+c%.bin", method: "HEAD" });
    });
  });

  Deno.test(`${mode}: service errors are OssErrors with code, status, requestId, bucket, key and method`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const e1 = await client.get("bkt", "missing/key").catch((e) => e);
      expect(e1).toBeInstanceOf(OssError);
      expect(e1).toMatchObject({
        code: "NoSuchKey",
        status: 404,
        bucket: "bkt",
        key: "missing/key",
        method: "GET",
      });
      expect(e1.requestId).toMatch(/^[0-9A-F]{24}$/);
      expect(e1.message).toContain("NoSuchKey (HTTP 404) on GET bkt/missing/key");

      await expect(client.put("nobucket", "k", "v")).rejects.toMatchObject({
        code: "NoSuchBucket",
        status: 404,
      });
      await expect(client.copy("bkt", "missing", "bkt", "dst")).rejects.toMatchObject({ code: "NoSuchKey" });

      const wrong = new OssClient({
        endpoint: server.url,
        region: "cn-hangzhou",
        signatureVersion: mode,
        credentials: { accessKeyId: CREDS.accessKeyId, accessKeySecret: "wrong-secret" },
      });
      const e2 = await wrong.put("bkt", "k", "v").catch((e) => e);
      expect(e2).toMatchObject({ code: "SignatureDoesNotMatch", status: 403, key: "k", method: "PUT" });
      expect(e2.message).not.toContain("wrong-secret");
      const anonymous = new OssClient({
        endpoint: server.url,
        region: "cn-hangzhou",
        signatureVersion: mode,
      });
      await expect(anonymous.get("bkt", "k")).rejects.toMatchObject({ code: "AccessDenied", status: 403 });
    });
  });
}

Deno.test("bad arguments are rejected before any request, naming the operation and the argument", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const before = server.stats.requests;
    const cases: [() => Promise<unknown>, string][] = [
      [
        () => client.get("", "k"),
        'OssClient.get: bucket: expected a non-empty bucket name without "/", got ""',
      ],
      [() => client.get("b/c", "k"), "OssClient.get: bucket:"],
      [() => client.get("bkt", ""), 'OssClient.get: key: expected a non-empty object key, got ""'],
      [
        () => client.head("bkt", undefined as unknown as string),
        "OssClient.head: key: expected a non-empty object key, got undefined",
      ],
      [
        () => client.get("bkt", "k", { range: { start: 5, end: 4 } }),
        "OssClient.get: range: expected start <= end (end is inclusive), got 5 > 4",
      ],
      [
        () => client.get("bkt", "k", { range: { start: -1 } }),
        "OssClient.get: range.start: expected an integer >= 0, got -1",
      ],
      [
        () => client.get("bkt", "k", { range: { start: 1.5 } }),
        "range.start: expected an integer >= 0, got 1.5",
      ],
      [
        () => client.getBytes("bkt", "k", { range: { suffix: 0 } }),
        "OssClient.getBytes: range.suffix: expected an integer >= 1, got 0",
      ],
      [
        () => client.put("bkt", "k", 42 as unknown as string),
        "OssClient.put: body: expected a Uint8Array, string, Blob or ReadableStream<Uint8Array>, got 42",
      ],
      [
        () => client.append("bkt", "k", -1, "x"),
        "OssClient.append: position: expected an integer >= 0, got -1",
      ],
      [
        () => client.uploadPart("bkt", "k", "u", 0, "x"),
        "OssClient.uploadPart: partNumber: expected an integer from 1 to 10000, got 0",
      ],
      [
        () => client.uploadPart("bkt", "k", "u", 10001, "x"),
        "partNumber: expected an integer from 1 to 10000, got 10001",
      ],
      [
        () => client.uploadPart("bkt", "k", "", 1, "x"),
        "OssClient.uploadPart: uploadId: expected the non-empty id",
      ],
      [
        () => client.completeMultipart("bkt", "k", "u", []),
        "OssClient.completeMultipart: parts: expected a non-empty array",
      ],
      [
        () => client.completeMultipart("bkt", "k", "u", [{ partNumber: 1, etag: "" }]),
        "parts[0]: expected { partNumber, etag }",
      ],
      [
        () => client.listPages("bkt", { maxKeys: 0 }).next(),
        "OssClient.listPages: maxKeys: expected an integer from 1 to 1000, got 0",
      ],
      [
        () => client.listPages("bkt", { prefix: 3 as unknown as string }).next(),
        "OssClient.listPages: prefix: expected a string, got 3",
      ],
      [() => client.copy("bkt", "", "bkt", "d"), "OssClient.copy: srcKey: expected a non-empty object key"],
      [() => client.copy("bkt", "s", "", "d"), "OssClient.copy: bucket:"],
    ];
    for (const [call, message] of cases) await expect(call()).rejects.toThrow(message);
    expect(server.stats.requests).toBe(before);
  });
});

Deno.test("constructor errors name the option: endpoint, signatureVersion, region (where truly needed), timeoutMs, retry", () => {
  expect(() => new OssClient({ endpoint: "" })).toThrow(ConfigError);
  expect(() => new OssClient({ endpoint: "ftp://x" })).toThrow("invalid endpoint");
  expect(() => new OssClient({ endpoint: "http://127.0.0.1:1", signatureVersion: "v2" as "oss4" }))
    .toThrow('signatureVersion: expected "oss4" or "s3v4", got "v2"');
  expect(() => new OssClient({ endpoint: "https://oss-accelerate.aliyuncs.com", credentials: CREDS }))
    .toThrow("OssClient: region: the endpoint oss-accelerate.aliyuncs.com names no region");
  expect(() =>
    new OssClient({
      endpoint: "https://s3-accelerate.amazonaws.com",
      signatureVersion: "s3v4",
      credentials: CREDS,
    })
  )
    .toThrow("OssClient: region: the endpoint s3-accelerate.amazonaws.com names no region");
  expect(() => new OssClient({ endpoint: "https://data.example.com", credentials: CREDS })) // a bucket's own domain
    .toThrow("OssClient: region: the endpoint data.example.com names no region");
  expect(() => new OssClient({ endpoint: "http://127.0.0.1:1", timeoutMs: 0 })).toThrow(
    "timeoutMs: expected a positive",
  );
  expect(() => new OssClient({ endpoint: "http://127.0.0.1:1", retry: { maxAttempts: 0 } })).toThrow(
    "retry.maxAttempts",
  );
  const c = new OssClient({ endpoint: "https://oss-cn-beijing.aliyuncs.com", credentials: CREDS });
  expect([c.region, c.signatureVersion]).toEqual(["cn-beijing", "oss4"]);
  expect(
    new OssClient({ endpoint: "http://127.0.0.1:1", signatureVersion: "s3v4", credentials: CREDS }).region,
  )
    .toBe("us-east-1");
});

Deno.test("without a region, local and custom endpoints get a default and work against the local server as written", async () => {
  for (const mode of MODES) {
    await withServer(async (server) => {
      const client = new OssClient({ endpoint: server.url, credentials: CREDS, signatureVersion: mode });
      expect(client.region).toBe(mode === "s3v4" ? "us-east-1" : "cn-hangzhou");
      await client.put("bkt", "k.txt", "no region given");
      expect(new TextDecoder().decode((await client.getBytes("bkt", "k.txt")).bytes)).toBe("no region given");
      const localhost = new OssClient({
        endpoint: server.url.replace("127.0.0.1", "localhost"),
        credentials: CREDS,
      });
      expect(localhost.region).toBe("cn-hangzhou");
    });
  }
  expect(new OssClient({ endpoint: "http://minio:9000", credentials: CREDS }).region).toBe("cn-hangzhou");
  const s3 = new OssClient({
    endpoint: "https://minio.example.com",
    signatureVersion: "s3v4",
    credentials: CREDS,
  });
  expect(s3.region).toBe("us-east-1");
  expect(new OssClient({ endpoint: "oss-cn-shenzhen.aliyuncs.com", credentials: CREDS }).region).toBe(
    "cn-shenzhen",
  );
});

for (const mode of MODES) {
  Deno.test(`${mode}: exists() is true for an object, false for a missing key; head() of one is NoSuchKey`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      await client.put("bkt", "here.bin", "x");
      expect(await client.exists("bkt", "here.bin")).toBe(true);
      expect(await client.exists("bkt", "not/here.bin")).toBe(false);
      await client.delete("bkt", "here.bin");
      expect(await client.exists("bkt", "here.bin")).toBe(false);
      const err = await client.head("bkt", "here.bin").catch((e) => e);
      expect(err).toMatchObject({ code: "NoSuchKey", status: 404, method: "HEAD" });
      expect(err.message).not.toContain("empty body");
      // Failures other than a missing key reject: a wrong secret is 403.
      const wrong = clientFor(server, mode, { credentials: { ...CREDS, accessKeySecret: "wrong" } });
      await expect(wrong.exists("bkt", "here.bin")).rejects.toMatchObject({ status: 403 });
      await expect(client.exists("bkt", "")).rejects.toThrow("OssClient.exists: key");
    });
  });
}

Deno.test("a bodiless 404 names NoSuchKey or NoSuchBucket from OSS's x-oss-ec header", () => {
  const head = (ec?: string) =>
    parseErrorResponse(404, new Headers(ec ? { "x-oss-ec": ec } : {}), "", { method: "HEAD", key: "k" });
  expect(head("0026-00000001")).toMatchObject({ code: "NoSuchKey" });
  expect(head("0015-00000101")).toMatchObject({
    code: "NoSuchBucket",
    message:
      "The specified bucket does not exist. (from the x-oss-ec header: HEAD answers have no body) [EC 0015-00000101]",
  });
  expect(head()).toMatchObject({ code: "NoSuchKey" });
  expect(parseErrorResponse(404, new Headers(), "", { method: "HEAD" })).toMatchObject({ code: "NotFound" });
  expect(parseErrorResponse(403, new Headers(), "", { method: "HEAD", key: "k" })).toMatchObject({
    code: "AccessDenied",
    message: "HTTP 403 with an empty body",
  });
});

for (const mode of MODES) {
  Deno.test(`${mode}: a custom fetch gets the signed headers as a plain record that new Headers() reads`, async () => {
    await withServer(async (server) => {
      const seen: unknown[] = [];
      const recording: typeof fetch = (input, init) => {
        seen.push(init?.headers);
        return fetch(input, init);
      };
      const client = clientFor(server, mode, { fetch: recording });
      await client.put("bkt", "rec.txt", "hello", { contentType: "text/plain" });
      expect((await client.getBytes("bkt", "rec.txt")).bytes).toEqual(new TextEncoder().encode("hello"));
      expect(seen.length).toBe(2);
      for (const h of seen) {
        expect(h instanceof Headers).toBe(false);
        expect(Object.keys(h as object).every((k) => k === k.toLowerCase())).toBe(true);
      }
      const put = new Headers(seen[0] as Record<string, string>);
      expect(put.get("authorization")).toMatch(mode === "oss4" ? /^OSS4-HMAC-SHA256 / : /^AWS4-HMAC-SHA256 /);
      expect(put.get("content-type")).toBe("text/plain");
      expect(new Headers(seen[1] as Record<string, string>).get("accept-encoding")).toBe("identity");
    });
  });
}
