// Fast listing: key ranges listed at once and merged back must give exactly the sequence one listing gives, for
// any key set (long shared prefixes, unicode above U+FFFF, keys sitting on likely split points) and any
// concurrency and page size, against the local server over HTTP.
import { expect } from "expect";
import { OssMapDataset } from "../mod.ts";
import { listFast, splitPoints } from "../src/fast_list.ts";
import { mulberry32 } from "../src/server/faults.ts";
import { BUCKET, clientFor, CREDS, REGION, startServer } from "./dataset_fixture.ts";

const PIECES = [
  "a",
  "b",
  "img_",
  "0",
  "1",
  "9",
  "z",
  "Z",
  "-",
  ".jpg",
  "/",
  "é",
  "中",
  "\u{1F600}",
  "\uFFFD",
  "\uE000",
];

/** A seeded key set under `prefix`: runs of keys with a long shared stem, numbered keys, unicode, and keys that
 * are exactly the points a splitter is likely to pick (`img_1`, `j`, a stem followed by the next character). */
function keySet(seed: number, prefix: string): string[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const keys = new Set<string>();
  const n = Math.floor(rand() * 2500);
  const stem = "x".repeat(1 + Math.floor(rand() * 200));
  for (let i = 0; i < n; i++) {
    const kind = rand();
    if (kind < 0.4) keys.add(`${prefix}img_${String(Math.floor(rand() * 100_000)).padStart(6, "0")}.jpg`);
    else if (kind < 0.6) keys.add(`${prefix}${stem}${pick(PIECES)}${pick(PIECES)}`);
    else if (kind < 0.85) {
      keys.add(prefix + Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(PIECES)).join(""));
    } else keys.add(`${prefix}${pick(["img_1", "img_", "j", "i", "img_0", "z", "{", "\u007f"])}`);
  }
  return [...keys];
}

Deno.test("listFast gives the sequence of one listing for random key sets, concurrencies and page sizes", async () => {
  const server = await startServer();
  try {
    const client = clientFor(server);
    let listed = 0, configurations = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const prefix = `p${seed}/`;
      for (const key of keySet(seed, prefix)) await server.store.put(BUCKET, key, new Uint8Array(0));
      // A neighbouring prefix, so that ranges reaching the end of `prefix` must not run into it.
      await server.store.put(BUCKET, `p${seed}0`, new Uint8Array(0));
      const one = (await Array.fromAsync(client.list(BUCKET, { prefix }))).map((o) => o.key);
      const rand = mulberry32(seed * 7919);
      for (let run = 0; run < 3; run++) {
        const concurrency = 2 + Math.floor(rand() * 24);
        const maxKeys = [1, 7, 50, 333, 1000][Math.floor(rand() * 5)];
        const startAfter = run === 2 && one.length > 0 ? one[Math.floor(rand() * one.length)] : undefined;
        const expected = startAfter === undefined
          ? one
          : one.filter((k) => one.indexOf(k) > one.indexOf(startAfter));
        server.stats.reset();
        const got =
          (await Array.fromAsync(listFast(client, BUCKET, { prefix, concurrency, maxKeys, startAfter })))
            .map((o) => o.key);
        expect({ seed, concurrency, maxKeys, startAfter, keys: got }).toEqual({
          seed,
          concurrency,
          maxKeys,
          startAfter,
          keys: expected,
        });
        expect(server.stats.maxInFlight).toBeLessThanOrEqual(concurrency);
        listed += got.length;
        configurations++;
      }
    }
    console.log(`[fast list] ${configurations} configurations, ${listed} keys compared with one listing`);
  } finally {
    await server.close();
  }
});

Deno.test("listFast lists side by side when keys are many, and stops its requests when the caller leaves", async () => {
  const server = await startServer({ latencyMs: 5 }); // a round trip long enough for requests to overlap
  try {
    const client = clientFor(server);
    for (let i = 0; i < 3000; i++) {
      await server.store.put(BUCKET, `many/${String(i).padStart(5, "0")}`, new Uint8Array(0));
    }
    server.stats.reset();
    const keys = (await Array.fromAsync(listFast(client, BUCKET, { prefix: "many/", maxKeys: 20 }))).map((
      o,
    ) => o.key);
    expect(keys.length).toBe(3000);
    expect(server.stats.maxInFlight).toBeGreaterThan(1);
    let n = 0;
    for await (const _ of listFast(client, BUCKET, { prefix: "many/", maxKeys: 20 })) if (++n === 500) break;
    expect(server.stats.inFlight).toBe(0); // leaving the loop waited for every range's request to stop
  } finally {
    await server.close();
  }
});

Deno.test("listFast checks its options, naming the one that is wrong", async () => {
  const server = await startServer();
  try {
    const client = clientFor(server);
    const first = (opts: Record<string, unknown>) => listFast(client, BUCKET, opts).next();
    await expect(first({ concurrency: 0 })).rejects.toThrow(
      "listFast: concurrency: expected an integer from 1",
    );
    await expect(first({ maxKeys: 1001 })).rejects.toThrow(
      "listFast: maxKeys: expected an integer from 1 to 1000",
    );
    await expect(first({ prefix: 3 })).rejects.toThrow("listFast: prefix: expected a string");
  } finally {
    await server.close();
  }
});

Deno.test("splitPoints gives increasing points strictly between its bounds, one position deeper when none fit", () => {
  const cp = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
  const str = (p: number[]) => String.fromCodePoint(...p);
  expect(splitPoints(cp("img_0"), cp("img_9"), 3).map(str)).toEqual(["img_2", "img_5", "img_7"]);
  // None fit between "0" and "1": one position deeper, spread over ASCII after "img_0".
  expect(splitPoints(cp("img_0"), cp("img_1"), 2).map(str)).toEqual(["img_0*", "img_0U"]);
  expect(splitPoints(cp("ab"), cp("a"), 4)).toEqual([]); // nothing lies between
  const rand = mulberry32(5);
  for (let i = 0; i < 2000; i++) {
    const a = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => Math.floor(rand() * 0x300));
    const b = [...a.slice(0, Math.floor(rand() * a.length)), 0x300 + Math.floor(rand() * 0x10000)];
    const points = splitPoints(a, b, 1 + Math.floor(rand() * 20)).map(str);
    const sorted = [str(a), ...points, str(b)];
    for (let j = 1; j < sorted.length; j++) {
      expect(compare(sorted[j - 1], sorted[j])).toBeLessThan(0);
    }
  }
});

function compare(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!), y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

Deno.test("a map dataset with enableFastList (option or config) lists in ranges and holds the same objects", async () => {
  const server = await startServer({ latencyMs: 5 });
  try {
    for (let i = 0; i < 1500; i++) {
      await server.store.put(BUCKET, `ds/${String(i).padStart(5, "0")}.bin`, new Uint8Array([i & 255]));
    }
    const base = { endpoint: server.url, region: REGION, credentials: CREDS };
    const plainStats = async (opts: Record<string, unknown>) => {
      server.stats.reset();
      const ds = await OssMapDataset.fromPrefix(`oss://${BUCKET}/ds/`, { ...base, ...opts });
      return {
        keys: Array.from({ length: ds.length }, (_, i) => ds.ref(i).key),
        inFlight: server.stats.maxInFlight,
      };
    };
    const plain = await plainStats({});
    const fast = await plainStats({ enableFastList: true, listConcurrency: 8 });
    const configured = await plainStats({
      config: { datasetConfig: { enableFastList: true, listConcurrency: 4 } },
    });
    expect(plain.keys.length).toBe(1500);
    expect(fast.keys).toEqual(plain.keys);
    expect(configured.keys).toEqual(plain.keys);
    expect([plain.inFlight, fast.inFlight > 1, configured.inFlight > 1]).toEqual([1, true, true]);
    await expect(OssMapDataset.fromPrefix(`oss://${BUCKET}/ds/`, { ...base, enableFastList: "yes" as never }))
      .rejects.toThrow('dataset option enableFastList: expected true or false, got "yes"');
  } finally {
    await server.close();
  }
});
