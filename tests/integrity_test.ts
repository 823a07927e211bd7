// No silent corruption: a proxy in front of the real server flips one byte of bodies (and keeps the server's
// headers, CRC-64 included). Every whole-object read must refuse the bytes, every write must leave the object
// that was there intact, on every path: OssClient, datasets inline and in workers, OssMapDataset, fromUrls and
// checkpoints.
import { expect } from "expect";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { OssClient } from "../src/client.ts";
import { contentMd5 } from "../src/content_md5.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import type { DataObject } from "../src/dataset/item.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import { IntegrityError, OssError } from "../src/errors.ts";
import { Logger, type LogRecord } from "../src/log.ts";
import { bytesOf, expectBytes } from "./client_fixtures.ts";
import { startCorruptingProxy } from "./corrupting_proxy.ts";
import { BUCKET, CREDS, REGION, seed, type Server, startServer } from "./dataset_fixture.ts";

const RETRY = { maxAttempts: 3, minDelayMs: 1, maxDelayMs: 5 };

/** A server with `n` seeded objects under train/ and a corrupting proxy in front of it (corrupting nothing yet). */
async function setup(n = 6) {
  const server = await startServer();
  const expected = await seed(server, n);
  const proxy = startCorruptingProxy(server.url, { response: () => false });
  return {
    server,
    proxy,
    expected,
    client: (extra = {}) =>
      new OssClient({ endpoint: proxy.url, region: REGION, credentials: CREDS, retry: RETRY, ...extra }),
    checkpoint: () =>
      new OssCheckpoint({ endpoint: proxy.url, region: REGION, credentials: CREDS, retry: RETRY }),
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await server.close();
    },
  };
}

const GETS = (req: Request) => req.method === "GET" && !new URL(req.url).searchParams.has("list-type");
const PUTS = (req: Request) => req.method === "PUT";
/** `rule` for its first match only. */
const once = (rule: (req: Request) => boolean) => {
  let left = 1;
  return (req: Request) => rule(req) && left-- > 0;
};

Deno.test("OssClient.getBytes refuses a body corrupted in transit: fetched again, then an IntegrityError", async () => {
  await using t = await setup(1);
  const client = t.client();
  const [key, bytes] = [...t.expected][0];
  t.proxy.rules = { response: GETS };
  const err = await client.getBytes(BUCKET, key).catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.message).toContain("CRC-64 mismatch");
  expect(err.key).toBe(key);
  expect(t.proxy.corrupted.responses).toBe(RETRY.maxAttempts);
  // Corrupted once: the second attempt delivers the right bytes.
  t.proxy.rules = { response: once(GETS) };
  expectBytes((await client.getBytes(BUCKET, key)).bytes, bytes);
});

Deno.test("OssClient.getBytes checks a large body chunk by chunk: corrupted, fetched again, then an IntegrityError", async () => {
  await using t = await setup(0);
  const client = t.client();
  const data = bytesOf(3 * 1024 * 1024 + 17, 5); // read in many chunks, checksummed as they arrive
  await client.put(BUCKET, "large.bin", data);
  await client.getBytes(BUCKET, "large.bin"); // the CRC-64 module is loaded: the next reads hash inline
  t.proxy.rules = { response: GETS };
  const err = await client.getBytes(BUCKET, "large.bin").catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.message).toContain(`the ${data.length} bytes received have`);
  expect(t.proxy.corrupted.responses).toBe(RETRY.maxAttempts);
  t.proxy.rules = { response: once(GETS) };
  expectBytes((await client.getBytes(BUCKET, "large.bin")).bytes, data);
});

Deno.test("OssClient.get's stream errors with an IntegrityError instead of delivering the end of a corrupted body", async () => {
  await using t = await setup(0);
  const client = t.client();
  const data = bytesOf(300_000, 3);
  await client.put(BUCKET, "big.bin", data);
  t.proxy.rules = { response: GETS };
  const { body, size } = await client.get(BUCKET, "big.bin");
  let delivered = 0;
  const err = await (async () => {
    for await (const chunk of body) delivered += chunk.length;
  })().catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(size).toBe(data.length);
  expect(delivered).toBeLessThan(data.length);
  // Ranges cannot be checked against the whole object's CRC-64 (see the README): they pass through as sent.
  t.proxy.rules = { response: () => false };
  const range = await client.getBytes(BUCKET, "big.bin", { range: { start: 10, end: 99 } });
  expectBytes(range.bytes, data.subarray(10, 100));
});

Deno.test("OssClient.getBytes of an object over 8 MiB (read as a stream) refuses a corrupted body", async () => {
  await using t = await setup(0);
  const client = t.client();
  const data = bytesOf(8 * 1024 * 1024 + 100, 9);
  await client.put(BUCKET, "huge.bin", data);
  expectBytes((await client.getBytes(BUCKET, "huge.bin")).bytes, data);
  t.proxy.rules = { response: GETS };
  await expect(client.getBytes(BUCKET, "huge.bin")).rejects.toBeInstanceOf(IntegrityError);
});

/** Every way a dataset reads whole objects, each run once clean (the control) and once through corruption. */
const DATASET_PATHS: [string, (t: Awaited<ReturnType<typeof setup>>) => Promise<unknown[]>][] = [
  [
    "fromObjects with an endpoint, inline",
    (t) =>
      Array.fromAsync(
        OssIterableDataset.fromObjects([...t.expected.keys()].map((k) => `oss://${BUCKET}/${k}`), {
          endpoint: t.proxy.url,
          region: REGION,
          credentials: CREDS,
          retry: RETRY,
        }),
      ),
  ],
  [
    "fromPrefix with an endpoint, inline",
    (t) =>
      Array.fromAsync(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, {
        endpoint: t.proxy.url,
        region: REGION,
        credentials: CREDS,
        retry: RETRY,
        prefetchWorker: 0,
      })),
  ],
  [
    "fromPrefix with a client, inline",
    (t) => Array.fromAsync(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, { client: t.client() })),
  ],
  ["fromPrefix with a client and 2 prefetch workers", (t) =>
    Array.fromAsync(
      OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, {
        client: t.client(),
        prefetchWorker: 2,
        retry: RETRY,
      }),
    )],
  ["OssMapDataset.get", async (t) => {
    const ds = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, { client: t.client() });
    return [await ds.get(0), await ds.get(ds.length - 1)];
  }],
  ["OssMapDataset.getMany", async (t) => {
    const ds = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, { client: t.client() });
    return await ds.getMany([2, 0, 1]);
  }],
  ["OssMapDataset pass with an endpoint", async (t) => {
    const opts = { endpoint: t.proxy.url, region: REGION, credentials: CREDS, retry: RETRY };
    return await Array.fromAsync(await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, opts));
  }],
  ["fromUrls (presigned URLs)", async (t) => {
    const client = t.client();
    const urls = await Promise.all([...t.expected.keys()].map((k) => client.presignUrl(BUCKET, k)));
    return await Array.fromAsync(OssIterableDataset.fromUrls(urls, { retry: RETRY }));
  }],
];

for (const [name, pass] of DATASET_PATHS) {
  Deno.test(`dataset ${name}: clean bytes pass, a corrupted body fails with an IntegrityError`, async () => {
    await using t = await setup();
    const items = await pass(t) as DataObject[];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expectBytes(await item.bytes(), t.expected.get(item.key)!, item.key);
    t.proxy.rules = { response: GETS };
    const err = await pass(t).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain("CRC-64 mismatch");
    expect(t.proxy.corrupted.responses).toBeGreaterThan(0);
  });
}

for (const [name, pass] of DATASET_PATHS) {
  Deno.test(`dataset ${name}: asks for identity bodies, so a gzip-ing intermediary passes bytes as they are`, async () => {
    await using t = await setup();
    t.proxy.rules = { response: () => false, gzip: GETS };
    const items = await pass(t) as DataObject[];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expectBytes(await item.bytes(), t.expected.get(item.key)!, item.key);
    expect(t.proxy.corrupted.gzipped).toBe(0);
  });
}

Deno.test("OssClient get and getBytes ask for identity bodies through a gzip-ing intermediary", async () => {
  await using t = await setup(2);
  t.proxy.rules = { response: () => false, gzip: GETS };
  const client = t.client();
  for (const [key, data] of t.expected) {
    expectBytes((await client.getBytes(BUCKET, key)).bytes, data, key);
    expectBytes(
      new Uint8Array(await new Response((await client.get(BUCKET, key)).body).arrayBuffer()),
      data,
      key,
    );
  }
  expect(t.proxy.corrupted.gzipped).toBe(0);
});

Deno.test("a dataset given a client and prefetchWorker: 2 fetches in the workers, not inline", async () => {
  await using t = await setup(8);
  let clientGets = 0;
  const counting: typeof fetch = (input, init) => {
    if ((init?.method ?? "GET") === "GET" && !String(input).includes("list-type")) clientGets++;
    return fetch(input, init);
  };
  const logs: LogRecord[] = [];
  const items = await Array.fromAsync(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, {
    client: t.client({ fetch: counting }),
    prefetchWorker: 2,
    logger: new Logger({ level: "debug", sink: (r) => logs.push(r) }),
  }));
  expect(items.length).toBe(8);
  for (const item of items) expectBytes(await item.bytes(), t.expected.get(item.key)!, item.key);
  expect(clientGets).toBe(0); // every GET went out from a worker, signed by the client
  expect(logs.filter((r) => r.msg.includes("unavailable"))).toEqual([]);
  expect(t.server.stats.byOperation.GetObject).toBeGreaterThanOrEqual(8);
});

// ------------------------------------------------- writes -------------------------------------------------

async function previousSurvives(server: Server, key: string, before: Uint8Array): Promise<void> {
  const stored = await server.store.get(BUCKET, key);
  expectBytes(
    new Uint8Array(await new Response(stored.body).arrayBuffer()),
    before,
    `${key} after the failed write`,
  );
}

type Body = Uint8Array | string | Blob | ReadableStream<Uint8Array>;
const BODIES: [string, (b: Uint8Array<ArrayBuffer>) => Body][] = [
  ["bytes", (b) => b],
  ["a string", (b) => new TextDecoder("latin1").decode(b).replace(/[^\x20-\x7e]/g, "x")],
  ["a Blob", (b) => new Blob([b])],
  ["a buffered stream", (b) => new Blob([b]).stream()],
];

for (const [what, bodyOf] of BODIES) {
  Deno.test(`client.put of ${what} corrupted in transit is refused (BadDigest) and the previous object survives`, async () => {
    await using t = await setup(0);
    const client = t.client();
    const before = bytesOf(5000, 1);
    await client.put(BUCKET, "obj.bin", before);
    t.proxy.rules = { request: PUTS, response: () => false };
    const err = await client.put(BUCKET, "obj.bin", bodyOf(bytesOf(7000, 2))).catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err.code).toBe("BadDigest");
    expect(t.proxy.corrupted.requests).toBe(RETRY.maxAttempts); // refused each time, sent again while it could
    await previousSurvives(t.server, "obj.bin", before);
  });
}

Deno.test("client.put corrupted once is sent again and stores the right bytes", async () => {
  await using t = await setup(0);
  const client = t.client();
  t.proxy.rules = { request: once(PUTS), response: () => false };
  const data = bytesOf(9000, 4);
  await client.put(BUCKET, "once.bin", data);
  expect(t.proxy.corrupted.requests).toBe(1);
  expectBytes((await client.getBytes(BUCKET, "once.bin")).bytes, data);
});

Deno.test("client.put of a streamed body: with contentMd5 refused before commit, without it an IntegrityError", async () => {
  await using t = await setup(0);
  const client = t.client();
  const before = bytesOf(5000, 1);
  await client.put(BUCKET, "s.bin", before);
  const data = bytesOf(6000, 5);
  t.proxy.rules = { request: PUTS, response: () => false };
  const md5 = await contentMd5(data);
  const refused = await client.put(BUCKET, "s.bin", new Blob([data]).stream(), {
    stream: true,
    contentMd5: md5,
  })
    .catch((e) => e);
  expect(refused.code).toBe("BadDigest");
  await previousSurvives(t.server, "s.bin", before);
  // Without an MD5 the store takes the body; the CRC-64 it reports tells the bytes changed.
  const err = await client.put(BUCKET, "s.bin", new Blob([data]).stream(), { stream: true }).catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.message).toContain("the body changed on the way");
  await expect(client.put(BUCKET, "s.bin", "x", { contentMd5: "not-an-md5" })).rejects.toThrow(
    /contentMd5: expected the base64 of a 16-byte MD5/,
  );
});

for (const [what, size] of [["bytes (≤ 1 MiB)", 200_000], ["a stream (> 1 MiB)", 3 * 1024 * 1024]] as const) {
  Deno.test(`a single-PUT checkpoint save of ${what} corrupted in transit rejects and the previous checkpoint survives`, async () => {
    await using t = await setup(0);
    const checkpoint = t.checkpoint();
    const uri = `oss://${BUCKET}/ckpt/step.bin`;
    const before = bytesOf(size - 1000, 6);
    await checkpoint.save(uri, before);
    t.proxy.rules = { request: PUTS, response: () => false };
    const err = await checkpoint.save(uri, bytesOf(size, 7)).catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err.code).toBe("BadDigest");
    await previousSurvives(t.server, "ckpt/step.bin", before);
    // Corrupted once: sent again, saved.
    t.proxy.rules = { request: once(PUTS), response: () => false };
    const after = bytesOf(size, 8);
    await checkpoint.save(uri, after);
    expectBytes(await checkpoint.load(uri), after);
  });
}

Deno.test("a checkpoint save whose answer carries a garbled CRC-64 is confirmed by HEAD, not deleted", async () => {
  await using t = await setup(0);
  const checkpoint = t.checkpoint();
  const uri = `oss://${BUCKET}/ckpt/garbled.bin`;
  t.proxy.rules = { response: () => false, crcHeader: PUTS };
  const data = bytesOf(150_000, 10);
  await checkpoint.save(uri, data);
  expect(t.proxy.corrupted.crcHeaders).toBe(1);
  expectBytes(await checkpoint.load(uri), data);
});
