import { expect } from "expect";
import { eventually } from "./client_fixtures.ts";
import {
  createEmulator,
  type RunningEmulator,
  serveEmulator,
  type ServeEmulatorOptions,
} from "../src/server/emulator.ts";
import { FaultInjector } from "../src/server/faults.ts";
import { ConfigError } from "../src/errors.ts";

const enc = new TextEncoder();

async function withServer(opts: ServeEmulatorOptions, fn: (s: RunningEmulator) => Promise<void>) {
  const s = await serveEmulator({ buckets: ["data"], ...opts });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** Status of each of `n` sequential GETs (0 when the request failed at the network level). */
async function statuses(s: RunningEmulator, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const res = await fetch(`${s.url}/data/k`);
      await res.arrayBuffer();
      out.push(res.status);
    } catch {
      out.push(0);
    }
  }
  return out;
}

Deno.test("faults: the same seed injects the same faults in the same request sequence", async () => {
  const run = async (seed: number) => {
    let pattern: number[] = [];
    await withServer({ faults: { errorRate: 0.4, errorKinds: ["slowdown"], seed } }, async (s) => {
      await s.store.put("data", "k", enc.encode("v"));
      pattern = await statuses(s, 40);
      expect(s.stats.faultsInjected).toBe(pattern.filter((st) => st === 503).length);
    });
    return pattern;
  };
  const a = await run(42), b = await run(42), c = await run(7);
  expect(a).toEqual(b);
  expect(a).not.toEqual(c);
  expect(new Set(a)).toEqual(new Set([200, 503]));
  const d1 = new FaultInjector({ errorRate: 0.5, seed: 9 }),
    d2 = new FaultInjector({ errorRate: 0.5, seed: 9 });
  const draw = (f: FaultInjector) =>
    Array.from({ length: 50 }, () => f.decide("GET", "k", "GetObject") ?? "-");
  expect(draw(d1)).toEqual(draw(d2));
});

Deno.test("faults: slowdown answers 503 SlowDown XML without running the request", async () => {
  await withServer({ faults: { errorRate: 1, errorKinds: ["slowdown"] } }, async (s) => {
    const res = await fetch(`${s.url}/data/k`, { method: "PUT", body: "x" });
    const xml = await res.text();
    expect(res.status).toBe(503);
    expect(xml).toContain("<Code>SlowDown</Code>");
    expect(xml).toContain(`<RequestId>${res.headers.get("x-oss-request-id")}</RequestId>`);
    expect(await s.store.head("data", "k")).toBeUndefined();
    expect(s.stats.faultsByKind).toEqual({ slowdown: 1 });
  });
});

Deno.test("faults: reset drops the connection before any response and the request has no effect", async () => {
  await withServer({ faults: { errorRate: 1, errorKinds: ["reset"] } }, async (s) => {
    await expect(fetch(`${s.url}/data/k`, { method: "PUT", body: "x" })).rejects.toThrow(TypeError);
    expect(await s.store.head("data", "k")).toBeUndefined();
    expect(s.stats.faultsByKind.reset).toBeGreaterThanOrEqual(1);
    s.faults.update({ errorRate: 0 });
    const ok = await fetch(`${s.url}/data/k`, { method: "PUT", body: "x" });
    await ok.body?.cancel();
    expect(ok.status).toBe(200);
  });
});

Deno.test("faults: reset through app.request rejects the returned promise", async () => {
  const app = createEmulator({ buckets: ["data"], faults: { errorRate: 1, errorKinds: ["reset"] } });
  await expect(app.request("/data/k")).rejects.toMatchObject({ reason: expect.stringContaining("reset") });
});

Deno.test("faults: truncate sends the full Content-Length header but only half the body", async () => {
  await withServer(
    { faults: { errorRate: 1, errorKinds: ["truncate"], match: (m) => m === "GET" } },
    async (s) => {
      const body = new Uint8Array(100_000).map((_, i) => i & 255);
      const put = await fetch(`${s.url}/data/k`, { method: "PUT", body });
      await put.body?.cancel();
      const res = await fetch(`${s.url}/data/k`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe("100000");
      const reader = res.body!.getReader();
      let received = 0;
      const failure = await (async () => {
        try {
          while (true) {
            const { done, value } = await reader.read();
            if (done) return undefined;
            expect(value).toEqual(body.subarray(received, received + value.length));
            received += value.length;
          }
        } catch (err) {
          return err;
        }
      })();
      expect(failure).toBeInstanceOf(Error);
      expect(received).toBe(50_000);
      expect(s.stats.faultsByKind).toEqual({ truncate: 1 });
    },
  );
});

Deno.test("faults: truncate on a bodiless response applies the request, then resets", async () => {
  await withServer({ faults: { errorRate: 1, errorKinds: ["truncate"] } }, async (s) => {
    await expect(fetch(`${s.url}/data/k`, { method: "PUT", body: "applied" })).rejects.toThrow(TypeError);
    expect((await s.store.head("data", "k"))?.size).toBe(7);
  });
});

Deno.test("faults: match limits errors, latency and the bandwidth cap to chosen operations", async () => {
  const faults = {
    errorRate: 1,
    errorKinds: ["slowdown" as const],
    latencyMs: 300,
    bandwidthBytesPerSec: 1000,
    match: (_m: string, _k: string, op: string) => op === "PutObject",
  };
  await withServer({ faults }, async (s) => {
    await s.store.put("data", "k", new Uint8Array(5000));
    const t0 = performance.now();
    const get = await fetch(`${s.url}/data/k`);
    expect((await get.arrayBuffer()).byteLength).toBe(5000); // 5 s at the cap: not applied
    expect(performance.now() - t0).toBeLessThan(250); // no latency either
    const put = await fetch(`${s.url}/data/k`, { method: "PUT", body: "x" });
    await put.body?.cancel();
    expect(put.status).toBe(503);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });
});

Deno.test("faults: latency delays every request by at least latencyMs", async () => {
  await withServer({ faults: { latencyMs: 120 } }, async (s) => {
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await (await fetch(`${s.url}/data/k`)).body?.cancel();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * 110);
  });
});

Deno.test("faults: the bandwidth cap throttles downloads and uploads", async () => {
  await withServer({ faults: { bandwidthBytesPerSec: 100_000 } }, async (s) => {
    const body = new Uint8Array(50_000);
    let t0 = performance.now();
    const put = await fetch(`${s.url}/data/k`, { method: "PUT", body });
    await put.body?.cancel();
    const up = performance.now() - t0;
    t0 = performance.now();
    const got = await (await fetch(`${s.url}/data/k`)).arrayBuffer();
    const down = performance.now() - t0;
    expect(got.byteLength).toBe(50_000);
    // 50 kB at 100 kB/s: at least ~0.45 s each way (loose bounds; pacing starts after the first slice).
    expect(up).toBeGreaterThanOrEqual(400);
    expect(down).toBeGreaterThanOrEqual(400);
    expect(s.stats.bytesReceived).toBe(50_000);
    expect(s.stats.bytesSent).toBeGreaterThanOrEqual(50_000);
  });
});

Deno.test("stats: count requests, operations, errors and peak concurrency including streaming", async () => {
  await withServer({ faults: { latencyMs: 150 } }, async (s) => {
    await s.store.put("data", "k", new Uint8Array(10_000));
    s.stats.reset();
    await Promise.all(
      Array.from({ length: 8 }, async () => await (await fetch(`${s.url}/data/k`)).arrayBuffer()),
    );
    await (await fetch(`${s.url}/data/missing`)).body?.cancel();
    expect(s.stats.requests).toBe(9);
    expect(s.stats.maxInFlight).toBe(8);
    expect(s.stats.inFlight).toBe(0);
    expect(s.stats.byOperation).toEqual({ GetObject: 9 });
    expect(s.stats.byMethod).toEqual({ GET: 9 });
    expect(s.stats.errors).toEqual({ NoSuchKey: 1 });
    expect(s.stats.bytesSent).toBeGreaterThanOrEqual(80_000);
    // A response whose body is still streaming (here: slowly, under a bandwidth cap) counts as in flight.
    s.faults.update({ latencyMs: 0, bandwidthBytesPerSec: 40_000 });
    const res = await fetch(`${s.url}/data/k`); // the headers are here; 10,000 bytes at 40 kB/s take 250 ms
    expect(s.stats.inFlight).toBe(1);
    await res.arrayBuffer();
    // The server counts the response finished when its last byte has gone out, a moment before or after the
    // client has it.
    expect(await eventually(() => s.stats.inFlight === 0)).toBe(true);
    s.stats.reset();
    expect([s.stats.requests, s.stats.maxInFlight, s.stats.bytesSent]).toEqual([0, 0, 0]);
  });
});

for (const connectionProxy of [true, false]) {
  Deno.test(`close() cuts responses still streaming instead of waiting (connectionProxy: ${connectionProxy})`, async () => {
    const s = await serveEmulator({
      buckets: ["data"],
      connectionProxy,
      faults: { bandwidthBytesPerSec: 100_000 },
    });
    await s.store.put("data", "big", new Uint8Array(5_000_000));
    const res = await fetch(`${s.url}/data/big`);
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(s.stats.inFlight).toBe(0);
  });
}

Deno.test("faults: invalid settings are rejected with a ConfigError naming the option", () => {
  expect(() => new FaultInjector({ errorRate: 2 })).toThrow(ConfigError);
  expect(() => new FaultInjector({ errorRate: 2 })).toThrow("faults.errorRate");
  expect(() => new FaultInjector({ latencyMs: -1 })).toThrow("faults.latencyMs");
  // deno-lint-ignore no-explicit-any
  expect(() => new FaultInjector({ errorKinds: ["explode" as any] })).toThrow("faults.errorKinds");
  expect(() => new FaultInjector({ bandwidthBytesPerSec: 0 })).toThrow("faults.bandwidthBytesPerSec");
});
