// The `latencySpike` fault option: a seeded share of requests waits `ms` longer, enough to outlast a client's
// timeout, and the client retries them.
import { expect } from "expect";
import { ConfigError } from "../../src/errors.ts";
import { FaultInjector, type FaultOptions } from "../../src/server/faults.ts";
import { startServer } from "../dataset_fixture.ts";
import { BUCKET, countingClient, RetryCounter } from "./fault_fixture.ts";

Deno.test("latencySpike delays a seeded share of matching requests, the same ones for the same seed", () => {
  const plans = (seed: number) => {
    const f = new FaultInjector({ latencyMs: 5, latencySpike: { rate: 0.3, ms: 1000 }, seed });
    return Array.from({ length: 2000 }, () => f.plan("GET", "k", "GetObject").latencyMs);
  };
  const a = plans(9);
  expect(plans(9)).toEqual(a);
  expect(plans(10)).not.toEqual(a);
  expect(new Set(a)).toEqual(new Set([5, 1005]));
  const share = a.filter((ms) => ms > 5).length / a.length;
  expect(share).toBeGreaterThan(0.27);
  expect(share).toBeLessThan(0.33);
});

Deno.test("latencySpike counts the spikes it planned and spares requests that match rejects", () => {
  const f = new FaultInjector({
    latencySpike: { rate: 1, ms: 50 },
    match: (method) => method === "GET",
  });
  expect(f.plan("PUT", "k", "PutObject").latencyMs).toBe(0);
  expect(f.plan("GET", "k", "GetObject").latencyMs).toBe(50);
  expect(f.latencySpikes).toBe(1);
  f.update({ latencySpike: undefined });
  expect(f.plan("GET", "k", "GetObject").latencyMs).toBe(0);
});

Deno.test("latencySpike leaves the error draws of a seed unchanged when it is not set", () => {
  const kinds = (opts: FaultOptions) => {
    const f = new FaultInjector({ errorRate: 0.2, seed: 4, ...opts });
    return Array.from({ length: 500 }, () => f.decide("GET", "k", "GetObject"));
  };
  expect(kinds({})).toEqual(kinds({ latencySpike: undefined }));
});

Deno.test("latencySpike rejects a rate outside [0, 1] or a negative delay, naming the option", () => {
  for (
    const [spike, message] of [
      [{ rate: 1.5, ms: 10 }, "faults.latencySpike.rate"],
      [{ rate: -0.1, ms: 10 }, "faults.latencySpike.rate"],
      [{ rate: 0.5, ms: -1 }, "faults.latencySpike.ms"],
      [{ rate: 0.5, ms: Infinity }, "faults.latencySpike.ms"],
      ["often", "faults.latencySpike"],
    ] as const
  ) {
    expect(() => new FaultInjector({ latencySpike: spike as unknown as FaultOptions["latencySpike"] }))
      .toThrow(ConfigError);
    expect(() => new FaultInjector({ latencySpike: spike as unknown as FaultOptions["latencySpike"] }))
      .toThrow(message);
  }
});

Deno.test("a request stalled past the client timeout by a latency spike is aborted and retried", async () => {
  const server = await startServer();
  try {
    const retries = new RetryCounter();
    // A spike far longer than the timeout: a client that waited it out would answer only after a minute, and
    // without a retry, so the counters below tell, with no clock in the test.
    const client = countingClient(server.url, retries, { timeoutMs: 2_000 });
    await client.put(BUCKET, "spiky", "v");
    let first = true;
    server.faults.update({
      latencySpike: { rate: 1, ms: 60_000 },
      match: (_m, key, op) => op === "GetObject" && key === "spiky" && first && !(first = false),
    });
    server.stats.reset();
    expect(new TextDecoder().decode((await client.getBytes(BUCKET, "spiky")).bytes)).toBe("v");
    expect(retries.byStatus).toEqual({ timeout: 1 });
    expect(server.faults.latencySpikes).toBe(1);
    expect(server.stats.byOperation).toEqual({ GetObject: 2 });
  } finally {
    await server.close();
  }
});
