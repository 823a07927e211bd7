/**
 * Abort listeners on a caller's signal: one per signal, however many requests wait on it (Node warned of an
 * EventTarget memory leak past 10 — `MaxListenersExceededWarning` — on every default dataset pass). The runtime
 * matrix fails on that warning in Node itself (tests/runtimes/cli_entry.mjs); here the listeners are counted.
 */
import { expect } from "expect";
import { addAbortWaiter, removeAbortWaiter } from "../src/abort.ts";
import type { OssError } from "../src/errors.ts";
import { bytesOf, clientFor, withServer } from "./client_fixtures.ts";

/** A signal whose live "abort" listeners are counted (the peak too). */
function countedSignal(): { ac: AbortController; live: () => number; peak: () => number } {
  const ac = new AbortController();
  const listeners = new Set<unknown>();
  let peak = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((type: string, l: EventListenerOrEventListenerObject, o?: unknown) => {
    if (type === "abort") listeners.add(l);
    peak = Math.max(peak, listeners.size);
    add(type, l, o as AddEventListenerOptions);
  }) as typeof ac.signal.addEventListener;
  ac.signal.removeEventListener = ((type: string, l: EventListenerOrEventListenerObject, o?: unknown) => {
    if (type === "abort") listeners.delete(l);
    remove(type, l, o as EventListenerOptions);
  }) as typeof ac.signal.removeEventListener;
  return { ac, live: () => listeners.size, peak: () => peak };
}

Deno.test("addAbortWaiter: 1000 waiters share one listener, each is called once, the last to leave removes it", () => {
  const { ac, live, peak } = countedSignal();
  const calls = new Array(1000).fill(0);
  const waiters = calls.map((_, i) => () => calls[i]++);
  for (const w of waiters) addAbortWaiter(ac.signal, w);
  addAbortWaiter(ac.signal, waiters[0]); // twice: still once, as with addEventListener
  expect([live(), peak()]).toEqual([1, 1]);
  for (const w of waiters.slice(0, 10)) removeAbortWaiter(ac.signal, w);
  expect(live()).toBe(1);
  ac.abort();
  expect(calls.slice(0, 10)).toEqual(new Array(10).fill(0));
  expect(calls.slice(10)).toEqual(new Array(990).fill(1));
  expect(live()).toBe(0);

  const other = countedSignal();
  const w = () => {};
  addAbortWaiter(other.ac.signal, w);
  removeAbortWaiter(other.ac.signal, w);
  expect(other.live()).toBe(0);
});

Deno.test("addAbortWaiter: a throwing waiter does not keep the others from hearing the abort", async () => {
  const ac = new AbortController();
  let heard = 0;
  const thrown = new Promise<unknown>((resolve) => {
    const onError = (e: ErrorEvent) => {
      e.preventDefault();
      globalThis.removeEventListener("error", onError);
      resolve(e.error);
    };
    globalThis.addEventListener("error", onError);
  });
  addAbortWaiter(ac.signal, () => heard++);
  addAbortWaiter(ac.signal, () => {
    throw new Error("waiter failed");
  });
  addAbortWaiter(ac.signal, { handleEvent: () => heard++ });
  ac.abort();
  expect(heard).toBe(2);
  expect(((await thrown) as Error).message).toBe("waiter failed");
});

Deno.test("32 concurrent requests on one signal add one abort listener to it, waiting and backing off", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4", { retry: { maxAttempts: 3, minDelayMs: 30, maxDelayMs: 30 } });
    const keys = Array.from({ length: 32 }, (_, i) => `k/${i}`);
    for (const [i, k] of keys.entries()) await client.put("bkt", k, bytesOf(1000, i));
    // Every request waits at the server, then every first and second attempt gets 503 SlowDown: all 32
    // attempts are in flight together, then all 32 back off together.
    server.faults.update({ latencyMs: 30, errorRate: 1, errorKinds: ["slowdown"] });
    const { ac, live, peak } = countedSignal();
    const results = await Promise.allSettled(
      keys.map((k) => client.getBytes("bkt", k, { signal: ac.signal })),
    );
    expect(results.every((r) => r.status === "rejected" && (r.reason as OssError).code === "SlowDown"))
      .toBe(true);
    expect(server.stats.byOperation.GetObject).toBe(96);
    expect([peak(), live()]).toEqual([1, 0]);

    server.faults.update({ errorRate: 0 });
    const counted = countedSignal();
    const got = await Promise.all(keys.map((k) => client.getBytes("bkt", k, { signal: counted.ac.signal })));
    expect(got.map((g) => g.bytes.length)).toEqual(keys.map(() => 1000));
    expect([counted.peak(), counted.live()]).toEqual([1, 0]);
  });
});
