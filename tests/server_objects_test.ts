import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

/** The two API forms: the S3 form is selected by any x-amz-* header (here the payload hash SigV4 sends). */
const FORMS = {
  oss: { prefix: "x-oss-", headers: {} as Record<string, string> },
  s3: { prefix: "x-amz-", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } as Record<string, string> },
};

const BACKENDS: {
  name: string;
  make: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>;
}[] = [
  {
    name: "memory",
    make: () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
  },
  {
    name: "directory",
    make: async () => {
      const dir = await Deno.makeTempDir({ prefix: "ossflow-http-" });
      const store = new DirectoryStore(dir);
      return { store, cleanup: () => Deno.remove(dir, { recursive: true }) };
    },
  },
];

async function withServer(
  store: ObjectStore,
  fn: (s: RunningEmulator) => Promise<void>,
  opts: ServeEmulatorOptions = {},
): Promise<void> {
  const server = await serveEmulator({ store, buckets: ["data"], ...opts });
  try {
    await fn(server);
  } finally {
    await server.close();
    await store.close();
  }
}

/** The text of an XML element, or undefined. */
function xmlField(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

for (const backend of BACKENDS) {
  for (const [formName, form] of Object.entries(FORMS)) {
    const name = (what: string) => `server ${formName} form, ${backend.name} store: ${what}`;
    const test = (what: string, fn: (s: RunningEmulator) => Promise<void>, opts?: ServeEmulatorOptions) =>
      Deno.test(name(what), async () => {
        const { store, cleanup } = await backend.make();
        try {
          await withServer(store, fn, opts);
        } finally {
          await cleanup();
        }
      });
    const req = (s: RunningEmulator, path: string, init: RequestInit = {}) =>
      fetch(`${s.url}${path}`, {
        ...init,
        headers: { ...form.headers, ...(init.headers as Record<string, string>) },
      });

    test("PUT, GET and HEAD round-trip bytes, ETag, CRC-64, content type and user metadata", async (s) => {
      const body = enc.encode("hello world");
      const put = await req(s, "/data/dir/hello.txt", {
        method: "PUT",
        body,
        headers: { "content-type": "text/plain", [`${form.prefix}meta-color`]: "blue" },
      });
      await put.body?.cancel();
      expect(put.status).toBe(200);
      expect(put.headers.get("etag")).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
      expect(put.headers.get("x-oss-hash-crc64ecma")).toBe(await crc64(body));
      expect(put.headers.get("x-oss-request-id")).toMatch(/^[0-9A-F]{24}$/);
      expect(put.headers.get("x-amz-request-id")).toBe(put.headers.get("x-oss-request-id"));

      const get = await req(s, "/data/dir/hello.txt");
      expect(await get.text()).toBe("hello world");
      expect(get.headers.get("content-type")).toBe("text/plain");
      expect(get.headers.get("content-length")).toBe("11");
      expect(get.headers.get(`${form.prefix}meta-color`)).toBe("blue");
      expect(get.headers.get("x-oss-object-type")).toBe("Normal");
      expect(get.headers.get("x-oss-hash-crc64ecma")).toBe(await crc64(body));
      expect(Date.parse(get.headers.get("last-modified")!)).toBeGreaterThan(Date.now() - 60_000);

      const head = await req(s, "/data/dir/hello.txt", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe("11");
      expect(head.headers.get("etag")).toBe(put.headers.get("etag"));
    });

    test("Range reads answer 206 with Content-Range; bad ranges read all; out-of-range is 416", async (s) => {
      await (await req(s, "/data/k", { method: "PUT", body: "0123456789" })).body?.cancel();
      const range = async (r: string) => {
        const res = await req(s, "/data/k", { headers: { range: r } });
        return [res.status, res.headers.get("content-range"), await res.text()];
      };
      expect(await range("bytes=2-5")).toEqual([206, "bytes 2-5/10", "2345"]);
      expect(await range("bytes=7-")).toEqual([206, "bytes 7-9/10", "789"]);
      expect(await range("bytes=-3")).toEqual([206, "bytes 7-9/10", "789"]);
      expect(await range("bytes=8-1000")).toEqual([206, "bytes 8-9/10", "89"]);
      expect(await range("bytes=5-2")).toEqual([200, null, "0123456789"]);
      expect(await range("bytes=0-1,4-5")).toEqual([200, null, "0123456789"]);
      const bad = await req(s, "/data/k", { headers: { range: "bytes=10-" } });
      const xml = await bad.text();
      expect(bad.status).toBe(416);
      expect(bad.headers.get("content-range")).toBe("bytes */10");
      expect(xmlField(xml, "Code")).toBe("InvalidRange");
    });

    test("If-None-Match answers 304 and If-Match mismatch 412", async (s) => {
      const put = await req(s, "/data/k", { method: "PUT", body: "v1" });
      await put.body?.cancel();
      const etag = put.headers.get("etag")!;
      const notModified = await req(s, "/data/k", { headers: { "if-none-match": etag } });
      await notModified.body?.cancel();
      expect(notModified.status).toBe(304);
      const failed = await req(s, "/data/k", { headers: { "if-match": '"0000"' } });
      expect(failed.status).toBe(412);
      expect(xmlField(await failed.text(), "Code")).toBe("PreconditionFailed");
      const ok = await req(s, "/data/k", { headers: { "if-match": etag } });
      expect(await ok.text()).toBe("v1");
    });

    test("AppendObject returns the next position and enforces it", async (s) => {
      const a = await req(s, "/data/log?append&position=0", { method: "POST", body: "abc" });
      await a.body?.cancel();
      expect(a.headers.get("x-oss-next-append-position")).toBe("3");
      const b = await req(s, "/data/log?append&position=3", { method: "POST", body: "de" });
      await b.body?.cancel();
      expect(b.headers.get("x-oss-next-append-position")).toBe("5");
      expect(b.headers.get("x-oss-hash-crc64ecma")).toBe(await crc64(enc.encode("abcde")));
      const wrong = await req(s, "/data/log?append&position=3", { method: "POST", body: "x" });
      expect(wrong.status).toBe(409);
      expect(wrong.headers.get("x-oss-next-append-position")).toBe("5");
      expect(xmlField(await wrong.text(), "Code")).toBe("PositionNotEqualToLength");
      await (await req(s, "/data/plain", { method: "PUT", body: "p" })).body?.cancel();
      const notAppendable = await req(s, "/data/plain?append&position=1", { method: "POST", body: "x" });
      expect(notAppendable.status).toBe(409);
      expect(xmlField(await notAppendable.text(), "Code")).toBe("ObjectNotAppendable");
      const get = await req(s, "/data/log");
      expect(get.headers.get("x-oss-object-type")).toBe("Appendable");
      expect(await get.text()).toBe("abcde");
    });

    test("CopyObject copies bytes, keeps or replaces metadata, and reports a missing source", async (s) => {
      await (await req(s, "/data/src%20file", {
        method: "PUT",
        body: "copy me",
        headers: { [`${form.prefix}meta-a`]: "1" },
      })).body?.cancel();
      const copy = await req(s, "/data/dst", {
        method: "PUT",
        headers: { [`${form.prefix}copy-source`]: "/data/src%20file" },
      });
      const xml = await copy.text();
      expect(copy.status).toBe(200);
      expect(xml).toContain("<CopyObjectResult");
      expect(xmlField(xml, "ETag")).toBe(
        "&quot;" +
          (await (await req(s, "/data/src%20file", { method: "HEAD" })).headers.get("etag"))!.replaceAll(
            '"',
            "",
          ) + "&quot;",
      );
      const kept = await req(s, "/data/dst");
      expect([await kept.text(), kept.headers.get(`${form.prefix}meta-a`)]).toEqual(["copy me", "1"]);
      await (await req(s, "/data/dst2", {
        method: "PUT",
        headers: {
          [`${form.prefix}copy-source`]: "data/src%20file",
          [`${form.prefix}metadata-directive`]: "REPLACE",
          [`${form.prefix}meta-b`]: "2",
        },
      })).body?.cancel();
      const replaced = await req(s, "/data/dst2", { method: "HEAD" });
      expect([replaced.headers.get(`${form.prefix}meta-a`), replaced.headers.get(`${form.prefix}meta-b`)])
        .toEqual([null, "2"]);
      const missing = await req(s, "/data/x", {
        method: "PUT",
        headers: { [`${form.prefix}copy-source`]: "/data/nope" },
      });
      expect(missing.status).toBe(404);
      expect(xmlField(await missing.text(), "Code")).toBe("NoSuchKey");
    });

    test("DELETE answers 204 and later reads fail with OSS-shaped NoSuchKey XML", async (s) => {
      await (await req(s, "/data/gone", { method: "PUT", body: "x" })).body?.cancel();
      const del = await req(s, "/data/gone", { method: "DELETE" });
      await del.body?.cancel();
      expect(del.status).toBe(204);
      const again = await req(s, "/data/gone", { method: "DELETE" });
      await again.body?.cancel();
      expect(again.status).toBe(204);
      const get = await req(s, "/data/gone");
      const xml = await get.text();
      expect(get.status).toBe(404);
      expect(get.headers.get("content-type")).toBe("application/xml");
      expect(xml).toMatch(
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>/,
      );
      expect(xmlField(xml, "RequestId")).toBe(get.headers.get("x-oss-request-id"));
      expect(xmlField(xml, "Key")).toBe("gone");
      expect(xmlField(xml, "BucketName")).toBe("data");
      expect(xmlField(xml, "HostId")).toBe(new URL(s.url).host);
      const head = await req(s, "/data/gone", { method: "HEAD" });
      expect([head.status, await head.text()]).toEqual([404, ""]);
    });

    test("missing bucket is NoSuchBucket with BucketName; PutBucket creates it", async (s) => {
      const res = await req(s, "/other/k", { method: "PUT", body: "x" });
      const xml = await res.text();
      expect([res.status, xmlField(xml, "Code"), xmlField(xml, "BucketName")]).toEqual([
        404,
        "NoSuchBucket",
        "other",
      ]);
      const created = await req(s, "/other", { method: "PUT" });
      await created.body?.cancel();
      expect(created.status).toBe(200);
      const put = await req(s, "/other/k", { method: "PUT", body: "x" });
      await put.body?.cancel();
      expect(put.status).toBe(200);
    });

    test("Content-MD5 and payload SHA-256 mismatches are rejected and nothing is written", async (s) => {
      const md5 = await req(s, "/data/k", {
        method: "PUT",
        body: "abc",
        headers: { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" },
      });
      expect([md5.status, xmlField(await md5.text(), "Code")]).toEqual([400, "BadDigest"]);
      const goodMd5 = await req(s, "/data/k", {
        method: "PUT",
        body: "abc",
        headers: { "content-md5": "kAFQmDzST7DWlj99KOF/cg==" },
      });
      await goodMd5.body?.cancel();
      expect(goodMd5.status).toBe(200);
      const sha = await req(s, "/data/k2", {
        method: "PUT",
        body: "abc",
        headers: { [`${form.prefix}content-sha256`]: "0".repeat(64) },
      });
      expect([sha.status, xmlField(await sha.text(), "Code")]).toEqual([400, "XAmzContentSHA256Mismatch"]);
      const head = await req(s, "/data/k2", { method: "HEAD" });
      await head.body?.cancel();
      expect(head.status).toBe(404);
    });
  }
}
