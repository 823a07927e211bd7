import { expect } from "expect";
import { XMLParser } from "fast-xml-parser";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const parser = new XMLParser({
  parseTagValue: false,
  ignoreAttributes: false,
  isArray: (name, jpath) =>
    ["Contents", "CommonPrefixes", "Deleted", "Upload"].includes(name) ||
    ["DeleteResult.Error", "ListAllMyBucketsResult.Buckets.Bucket"].includes(String(jpath)),
});

const FORMS: Record<string, Record<string, string>> = {
  oss: {},
  s3: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
};

const KEYS = ["a/1", "a/2", "a/sub/3", "b", "c d/e", "c d/f", "z+plus", "é"];

// deno-lint-ignore no-explicit-any
type Xml = any;

for (const backendName of ["memory", "directory"]) {
  for (const [formName, headers] of Object.entries(FORMS)) {
    const test = (
      what: string,
      fn: (s: RunningEmulator, get: (path: string) => Promise<Xml>) => Promise<void>,
    ) =>
      Deno.test(`server ${formName} form, ${backendName} store: ${what}`, async () => {
        const dir = backendName === "directory"
          ? await Deno.makeTempDir({ prefix: "ossflow-list-" })
          : undefined;
        const store: ObjectStore = dir ? new DirectoryStore(dir) : new MemoryStore();
        const s = await serveEmulator({ store, buckets: ["data"] });
        try {
          for (const k of KEYS) await s.store.put("data", k, new TextEncoder().encode(k));
          const get = async (path: string) => {
            const res = await fetch(`${s.url}${path}`, { headers });
            const text = await res.text();
            expect(res.status).toBe(200);
            return parser.parse(text);
          };
          await fn(s, get);
        } finally {
          await s.close();
          await store.close();
          if (dir) await Deno.remove(dir, { recursive: true });
        }
      });

    test("ListObjectsV2 lists everything in UTF-8 order with sizes and quoted ETags", async (_s, get) => {
      const r = (await get("/data?list-type=2")).ListBucketResult;
      expect(r.Contents.map((c: Xml) => c.Key)).toEqual(KEYS);
      expect(r.KeyCount).toBe(String(KEYS.length));
      expect(r.IsTruncated).toBe("false");
      expect(r.MaxKeys).toBe(formName === "s3" ? "1000" : "100");
      expect(r.Contents[0].Size).toBe("3");
      expect(r.Contents[0].ETag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(r["@_xmlns"]).toBe(formName === "s3" ? "http://s3.amazonaws.com/doc/2006-03-01/" : undefined);
    });

    test("ListObjectsV2 groups by delimiter into CommonPrefixes under a prefix", async (_s, get) => {
      const top = (await get("/data?list-type=2&delimiter=/")).ListBucketResult;
      expect(top.CommonPrefixes.map((p: Xml) => p.Prefix)).toEqual(["a/", "c d/"]);
      expect(top.Contents.map((c: Xml) => c.Key)).toEqual(["b", "z+plus", "é"]);
      const inA = (await get("/data?list-type=2&delimiter=/&prefix=a/")).ListBucketResult;
      expect(inA.Contents.map((c: Xml) => c.Key)).toEqual(["a/1", "a/2"]);
      expect(inA.CommonPrefixes.map((p: Xml) => p.Prefix)).toEqual(["a/sub/"]);
    });

    test(
      "ListObjectsV2 paginates with max-keys and continuation tokens, honouring start-after",
      async (_s, get) => {
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const q = `/data?list-type=2&max-keys=3${
            token ? `&continuation-token=${encodeURIComponent(token)}` : ""
          }`;
          const r = (await get(q)).ListBucketResult;
          seen.push(...(r.Contents ?? []).map((c: Xml) => c.Key));
          token = r.IsTruncated === "true" ? r.NextContinuationToken : undefined;
          if (token) expect(r.KeyCount).toBe("3");
          pages++;
        } while (token);
        expect([seen, pages]).toEqual([KEYS, 3]);
        const after = (await get("/data?list-type=2&start-after=b")).ListBucketResult;
        expect(after.Contents.map((c: Xml) => c.Key)).toEqual(KEYS.slice(4));
        expect(after.StartAfter).toBe("b");
      },
    );

    test("ListObjects v1 pages with marker/NextMarker and includes Owner", async (_s, get) => {
      const first = (await get("/data?max-keys=5")).ListBucketResult;
      expect(first.Contents.map((c: Xml) => c.Key)).toEqual(KEYS.slice(0, 5));
      expect([first.IsTruncated, first.NextMarker]).toEqual(["true", "c d/e"]);
      expect(first.Contents[0].Owner).toEqual({ ID: "ossflow", DisplayName: "ossflow" });
      const rest =
        (await get(`/data?max-keys=5&marker=${encodeURIComponent(first.NextMarker)}`)).ListBucketResult;
      expect(rest.Contents.map((c: Xml) => c.Key)).toEqual(KEYS.slice(5));
      expect(rest.IsTruncated).toBe("false");
    });

    test("encoding-type=url encodes keys and prefixes in listings", async (_s, get) => {
      const r = (await get("/data?list-type=2&delimiter=/&encoding-type=url")).ListBucketResult;
      expect(r.EncodingType).toBe("url");
      expect(r.CommonPrefixes.map((p: Xml) => p.Prefix)).toEqual(["a/", "c%20d/"]);
      expect(r.Contents.map((c: Xml) => c.Key)).toEqual(["b", "z%2Bplus", "%C3%A9"]);
    });

    test("DeleteMultipleObjects deletes listed keys and reports them unless quiet", async (s) => {
      const body = "<Delete><Quiet>false</Quiet><Object><Key>a/1</Key></Object>" +
        "<Object><Key>missing</Key></Object><Object><Key>a/../x</Key></Object></Delete>";
      const res = await fetch(`${s.url}/data?delete`, { method: "POST", body, headers });
      const r = parser.parse(await res.text()).DeleteResult;
      expect(r.Deleted.map((d: Xml) => d.Key)).toEqual(["a/1", "missing"]);
      expect(r.Error.map((e: Xml) => [e.Key, e.Code])).toEqual([["a/../x", "InvalidObjectName"]]);
      const quiet = await fetch(`${s.url}/data?delete`, {
        method: "POST",
        body: "<Delete><Quiet>true</Quiet><Object><Key>a/2</Key></Object></Delete>",
        headers,
      });
      expect(parser.parse(await quiet.text()).DeleteResult.Deleted).toBeUndefined();
      expect(await s.store.head("data", "a/2")).toBeUndefined();
      const bad = await fetch(`${s.url}/data?delete`, { method: "POST", body: "<Delete><Object>", headers });
      expect(bad.status).toBe(400);
      expect(parser.parse(await bad.text()).Error.Code).toBe("MalformedXML");
    });

    test("bad listing arguments answer InvalidArgument", async (s) => {
      for (
        const q of [
          "list-type=2&max-keys=abc",
          "list-type=2&continuation-token=garbage!",
          "encoding-type=xml",
        ]
      ) {
        const res = await fetch(`${s.url}/data?${q}`, { headers });
        expect([q, res.status, parser.parse(await res.text()).Error.Code]).toEqual([
          q,
          400,
          "InvalidArgument",
        ]);
      }
    });
  }
}

Deno.test("server: ListBuckets, HeadBucket, GetBucketLocation and DeleteBucket", async () => {
  const s = await serveEmulator({ buckets: ["data", "logs"], region: "cn-beijing" });
  try {
    const list = parser.parse(await (await fetch(`${s.url}/`)).text()).ListAllMyBucketsResult;
    expect(list.Buckets.Bucket.map((b: Xml) => [b.Name, b.Location])).toEqual([
      ["data", "oss-cn-beijing"],
      ["logs", "oss-cn-beijing"],
    ]);
    const head = await fetch(`${s.url}/data`, { method: "HEAD" });
    await head.body?.cancel();
    expect(head.status).toBe(200);
    const missing = await fetch(`${s.url}/nope`, { method: "HEAD" });
    await missing.body?.cancel();
    expect(missing.status).toBe(404);
    const loc = await (await fetch(`${s.url}/data?location`)).text();
    expect(loc).toContain(">oss-cn-beijing</LocationConstraint>");
    await s.store.put("data", "k", new Uint8Array(1));
    const notEmpty = await fetch(`${s.url}/data`, { method: "DELETE" });
    expect(parser.parse(await notEmpty.text()).Error.Code).toBe("BucketNotEmpty");
    const del = await fetch(`${s.url}/logs`, { method: "DELETE" });
    await del.body?.cancel();
    expect(del.status).toBe(204);
    expect(await s.store.hasBucket("logs")).toBe(false);
  } finally {
    await s.close();
  }
});
