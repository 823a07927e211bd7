// The local server at its edges, over raw HTTP/1.1: XML bodies read only up to their 2 MiB limit, a body shorter
// than its Content-Length, an unexpected error that must not reveal the data directory, and header sections
// too large for the emulator or for Deno's HTTP server — all answered with OSS error documents.
import { expect } from "expect";
import { createEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

/**
 * Sends raw bytes and reads the whole answer (the connection closes after it). With `halfClose` the client
 * stops sending after `bytes` (a body cut short).
 */
async function exchange(
  port: number,
  bytes: Uint8Array,
  halfClose = false,
): Promise<{ status: number; headers: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // The server may answer and close before reading everything: the answer still comes.
    const writing = (async () => {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      if (halfClose) await conn.closeWrite();
    })().catch(() => {});
    const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    await writing;
    const end = text.indexOf("\r\n\r\n");
    return { status: Number(text.slice(9, 12)), headers: text.slice(0, end), body: text.slice(end + 4) };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the reader */ }
  }
}

const request = (head: string[], body = "") =>
  enc.encode(`${[...head, "Host: 127.0.0.1", "Connection: close"].join("\r\n")}\r\n\r\n${body}`);

/** A body of `size` bytes of XML-ish filler, counting what the reader pulls. */
function countingBody(size: number) {
  const counter = { pulled: 0 };
  const chunk = enc.encode("<Object><Key>k</Key></Object>".padEnd(64 * 1024, " "));
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (counter.pulled >= size) return c.close();
      counter.pulled += chunk.length;
      c.enqueue(chunk);
    },
  });
  return { stream, counter };
}

Deno.test("XML bodies (DeleteObjects, CompleteMultipartUpload) are read only up to 2 MiB, however large they are", async () => {
  const app = createEmulator({ buckets: ["bkt"] });
  const upload = await (await app.request("/bkt/k?uploads", { method: "POST" })).text();
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(upload)![1];
  for (const path of ["/bkt/?delete", `/bkt/k?uploadId=${uploadId}`]) {
    const { stream, counter } = countingBody(256 * 1024 * 1024);
    const res = await app.fetch(new Request(`http://127.0.0.1${path}`, { method: "POST", body: stream }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("larger than 2 MiB");
    expect(counter.pulled).toBeLessThanOrEqual(2 * 1024 * 1024 + 2 * 64 * 1024); // the limit and a chunk or so
  }
  // A declared Content-Length over the limit is refused before any byte is read.
  const { stream, counter } = countingBody(256 * 1024 * 1024);
  const res = await app.fetch(
    new Request("http://127.0.0.1/bkt/?delete", {
      method: "POST",
      body: stream,
      headers: { "content-length": String(256 * 1024 * 1024) },
    }),
  );
  expect(res.status).toBe(400);
  expect(counter.pulled).toBeLessThanOrEqual(2 * 64 * 1024);
});

Deno.test("an XML body over 2 MiB sent over HTTP gets MalformedXML", async () => {
  const s = await serveEmulator({ buckets: ["bkt"] });
  try {
    const body = "<Delete>" + "<Object><Key>k</Key></Object>".repeat(80_000) + "</Delete>";
    const res = await fetch(`${s.url}/bkt/?delete`, { method: "POST", body });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Code>MalformedXML<\/Code>.*larger than 2 MiB/);
  } finally {
    await s.close();
  }
});

Deno.test("a body shorter than its Content-Length gets 400 IncompleteBody and the object is left as it was", async () => {
  const s = await serveEmulator({ buckets: ["bkt"] });
  try {
    await s.store.put("bkt", "k", enc.encode("before"));
    const res = await exchange(
      s.port,
      request(["PUT /bkt/k HTTP/1.1", "Content-Length: 1000"], "x".repeat(500)),
      true,
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain("<Code>IncompleteBody</Code>");
    const { body } = await s.store.get("bkt", "k");
    expect(new TextDecoder().decode(await new Response(body).arrayBuffer())).toBe("before");
    expect(s.stats.errors.InternalError ?? 0).toBe(0);
  } finally {
    await s.close();
  }
});

Deno.test("an unexpected store error answers InternalError without the data directory's path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-private-dir-" });
  const store = new DirectoryStore(dir);
  const s = await serveEmulator({ store, buckets: ["bkt"] });
  try {
    await fetch(`${s.url}/bkt/a.txt`, { method: "PUT", body: "hello" }).then((r) => r.body?.cancel());
    await Deno.remove(dir, { recursive: true }); // every file the store relies on is gone
    const answers = [
      await fetch(`${s.url}/bkt/a.txt`),
      await fetch(`${s.url}/bkt/b.txt`, { method: "PUT", body: "x" }),
    ];
    for (const res of answers) {
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(text).toContain("<Code>InternalError</Code>");
      expect(text).not.toContain(dir);
      expect(text).not.toContain("ossflow-private-dir-");
    }
  } finally {
    await s.close();
    await store.close().catch(() => {});
  }
});

Deno.test("header sections too large get OSS error documents: RequestHeaderSectionTooLarge, or InvalidRequest past Deno's limit", async () => {
  const s = await serveEmulator({ buckets: ["bkt"] });
  try {
    // Over the default maxHeaderBytes (48 KiB), under Deno's own limit: the emulator's error.
    const big = await exchange(s.port, request(["GET /bkt/k HTTP/1.1", `x-big: ${"a".repeat(60_000)}`]));
    expect(big.status).toBe(400);
    expect(big.body).toContain("<Code>RequestHeaderSectionTooLarge</Code>");
    // Past Deno's limit (100 KB in one header; 64 metadata headers of 8 KiB): refused before the emulator runs,
    // still answered with an error document rather than a bare 400 or a closed connection.
    const huge = await exchange(s.port, request(["GET /bkt/k HTTP/1.1", `x-big: ${"a".repeat(100_000)}`]));
    const meta = Array.from({ length: 64 }, (_, i) => `x-oss-meta-m${i}: ${"b".repeat(8192)}`);
    const metadata = await exchange(s.port, request(["PUT /bkt/k HTTP/1.1", "Content-Length: 0", ...meta]));
    for (const res of [huge, metadata]) {
      expect(res.status).toBe(400);
      expect(res.headers).toContain("content-type: application/xml");
      expect(res.body).toContain("<Code>InvalidRequest</Code>");
      expect(res.body).toContain("header section is over 64 KiB");
    }
    // The server still serves normal requests afterwards.
    expect((await fetch(`${s.url}/bkt/k`, { method: "PUT", body: "ok" })).status).toBe(200);
  } finally {
    await s.close();
  }
});
