// Retries, resumed GET bodies and timeouts, against the emulator's seeded fault injection over real HTTP.
import { expect } from "expect";
import type { RetryEvent } from "../src/retry.ts";
import { IntegrityError, OssError } from "../src/errors.ts";
import { OssClient } from "../src/client.ts";
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

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function sizeOf(i: number): number {
  if (i % 25 === 0) return 2 * 1024 * 1024 + i * 9973; // 8 multi-MiB objects
  if (i % 7 === 0) return 0;
  return (i * 7919) % 300_000 + 1;
}

for (const mode of MODES) {
  Deno.test(`${mode}: 200 objects read byte-exact through 20% injected faults (503, reset, truncated body)`, async () => {
    await withServer(async (server) => {
      const events: RetryEvent[] = [];
      const client = clientFor(server, mode, { retry: { maxAttempts: 8, onRetry: (e) => events.push(e) } });
      const objects = Array.from(
        { length: 200 },
        (_, i) => ({ key: `faulty/${i}.bin`, data: bytesOf(sizeOf(i), i) }),
      );
      server.faults.update({ errorRate: 0.2, seed: mode === "oss4" ? 7 : 11 });
      await pool(objects, 8, async (o) => {
        await client.put("bkt", o.key, o.data); // bytes are replayable: retried too
      });
      await pool(objects, 8, async (o) => {
        const got = await client.get("bkt", o.key);
        expect(got.size).toBe(o.data.length);
        expectBytes(await readAll(got.body), o.data, o.key);
      });
      await pool(objects.slice(0, 50), 8, async (o) => {
        expectBytes((await client.getBytes("bkt", o.key)).bytes, o.data, `getBytes ${o.key}`);
      });
      const kinds = server.stats.faultsByKind;
      expect(kinds.slowdown).toBeGreaterThan(0);
      expect(kinds.reset).toBeGreaterThan(0);
      expect(kinds.truncate).toBeGreaterThan(0);
      const requests = events.filter((e) => e.kind === "request");
      const resumes = events.filter((e) => e.kind === "resume");
      expect(requests.length).toBeGreaterThan(0);
      expect(resumes.length).toBeGreaterThan(0);
      expect(requests.some((e) => e.status === 503)).toBe(true);
      expect(requests.some((e) => e.status === undefined && e.error instanceof TypeError)).toBe(true);
      expect(events.every((e) => e.delayMs >= 0 && e.delayMs <= 50 && e.bucket === "bkt")).toBe(true);
      server.faults.update({ errorRate: 0 });
      console.log(
        `${mode}: ${server.stats.faultsInjected} faults, ${requests.length} retries, ${resumes.length} resumes`,
      );
    });
  });
}

Deno.test("a persistent 503 gives up after maxAttempts with the last OssError", async () => {
  await withServer(async (server) => {
    const events: RetryEvent[] = [];
    const client = clientFor(server, "oss4", { retry: { maxAttempts: 4, onRetry: (e) => events.push(e) } });
    await client.put("bkt", "k", "v");
    server.faults.update({ errorRate: 1, errorKinds: ["slowdown"] });
    server.stats.reset();
    const err = await client.get("bkt", "k").catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err).toMatchObject({ code: "SlowDown", status: 503, key: "k", method: "GET" });
    expect(server.stats.requests).toBe(4);
    expect(events.map((e) => [e.kind, e.attempt, e.status])).toEqual([
      ["request", 1, 503],
      ["request", 2, 503],
      ["request", 3, 503],
    ]);
  });
});

Deno.test("a one-shot stream body is not retried: the error says so", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4", { retry: { maxAttempts: 5 } });
    server.faults.update({ errorRate: 1, errorKinds: ["reset"] });
    const err = await client.put("bkt", "s", streamOf(bytesOf(1000, 1)), { stream: true }).catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err).toMatchObject({ code: "NetworkError", status: 0, key: "s", method: "PUT" });
    expect(err.message).toContain("(the body was a one-shot ReadableStream, not retried)");
    expect(server.stats.requests).toBe(1);
    // Buffered (the default), the same stream is retried until the faults stop.
    server.faults.update({ errorRate: 0.5, seed: 3 });
    await client.put("bkt", "s", streamOf(bytesOf(1000, 1)));
    server.faults.update({ errorRate: 0 });
    expectBytes((await client.getBytes("bkt", "s")).bytes, bytesOf(1000, 1));
  });
});

Deno.test("an attempt without response progress for timeoutMs is aborted and retried, then RequestTimeout", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4", { timeoutMs: 100, retry: { maxAttempts: 2 } });
    await client.put("bkt", "slow", "v");
    // A minute of latency: without the timeout the HEAD would succeed, late, after one attempt.
    server.faults.update({ latencyMs: 60_000 });
    server.stats.reset();
    const err = await client.head("bkt", "slow").catch((e) => e);
    expect(err).toMatchObject({ name: "OssError", code: "RequestTimeout", status: 0, method: "HEAD" });
    expect(err.message).toContain("after 2 attempt(s)");
    expect(server.stats.byOperation).toEqual({ HeadObject: 2 });
  });
});

Deno.test("a body broken mid-stream resumes from the next byte with If-Match", async () => {
  await withServer(async (server) => {
    const events: RetryEvent[] = [];
    const client = clientFor(server, "oss4", { retry: { onRetry: (e) => events.push(e) } });
    const data = bytesOf(3 * 1024 * 1024, 77);
    await client.put("bkt", "resume.bin", data);
    let broken = 0;
    server.faults.update({
      errorRate: 1,
      errorKinds: ["truncate"],
      match: (_m, key, op) => op === "GetObject" && key === "resume.bin" && broken++ < 3,
    });
    const got = await client.get("bkt", "resume.bin", { range: { start: 1000 } });
    expectBytes(await readAll(got.body), data.subarray(1000));
    expect(events.map((e) => e.kind)).toEqual(["resume", "resume", "resume"]);
    expect(server.stats.byOperation.GetObject).toBe(4);
  });
});

Deno.test("a resumed body fails with IntegrityError when the object changed (ETag differs)", async () => {
  await withServer(async (server) => {
    let pending: Promise<unknown> | undefined;
    const client = clientFor(server, "oss4", {
      retry: {
        minDelayMs: 200,
        jitter: 0,
        onRetry: () => pending = server.store.put("bkt", "change.bin", bytesOf(500_000, 2)),
      },
    });
    await client.put("bkt", "change.bin", bytesOf(500_000, 1));
    let once = true;
    server.faults.update({
      errorRate: 1,
      errorKinds: ["truncate"],
      match: (_m, key, op) => op === "GetObject" && key === "change.bin" && (once ? !(once = false) : false),
    });
    const got = await client.get("bkt", "change.bin");
    const err = await readAll(got.body).catch((e) => e);
    await pending;
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain(
      `GET bkt/change.bin: the object changed while it was read (ETag is no longer ${got.etag})`,
    );
    expect(err.key).toBe("change.bin");
  });
});

Deno.test("a body that keeps breaking fails after maxAttempts resumes in a row", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4", { retry: { maxAttempts: 3 } });
    await client.put("bkt", "bad.bin", bytesOf(400_000, 5));
    server.faults.update({ errorRate: 1, errorKinds: ["truncate"] });
    const got = await client.get("bkt", "bad.bin");
    const err = await readAll(got.body).catch((e) => e);
    expect(err instanceof IntegrityError || err instanceof OssError).toBe(true);
    expect(err.message).toMatch(/3 time\(s\) in a row/);
  });
});

Deno.test("a proxy's HTML error page becomes an OssError with a status-derived code, after retries", async () => {
  let hits = 0;
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", {
      status: 502,
      headers: { "content-type": "text/html" },
    });
  });
  try {
    const client = new OssClient({
      endpoint: `http://127.0.0.1:${proxy.addr.port}`,
      region: "cn-hangzhou",
      credentials: CREDS,
      retry: { maxAttempts: 3, minDelayMs: 1 },
    });
    const err = await client.get("bkt", "k").catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err).toMatchObject({ code: "BadGateway", status: 502, bucket: "bkt", key: "k", method: "GET" });
    expect(err.message).toContain(
      'non-XML body (text/html), likely from a proxy or gateway: "502 Bad Gateway"',
    );
    expect(hits).toBe(3);
  } finally {
    await proxy.shutdown();
  }
});

/** Re-streams a response's body as a byte stream that ends cleanly after `keep` bytes (a proxy that cuts it). */
function cutShort(res: Response, keep: number): Response {
  const reader = res.body!.getReader();
  let sent = 0;
  const body = new ReadableStream({
    type: "bytes",
    async pull(c) {
      const { done, value } = await reader.read();
      if (done || sent >= keep) {
        await reader.cancel().catch(() => {});
        c.close();
        // A BYOB read waiting on this pull completes (with no bytes) only once its request is answered.
        c.byobRequest?.respond(0);
        return;
      }
      const part = value.subarray(0, keep - sent);
      sent += part.length;
      c.enqueue(part.slice());
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
}

Deno.test("a ranged body over 64 KiB that ends cleanly before its Content-Length is fetched again, never zero-padded", async () => {
  await withServer(async (server) => {
    const data = bytesOf(300_000, 41);
    let cuts = 0;
    const cutting = (limit: number): typeof fetch => async (input, init) => {
      const res = await fetch(input, init);
      if ((init?.method ?? "GET") !== "GET" || cuts >= limit) return res;
      cuts++;
      return cutShort(res, 100_000);
    };
    // A 206 (no whole-object CRC-64 to check) read into memory with a BYOB reader.
    const range = { start: 0, end: 199_999 };
    const flaky = clientFor(server, "oss4", { fetch: cutting(1) });
    await flaky.put("bkt", "cut.bin", data);
    expectBytes((await flaky.getBytes("bkt", "cut.bin", { range })).bytes, data.subarray(0, 200_000));
    expect(cuts).toBe(1);
    cuts = 0;
    const broken = clientFor(server, "oss4", { fetch: cutting(Infinity), retry: { maxAttempts: 2 } });
    const err = await broken.getBytes("bkt", "cut.bin", { range }).catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err.message).toContain("the body has 100000 bytes, Content-Length says 200000");
    expect(cuts).toBe(2);
  });
});

Deno.test("a resumed body answered from another start than asked fails with IntegrityError", async () => {
  await withServer(async (server) => {
    const data = bytesOf(300_000, 42);
    // A cache in the way that answers a resumed range 10 bytes further on: same length, other bytes.
    const shifting: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      const m = /^bytes=(\d+)-(\d+)$/.exec(headers.get("range") ?? "");
      if (headers.has("if-match") && m) {
        headers.set("range", `bytes=${Number(m[1]) + 10}-${Number(m[2]) + 10}`);
      }
      return fetch(input, { ...init, headers });
    };
    const client = clientFor(server, "oss4", { fetch: shifting });
    await client.put("bkt", "shift.bin", data);
    let broken = 0;
    server.faults.update({
      errorRate: 1,
      errorKinds: ["truncate"],
      match: (_m, key, op) => op === "GetObject" && key === "shift.bin" && broken++ < 1,
    });
    // A range: its 206 carries no whole-object CRC-64 that would catch the wrong bytes later.
    const got = await client.get("bkt", "shift.bin", { range: { start: 0, end: 199_999 } });
    const err = await readAll(got.body).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toMatch(
      /resuming at byte 100000 of 200000 with Range bytes=100000-199999 returned 206 bytes 100010-/,
    );
  });
});
