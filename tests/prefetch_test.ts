import { expect } from "expect";
import { prefetch } from "../src/prefetch.ts";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

/** A task that records how many run at once and how many bytes are outstanding. */
function gauge() {
  const g = { running: 0, maxRunning: 0, started: 0, aborted: 0 };
  const task = async (ms: number, signal: AbortSignal) => {
    g.started++;
    g.running++;
    g.maxRunning = Math.max(g.maxRunning, g.running);
    try {
      await sleep(ms, signal);
    } catch (e) {
      g.aborted++;
      throw e;
    } finally {
      g.running--;
    }
  };
  return { g, task };
}

Deno.test("prefetch yields results in input order when ordered, even if later tasks finish first", async () => {
  const delays = [30, 5, 20, 1, 10, 2];
  const out: number[] = [];
  for await (
    const v of prefetch(delays, async (d, { index }) => (await sleep(d), index), { concurrency: 6 })
  ) {
    out.push(v);
  }
  expect(out).toEqual([0, 1, 2, 3, 4, 5]);
});

Deno.test("prefetch yields in completion order when ordered is false", async () => {
  const delays = [40, 5, 20];
  const out: number[] = [];
  for await (
    const v of prefetch(delays, async (d) => (await sleep(d), d), { concurrency: 3, ordered: false })
  ) {
    out.push(v);
  }
  expect(out).toEqual([5, 20, 40]);
});

Deno.test("prefetch never runs more than concurrency tasks at once", async () => {
  const { g, task } = gauge();
  const items = Array.from({ length: 50 }, (_, i) => i);
  let n = 0;
  for await (const _ of prefetch(items, (_i, { signal }) => task(2, signal), { concurrency: 7 })) n++;
  expect(n).toBe(50);
  expect(g.maxRunning).toBe(7);
});

Deno.test("prefetch keeps bytes in flight (running + unconsumed) within maxBytesInFlight", async () => {
  let outstanding = 0, maxOutstanding = 0;
  const sizes = Array.from({ length: 40 }, (_, i) => 10 + (i % 5) * 10); // 10..50
  const it = prefetch(sizes, async (s) => {
    outstanding += s;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    await sleep(1);
    return s;
  }, { concurrency: 16, maxBytesInFlight: 100, sizeOf: (s) => s });
  for await (const s of it) {
    outstanding -= s; // consumed
    await sleep(1);
  }
  expect(maxOutstanding).toBeLessThanOrEqual(100);
  expect(maxOutstanding).toBeGreaterThan(50);
});

Deno.test("prefetch runs an item larger than the byte budget alone instead of deadlocking", async () => {
  const out: number[] = [];
  for await (
    const v of prefetch([5, 500, 5], async (s) => (await sleep(1), s), {
      maxBytesInFlight: 100,
      sizeOf: (s) => s,
    })
  ) {
    out.push(v);
  }
  expect(out).toEqual([5, 500, 5]);
});

Deno.test("prefetch applies backpressure: a stalled consumer stops new tasks after maxPending", async () => {
  const { g, task } = gauge();
  const it = prefetch(Array.from({ length: 100 }, (_, i) => i), (_i, { signal }) => task(1, signal), {
    concurrency: 4,
    maxPending: 10,
  });
  await it.next();
  await sleep(50); // consumer stalls
  expect(g.started).toBeLessThanOrEqual(11);
  await it.return();
});

Deno.test("prefetch pulls the source lazily: the first result arrives before a slow source ends", async () => {
  let produced = 0;
  async function* slowSource() {
    for (let i = 0; i < 5; i++) {
      produced++;
      yield i;
      await sleep(30);
    }
  }
  const it = prefetch(slowSource(), (x) => x, { concurrency: 2 });
  const first = await it.next();
  expect(first.value).toBe(0);
  expect(produced).toBeLessThan(5);
  await it.return();
});

Deno.test("prefetch aborts and awaits every running task when the consumer breaks", async () => {
  const { g, task } = gauge();
  let closed = false;
  function* source() {
    try {
      for (let i = 0; i < 1000; i++) yield i;
    } finally {
      closed = true;
    }
  }
  let seen = 0;
  for await (
    const _ of prefetch(source(), (i, { signal }) => task(i < 3 ? 1 : 1000, signal), { concurrency: 8 })
  ) {
    if (++seen === 3) break;
  }
  expect(g.running).toBe(0); // settled before the loop exited
  expect(g.aborted).toBeGreaterThan(0);
  expect(closed).toBe(true);
});

Deno.test("prefetch ends with the signal's reason and cancels running tasks when the signal aborts", async () => {
  const { g, task } = gauge();
  const ac = new AbortController();
  const reason = new Error("stop now");
  setTimeout(() => ac.abort(reason), 20);
  const run = async () => {
    for await (
      const _ of prefetch([1, 2, 3, 4], (_i, { signal }) => task(10_000, signal), { signal: ac.signal })
    ) {
      // never
    }
  };
  await expect(run()).rejects.toBe(reason);
  expect(g.running).toBe(0);
  expect(g.aborted).toBe(4);
});

Deno.test("prefetch surfaces a task error after the results before it, and cancels the rest", async () => {
  const { g, task } = gauge();
  const out: number[] = [];
  const run = async () => {
    for await (
      const v of prefetch([0, 1, 2, 3, 4, 5], async (i, { signal }) => {
        if (i === 2) throw new Error("task 2 failed");
        await task(i > 2 ? 5000 : 1, signal);
        return i;
      }, { concurrency: 6 })
    ) out.push(v);
  };
  await expect(run()).rejects.toThrow("task 2 failed");
  expect(out).toEqual([0, 1]);
  expect(g.running).toBe(0);
});

Deno.test("prefetch surfaces a source error after the items pulled before it", async () => {
  async function* failing() {
    yield 1;
    yield 2;
    throw new Error("listing broke");
  }
  const out: number[] = [];
  const run = async () => {
    for await (const v of prefetch(failing(), async (x) => (await sleep(1), x))) out.push(v);
  };
  await expect(run()).rejects.toThrow("listing broke");
  expect(out).toEqual([1, 2]);
});

Deno.test("prefetch rejects bad options with a message naming them", () => {
  expect(() => prefetch([1], (x) => x, { concurrency: 0 })).toThrow(/concurrency must be a positive integer/);
  expect(() => prefetch([1], (x) => x, { maxBytesInFlight: -1 })).toThrow(/maxBytesInFlight must be > 0/);
});

Deno.test("prefetch fails at the item whose sizeOf throws, after the results before it", async () => {
  const out: number[] = [];
  const run = async () => {
    for await (
      const v of prefetch([1, 2, 3, 4], async (x) => (await sleep(1), x), {
        concurrency: 1,
        sizeOf: (x) => {
          if (x === 3) throw new Error("no size for 3");
          return 1;
        },
      })
    ) out.push(v);
  };
  await expect(run()).rejects.toThrow("no size for 3");
  expect(out).toEqual([1, 2]);
});

Deno.test("a consumer that stops early gets control back only after every running task has settled", async () => {
  let started = 0, settled = 0;
  // Task 0 answers at once; the others answer only once aborted, and then a macrotask later.
  const task = (x: number, { signal }: { signal: AbortSignal }) =>
    new Promise<number>((resolve) => {
      started++;
      if (x === 0) return resolve(x);
      signal.addEventListener("abort", () =>
        setTimeout(() => {
          settled++;
          resolve(x);
        }, 0), { once: true });
    });
  for await (const _ of prefetch([0, 1, 2, 3, 4, 5, 6, 7], task, { concurrency: 4 })) break;
  expect(started).toBeGreaterThanOrEqual(4);
  expect(settled).toBe(started - 1); // every task but task 0 settled (after its abort) before the loop let go
});
