// Streamed bodies with a size: how they are framed on the wire (a recording HTTP server on 127.0.0.1 sees the
// request as sent), what the emulator's S3 form does with chunked ones, the guard that holds a stream to its size,
// and the checkpoint writer streaming S3 parts from a file (no part buffers) now that they can go with a length.
import { expect } from "expect";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { IntegrityError } from "../src/errors.ts";
import { crc64 } from "../src/crc64.ts";
import { sizedBody, sizedBodyMethod } from "../src/sized_body.ts";
import { bytesOf, clientFor, expectBytes, streamOf, withServer } from "./client_fixtures.ts";
import { OssClient } from "../src/client.ts";

/** What a recording server saw of one request. */
interface Seen {
  method: string;
  path: string;
  contentLength: string | null;
  transferEncoding: string | null;
  bytes: number;
}

/** A plain HTTP server that records each request's framing and body length and answers like a PUT. */
async function withRecorder(fn: (url: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const bytes = (await req.arrayBuffer()).byteLength;
    const u = new URL(req.url);
    seen.push({
      method: req.method,
      path: u.pathname + u.search,
      contentLength: req.headers.get("content-length"),
      transferEncoding: req.headers.get("transfer-encoding"),
      bytes,
    });
    return new Response(null, { headers: { etag: '"e"', "x-oss-request-id": "r" } });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    await server.shutdown();
  }
}

function recorderClient(url: string): OssClient {
  return new OssClient({
    endpoint: url,
    region: "cn-hangzhou",
    credentials: { accessKeyId: "id", accessKeySecret: "secret" },
    retry: { maxAttempts: 1 },
  });
}

Deno.test("Deno sends a sized stream as a Blob of its size", () => {
  expect(sizedBodyMethod()).toBe("blob");
});

Deno.test("a streamed put with a size goes with a Content-Length, without one it goes chunked", async () => {
  await withRecorder(async (url, seen) => {
    const client = recorderClient(url);
    const data = bytesOf(300_001, 1);
    await client.put("bkt", "sized.bin", streamOf(data), { stream: true, size: data.length });
    await client.put("bkt", "chunked.bin", streamOf(data), { stream: true });
    await client.uploadPart("bkt", "part.bin", "u1", 1, streamOf(data), { stream: true, size: data.length });
    expect(seen.map((s) => [s.path.split("?")[0], s.contentLength, s.transferEncoding, s.bytes])).toEqual([
      ["/bkt/sized.bin", "300001", null, 300_001],
      ["/bkt/chunked.bin", null, "chunked", 300_001],
      ["/bkt/part.bin", "300001", null, 300_001],
    ]);
  });
});

Deno.test("a stream that gives more or fewer bytes than its size fails with an IntegrityError naming both", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const before = bytesOf(1000, 2);
    await client.put("bkt", "k.bin", before);
    const data = bytesOf(200_000, 3);

    const longer = await client.put("bkt", "k.bin", streamOf(data), { stream: true, size: 150_000 })
      .catch((e) => e);
    expect(longer).toBeInstanceOf(IntegrityError);
    expect(longer.message).toBe("PUT bkt/k.bin: the body stream gave more than its size, 150000 bytes");
    expect(longer).toMatchObject({ expected: "150000" });

    const shorter = await client.put("bkt", "k.bin", streamOf(data), { stream: true, size: 250_000 })
      .catch((e) => e);
    expect(shorter).toBeInstanceOf(IntegrityError);
    expect(shorter.message).toBe("PUT bkt/k.bin: the body stream gave 200000 bytes, its size is 250000");
    expect(shorter).toMatchObject({ expected: "250000", actual: "200000" });

    // Neither reached the store: the object is the one written before.
    expectBytes((await client.getBytes("bkt", "k.bin")).bytes, before);
  });
});

Deno.test("a size that is not the length of a body that is not streamed is refused before anything is sent", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const data = bytesOf(5000, 4);
    await expect(client.put("bkt", "a.bin", data, { size: 4999 })).rejects.toThrow(
      "OssClient.put: size: expected the body's length, 5000, got 4999",
    );
    await expect(client.put("bkt", "a.bin", new Blob([data]), { size: 1 })).rejects.toThrow(RangeError);
    // A stream read into memory first (no `stream: true`) is held to its size too.
    const buffered = await client.put("bkt", "a.bin", streamOf(data), { size: 6000 }).catch((e) => e);
    expect(buffered).toBeInstanceOf(IntegrityError);
    expect(buffered.message).toBe("OssClient.put: body: the stream gave 5000 bytes, its size is 6000");
    for (const bad of [-1, 1.5, NaN, "10"]) {
      await expect(client.put("bkt", "a.bin", data, { size: bad as number })).rejects.toThrow(
        "OssClient.put: size: expected an integer >= 0",
      );
    }
    expect(await client.exists("bkt", "a.bin")).toBe(false);
    await client.put("bkt", "a.bin", streamOf(data), { size: 5000 });
    expectBytes((await client.getBytes("bkt", "a.bin")).bytes, data);
  });
});

Deno.test("the emulator's S3 form refuses a chunked body as S3 does, and takes the same stream with its size", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "s3v4");
    const data = bytesOf(100_000, 5);
    const err = await client.put("bkt", "s3.bin", streamOf(data), { stream: true }).catch((e) => e);
    expect(err).toMatchObject({ status: 501, code: "NotImplemented" });
    expect(err.message).toContain("Transfer-Encoding");
    expect(await client.exists("bkt", "s3.bin")).toBe(false);
    const put = await client.put("bkt", "s3.bin", streamOf(data), { stream: true, size: data.length });
    expect(put.crc64).toBe(await crc64(data));
    expectBytes((await client.getBytes("bkt", "s3.bin")).bytes, data);
  });
});

Deno.test("an S3-form checkpoint saved from a file or a Blob streams its parts, each with its length", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "s3v4");
    const data = bytesOf(5 * 1024 * 1024 + 12_345, 6);
    const path = await Deno.makeTempFile();
    try {
      await Deno.writeFile(path, data);
      const saved = await new OssCheckpoint({ client, partSize: 1024 * 1024, uploadConcurrency: 3 })
        .save("oss://bkt/ckpt.bin", { path });
      expect(saved).toMatchObject({ bytesWritten: data.length, partsUploaded: 6, peakBufferedBytes: 0 });
      expectBytes((await client.getBytes("bkt", "ckpt.bin")).bytes, data);
      expect((await client.head("bkt", "ckpt.bin")).crc64).toBe(await crc64(data));
      // A Blob goes the same way: as streams over slices of itself.
      const fromBlob = await new OssCheckpoint({ client, partSize: 1024 * 1024, uploadConcurrency: 3 })
        .save("oss://bkt/ckpt-blob.bin", new Blob([data]));
      expect(fromBlob).toMatchObject({ bytesWritten: data.length, partsUploaded: 6, peakBufferedBytes: 0 });
      expectBytes((await client.getBytes("bkt", "ckpt-blob.bin")).bytes, data);
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("a sized stream cancelled while a read is in flight (a reset request) reports no failure", async () => {
  for (let i = 0; i < 20; i++) {
    const { promise: pulled, resolve: onPull } = Promise.withResolvers<void>();
    const source = new ReadableStream<Uint8Array>({
      pull: () => {
        onPull();
        return new Promise<void>(() => {}); // a read that never ends by itself
      },
    }, { highWaterMark: 0 });
    const sized = sizedBody(source, 10, "PUT b/k");
    const stream = sized.body instanceof Blob ? sized.body.stream() : sized.body;
    const reader = stream.getReader();
    const read = reader.read();
    await pulled; // the guard's read is in flight at the source
    await reader.cancel(new Error("reset"));
    expect(await read).toEqual({ done: true, value: undefined });
    await new Promise((resolve) => setTimeout(resolve, 0)); // every pending continuation has run by then
    expect(sized.failure).toBeUndefined();
  }
});
