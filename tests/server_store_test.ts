import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { crc64Combine } from "../src/crc64.ts";
import {
  DirectoryStore,
  EmulatorError,
  MemoryStore,
  type ObjectStore,
  type ReadBody,
} from "../src/server/store/mod.ts";

const enc = new TextEncoder();
const text = async (s: ReadBody) => await new Response(s).text();

/** Both backends, each in a fresh state; `reopen` gives a new instance over the same data (restart). */
const backends: {
  name: string;
  open: () => Promise<{ store: ObjectStore; reopen: () => ObjectStore; done(): Promise<void> }>;
}[] = [
  {
    name: "MemoryStore",
    open: () => {
      const store = new MemoryStore();
      return Promise.resolve({ store, reopen: () => store, done: () => store.close() });
    },
  },
  {
    name: "DirectoryStore",
    open: async () => {
      const dir = await Deno.makeTempDir({ prefix: "ossflow-store-" });
      const store = new DirectoryStore(dir);
      return {
        store,
        reopen: () => new DirectoryStore(dir),
        done: async () => {
          await store.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
];

/** A stream that delivers `first`, then waits for `release()` before delivering `rest` and closing. */
/** A body that gives `first`, then waits for `release()` to give `rest`; `waiting` resolves once the reader has
 * taken `first` and asked for more (a stream with no queue: each chunk is made when it is read). */
function gatedStream(first: string, rest: string) {
  let release!: () => void, asked!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const waiting = new Promise<void>((r) => (asked = r));
  let reads = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (reads++ === 0) return c.enqueue(enc.encode(first));
      asked();
      await gate;
      c.enqueue(enc.encode(rest));
      c.close();
    },
  }, { highWaterMark: 0 });
  return { stream, release, waiting };
}

for (const backend of backends) {
  const t = (name: string, fn: (s: ObjectStore, reopen: () => ObjectStore) => Promise<void>) =>
    Deno.test(`${backend.name}: ${name}`, async () => {
      const b = await backend.open();
      try {
        await b.store.createBucket("data");
        await fn(b.store, b.reopen);
      } finally {
        await b.done();
      }
    });

  t("put then get returns the bytes with MD5 ETag and CRC-64", async (s) => {
    const meta = await s.put("data", "a/b.txt", enc.encode("hello world"), { contentType: "text/plain" });
    expect(meta.etag).toBe("5eb63bbbe01eeed093cb22bb8f5acdc3");
    expect(meta.crc64).toBe(await crc64(enc.encode("hello world")));
    expect(meta.objectType).toBe("Normal");
    const got = await s.get("data", "a/b.txt");
    expect(await text(got.body)).toBe("hello world");
    expect(got.meta.contentType).toBe("text/plain");
  });

  t("range reads: closed, open, suffix, clamped end, and unsatisfiable", async (s) => {
    await s.put("data", "k", enc.encode("0123456789"));
    const read = async (range: Parameters<ObjectStore["get"]>[2]) => {
      const r = await s.get("data", "k", range);
      return [await text(r.body), r.range];
    };
    expect(await read({ range: { start: 2, end: 4 } })).toEqual(["234", { start: 2, end: 4 }]);
    expect(await read({ range: { start: 7 } })).toEqual(["789", { start: 7, end: 9 }]);
    expect(await read({ range: { suffix: 3 } })).toEqual(["789", { start: 7, end: 9 }]);
    expect(await read({ range: { suffix: 50 } })).toEqual(["0123456789", { start: 0, end: 9 }]);
    expect(await read({ range: { start: 8, end: 100 } })).toEqual(["89", { start: 8, end: 9 }]);
    await expect(s.get("data", "k", { range: { start: 10 } })).rejects.toMatchObject({
      code: "InvalidRange",
      status: 416,
    });
    await expect(s.get("data", "k", { range: { suffix: 0 } })).rejects.toMatchObject({
      code: "InvalidRange",
    });
  });

  t("a write is invisible until its body has been fully received", async (s) => {
    await s.put("data", "k", enc.encode("old"));
    const gated = gatedStream("new-", "content");
    const writing = s.put("data", "k", gated.stream);
    const fresh = gatedStream("x", "y");
    const creating = s.put("data", "fresh", fresh.stream);
    await Promise.all([gated.waiting, fresh.waiting]); // both writes are under way, their bodies half read
    expect(await text((await s.get("data", "k")).body)).toBe("old");
    expect(await s.head("data", "fresh")).toBeUndefined();
    expect((await s.list("data", { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(["k"]);
    gated.release();
    fresh.release();
    await Promise.all([writing, creating]);
    expect(await text((await s.get("data", "k")).body)).toBe("new-content");
    expect((await s.head("data", "fresh"))?.size).toBe(2);
  });

  t("a failed write leaves the previous object intact", async (s) => {
    await s.put("data", "k", enc.encode("old"));
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode("partial"));
        c.error(new Error("client went away"));
      },
    });
    await expect(s.put("data", "k", failing)).rejects.toThrow("client went away");
    await expect(s.put("data", "k", enc.encode("new"), {
      verify: () => {
        throw new Error("bad digest");
      },
    }))
      .rejects.toThrow("bad digest");
    expect(await text((await s.get("data", "k")).body)).toBe("old");
  });

  t("a reader keeps reading the old bytes while the object is replaced", async (s) => {
    const big = new Uint8Array(3 * 1024 * 1024).fill(1);
    await s.put("data", "k", big);
    const reading = await s.get("data", "k");
    await s.put("data", "k", enc.encode("replaced"));
    const bytes = new Uint8Array(await new Response(reading.body).arrayBuffer());
    expect(bytes.length).toBe(big.length);
    expect(bytes.every((b) => b === 1)).toBe(true);
  });

  t("append grows an appendable object and checks the position", async (s) => {
    const a = await s.append("data", "log", 0, enc.encode("abc"));
    expect(a).toMatchObject({ size: 3, objectType: "Appendable" });
    const b = await s.append("data", "log", 3, enc.encode("defg"));
    expect(b.size).toBe(7);
    expect(b.crc64).toBe(await crc64(enc.encode("abcdefg")));
    await expect(s.append("data", "log", 3, enc.encode("x"))).rejects.toMatchObject({
      code: "PositionNotEqualToLength",
      status: 409,
      headers: { "x-oss-next-append-position": "7" },
    });
    await s.put("data", "plain", enc.encode("p"));
    await expect(s.append("data", "plain", 1, enc.encode("x"))).rejects.toMatchObject({
      code: "ObjectNotAppendable",
      status: 409,
    });
    expect(await text((await s.get("data", "log")).body)).toBe("abcdefg");
  });

  t("a failed append leaves no trace and the next append continues at the committed size", async (s) => {
    await s.append("data", "log", 0, enc.encode("abc"));
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode("garbage"));
        c.error(new Error("cut"));
      },
    });
    await expect(s.append("data", "log", 3, failing)).rejects.toThrow("cut");
    expect((await s.head("data", "log"))?.size).toBe(3);
    await s.append("data", "log", 3, enc.encode("def"));
    expect(await text((await s.get("data", "log")).body)).toBe("abcdef");
  });

  t("copy duplicates bytes and keeps the ETag; delete reports whether the key existed", async (s) => {
    const src = await s.put("data", "src", enc.encode("payload"), { userMeta: { a: "1" } });
    const copied = await s.copy({ bucket: "data", key: "src" }, { bucket: "data", key: "dst" });
    expect(copied.etag).toBe(src.etag);
    expect(copied.userMeta).toEqual({ a: "1" });
    const replaced = await s.copy({ bucket: "data", key: "src" }, { bucket: "data", key: "dst2" }, {
      metadata: { userMeta: {} },
    });
    expect(replaced.userMeta).toEqual({});
    expect(await text((await s.get("data", "dst")).body)).toBe("payload");
    expect(await s.delete("data", "src")).toBe(true);
    expect(await s.delete("data", "src")).toBe(false);
    await expect(s.copy({ bucket: "data", key: "src" }, { bucket: "data", key: "x" })).rejects.toMatchObject({
      code: "NoSuchKey",
    });
  });

  t("list pages through prefixes, delimiters and markers in UTF-8 order", async (s) => {
    const keys = ["a/1", "a/2", "a/b/3", "b", "c/4", "\u{1F600}", "\uFFFD"];
    for (const k of keys) await s.put("data", k, enc.encode(k));
    const all = await s.list("data", { maxKeys: 100 });
    expect(all.objects.map((o) => o.key)).toEqual(["a/1", "a/2", "a/b/3", "b", "c/4", "\uFFFD", "\u{1F600}"]);
    const grouped = await s.list("data", { delimiter: "/", maxKeys: 100 });
    expect(grouped.commonPrefixes).toEqual(["a/", "c/"]);
    expect(grouped.objects.map((o) => o.key)).toEqual(["b", "\uFFFD", "\u{1F600}"]);
    const inA = await s.list("data", { prefix: "a/", delimiter: "/", maxKeys: 100 });
    expect([inA.objects.map((o) => o.key), inA.commonPrefixes]).toEqual([["a/1", "a/2"], ["a/b/"]]);
    // Pages of 1 entry (object or prefix) never repeat a common prefix.
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await s.list("data", { delimiter: "/", maxKeys: 1, startAfter: marker });
      seen.push(...page.commonPrefixes, ...page.objects.map((o) => o.key));
      marker = page.isTruncated ? page.nextMarker : undefined;
    } while (marker !== undefined);
    expect(seen).toEqual(["a/", "b", "c/", "\uFFFD", "\u{1F600}"]);
  });

  t("multipart: parts assemble in order with an md5-of-md5s ETag and combined CRC-64", async (s) => {
    const up = await s.createUpload("data", "mp", { contentType: "application/x-test" });
    const p1 = await s.uploadPart("data", "mp", up.uploadId, 1, enc.encode("part-one|"));
    await s.uploadPart("data", "mp", up.uploadId, 2, enc.encode("WRONG"));
    const p2 = await s.uploadPart("data", "mp", up.uploadId, 2, enc.encode("part-two")); // replaces
    await s.uploadPart("data", "mp", up.uploadId, 3, enc.encode("unused"));
    expect((await s.listParts("data", "mp", up.uploadId)).map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(await s.head("data", "mp")).toBeUndefined();
    const meta = await s.completeUpload("data", "mp", up.uploadId, [
      { partNumber: 1, etag: `"${p1.etag}"` },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(meta.etag).toMatch(/^[0-9a-f]{32}-2$/);
    expect(meta.objectType).toBe("Multipart");
    expect(meta.crc64).toBe(await crc64(enc.encode("part-one|part-two")));
    expect(await text((await s.get("data", "mp", { range: { start: 5, end: 11 } })).body)).toBe("one|par");
    expect(await s.listUploads("data")).toEqual([]);
    await expect(s.listParts("data", "mp", up.uploadId)).rejects.toMatchObject({
      code: "NoSuchUpload",
      status: 404,
    });
  });

  t("multipart completion rejects unknown parts, wrong ETags, bad order and small parts", async (s) => {
    const up = await s.createUpload("data", "mp");
    const p1 = await s.uploadPart("data", "mp", up.uploadId, 1, enc.encode("a"));
    const p2 = await s.uploadPart("data", "mp", up.uploadId, 2, enc.encode("b"));
    const complete = (parts: { partNumber: number; etag: string }[], minPartSize?: number) =>
      s.completeUpload("data", "mp", up.uploadId, parts, { minPartSize });
    await expect(complete([{ partNumber: 3, etag: p1.etag }])).rejects.toMatchObject({
      code: "InvalidPart",
      status: 400,
    });
    await expect(complete([{ partNumber: 1, etag: p2.etag }])).rejects.toMatchObject({ code: "InvalidPart" });
    await expect(complete([{ partNumber: 2, etag: p2.etag }, { partNumber: 1, etag: p1.etag }])).rejects
      .toMatchObject({ code: "InvalidPartOrder", status: 400 });
    await expect(complete([{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }], 2)).rejects
      .toMatchObject({ code: "EntityTooSmall" });
    await expect(s.uploadPart("data", "other", up.uploadId, 1, enc.encode("x"))).rejects.toMatchObject({
      code: "NoSuchUpload",
    });
    await s.abortUpload("data", "mp", up.uploadId);
    await expect(s.abortUpload("data", "mp", up.uploadId)).rejects.toMatchObject({ code: "NoSuchUpload" });
  });

  t("rejects unsafe keys and bucket names with InvalidObjectName / InvalidBucketName", async (s) => {
    for (
      const key of [
        "",
        "/abs",
        "\\abs",
        "a/../b",
        "..",
        "./a",
        "a/.",
        "a\\..\\b",
        "nul\0byte",
        "x".repeat(1024),
      ]
    ) {
      await expect(s.put("data", key, enc.encode("x"))).rejects.toMatchObject({ code: "InvalidObjectName" });
    }
    await s.put("data", "ok/..not-a-segment/.hidden", enc.encode("x"));
    await expect(s.createBucket("Bad_Name")).rejects.toMatchObject({ code: "InvalidBucketName" });
    await expect(s.put("nobucket", "k", enc.encode("x"))).rejects.toBeInstanceOf(EmulatorError);
  });

  t("buckets: delete requires empty, missing bucket is NoSuchBucket", async (s) => {
    await s.put("data", "k", enc.encode("x"));
    await expect(s.deleteBucket("data")).rejects.toMatchObject({ code: "BucketNotEmpty", status: 409 });
    await s.delete("data", "k");
    await s.deleteBucket("data");
    expect(await s.hasBucket("data")).toBe(false);
    await expect(s.head("data", "k")).rejects.toMatchObject({ code: "NoSuchBucket", status: 404 });
  });
}

Deno.test("DirectoryStore: objects, appends and uploads survive a restart; crash leftovers are cleaned", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-restart-" });
  try {
    const first = new DirectoryStore(dir);
    await first.createBucket("data");
    await first.put("data", "dir/obj", enc.encode("persisted"), { userMeta: { k: "v" } });
    await first.append("data", "log", 0, enc.encode("ab"));
    await first.append("data", "log", 2, enc.encode("cd"));
    const up = await first.createUpload("data", "big");
    const p1 = await first.uploadPart("data", "big", up.uploadId, 1, enc.encode("12345"));
    await first.close();
    // Simulate a crash: a half-written staging file and an unreferenced blob.
    await Deno.writeTextFile(`${dir}/staging/dead.tmp`, "junk");
    await Deno.mkdir(`${dir}/blobs/ff`, { recursive: true });
    await Deno.writeTextFile(`${dir}/blobs/ff/ff00orphan`, "junk");

    const second = new DirectoryStore(dir);
    const meta = await second.head("data", "dir/obj");
    expect(meta).toMatchObject({ size: 9, userMeta: { k: "v" } });
    expect(await text((await second.get("data", "log")).body)).toBe("abcd");
    await second.append("data", "log", 4, enc.encode("e"));
    expect((await second.listParts("data", "big", up.uploadId)).map((p) => p.etag)).toEqual([p1.etag]);
    await second.completeUpload("data", "big", up.uploadId, [{ partNumber: 1, etag: p1.etag }]);
    expect([...Deno.readDirSync(`${dir}/staging`)]).toEqual([]);
    await expect(Deno.stat(`${dir}/blobs/ff/ff00orphan`)).rejects.toBeInstanceOf(Deno.errors.NotFound);
    await second.close();

    const third = new DirectoryStore(dir);
    expect(await text((await third.get("data", "big")).body)).toBe("12345");
    expect(await text((await third.get("data", "log")).body)).toBe("abcde");
    expect(await third.listUploads("data")).toEqual([]);
    await third.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DirectoryStore: file names never derive from keys, so hostile keys stay inside the directory", async () => {
  const parent = await Deno.makeTempDir({ prefix: "ossflow-confine-" });
  const dir = `${parent}/data`;
  try {
    const store = new DirectoryStore(dir);
    await store.createBucket("bkt");
    const hostile = [
      "..%2F..%2Fescape",
      "a/..x/b",
      "%2e%2e/%2e%2e/x",
      "con",
      "a:b",
      "x".repeat(1000),
      "é/ü/\u{1F600}",
    ];
    for (const key of hostile) await store.put("bkt", key, enc.encode(key));
    for (const key of hostile) expect(await text((await store.get("bkt", key)).body)).toBe(key);
    await store.close();
    expect([...Deno.readDirSync(parent)].map((e) => e.name)).toEqual(["data"]);
    const walk = (d: string): string[] =>
      [...Deno.readDirSync(d)].flatMap((e) => (e.isDirectory ? walk(`${d}/${e.name}`) : [`${d}/${e.name}`]));
    for (const file of walk(dir)) {
      expect(file.startsWith(`${dir}/`)).toBe(true);
      expect(file.slice(dir.length)).toMatch(
        /^\/(ossflow-store\.json|buckets\/bkt\.json|blobs\/[0-9a-f]{2}\/[0-9a-f]{32}|objects\/bkt\/[0-9a-f]{2}\/[0-9a-f]{64}\.json)$/,
      );
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("crc64Combine equals the CRC-64 of the concatenation", async () => {
  const a = crypto.getRandomValues(new Uint8Array(1000));
  const b = new Uint8Array(70_001).map((_, i) => (i * 31) & 255);
  const ab = new Uint8Array(a.length + b.length);
  ab.set(a);
  ab.set(b, a.length);
  expect(crc64Combine(await crc64(a), await crc64(b), b.length)).toBe(await crc64(ab));
  expect(crc64Combine(await crc64(a), await crc64(new Uint8Array(0)), 0)).toBe(await crc64(a));
});
