/**
 * S3 and OSS semantics of the local server, each service in its own form: standard object headers, copy
 * conditions and ranges, listing edge cases, and where OSS and S3 answer differently (a repeated
 * CompleteMultipartUpload, GetBucketLocation, bucket names with dots, presigned lifetimes).
 */
import { expect } from "expect";
import { presignOss4 } from "../src/signer/oss4.ts";
import { presignS3v4 } from "../src/signer/s3v4.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

const FORMS = {
  oss: { prefix: "x-oss-", headers: {} as Record<string, string> },
  s3: { prefix: "x-amz-", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } as Record<string, string> },
};
type Form = keyof typeof FORMS;

/** The five standard headers OSS and S3 store with an object. */
const STANDARD = {
  "cache-control": "max-age=3600, public",
  "content-disposition": 'attachment; filename="report.csv"',
  "content-encoding": "identity",
  "content-language": "de-CH",
  "expires": "Thu, 01 Dec 2033 16:00:00 GMT",
};

function field(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

function standardOf(res: Response): Record<string, string | null> {
  return Object.fromEntries(Object.keys(STANDARD).map((name) => [name, res.headers.get(name)]));
}

type Call = (path: string, init?: RequestInit) => Promise<[Response, string]>;

async function withServer(
  backend: "memory" | "directory",
  form: Form,
  fn: (call: Call, s: RunningEmulator, reopen: () => Promise<RunningEmulator>) => Promise<void>,
  opts: ServeEmulatorOptions = {},
): Promise<void> {
  const dir = backend === "directory" ? await Deno.makeTempDir({ prefix: "ossflow-conf-" }) : undefined;
  const open = (): ObjectStore => (dir ? new DirectoryStore(dir) : new MemoryStore());
  const servers: RunningEmulator[] = [];
  const start = async (store: ObjectStore) => {
    const s = await serveEmulator({ store, buckets: ["data"], minPartSize: 0, ...opts });
    servers.push(s);
    return s;
  };
  let current = await start(open());
  const call: Call = async (path, init = {}) => {
    const res = await fetch(`${current.url}${path}`, {
      ...init,
      headers: {
        ...FORMS[form].headers,
        "accept-encoding": "identity",
        ...(init.headers as Record<string, string>),
      },
    });
    return [res, await res.text()];
  };
  /** Closes the server and serves the same data directory again (directory store only). */
  const reopen = async () => {
    await current.close();
    await current.store.close();
    current = await start(open());
    return current;
  };
  try {
    await fn(call, current, reopen);
  } finally {
    for (const s of servers) {
      await s.close();
      await s.store.close();
    }
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

async function initiate(call: Call, key: string, headers: Record<string, string> = {}): Promise<string> {
  const [res, xml] = await call(`/data/${key}?uploads`, { method: "POST", headers });
  expect(res.status).toBe(200);
  return field(xml, "UploadId")!;
}

async function complete(call: Call, key: string, uploadId: string, parts: [number, string][]) {
  const body = `<CompleteMultipartUpload>${
    parts.map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`).join("")
  }</CompleteMultipartUpload>`;
  return await call(`/data/${key}?uploadId=${uploadId}`, { method: "POST", body });
}

for (const backend of ["memory", "directory"] as const) {
  for (const form of ["oss", "s3"] as const) {
    const p = FORMS[form].prefix;
    const test = (what: string, fn: Parameters<typeof withServer>[2], opts?: ServeEmulatorOptions) =>
      Deno.test(`server ${form} form, ${backend} store: ${what}`, () => withServer(backend, form, fn, opts));

    test(
      "standard headers sent on PUT are stored and returned by HEAD and GET, also after a restart",
      async (call, _s, reopen) => {
        const [put] = await call("/data/report.csv", { method: "PUT", body: "a,b\n", headers: STANDARD });
        expect(put.status).toBe(200);
        const [head] = await call("/data/report.csv", { method: "HEAD" });
        expect(standardOf(head)).toEqual(STANDARD);
        const [get, text] = await call("/data/report.csv");
        expect([standardOf(get), text]).toEqual([STANDARD, "a,b\n"]);
        // response-* overrides still win on GET.
        const [override] = await call("/data/report.csv?response-cache-control=no-store");
        expect(override.headers.get("cache-control")).toBe("no-store");
        if (backend === "directory") {
          await reopen();
          const [again] = await call("/data/report.csv", { method: "HEAD" });
          expect(standardOf(again)).toEqual(STANDARD);
        }
      },
    );

    test(
      "standard headers sent on InitiateMultipartUpload are applied at CompleteMultipartUpload",
      async (call, _s, reopen) => {
        const uploadId = await initiate(call, "big.bin", STANDARD);
        if (backend === "directory") await reopen(); // the upload record keeps them too
        const [part] = await call(`/data/big.bin?partNumber=1&uploadId=${uploadId}`, {
          method: "PUT",
          body: "xyz",
        });
        const [done] = await complete(call, "big.bin", uploadId, [[1, part.headers.get("etag")!]]);
        expect(done.status).toBe(200);
        const [head] = await call("/data/big.bin", { method: "HEAD" });
        expect(standardOf(head)).toEqual(STANDARD);
      },
    );

    test("CopyObject keeps the source's standard headers (COPY) or takes the request's (REPLACE)", async (call) => {
      await call("/data/src", { method: "PUT", body: "copy me", headers: STANDARD });
      await call("/data/copied", { method: "PUT", headers: { [`${p}copy-source`]: "/data/src" } });
      const [copied] = await call("/data/copied", { method: "HEAD" });
      expect(standardOf(copied)).toEqual(STANDARD);
      await call("/data/replaced", {
        method: "PUT",
        headers: {
          [`${p}copy-source`]: "/data/src",
          [`${p}metadata-directive`]: "REPLACE",
          "cache-control": "no-cache",
        },
      });
      const [replaced] = await call("/data/replaced", { method: "HEAD" });
      expect(standardOf(replaced)).toEqual({
        "cache-control": "no-cache",
        "content-disposition": null,
        "content-encoding": null,
        "content-language": null,
        "expires": null,
      });
    });

    test("a Content-Encoding naming aws-chunked keeps only the object's own encoding", async (call) => {
      const wire = "5;chunk-signature=00\r\nhello\r\n0\r\n\r\n";
      const [put] = await call("/data/chunked", {
        method: "PUT",
        body: wire,
        headers: {
          "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          "content-encoding": "aws-chunked,identity",
          "x-amz-decoded-content-length": "5",
        },
      });
      expect(put.status).toBe(200);
      const [get, text] = await call("/data/chunked");
      expect([get.headers.get("content-encoding"), text]).toEqual(["identity", "hello"]);
    });

    test("failed copy-source conditions refuse CopyObject and write nothing", async (call, s) => {
      const [put] = await call("/data/src", { method: "PUT", body: "source" });
      const etag = put.headers.get("etag")!;
      const past = "Mon, 01 Jan 2001 00:00:00 GMT", future = "Fri, 01 Jan 2100 00:00:00 GMT";
      // S3 answers every failed copy-source condition with 412; OSS CopyObject answers the If-None-Match
      // and If-Modified-Since ones with 304, as a GET would.
      const notModified = form === "s3" ? [412, "PreconditionFailed"] : [304, undefined];
      const cases: [Record<string, string>, (number | string | undefined)[]][] = [
        [{ "copy-source-if-match": '"0123"' }, [412, "PreconditionFailed"]],
        [{ "copy-source-if-unmodified-since": past }, [412, "PreconditionFailed"]],
        [{ "copy-source-if-none-match": etag }, notModified],
        [{ "copy-source-if-modified-since": future }, notModified],
      ];
      for (const [conditions, expected] of cases) {
        const headers = Object.fromEntries(Object.entries(conditions).map(([k, v]) => [p + k, v]));
        const [res, xml] = await call("/data/dst", {
          method: "PUT",
          headers: { [`${p}copy-source`]: "/data/src", ...headers },
        });
        expect([conditions, res.status, field(xml, "Code")]).toEqual([conditions, ...expected]);
        expect(await s.store.head("data", "dst")).toBeUndefined();
      }
      // Conditions that hold copy; If-Match wins over a failing If-Unmodified-Since, as S3 specifies.
      const [ok] = await call("/data/dst", {
        method: "PUT",
        headers: {
          [`${p}copy-source`]: "/data/src",
          [`${p}copy-source-if-match`]: etag,
          [`${p}copy-source-if-unmodified-since`]: past,
          [`${p}copy-source-if-modified-since`]: past,
        },
      });
      expect(ok.status).toBe(200);
      expect((await s.store.head("data", "dst"))?.size).toBe(6);
    });

    test(
      "UploadPartCopy refuses failed copy-source conditions and a range beyond the source",
      async (call, s) => {
        const [put] = await call("/data/five", { method: "PUT", body: "12345" });
        const uploadId = await initiate(call, "dest");
        const copy = (headers: Record<string, string>) =>
          call(`/data/dest?partNumber=1&uploadId=${uploadId}`, {
            method: "PUT",
            headers: { [`${p}copy-source`]: "/data/five", ...headers },
          });
        const [beyond, beyondXml] = await copy({ [`${p}copy-source-range`]: "bytes=0-21" });
        expect([beyond.status, field(beyondXml, "Code")]).toEqual([400, "InvalidArgument"]);
        const [none, noneXml] = await copy({ [`${p}copy-source-if-none-match`]: put.headers.get("etag")! });
        expect([none.status, field(noneXml, "Code")]).toEqual([412, "PreconditionFailed"]);
        expect(await s.store.listParts("data", "dest", uploadId)).toEqual([]);
        const [inside] = await copy({ [`${p}copy-source-range`]: "bytes=1-4" });
        expect(inside.status).toBe(200);
        expect((await s.store.listParts("data", "dest", uploadId)).map((part) => part.size)).toEqual([4]);
      },
    );

    test(
      form === "s3"
        ? "copying an object onto itself without a metadata change is 400 InvalidRequest"
        : "copying an object onto itself is allowed (OSS updates its metadata)",
      async (call, s) => {
        await call("/data/self", { method: "PUT", body: "me", headers: { [`${p}meta-v`]: "1" } });
        const [same, xml] = await call("/data/self", {
          method: "PUT",
          headers: { [`${p}copy-source`]: "/data/self" },
        });
        expect([same.status, field(xml, "Code")]).toEqual(
          form === "s3" ? [400, "InvalidRequest"] : [200, undefined],
        );
        const [replaced] = await call("/data/self", {
          method: "PUT",
          headers: {
            [`${p}copy-source`]: "/data/self",
            [`${p}metadata-directive`]: "REPLACE",
            [`${p}meta-v`]: "2",
          },
        });
        expect(replaced.status).toBe(200);
        expect((await s.store.head("data", "self"))?.userMeta).toEqual({ v: "2" });
        expect(await new Response((await s.store.get("data", "self")).body).text()).toBe("me");
      },
    );

    test("max-keys=0 answers an empty page that is not truncated (v1 and v2)", async (call) => {
      await call("/data/a", { method: "PUT", body: "1" });
      for (const q of ["max-keys=0", "list-type=2&max-keys=0"]) {
        const [res, xml] = await call(`/data?${q}`);
        expect([q, res.status, field(xml, "IsTruncated"), field(xml, "KeyCount") ?? "0"]).toEqual([
          q,
          200,
          "false",
          "0",
        ]);
        expect(xml).not.toContain("<Contents>");
        expect(xml).not.toContain("NextContinuationToken");
        expect(xml).not.toContain("NextMarker");
      }
    });

    test("an empty continuation-token is echoed and lists from the start", async (call) => {
      await call("/data/a", { method: "PUT", body: "1" });
      const [res, xml] = await call("/data?list-type=2&continuation-token=");
      expect(res.status).toBe(200);
      expect(xml).toContain("<ContinuationToken></ContinuationToken>");
      expect(field(xml, "Key")).toBe("a");
    });

    test(`ListObjects v1 with encoding-type=url ${form === "s3" ? "leaves" : "encodes"} the Prefix echo`, async (call) => {
      await call("/data/a%20b/c%20d", { method: "PUT", body: "1" });
      const [, xml] = await call("/data?prefix=a%20b%2F&encoding-type=url");
      expect(field(xml, "Prefix")).toBe(form === "s3" ? "a b/" : "a%20b/");
      expect(field(xml, "Key")).toBe("a%20b/c%20d");
      const [, v2] = await call("/data?list-type=2&prefix=a%20b%2F&encoding-type=url");
      expect(field(v2, "Prefix")).toBe("a%20b/"); // v2 encodes it in both services
    });

    test(`listings name the storage class ${form === "s3" ? "STANDARD" : "Standard"}`, async (call) => {
      const expected = form === "s3" ? "STANDARD" : "Standard";
      await call("/data/a", { method: "PUT", body: "1" });
      const uploadId = await initiate(call, "up");
      await call(`/data/up?partNumber=1&uploadId=${uploadId}`, { method: "PUT", body: "p" });
      for (const q of ["/data", "/data?list-type=2", "/data?uploads", `/data/up?uploadId=${uploadId}`]) {
        const [, xml] = await call(q);
        expect([q, field(xml, "StorageClass")]).toEqual([q, expected]);
      }
    });

    test(
      form === "s3"
        ? "CompleteMultipartUpload sent again after it succeeded answers the same result"
        : "CompleteMultipartUpload sent again after it succeeded is 404 NoSuchUpload, as on OSS",
      async (call) => {
        const uploadId = await initiate(call, "twice");
        const [part] = await call(`/data/twice?partNumber=1&uploadId=${uploadId}`, {
          method: "PUT",
          body: "x",
        });
        const parts: [number, string][] = [[1, part.headers.get("etag")!]];
        const [first, firstXml] = await complete(call, "twice", uploadId, parts);
        expect(first.status).toBe(200);
        const [again, againXml] = await complete(call, "twice", uploadId, parts);
        if (form === "s3") {
          expect([again.status, againXml]).toEqual([200, firstXml]);
          const [other, otherXml] = await complete(call, "twice", uploadId, [[1, '"0123"']]);
          expect([other.status, field(otherXml, "Code")]).toEqual([404, "NoSuchUpload"]);
        } else {
          expect([again.status, field(againXml, "Code")]).toEqual([404, "NoSuchUpload"]);
        }
      },
    );

    test(`GetBucketLocation answers ${form === "s3" ? "the region" : "oss-<region>"}`, async (call) => {
      const [, xml] = await call("/data?location");
      expect(xml).toContain(
        form === "s3" ? ">cn-beijing</LocationConstraint>" : ">oss-cn-beijing</LocationConstraint>",
      );
    }, { region: "cn-beijing" });

    test(`bucket names with dots are ${form === "s3" ? "allowed" : "refused"}`, async (call, s, reopen) => {
      const [res, xml] = await call("/logs.example.test", { method: "PUT" });
      if (form === "oss") {
        expect([res.status, field(xml, "Code")]).toEqual([400, "InvalidBucketName"]);
        expect(await s.store.hasBucket("logs.example.test")).toBe(false);
        return;
      }
      expect(res.status).toBe(200);
      await call("/logs.example.test/k", { method: "PUT", body: "dotted" });
      if (backend === "directory") await reopen();
      expect((await call("/logs.example.test/k"))[1]).toBe("dotted");
      for (const bad of ["two..dots", "192.168.5.4", ".starts-with-dot"]) {
        const [r, x] = await call(`/${bad}`, { method: "PUT" });
        expect([bad, r.status, field(x, "Code")]).toEqual([bad, 400, "InvalidBucketName"]);
      }
    });
  }
}

for (const form of ["oss", "s3"] as const) {
  Deno.test(`server ${form} form: a presigned URL whose lifetime is out of range is ${form === "s3" ? "403 AuthorizationQueryParametersError" : "400 InvalidArgument"}`, async () => {
    const credentials = { accessKeyId: "LTAI-presign", accessKeySecret: "presign-secret" };
    const s = await serveEmulator({ buckets: ["data"], credentials: [credentials] });
    try {
      await s.store.put("data", "k", enc.encode("shared"));
      const url = new URL(`${s.url}/data/k`);
      const req = { method: "GET", url, bucket: "data", key: "k" };
      const opts = { credentials, region: "cn-hangzhou", expires: 600 };
      const good = form === "s3" ? await presignS3v4(req, opts) : await presignOss4(req, opts);
      expect(await (await fetch(good)).text()).toBe("shared");
      const param = form === "s3" ? "X-Amz-Expires" : "x-oss-expires";
      for (const expires of ["604801", "0", "-7"]) {
        const tampered = new URL(good);
        tampered.searchParams.set(param, expires);
        const res = await fetch(tampered);
        const code = field(await res.text(), "Code");
        expect([expires, res.status, code]).toEqual(
          form === "s3"
            ? [expires, 403, "AuthorizationQueryParametersError"]
            : [expires, 400, "InvalidArgument"],
        );
      }
    } finally {
      await s.close();
    }
  });
}

Deno.test("server: GetBucketLocation in the S3 form answers us-east-1 as an empty LocationConstraint, as S3 does", async () => {
  const s = await serveEmulator({ buckets: ["data"], region: "us-east-1" });
  try {
    const xml = await (await fetch(`${s.url}/data?location`, { headers: FORMS.s3.headers })).text();
    expect(xml).toMatch(/<LocationConstraint[^>]*><\/LocationConstraint>/);
  } finally {
    await s.close();
  }
});
