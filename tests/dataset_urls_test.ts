/**
 * Datasets from presigned URLs (`fromUrls`) against the real local server, which requires a signature on every
 * request: no endpoint and no credentials reach the dataset, only the URLs.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import type { DataObject } from "../src/dataset/item.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import type { DatasetOptions } from "../src/dataset/options.ts";
import { UrlFetchClient } from "../src/dataset/url_client.ts";
import { urlRef } from "../src/dataset/url_source.ts";
import { ConfigError, OssError } from "../src/errors.ts";
import { type AuditRecord, Logger, type LogRecord } from "../src/log.ts";
import type { RetryEvent } from "../src/retry.ts";
import {
  assertSameObjects,
  BUCKET,
  collect,
  CREDS,
  REGION,
  seed,
  type Server,
  settled,
  startServer,
} from "./dataset_fixture.ts";

type Sig = "oss4" | "s3v4";
const SIGS: Sig[] = ["oss4", "s3v4"];
const N = 40;

function signer(server: Server, sig: Sig): OssClient {
  return new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS, signatureVersion: sig });
}

/** Presigns a GET for each key; returns the URLs in key order. */
async function presignAll(
  server: Server,
  keys: Iterable<string>,
  sig: Sig,
  opts: { expires?: number; date?: Date } = {},
): Promise<string[]> {
  const client = signer(server, sig);
  return await Promise.all([...keys].map((k) => client.presignUrl(BUCKET, k, { expires: 600, ...opts })));
}

/** The secret-bearing parts of the URLs: each whole query and each signature. */
function secretsOf(urls: string[]): string[] {
  const out: string[] = [];
  for (const u of urls) {
    const url = new URL(u);
    out.push(url.search);
    for (const name of ["x-oss-signature", "X-Amz-Signature"]) {
      const v = url.searchParams.get(name);
      if (v) out.push(v);
    }
  }
  return out;
}

/** Throws when any secret appears in `text`. */
function expectNoSecret(text: string, secrets: string[]): void {
  for (const s of secrets) {
    if (text.includes(s)) throw new Error(`a URL's query or signature leaked: ${text.slice(0, 300)}`);
  }
}

/** Every way an error can be shown: message, stack, inspect (with causes), JSON of its fields. */
function shownError(e: unknown): string {
  return [String(e), (e as Error)?.stack ?? "", Deno.inspect(e, { depth: 10 }), JSON.stringify(e)].join("\n");
}

function build(
  kind: "iterable" | "map",
  urls: Parameters<typeof OssIterableDataset.fromUrls>[0],
  opts: DatasetOptions,
): Promise<AsyncIterable<DataObject>> {
  return kind === "iterable"
    ? Promise.resolve(OssIterableDataset.fromUrls(urls, opts))
    : OssMapDataset.fromUrls(urls, opts);
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

Deno.test("presigned URL datasets yield exactly the expected keys and bytes (OSS4 and SigV4 × iterable and map × inline and workers)", async (t) => {
  const server = await startServer();
  try {
    const expected = await seed(server, N);
    // Sanity: the server refuses unsigned reads, so every item below was fetched by its signature.
    const anonymous = await fetch(`${server.url}/${BUCKET}/${[...expected.keys()][0]}`);
    await anonymous.body?.cancel();
    expect(anonymous.status).toBe(403);
    for (const sig of SIGS) {
      const urls = await presignAll(server, expected.keys(), sig);
      const secrets = secretsOf(urls);
      for (const kind of ["iterable", "map"] as const) {
        for (const prefetchWorker of [0, 2]) {
          await t.step(`${sig} ${kind} prefetchWorker ${prefetchWorker}`, async () => {
            const logs: LogRecord[] = [];
            const audit: AuditRecord[] = [];
            const ds = await build(kind, urls, {
              prefetchWorker,
              prefetchConcurrency: 8,
              logger: new Logger({ level: "debug", sink: (r) => logs.push(r) }),
              auditSink: (r) => audit.push(r),
              auditThresholdMs: 0,
            });
            const items: DataObject[] = [];
            const got = await collect(
              (async function* () {
                for await (const item of ds) yield (items.push(item), item);
              })(),
            );
            assertSameObjects(got, expected);
            for (const item of items) {
              expect(item.bucket).toBe(BUCKET);
              expect(item.uri).toBe(`${server.url}/${BUCKET}/${item.key}`);
              expectNoSecret(JSON.stringify(item), secrets);
            }
            expect(audit.filter((r) => r.method === "GET").map((r) => r.key).sort()).toEqual(
              [...expected.keys()].sort(),
            );
            for (const r of audit) expect(r.bucket).toBe(BUCKET);
            expectNoSecret(JSON.stringify(audit) + JSON.stringify(logs), secrets);
          });
        }
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("URL datasets keep the given order, shuffle reproducibly and deal disjoint, complete shards", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, N);
    const keys = [...expected.keys()].reverse();
    const urls = await presignAll(server, keys, "oss4");
    const order = async (ds: AsyncIterable<DataObject>) => (await Array.fromAsync(ds)).map((i) => i.key);
    expect(await order(OssIterableDataset.fromUrls(urls, { prefetchWorker: 0 }))).toEqual(keys);
    expect(await order(await OssMapDataset.fromUrls(urls, { prefetchWorker: 0 }))).toEqual(keys);

    const shuffled = await order(
      OssIterableDataset.fromUrls(urls, { shuffle: { seed: 5, mode: "buffer", bufferSize: 8 } }),
    );
    expect(shuffled).not.toEqual(keys);
    expect([...shuffled].sort()).toEqual([...keys].sort());
    expect(
      await order(OssIterableDataset.fromUrls(urls, { shuffle: { seed: 5, mode: "buffer", bufferSize: 8 } })),
    ).toEqual(
      shuffled,
    );

    for (const kind of ["iterable", "map"] as const) {
      for (const prefetchWorker of [0, 2]) {
        const worldSize = 3;
        const shards: Map<string, Uint8Array>[] = [];
        for (let rank = 0; rank < worldSize; rank++) {
          const ds = await build(kind, urls, {
            rank,
            worldSize,
            seed: 11,
            prefetchWorker,
            evenShards: "none",
          });
          shards.push(await collect(ds));
        }
        const union = new Map<string, Uint8Array>();
        for (const shard of shards) {
          expect(shard.size).toBeGreaterThan(0);
          for (const [k, v] of shard) {
            if (union.has(k)) throw new Error(`${kind}: ${k} is in two shards`);
            union.set(k, v);
          }
        }
        assertSameObjects(union, expected);
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("URL datasets run transforms (functions inline, modules in workers) and skip failing items on request", async () => {
  const server = await startServer();
  const mod = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const expected = await seed(server, 20);
    const urls = await presignAll(server, expected.keys(), "s3v4");
    await Deno.writeTextFile(
      mod,
      `export default async (item) => ({ key: item.key, uri: item.uri, n: (await item.bytes()).length });\n`,
    );
    type Out = { key: string; uri: string; n: number };
    for (const prefetchWorker of [0, 2]) {
      const got = await Array.fromAsync(
        OssIterableDataset.fromUrls<Out>(urls, { transform: new URL(`file://${mod}`), prefetchWorker }),
      );
      expect(got.length).toBe(20);
      for (const o of got) {
        expect(o.n).toBe(expected.get(o.key)!.length);
        expect(o.uri).toBe(`${server.url}/${BUCKET}/${o.key}`);
      }
    }
    const first = [...expected.keys()][0];
    const logs: LogRecord[] = [];
    const ds = await OssMapDataset.fromUrls<number>(urls, {
      transform: async (item) => {
        if (item.key === first) throw new Error("bad item");
        return (await item.bytes()).length;
      },
      onTransformError: "skip",
      logger: new Logger({ sink: (r) => logs.push(r) }),
    });
    expect((await Array.fromAsync(ds)).length).toBe(19);
    expect(ds.skipped).toBe(1);
    const err = await failureOf(ds.get(0));
    expect(String(err)).toContain(`transform failed for ${server.url}/${BUCKET}/${first}: bad item`);
    expectNoSecret(shownError(err) + JSON.stringify(logs), secretsOf(urls));
  } finally {
    await Deno.remove(mod);
    await server.close();
  }
});

Deno.test("an expired presigned URL fails with OssError AccessDenied 403, its signature in no error or record", async (t) => {
  const server = await startServer();
  try {
    const expected = await seed(server, 4);
    for (const sig of SIGS) {
      const urls = await presignAll(server, expected.keys(), sig, {
        date: new Date(Date.now() - 120_000),
        expires: 60,
      });
      const secrets = secretsOf(urls);
      for (const kind of ["iterable", "map"] as const) {
        for (const prefetchWorker of [0, 2]) {
          await t.step(`${sig} ${kind} prefetchWorker ${prefetchWorker}`, async () => {
            const audit: AuditRecord[] = [];
            const logs: LogRecord[] = [];
            const ds = await build(kind, urls, {
              prefetchWorker,
              auditSink: (r) => audit.push(r),
              auditThresholdMs: 0,
              logger: new Logger({ level: "debug", sink: (r) => logs.push(r) }),
            });
            const err = await failureOf(collect(ds));
            expect(err).toBeInstanceOf(OssError);
            const e = err as OssError;
            expect(e.code).toBe("AccessDenied");
            expect(e.status).toBe(403);
            expect(e.message).toContain("expired");
            expect(e.message).toContain(`${server.url}/${BUCKET}/`);
            expectNoSecret(shownError(e) + JSON.stringify(audit) + JSON.stringify(logs), secrets);
            expect(audit.some((r) => r.status === 403)).toBe(true);
          });
        }
      }
      // Not retried: one request per URL at most.
      server.stats.reset();
      await failureOf(OssMapDataset.fromUrls(urls).then((ds) => ds.get(0)));
      expect(server.stats.requests).toBe(1);
    }
  } finally {
    await server.close();
  }
});

Deno.test("503 SlowDown answers to presigned GETs are retried with backoff, inline and in workers", async () => {
  const server = await startServer({ errorRate: 0.4, errorKinds: ["slowdown"], seed: 3 });
  try {
    const expected = await seed(server, N);
    const urls = await presignAll(server, expected.keys(), "oss4");
    for (const prefetchWorker of [0, 2]) {
      server.stats.reset();
      const retries: RetryEvent[] = [];
      const ds = OssIterableDataset.fromUrls(urls, {
        prefetchWorker,
        retry: { maxAttempts: 12, minDelayMs: 1, maxDelayMs: 5, onRetry: (e) => retries.push(e) },
      });
      assertSameObjects(await collect(ds), expected);
      expect(server.stats.faultsByKind.slowdown).toBeGreaterThan(3);
      if (prefetchWorker === 0) {
        expect(retries.length).toBe(server.stats.faultsByKind.slowdown);
        expect(retries.every((r) => r.status === 503 && r.bucket === BUCKET)).toBe(true);
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("a URL nobody answers fails with a NetworkError after retries; the query shows nowhere", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const url =
    `http://127.0.0.1:${port}/${BUCKET}/gone.bin?x-oss-signature=deadbeefcafe0123456789&x-oss-date=x`;
  const secrets = ["deadbeefcafe0123456789", "x-oss-signature"];
  for (const prefetchWorker of [0, 2]) {
    const retries: RetryEvent[] = [];
    const ds = OssIterableDataset.fromUrls([url], {
      prefetchWorker,
      retry: { maxAttempts: 3, minDelayMs: 1, maxDelayMs: 2, onRetry: (e) => retries.push(e) },
    });
    const err = await failureOf(collect(ds));
    expect(err).toBeInstanceOf(OssError);
    expect((err as OssError).code).toBe("NetworkError");
    expect((err as OssError).key).toBe("gone.bin");
    expect(String(err)).toContain(`http://127.0.0.1:${port}/${BUCKET}/gone.bin`);
    expectNoSecret(shownError(err), secrets);
    if (prefetchWorker === 0) {
      expect(retries.length).toBe(2);
      expectNoSecret(retries.map((r) => shownError(r.error)).join("\n"), secrets);
    }
  }
});

Deno.test("an aborted signal stops a URL dataset's pass and every request in flight", async () => {
  const server = await startServer({ latencyMs: 40 });
  try {
    const expected = await seed(server, 60);
    const urls = await presignAll(server, expected.keys(), "oss4");
    for (const prefetchWorker of [0, 2]) {
      const ac = new AbortController();
      const ds = OssIterableDataset.fromUrls(urls, {
        prefetchWorker,
        prefetchConcurrency: 8,
        signal: ac.signal,
      });
      setTimeout(() => ac.abort(new Error("stop the epoch")), 120);
      await expect(collect(ds)).rejects.toThrow("stop the epoch");
      expect(await settled(server)).toBe(0);
    }
  } finally {
    await server.close();
  }
});

Deno.test("URL datasets respect the request and byte bounds of prefetch", async () => {
  const server = await startServer({ latencyMs: 15 });
  try {
    const expected = await seed(server, 40, "train/", 16 * 1024);
    const urls = await presignAll(server, expected.keys(), "oss4");
    server.stats.reset();
    const ds = OssIterableDataset.fromUrls(urls, { prefetchConcurrency: 6 });
    assertSameObjects(await collect(ds), expected);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(6);
    server.stats.reset();
    const small = OssIterableDataset.fromUrls(urls, { prefetchConcurrency: 32, maxBytesInFlight: 48 * 1024 });
    assertSameObjects(await collect(small), expected);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(3);
  } finally {
    await server.close();
  }
});

Deno.test("async iterables of URLs: streamed per pass, re-asked when re-iterable, replayed when one-shot", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 12);
    const urls = await presignAll(server, expected.keys(), "oss4");
    let asked = 0;
    const reiterable = {
      async *[Symbol.asyncIterator]() {
        asked++;
        yield* urls;
      },
    };
    const ds = OssIterableDataset.fromUrls(reiterable, { prefetchWorker: 0 });
    assertSameObjects(await collect(ds), expected);
    assertSameObjects(await collect(ds), expected);
    expect(asked).toBe(2);
    assertSameObjects(await collect(await OssMapDataset.fromUrls(reiterable)), expected);

    const oneShot = async function* () {
      for (const u of urls) yield new URL(u);
    };
    const once = OssIterableDataset.fromUrls(oneShot());
    assertSameObjects(await collect(once), expected);
    assertSameObjects(await collect(once), expected); // replayed

    const cut = OssIterableDataset.fromUrls(oneShot());
    for await (const _ of cut) break;
    await expect(collect(cut)).rejects.toThrow("one-shot async iterator");
  } finally {
    await server.close();
  }
});

Deno.test("bad URLs fail with a ConfigError naming the entry, never its query", async () => {
  const q = "?x-oss-signature=0123456789abcdef";
  const cases: [string, unknown[], string[]][] = [
    ["not a URL", ["http://h/ok.bin", `not a url/${q}`], ["URL #1", '"not a url/?…"', "absolute"]],
    ["ftp scheme", [`ftp://host/a.bin${q}`], ["URL #0", '"ftp://host/a.bin?…"', "http:// or https://"]],
    ["user and password", [`https://me:pw@host/a.bin${q}`], ["URL #0", "user name or password"]],
    ["no object in the path", [`https://host/${q}`], ["URL #0", "names none"]],
    ["a bucket and no key, path style", [`http://127.0.0.1:9000/b01${q}`], ["names none"]],
    ["a number", [42], ["URL #0", "got number"]],
  ];
  for (const [name, urls, needles] of cases) {
    for (
      const make of [
        () => OssIterableDataset.fromUrls(urls as string[]),
        () => OssMapDataset.fromUrls(urls as string[]),
      ]
    ) {
      let err: unknown;
      try {
        await make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      for (const n of needles) expect(`${name}: ${(err as Error).message}`).toContain(n);
      expectNoSecret(shownError(err), ["0123456789abcdef", "pw@"]);
    }
  }
  expect(() => OssIterableDataset.fromUrls(7 as unknown as string[])).toThrow(ConfigError);
  async function* bad() {
    yield "https://host/a.bin";
    yield `mailto:someone${q}`;
  }
  await expect(OssMapDataset.fromUrls(bad())).rejects.toThrow("URL #1");
  async function* badFirst() {
    yield `mailto:someone${q}`;
  }
  const err = await failureOf(collect(OssIterableDataset.fromUrls(badFirst())));
  expect(err).toBeInstanceOf(ConfigError);
  expect(String(err)).toContain("URL #0");
  expectNoSecret(shownError(err), ["0123456789abcdef"]);
});

Deno.test("a URL's key is its decoded path: without the bucket segment path style, whole otherwise", () => {
  const v = urlRef(
    "https://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/a%20b.jpg?x-oss-signature=abc#frag",
    0,
  );
  expect([v.bucket, v.key, v.uri]).toEqual([
    "my-bucket",
    "train/a b.jpg",
    "https://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/a%20b.jpg",
  ]);
  expect(v.url).toBe("https://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/a%20b.jpg?x-oss-signature=abc");
  expect(Object.keys(v)).not.toContain("url");
  const p = urlRef("http://127.0.0.1:9000/b01/dir/%E7%8C%AB.png?X-Amz-Signature=1", 0);
  expect([p.bucket, p.key]).toEqual(["b01", "dir/猫.png"]);
  const whole = urlRef("http://127.0.0.1:9000/b01/dir/a.png", 0, { pathStyle: false });
  expect([whole.bucket, whole.key]).toEqual(["", "b01/dir/a.png"]);
  const cdn = urlRef(new URL("https://cdn.example.com/data/x.bin"), 0);
  expect([cdn.bucket, cdn.key]).toEqual(["", "data/x.bin"]);
});

Deno.test("UrlFetchClient reads a byte range of a presigned object and refuses to list", async () => {
  const server = await startServer();
  try {
    const expected = await seed(server, 1, "train/", 1000);
    const [key, bytes] = [...expected][0];
    const fetcher = new UrlFetchClient();
    for (const sig of SIGS) {
      const [url] = await presignAll(server, [key], sig);
      const res = await fetcher.get(BUCKET, key, { url, range: { start: 10, end: 19 } });
      expect(new Uint8Array(await new Response(res.body).arrayBuffer())).toEqual(bytes.subarray(10, 20));
      expect((await fetcher.getBytes(BUCKET, key, { url })).bytes).toEqual(bytes);
    }
    expect(() => fetcher.list()).toThrow("cannot list");
    await expect(fetcher.getBytes(BUCKET, key)).rejects.toThrow("opts.url");
  } finally {
    await server.close();
  }
});

Deno.test("UrlFetchClient retries truncated bodies, large and small, until they arrive whole", async () => {
  const server = await startServer({ errorRate: 0.5, errorKinds: ["truncate"], seed: 5 });
  try {
    const client = signer(server, "oss4");
    const objects = new Map<string, Uint8Array>();
    for (const size of [1000, 300_000]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
      await client.put(BUCKET, `trunc/${size}.bin`, data);
      objects.set(`trunc/${size}.bin`, data);
    }
    const retries: RetryEvent[] = [];
    const fetcher = new UrlFetchClient({
      retry: { maxAttempts: 20, minDelayMs: 1, maxDelayMs: 2, onRetry: (e) => retries.push(e) },
    });
    for (let round = 0; round < 5; round++) {
      for (const [key, data] of objects) {
        const url = await client.presignUrl(BUCKET, key, { expires: 60 });
        const { bytes } = await fetcher.getBytes(BUCKET, key, { url });
        expect(bytes).toEqual(data);
      }
    }
    expect(server.stats.faultsByKind.truncate).toBeGreaterThan(0);
    expect(retries.length).toBe(server.stats.faultsByKind.truncate);
  } finally {
    await server.close();
  }
});
