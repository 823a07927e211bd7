// ListObjectsV2 through OssClient against the signing emulator, in both modes.
import { expect } from "expect";
import type { ListPage } from "../src/client_types.ts";
import { clientFor, eventually, MODES, withServer } from "./client_fixtures.ts";

const KEYS = Array.from({ length: 50 }, (_, i) => `data/${String(i).padStart(3, "0")}.bin`);

async function collect(pages: AsyncIterable<ListPage>): Promise<ListPage[]> {
  const out: ListPage[] = [];
  for await (const p of pages) out.push(p);
  return out;
}

for (const mode of MODES) {
  Deno.test(`${mode}: listPages with maxKeys 7 over 50 keys yields 8 pages in order, then stops`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      for (const [i, k] of KEYS.entries()) await client.put("bkt", k, "x".repeat(i));
      await client.put("bkt", "zzz-outside", "x");
      const pages = await collect(client.listPages("bkt", { prefix: "data/", maxKeys: 7 }));
      expect(pages.map((p) => p.objects.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
      expect(pages.slice(0, 7).every((p) => p.isTruncated && p.nextContinuationToken)).toBe(true);
      expect(pages[7].isTruncated).toBe(false);
      expect(pages.flatMap((p) => p.objects.map((o) => o.key))).toEqual(KEYS);
      const o = pages[1].objects[0];
      expect(o).toMatchObject({ key: "data/007.bin", size: 7 });
      expect(o.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(o.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(server.stats.byOperation.ListObjectsV2).toBe(8);

      // list() flattens; a continuation token resumes where a page ended.
      const all = [];
      for await (const s of client.list("bkt", { maxKeys: 9 })) all.push(s.key);
      expect(all).toEqual([...KEYS, "zzz-outside"]);
      const resumed = await collect(
        client.listPages("bkt", {
          prefix: "data/",
          maxKeys: 7,
          continuationToken: pages[5].nextContinuationToken,
        }),
      );
      expect(resumed.flatMap((p) => p.objects.map((x) => x.key))).toEqual(KEYS.slice(42));
    });
  });

  Deno.test(`${mode}: delimiter groups keys into commonPrefixes; startAfter skips`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      for (const k of ["a/1", "a/2", "b/x/1", "b/y", "c", "d/1", "e"]) await client.put("bkt", k, k);
      const pages = await collect(client.listPages("bkt", { delimiter: "/", maxKeys: 2 }));
      expect(pages.flatMap((p) => p.commonPrefixes)).toEqual(["a/", "b/", "d/"]);
      expect(pages.flatMap((p) => p.objects.map((o) => o.key))).toEqual(["c", "e"]);
      const nested = await collect(client.listPages("bkt", { prefix: "b/", delimiter: "/" }));
      expect(nested[0]).toMatchObject({ commonPrefixes: ["b/x/"], isTruncated: false });
      expect(nested[0].objects.map((o) => o.key)).toEqual(["b/y"]);

      const after = [];
      for await (const o of client.list("bkt", { startAfter: "b/x/1" })) after.push(o.key);
      expect(after).toEqual(["b/y", "c", "d/1", "e"]);
      const none = await collect(client.listPages("bkt", { prefix: "nothing/" }));
      expect(none).toEqual([{ objects: [], commonPrefixes: [], isTruncated: false }]);
    });
  });

  Deno.test(`${mode}: keys with spaces, plus, percent, unicode and XML characters list back exactly`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const keys = [
        "odd/ a b ",
        "odd/1+1=2",
        "odd/100%",
        "odd/<&>\"'",
        "odd/中文/文件",
        "odd/emoji-😀",
        "odd/tab\there",
      ];
      for (const k of keys) await client.put("bkt", k, k);
      const listed = [];
      for await (const o of client.list("bkt", { prefix: "odd/", maxKeys: 3 })) listed.push(o.key);
      expect(listed).toEqual([...keys].sort((a, b) => compareBytes(enc(a), enc(b))));
      const dirs = await collect(client.listPages("bkt", { prefix: "odd/", delimiter: "/" }));
      expect(dirs.flatMap((p) => p.commonPrefixes)).toEqual(["odd/中文/"]);
    });
  });

  Deno.test(`${mode}: leaving a listing early aborts the page fetched ahead and leaves nothing in flight`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      for (const k of KEYS) await client.put("bkt", k, "x");
      server.faults.update({ latencyMs: 300 });
      let seen = 0;
      let brokeAt = NaN;
      for await (const page of client.listPages("bkt", { maxKeys: 5 })) {
        seen += page.objects.length;
        brokeAt = performance.now();
        break; // the second page is already requested (300 ms of server latency)
      }
      expect(seen).toBe(5);
      expect(performance.now() - brokeAt).toBeLessThan(200); // did not wait for the page fetched ahead
      expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
    });
  });
}

const encoder = new TextEncoder();
function enc(s: string): Uint8Array {
  return encoder.encode(s);
}
/** UTF-8 byte order, the order of OSS and S3 listings. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

Deno.test("oss4: listPages without maxKeys asks for 1000 keys a page, not OSS's default of 100", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const body = new Uint8Array(1);
    for (let i = 0; i < 1050; i++) await server.store.put("bkt", `many/${String(i).padStart(4, "0")}`, body);
    const pages = await collect(client.listPages("bkt", { prefix: "many/" }));
    expect(pages.map((p) => p.objects.length)).toEqual([1000, 50]);
    expect(server.stats.byOperation.ListObjectsV2).toBe(2);
  });
});

Deno.test("listPage fetches exactly one page and continues from a token, with nothing fetched ahead", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const body = new Uint8Array(1);
    for (let i = 0; i < 25; i++) await server.store.put("bkt", `one/${String(i).padStart(2, "0")}`, body);
    const first = await client.listPage("bkt", { prefix: "one/", maxKeys: 10 });
    expect(first.objects.map((o) => o.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `one/${String(i).padStart(2, "0")}`),
    );
    expect(first.isTruncated).toBe(true);
    expect(server.stats.byOperation.ListObjectsV2).toBe(1);
    const second = await client.listPage("bkt", {
      prefix: "one/",
      maxKeys: 10,
      continuationToken: first.nextContinuationToken,
    });
    expect(second.objects[0].key).toBe("one/10");
    expect(server.stats.byOperation.ListObjectsV2).toBe(2);
    await expect(client.listPage("bkt", { maxKeys: 0 })).rejects.toThrow(/maxKeys/);
  });
});

Deno.test("list without maxKeys asks for a first page of 100 keys, then pages of 1000", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const body = new Uint8Array(1);
    for (let i = 0; i < 1150; i++) await server.store.put("bkt", `many/${String(i).padStart(4, "0")}`, body);
    const keys: string[] = [];
    for await (const o of client.list("bkt", { prefix: "many/" })) keys.push(o.key);
    expect(keys).toEqual(Array.from({ length: 1150 }, (_, i) => `many/${String(i).padStart(4, "0")}`));
    expect(server.stats.byOperation.ListObjectsV2).toBe(3); // 100 + 1000 + 50
    const few: string[] = [];
    for await (const o of client.list("bkt", { prefix: "many/", maxKeys: 600 })) few.push(o.key);
    expect(few.length).toBe(1150);
    expect(server.stats.byOperation.ListObjectsV2).toBe(5); // the caller's maxKeys from the first page: 600 + 550
  });
});
