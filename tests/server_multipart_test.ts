import { expect } from "expect";
import { XMLParser } from "fast-xml-parser";
import { crc64 } from "../src/crc64.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const parser = new XMLParser({ parseTagValue: false, isArray: (n) => n === "Part" || n === "Upload" });
const enc = new TextEncoder();
// deno-lint-ignore no-explicit-any
type Xml = any;

const FORMS: Record<string, { prefix: string; headers: Record<string, string> }> = {
  oss: { prefix: "x-oss-", headers: {} },
  s3: { prefix: "x-amz-", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
};

const completeBody = (parts: { n: number; etag: string }[]) =>
  `<CompleteMultipartUpload>${
    parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag></Part>`).join("")
  }</CompleteMultipartUpload>`;

for (const backendName of ["memory", "directory"]) {
  for (const [formName, form] of Object.entries(FORMS)) {
    const test = (
      what: string,
      fn: (
        call: (path: string, init?: RequestInit) => Promise<[Response, string]>,
        s: RunningEmulator,
      ) => Promise<void>,
      opts: ServeEmulatorOptions = {},
    ) =>
      Deno.test(`server ${formName} form, ${backendName} store: ${what}`, async () => {
        const dir = backendName === "directory"
          ? await Deno.makeTempDir({ prefix: "ossflow-mp-" })
          : undefined;
        const store: ObjectStore = dir ? new DirectoryStore(dir) : new MemoryStore();
        // Tiny parts keep these tests small; the 100 KiB minimum OSS applies (the default) has its own test.
        const s = await serveEmulator({ store, buckets: ["data"], minPartSize: 0, ...opts });
        const call = async (path: string, init: RequestInit = {}): Promise<[Response, string]> => {
          const res = await fetch(`${s.url}${path}`, {
            ...init,
            headers: { ...form.headers, ...(init.headers as Record<string, string>) },
          });
          return [res, await res.text()];
        };
        try {
          await fn(call, s);
        } finally {
          await s.close();
          await store.close();
          if (dir) await Deno.remove(dir, { recursive: true });
        }
      });

    const initiate = async (
      call: (p: string, i?: RequestInit) => Promise<[Response, string]>,
      key: string,
    ) => {
      const [res, xml] = await call(`/data/${key}?uploads`, {
        method: "POST",
        headers: { "content-type": "application/x-ckpt", [`${form.prefix}meta-step`]: "7" },
      });
      expect(res.status).toBe(200);
      const r = parser.parse(xml).InitiateMultipartUploadResult;
      expect([r.Bucket, r.Key]).toEqual(["data", key]);
      return r.UploadId as string;
    };

    test(
      "initiate, upload parts, list, complete: the object appears only when completed",
      async (call, s) => {
        const id = await initiate(call, "ckpt/model.bin");
        const parts = [enc.encode("a".repeat(1000)), enc.encode("b".repeat(500)), enc.encode("tail")];
        const etags: string[] = [];
        for (const [i, body] of parts.entries()) {
          const [res] = await call(`/data/ckpt/model.bin?partNumber=${i + 1}&uploadId=${id}`, {
            method: "PUT",
            body,
          });
          expect(res.status).toBe(200);
          expect(res.headers.get("x-oss-hash-crc64ecma")).toBe(await crc64(body));
          etags.push(res.headers.get("etag")!);
        }
        const [head] = await call("/data/ckpt/model.bin", { method: "HEAD" });
        expect(head.status).toBe(404);
        const listed = parser.parse((await call(`/data/ckpt/model.bin?uploadId=${id}`))[1]).ListPartsResult;
        expect(listed.Part.map((p: Xml) => [p.PartNumber, p.ETag, p.Size])).toEqual(
          etags.map((e, i) => [String(i + 1), e, String(parts[i].length)]),
        );
        const page =
          parser.parse((await call(`/data/ckpt/model.bin?uploadId=${id}&max-parts=2`))[1]).ListPartsResult;
        expect([page.Part.length, page.IsTruncated, page.NextPartNumberMarker]).toEqual([2, "true", "2"]);
        const uploads = parser.parse((await call("/data?uploads"))[1]).ListMultipartUploadsResult;
        expect(uploads.Upload.map((u: Xml) => [u.Key, u.UploadId])).toEqual([["ckpt/model.bin", id]]);

        const [done, xml] = await call(`/data/ckpt/model.bin?uploadId=${id}`, {
          method: "POST",
          body: completeBody(etags.map((etag, i) => ({ n: i + 1, etag }))),
        });
        expect(done.status).toBe(200);
        const r = parser.parse(xml).CompleteMultipartUploadResult;
        expect(r.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
        const all = new Uint8Array(await new Blob(parts).arrayBuffer());
        expect(done.headers.get("x-oss-hash-crc64ecma")).toBe(await crc64(all));
        const get = await fetch(`${s.url}/data/ckpt/model.bin`, { headers: form.headers });
        const got = new Uint8Array(await get.arrayBuffer());
        expect(got).toEqual(all);
        expect(get.headers.get("etag")).toBe(r.ETag);
        expect(get.headers.get("x-oss-object-type")).toBe("Multipart");
        expect(get.headers.get("content-type")).toBe("application/x-ckpt");
        expect(get.headers.get(`${form.prefix}meta-step`)).toBe("7");
        expect(parser.parse((await call("/data?uploads"))[1]).ListMultipartUploadsResult.Upload)
          .toBeUndefined();
      },
    );

    test("completion errors: InvalidPart, InvalidPartOrder, MalformedXML, NoSuchUpload", async (call) => {
      const id = await initiate(call, "k");
      const [p1] = await call(`/data/k?partNumber=1&uploadId=${id}`, { method: "PUT", body: "one" });
      const [p2] = await call(`/data/k?partNumber=2&uploadId=${id}`, { method: "PUT", body: "two" });
      const e1 = p1.headers.get("etag")!, e2 = p2.headers.get("etag")!;
      const complete = async (body: string, uploadId = id) => {
        const [res, xml] = await call(`/data/k?uploadId=${uploadId}`, { method: "POST", body });
        return [res.status, parser.parse(xml).Error?.Code];
      };
      expect(await complete(completeBody([{ n: 1, etag: e2 }]))).toEqual([400, "InvalidPart"]);
      expect(await complete(completeBody([{ n: 3, etag: e1 }]))).toEqual([400, "InvalidPart"]);
      expect(await complete(completeBody([{ n: 2, etag: e2 }, { n: 1, etag: e1 }]))).toEqual([
        400,
        "InvalidPartOrder",
      ]);
      expect(await complete("<CompleteMultipartUpload><Part>")).toEqual([400, "MalformedXML"]);
      expect(await complete(completeBody([{ n: 1, etag: e1 }]), "NOPE")).toEqual([404, "NoSuchUpload"]);
      for (const n of ["0", "10001", "x"]) {
        const [res, xml] = await call(`/data/k?partNumber=${n}&uploadId=${id}`, { method: "PUT", body: "x" });
        expect([res.status, parser.parse(xml).Error.Code]).toEqual([400, "InvalidArgument"]);
      }
      expect(await complete(completeBody([{ n: 1, etag: e1 }, { n: 2, etag: e2 }]))).toEqual([
        200,
        undefined,
      ]);
    });

    test("abort discards the upload and its parts", async (call, s) => {
      const id = await initiate(call, "k");
      await call(`/data/k?partNumber=1&uploadId=${id}`, { method: "PUT", body: "data" });
      const [abort] = await call(`/data/k?uploadId=${id}`, { method: "DELETE" });
      expect(abort.status).toBe(204);
      const [res, xml] = await call(`/data/k?uploadId=${id}`);
      expect([res.status, parser.parse(xml).Error.Code]).toEqual([404, "NoSuchUpload"]);
      expect(await s.store.listUploads("data")).toEqual([]);
      expect(await s.store.head("data", "k")).toBeUndefined();
    });

    test("UploadPartCopy copies a byte range of an object into a part", async (call) => {
      await call("/data/src", { method: "PUT", body: "0123456789" });
      const id = await initiate(call, "dst");
      const [res, xml] = await call(`/data/dst?partNumber=1&uploadId=${id}`, {
        method: "PUT",
        headers: {
          [`${form.prefix}copy-source`]: "/data/src",
          [`${form.prefix}copy-source-range`]: "bytes=2-5",
        },
      });
      expect(res.status).toBe(200);
      const etag = parser.parse(xml).CopyPartResult.ETag;
      await call(`/data/dst?uploadId=${id}`, { method: "POST", body: completeBody([{ n: 1, etag }]) });
      expect((await call("/data/dst"))[1]).toBe("2345");
    });
  }
}

Deno.test("server: by default, as on OSS, CompleteMultipartUpload rejects non-final parts under 100 KiB", async () => {
  const s = await serveEmulator({ buckets: ["data"] });
  try {
    const id = parser.parse(await (await fetch(`${s.url}/data/k?uploads`, { method: "POST" })).text())
      .InitiateMultipartUploadResult.UploadId;
    const etags: string[] = [];
    for (const n of [1, 2]) {
      const res = await fetch(`${s.url}/data/k?partNumber=${n}&uploadId=${id}`, {
        method: "PUT",
        body: "small",
      });
      await res.body?.cancel();
      etags.push(res.headers.get("etag")!);
    }
    const res = await fetch(`${s.url}/data/k?uploadId=${id}`, {
      method: "POST",
      body: completeBody(etags.map((etag, i) => ({ n: i + 1, etag }))),
    });
    expect([res.status, parser.parse(await res.text()).Error.Code]).toEqual([400, "EntityTooSmall"]);
  } finally {
    await s.close();
  }
});

Deno.test("server: x-oss-complete-all completes with every uploaded part", async () => {
  const s = await serveEmulator({ buckets: ["data"], minPartSize: 0 });
  try {
    const id = parser.parse(await (await fetch(`${s.url}/data/k?uploads`, { method: "POST" })).text())
      .InitiateMultipartUploadResult.UploadId;
    for (const [n, body] of [[2, "B"], [1, "A"]] as const) {
      await (await fetch(`${s.url}/data/k?partNumber=${n}&uploadId=${id}`, { method: "PUT", body })).body
        ?.cancel();
    }
    const res = await fetch(`${s.url}/data/k?uploadId=${id}`, {
      method: "POST",
      headers: { "x-oss-complete-all": "yes" },
    });
    await res.body?.cancel();
    expect(res.status).toBe(200);
    expect(await (await fetch(`${s.url}/data/k`)).text()).toBe("AB");
  } finally {
    await s.close();
  }
});

Deno.test("server: a multipart upload survives a server restart on the same data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-mp-restart-" });
  try {
    const first = await serveEmulator({ store: new DirectoryStore(dir), buckets: ["data"], minPartSize: 0 });
    const id = parser.parse(await (await fetch(`${first.url}/data/ckpt?uploads`, { method: "POST" })).text())
      .InitiateMultipartUploadResult.UploadId;
    const p1 = await fetch(`${first.url}/data/ckpt?partNumber=1&uploadId=${id}`, {
      method: "PUT",
      body: "before ",
    });
    await p1.body?.cancel();
    await first.store.close();
    await first.close();

    const second = await serveEmulator({ store: new DirectoryStore(dir), minPartSize: 0 });
    try {
      const p2 = await fetch(`${second.url}/data/ckpt?partNumber=2&uploadId=${id}`, {
        method: "PUT",
        body: "after",
      });
      await p2.body?.cancel();
      const parts = [{ n: 1, etag: p1.headers.get("etag")! }, { n: 2, etag: p2.headers.get("etag")! }];
      const done = await fetch(`${second.url}/data/ckpt?uploadId=${id}`, {
        method: "POST",
        body: completeBody(parts),
      });
      await done.body?.cancel();
      expect(done.status).toBe(200);
      expect(await (await fetch(`${second.url}/data/ckpt`)).text()).toBe("before after");
    } finally {
      await second.store.close();
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
