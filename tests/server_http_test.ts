import { expect } from "expect";
import { eventually } from "./client_fixtures.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

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

Deno.test("server: an object being uploaded stays invisible until its body has fully arrived", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-invisible-" });
  const store = new DirectoryStore(dir);
  try {
    await withServer(store, async (s) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(enc.encode("first half, "));
          await gate;
          c.enqueue(enc.encode("second half"));
          c.close();
        },
      });
      const uploading = fetch(`${s.url}/data/slow.txt`, { method: "PUT", body });
      // The server has the first half and waits for the rest.
      expect(await eventually(() => s.stats.bytesReceived >= "first half, ".length)).toBe(true);
      const during = await fetch(`${s.url}/data/slow.txt`);
      await during.body?.cancel();
      expect(during.status).toBe(404);
      const listed = await (await fetch(`${s.url}/data?list-type=2`)).text();
      expect(listed).not.toContain("slow.txt");
      release();
      const put = await uploading;
      await put.body?.cancel();
      expect(put.status).toBe(200);
      expect(await (await fetch(`${s.url}/data/slow.txt`)).text()).toBe("first half, second half");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: concurrent overwrites and reads of one key always see one complete version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-race-" });
  const store = new DirectoryStore(dir);
  try {
    await withServer(store, async (s) => {
      const versions = Array.from({ length: 12 }, (_, i) => String.fromCharCode(97 + i).repeat(200_000 + i));
      await (await fetch(`${s.url}/data/k`, { method: "PUT", body: versions[0] })).body?.cancel();
      const reads: Promise<string>[] = [];
      const writes = versions.map(async (v) => {
        reads.push(fetch(`${s.url}/data/k`).then((r) => r.text()));
        const res = await fetch(`${s.url}/data/k`, { method: "PUT", body: v });
        await res.body?.cancel();
        return res.status;
      });
      expect(await Promise.all(writes)).toEqual(versions.map(() => 200));
      for (const got of await Promise.all(reads)) expect(versions.includes(got)).toBe(true);
      expect(versions.includes(await (await fetch(`${s.url}/data/k`)).text())).toBe(true);
    });
    // Replaced versions leave no blob behind.
    const blobs = [...Deno.readDirSync(`${dir}/blobs`)].flatMap((
      d,
    ) => [...Deno.readDirSync(`${dir}/blobs/${d.name}`)]);
    expect(blobs.length).toBe(1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: a restart on the same port and data directory serves the same objects at the same URL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-restart-http-" });
  try {
    const first = await serveEmulator({ store: new DirectoryStore(dir), buckets: ["data"] });
    await (await fetch(`${first.url}/data/k`, { method: "PUT", body: "kept" })).body?.cancel();
    await (await fetch(`${first.url}/data/log?append&position=0`, { method: "POST", body: "ab" })).body
      ?.cancel();
    await first.close();
    const second = await serveEmulator({ store: new DirectoryStore(dir), port: first.port });
    try {
      expect(second.url).toBe(first.url);
      expect(await (await fetch(`${second.url}/data/k`)).text()).toBe("kept");
      const next = await fetch(`${second.url}/data/log?append&position=2`, { method: "POST", body: "cd" });
      await next.body?.cancel();
      expect(next.headers.get("x-oss-next-append-position")).toBe("4");
    } finally {
      await second.close();
      await second.store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: bodies over maxBodyBytes fail with EntityTooLarge, declared or streamed", async () => {
  await withServer(new MemoryStore(), async (s) => {
    const declared = await fetch(`${s.url}/data/big`, { method: "PUT", body: new Uint8Array(2000) });
    expect([declared.status, xmlField(await declared.text(), "Code")]).toEqual([400, "EntityTooLarge"]);
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(300));
        c.close();
      },
    });
    const streamed = await fetch(`${s.url}/data/big`, { method: "PUT", body: chunks });
    expect([streamed.status, xmlField(await streamed.text(), "Code")]).toEqual([400, "EntityTooLarge"]);
    expect(await s.store.head("data", "big")).toBeUndefined();
  }, { maxBodyBytes: 1000 });
});

Deno.test("server: aws-chunked bodies are decoded; decoded length and CRC32 checksums are enforced", async () => {
  await withServer(new MemoryStore(), async (s) => {
    const wire = "6;chunk-signature=00\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
    const headers = {
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "11",
      "x-amz-trailer": "x-amz-checksum-crc32",
    };
    const put = await fetch(`${s.url}/data/chunked`, { method: "PUT", body: wire, headers });
    await put.body?.cancel();
    expect(put.status).toBe(200);
    expect(put.headers.get("etag")).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    expect(await (await fetch(`${s.url}/data/chunked`)).text()).toBe("hello world");
    const short = await fetch(`${s.url}/data/short`, {
      method: "PUT",
      body: wire,
      headers: { ...headers, "x-amz-decoded-content-length": "12" },
    });
    expect([short.status, xmlField(await short.text(), "Code")]).toEqual([400, "IncompleteBody"]);
    const badSum = await fetch(`${s.url}/data/badsum`, {
      method: "PUT",
      body: wire.replace("DUoRhQ==", "AAAAAA=="),
      headers,
    });
    expect([badSum.status, xmlField(await badSum.text(), "Code")]).toEqual([400, "BadDigest"]);
    const headerSum = await fetch(`${s.url}/data/hdrsum`, {
      method: "PUT",
      body: "hello world",
      headers: { "x-amz-checksum-crc32": "AAAAAA==" },
    });
    expect([headerSum.status, xmlField(await headerSum.text(), "Code")]).toEqual([400, "BadDigest"]);
    expect(await s.store.head("data", "badsum")).toBeUndefined();
    const broken = await fetch(`${s.url}/data/broken`, { method: "PUT", body: "zz\r\nhello", headers });
    expect([broken.status, xmlField(await broken.text(), "Code")]).toEqual([400, "IncompleteBody"]);
  });
});

Deno.test("server: unsupported methods and sub-resources answer 405 MethodNotAllowed / 501 NotImplemented", async () => {
  await withServer(new MemoryStore(), async (s) => {
    const patch = await fetch(`${s.url}/data/k`, { method: "PATCH", body: "x" });
    expect([patch.status, xmlField(await patch.text(), "Code")]).toEqual([405, "MethodNotAllowed"]);
    const acl = await fetch(`${s.url}/data/k?acl`);
    expect([acl.status, xmlField(await acl.text(), "Code")]).toEqual([501, "NotImplemented"]);
    const post = await fetch(`${s.url}/data/k`, { method: "POST", body: "x" });
    expect([post.status, xmlField(await post.text(), "Code")]).toEqual([405, "MethodNotAllowed"]);
  });
});

Deno.test("server: with cors on, a preflight is answered and responses expose OSS headers", async () => {
  await withServer(new MemoryStore(), async (s) => {
    const pre = await fetch(`${s.url}/data/k`, {
      method: "OPTIONS",
      headers: {
        origin: "http://app.test",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-oss-date",
      },
    });
    await pre.body?.cancel();
    expect(pre.status).toBe(200);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://app.test");
    expect(pre.headers.get("access-control-allow-headers")).toBe("x-oss-date");
    const get = await fetch(`${s.url}/data/none`, { headers: { origin: "http://app.test" } });
    await get.body?.cancel();
    expect(get.headers.get("access-control-expose-headers")).toContain("x-oss-hash-crc64ecma");
  }, { cors: { origins: ["http://app.test"] } });
});

Deno.test("server: autoCreateBuckets creates a bucket on first write", async () => {
  await withServer(new MemoryStore(), async (s) => {
    const put = await fetch(`${s.url}/fresh-bucket/k`, { method: "PUT", body: "x" });
    await put.body?.cancel();
    expect(put.status).toBe(200);
    expect(await s.store.hasBucket("fresh-bucket")).toBe(true);
  }, { autoCreateBuckets: true });
});

Deno.test("createEmulator app works through app.request without a network", async () => {
  const { createEmulator } = await import("../src/server/emulator.ts");
  const app = createEmulator({ buckets: ["data"] });
  const put = await app.request("/data/a.txt", { method: "PUT", body: "in-process" });
  expect(put.status).toBe(200);
  const get = await app.request("/data/a.txt");
  expect(await get.text()).toBe("in-process");
  const head = await app.request("/data/a.txt", { method: "HEAD" });
  expect(head.headers.get("content-length")).toBe("10");
});
