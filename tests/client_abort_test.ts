// Aborting: every operation rejects promptly with the AbortError and leaves no request in flight on the server.
import { expect } from "expect";
import { bytesOf, clientFor, eventually, readAll, withServer } from "./client_fixtures.ts";

// "Promptly" is the behaviour under test, so it stays a bound: each aborted operation would otherwise take a
// minute or more (latency, transfer time, backoff), and 5 s leaves a loaded test machine ample headroom.
const PROMPT_MS = 5_000;

/** A signal that aborts after `ms`; `abortedAt()` tells when it did. */
function abortAfter(ms: number): AbortSignal & { abortedAt(): number } {
  const ac = new AbortController();
  let at = NaN;
  setTimeout(() => {
    at = performance.now();
    ac.abort();
  }, ms);
  return Object.assign(ac.signal, { abortedAt: () => at });
}

Deno.test("aborting a get while its body streams rejects the read with AbortError; nothing stays in flight", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    await client.put("bkt", "big.bin", bytesOf(4 * 1024 * 1024, 1));
    server.faults.update({ bandwidthBytesPerSec: 64 * 1024 }); // 64 s for the whole body
    const ac = new AbortController();
    const got = await client.get("bkt", "big.bin", { signal: ac.signal });
    const reader = got.body.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(server.stats.inFlight).toBe(1);
    const t0 = performance.now();
    ac.abort();
    const err = await (async () => {
      for (;;) if ((await reader.read()).done) return undefined;
    })().catch((e) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS);
    expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
  });
});

Deno.test("aborting before the response arrives rejects get, getBytes and head with AbortError", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "s3v4");
    await client.put("bkt", "k", "v");
    server.faults.update({ latencyMs: 60_000 });
    for (
      const call of [
        (signal: AbortSignal) => client.get("bkt", "k", { signal }),
        (signal: AbortSignal) => client.getBytes("bkt", "k", { signal }),
        (signal: AbortSignal) => client.head("bkt", "k", { signal }),
      ]
    ) {
      const signal = abortAfter(50);
      await expect(call(signal)).rejects.toMatchObject({ name: "AbortError" });
      expect(performance.now() - signal.abortedAt()).toBeLessThan(PROMPT_MS);
    }
    expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
  });
});

Deno.test("aborting a put while its body uploads rejects with AbortError; nothing stays in flight", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    server.faults.update({ bandwidthBytesPerSec: 256 * 1024 });
    // An endless body, each chunk produced only once the server has received the ones before: no socket
    // buffer holds megabytes of it, so the server sees the closed connection at once. The abort comes when
    // the server has received three chunks.
    const CHUNK = 16 * 1024;
    let sent = 0, abortedAt = NaN;
    const ac = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await eventually(() => server.stats.bytesReceived >= sent * CHUNK);
        if (sent === 3) {
          abortedAt = performance.now();
          ac.abort();
        }
        controller.enqueue(bytesOf(CHUNK, sent++));
      },
    }, { highWaterMark: 0 });
    const err = await client.put("bkt", "up.bin", body, { signal: ac.signal, stream: true }).catch((e) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    expect(performance.now() - abortedAt).toBeLessThan(PROMPT_MS);
    expect(server.stats.bytesReceived).toBeGreaterThanOrEqual(3 * CHUNK);
    expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
    server.faults.update({ bandwidthBytesPerSec: undefined });
    await expect(client.head("bkt", "up.bin")).rejects.toMatchObject({ status: 404 }); // never became visible
  });
});

Deno.test("aborting a put of in-memory bytes rejects promptly with AbortError; the object never appears", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    server.faults.update({ bandwidthBytesPerSec: 1024 * 1024 }); // 64 s for the whole body
    const signal = abortAfter(100);
    const err = await client.put("bkt", "bytes.bin", bytesOf(64 * 1024 * 1024, 3), { signal }).catch((e) =>
      e
    );
    expect(err).toMatchObject({ name: "AbortError" });
    expect(performance.now() - signal.abortedAt()).toBeLessThan(PROMPT_MS);
    // Socket buffers may still hold a few MiB of the body, drained at 1 MiB/s before the server sees the close.
    expect(await eventually(() => server.stats.inFlight === 0, 60_000)).toBe(true);
    server.faults.update({ bandwidthBytesPerSec: undefined });
    await expect(client.head("bkt", "bytes.bin")).rejects.toMatchObject({ status: 404 });
  });
});

Deno.test("aborting a listing mid-way rejects the loop with AbortError; nothing stays in flight", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    for (let i = 0; i < 30; i++) await client.put("bkt", `l/${i}`, "x");
    server.faults.update({ latencyMs: 150 });
    const ac = new AbortController();
    let pages = 0;
    let abortedAt = NaN;
    const err = await (async () => {
      for await (const _ of client.listPages("bkt", { maxKeys: 5, signal: ac.signal })) {
        if (++pages === 2) {
          server.faults.update({ latencyMs: 60_000 }); // a page asked for after the abort would take a minute
          abortedAt = performance.now();
          ac.abort();
        }
      }
    })().catch((e) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    expect(pages).toBe(2);
    expect(performance.now() - abortedAt).toBeLessThan(PROMPT_MS);
    expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
  });
});

Deno.test("aborting during a retry backoff sleep rejects at once instead of waiting it out", async () => {
  await withServer(async (server) => {
    await clientFor(server, "oss4").put("bkt", "k", "v");
    server.faults.update({ errorRate: 1, errorKinds: ["slowdown"] });
    let retried = false;
    const ac = new AbortController();
    const c2 = clientFor(server, "oss4", {
      retry: { minDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0, onRetry: () => (retried = true) },
    });
    const p = c2.get("bkt", "k", { signal: ac.signal });
    expect(await eventually(() => retried)).toBe(true);
    const t0 = performance.now();
    ac.abort(new DOMException("stop now", "AbortError"));
    await expect(p).rejects.toMatchObject({ name: "AbortError", message: "stop now" });
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS); // not the 60 s backoff
    expect(server.stats.inFlight).toBe(0);
  });
});

Deno.test("an already-aborted signal rejects without sending anything", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const signal = AbortSignal.abort();
    await expect(client.put("bkt", "k", "v", { signal })).rejects.toMatchObject({ name: "AbortError" });
    await expect(client.listPages("bkt", { signal }).next()).rejects.toMatchObject({ name: "AbortError" });
    expect(server.stats.requests).toBe(0);
  });
});

Deno.test("cancelling a get body early releases the connection", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    await client.put("bkt", "c.bin", bytesOf(2 * 1024 * 1024, 3));
    server.faults.update({ bandwidthBytesPerSec: 1024 * 1024 });
    const got = await client.get("bkt", "c.bin");
    const reader = got.body.getReader();
    await reader.read();
    await reader.cancel();
    expect(await eventually(() => server.stats.inFlight === 0)).toBe(true);
    server.faults.update({ bandwidthBytesPerSec: undefined });
    expect((await readAll((await client.get("bkt", "c.bin")).body)).length).toBe(2 * 1024 * 1024);
  });
});
