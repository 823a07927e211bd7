// The runtime smoke test: one module, plain JavaScript and Web APIs only, run unchanged in Deno, Node, Bun,
// Cloudflare workerd and Chromium against the local server (see run.ts). It gets the library's bundle
// (dist/ossflow.js) as a module namespace and the server's address, and proves: writes, listing, a dataset
// pass with a transform and concurrent prefetch (in Web Workers where the runtime has them), a map dataset
// batch (getMany), a multipart checkpoint round trip with CRC-64 checks, SigV4 signing (smithy, lazily
// imported), presigned URLs, safetensors, and tar shards (written here by an independent ustar writer) read as
// WebDataset samples with fromShards.

/**
 * @typedef {object} SmokeConfig
 * @property {string} endpoint   the local server, e.g. http://127.0.0.1:41234
 * @property {string} region     signing region, e.g. cn-hangzhou
 * @property {string} bucket     an existing bucket
 * @property {string} prefix     a key prefix of this run's own, e.g. "deno/"
 * @property {string} accessKeyId
 * @property {string} accessKeySecret
 * @property {number} [objects]          objects to write and read back (default 24)
 * @property {number} [checkpointBytes]  checkpoint size (default 5 MiB + 12345 bytes)
 */

/**
 * @typedef {object} SmokeStep
 * @property {string} name
 * @property {boolean} ok
 * @property {number} ms
 * @property {string} [detail]
 * @property {string} [error]
 */

/**
 * @typedef {object} SmokeResult
 * @property {boolean} ok
 * @property {SmokeStep[]} steps
 * @property {{ wasm: boolean, worker: boolean, prefetchWorkers: number }} env
 * @property {number} ms
 */

const MiB = 1024 * 1024;

/** A seeded PRNG (mulberry32), so every runtime writes the same bytes. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytesOf(length, seed) {
  const r = rng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** A cheap content digest for comparing what came back (FNV-1a over the bytes). */
function fnv(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16);
}

function equalBytes(a, b) {
  return firstDifference(a, b) === -1;
}

/** The first offset where two byte arrays differ (the shorter length if one is a prefix), or -1. */
function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Whether this runtime lets code compile WebAssembly (workerd does not: the CRC-64 fallback then runs). */
async function canCompileWasm() {
  try {
    // The smallest valid module: magic number and version.
    await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    return true;
  } catch {
    return false;
  }
}

/** CRC-64/ECMA-182 (reflected, as OSS's x-oss-hash-crc64ecma) by table, as two 32-bit halves. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(512);
  for (let n = 0; n < 256; n++) {
    let lo = n, hi = 0;
    for (let k = 0; k < 8; k++) {
      const mask = -(lo & 1);
      lo = ((lo >>> 1) | (hi << 31)) ^ (0xd7870f42 & mask);
      hi = (hi >>> 1) ^ (0xc96c5795 & mask);
    }
    t[n] = lo >>> 0;
    t[256 + n] = hi >>> 0;
  }
  return t;
})();

/**
 * The CRC-64 of `bytes` as a decimal string, computed here and not by the library (the root export no longer
 * carries CRC-64; an independent reckoning is the better check anyway).
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function referenceCrc64(bytes) {
  let lo = 0xffffffff, hi = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    const j = (lo ^ bytes[i]) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ CRC_TABLE[j]) >>> 0;
    hi = ((hi >>> 8) ^ CRC_TABLE[256 + j]) >>> 0;
  }
  return ((BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0)).toString();
}

/**
 * A ustar archive of `files` ([name, text] pairs), written here from the format's definition (POSIX.1-1988
 * ustar: 512-byte headers with octal fields and a checksum, data padded to 512 bytes, two zero blocks at the
 * end), not by the library: an independent writer for the shard reader to read.
 *
 * @param {[string, string][]} files
 * @returns {Uint8Array}
 */
export function ustar(files) {
  const enc = new TextEncoder();
  const blocks = [];
  const field = (h, at, len, text) => h.set(enc.encode(text).subarray(0, len), at);
  const octal = (n, len) => n.toString(8).padStart(len - 1, "0") + "\0";
  for (const [name, text] of files) {
    const data = enc.encode(text);
    const h = new Uint8Array(512);
    field(h, 0, 100, name);
    field(h, 100, 8, octal(0o644, 8));
    field(h, 108, 8, octal(0, 8));
    field(h, 116, 8, octal(0, 8));
    field(h, 124, 12, octal(data.length, 12));
    field(h, 136, 12, octal(1700000000, 12));
    field(h, 148, 8, "        "); // the checksum is summed with its own field as spaces
    h[156] = 0x30; // '0': a regular file
    field(h, 257, 8, "ustar\u000000");
    const sum = h.reduce((a, b) => a + b, 0);
    field(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) (out.set(b, at), at += b.length);
  return out;
}

/**
 * Runs the smoke test. Never throws: failures are reported in the result.
 *
 * @param {Record<string, any>} lib  the bundle's exports (`import * as lib from "dist/ossflow.js"`)
 * @param {SmokeConfig} cfg
 * @returns {Promise<SmokeResult>}
 */
export async function smoke(lib, cfg) {
  const started = performance.now();
  const steps = [];
  const worker = typeof Worker !== "undefined";
  const env = { wasm: await canCompileWasm(), worker, prefetchWorkers: worker ? 2 : 0 };
  const credentials = { accessKeyId: cfg.accessKeyId, accessKeySecret: cfg.accessKeySecret };
  const base = { endpoint: cfg.endpoint, region: cfg.region, credentials };
  const { bucket, prefix } = cfg;
  const count = cfg.objects ?? 24;
  const client = new lib.OssClient(base);
  const objects = Array.from({ length: count }, (_, i) => {
    const bytes = bytesOf(1 + ((i * 7919) % 48) * 1024 + i, 1000 + i);
    return { key: `${prefix}data/${String(i).padStart(4, "0")}.bin`, bytes };
  });

  async function step(name, fn) {
    const t0 = performance.now();
    try {
      const detail = await fn();
      steps.push({ name, ok: true, ms: Math.round(performance.now() - t0), detail: detail ?? undefined });
      return true;
    } catch (err) {
      const error = err instanceof Error
        ? `${err.name}: ${err.message}${err.cause ? ` (cause: ${err.cause?.message ?? err.cause})` : ""}`
        : String(err);
      steps.push({ name, ok: false, ms: Math.round(performance.now() - t0), error });
      return false;
    }
  }

  const ok = await step("put objects", async () => {
    let at = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (at < objects.length) {
        const o = objects[at++];
        const res = await client.put(bucket, o.key, o.bytes);
        check(
          res.crc64 === undefined || res.crc64 === referenceCrc64(o.bytes),
          `${o.key}: CRC-64 differs`,
        );
      }
    }));
    // A streamed put: sent as it arrives where fetch can stream request bodies, buffered in browsers.
    const streamed = bytesOf(300 * 1024, 7);
    await client.put(bucket, `${prefix}streamed.bin`, new Blob([streamed]).stream(), { stream: true });
    const back = (await client.getBytes(bucket, `${prefix}streamed.bin`)).bytes;
    check(firstDifference(back, streamed) === -1, "the streamed put reads back different bytes");
    return `${objects.length} objects, ${objects.reduce((n, o) => n + o.bytes.length, 0)} bytes, 1 streamed`;
  }) &&
    await step("list prefix", async () => {
      const listed = [];
      for await (const o of client.list(bucket, { prefix: `${prefix}data/`, maxKeys: 10 })) listed.push(o);
      check(listed.length === objects.length, `listed ${listed.length} objects, expected ${objects.length}`);
      for (const [i, o] of objects.entries()) {
        check(
          listed[i].key === o.key && listed[i].size === o.bytes.length,
          `listing: ${listed[i].key} differs`,
        );
      }
      return `${listed.length} keys in pages of 10`;
    }) &&
    await step("dataset with transform and prefetch", async () => {
      const dataset = lib.OssIterableDataset.fromPrefix(`oss://${bucket}/${prefix}data/`, {
        ...base,
        prefetchConcurrency: 6,
        prefetchWorker: env.prefetchWorkers,
        transform: async (item) => ({ key: item.key, size: item.size, digest: fnv(await item.bytes()) }),
      });
      const seen = [];
      for await (const x of dataset) seen.push(x);
      check(
        seen.length === objects.length,
        `dataset yielded ${seen.length} items, expected ${objects.length}`,
      );
      for (const [i, o] of objects.entries()) {
        const want = { key: o.key, size: o.bytes.length, digest: fnv(o.bytes) };
        check(JSON.stringify(seen[i]) === JSON.stringify(want), `item ${i}: ${JSON.stringify(seen[i])}`);
      }
      return `${seen.length} items, concurrency 6, ${env.prefetchWorkers} workers`;
    }) &&
    await step("plain dataset pass (default options)", async () => {
      // Default prefetch concurrency (24): more requests at once on the pass's signal than Node's listener
      // warning threshold (10), which cli_entry.mjs turns into a failure.
      let n = 0;
      for await (const item of lib.OssIterableDataset.fromPrefix(`oss://${bucket}/${prefix}data/`, base)) {
        check(item.key === objects[n].key, `item ${n}: ${item.key}, expected ${objects[n].key}`);
        check(equalBytes(await item.bytes(), objects[n].bytes), `${item.key}: bytes differ`);
        n++;
      }
      check(n === objects.length, `dataset yielded ${n} items, expected ${objects.length}`);
      return `${n} items, default concurrency`;
    }) &&
    await step("map dataset getMany", async () => {
      const map = await lib.OssMapDataset.fromPrefix(`oss://${bucket}/${prefix}data/`, base);
      check(map.length === objects.length, `map dataset of ${map.length} items, expected ${objects.length}`);
      const picks = [5, 0, objects.length - 1, 5];
      const got = await map.getMany(picks);
      for (const [n, i] of picks.entries()) {
        check(got[n].key === objects[i].key, `getMany item ${n}: ${got[n].key}, expected ${objects[i].key}`);
        check(equalBytes(await got[n].bytes(), objects[i].bytes), `getMany item ${n}: bytes differ`);
      }
      return `getMany of ${picks.length} items in the order asked`;
    }) &&
    await step("checkpoint round trip", async () => {
      const size = cfg.checkpointBytes ?? 5 * MiB + 12345;
      const state = bytesOf(size, 42);
      const uri = `oss://${bucket}/${prefix}ckpt/step-1.bin`;
      const checkpoint = new lib.OssCheckpoint({
        ...base,
        partSize: MiB,
        uploadConcurrency: 4,
        prefetchConcurrency: 4,
      });
      const t0 = performance.now();
      // A Blob (a browser File) of several parts: save() streams slices of it, with no part buffers, where
      // fetch can stream request bodies; browsers cannot over HTTP/1.1, so there it fills part buffers.
      const saved = await checkpoint.save(uri, new Blob([state]));
      check(
        saved.peakBufferedBytes <= MiB * (4 + 1),
        `save() held ${saved.peakBufferedBytes} bytes of part buffers, more than partSize × (4 + 1)`,
      );
      const savePath = saved.peakBufferedBytes === 0 ? "Blob slices" : "part buffers";
      check(saved.bytesWritten === size, `save() wrote ${saved.bytesWritten} bytes, expected ${size}`);
      const writeMs = performance.now() - t0;
      const head = await client.head(bucket, `${prefix}ckpt/step-1.bin`);
      const crc = referenceCrc64(state);
      check(head.size === size, `checkpoint size ${head.size}, expected ${size}`);
      check(head.crc64 === crc, `server CRC-64 ${head.crc64}, computed ${crc}`);
      check(head.objectType === "Multipart", `object type ${head.objectType}, expected Multipart`);
      const t1 = performance.now();
      const loaded = new Uint8Array(await new Response(checkpoint.reader(uri)).arrayBuffer());
      const readMs = performance.now() - t1;
      const at = firstDifference(loaded, state);
      check(
        at === -1,
        `checkpoint read back: ${loaded.length} bytes, expected ${size}; first difference at ${at}`,
      );
      check(referenceCrc64(loaded) === crc, "CRC-64 of the bytes read back differs");
      const rate = (ms) => `${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
      return `${(size / MiB).toFixed(2)} MiB in ${Math.ceil(size / MiB)} parts from ${savePath} (write ${
        rate(writeMs)
      }, read ${rate(readMs)}), crc64 ${crc}`;
    }) &&
    await step("SigV4 client", async () => {
      const s3 = new lib.OssClient({ ...base, signatureVersion: "s3v4" });
      const key = `${prefix}s3/hello.bin`;
      const bytes = bytesOf(70_000, 7);
      await s3.put(bucket, key, bytes);
      const back = await s3.getBytes(bucket, key, { range: { start: 1000, end: 1999 } });
      check(equalBytes(back.bytes, bytes.subarray(1000, 2000)), "SigV4 ranged GET bytes differ");
      const listed = [];
      for await (const o of s3.list(bucket, { prefix: `${prefix}s3/` })) listed.push(o.key);
      check(listed.length === 1 && listed[0] === key, `SigV4 listing: ${JSON.stringify(listed)}`);
      // S3 (and the emulator's S3 form) refuses chunked bodies: a stream goes with its size as Content-Length.
      const sizedKey = `${prefix}s3-sized/streamed.bin`;
      await s3.put(bucket, sizedKey, new Blob([bytes]).stream(), { stream: true, size: bytes.length });
      check(
        equalBytes((await s3.getBytes(bucket, sizedKey)).bytes, bytes),
        "SigV4 sized stream bytes differ",
      );
      return "put, ranged get, list, a streamed put with its size";
    }) &&
    await step("presigned URLs", async () => {
      const urls = [];
      for (const o of objects.slice(0, 6)) {
        for (const signatureVersion of ["oss4", "s3v4"]) {
          const signer = signatureVersion === "oss4"
            ? client
            : new lib.OssClient({ ...base, signatureVersion });
          const url = await signer.presignUrl(bucket, o.key, { expires: 300 });
          const res = await fetch(url);
          check(res.ok, `${signatureVersion} presigned GET ${o.key}: HTTP ${res.status}`);
          check(
            equalBytes(new Uint8Array(await res.arrayBuffer()), o.bytes),
            `${o.key}: presigned bytes differ`,
          );
          if (signatureVersion === "oss4") urls.push(url);
        }
      }
      if (typeof lib.OssIterableDataset.fromUrls !== "function") return "GET with oss4 and s3v4 URLs";
      const seen = [];
      const dataset = lib.OssIterableDataset.fromUrls(urls, {
        prefetchConcurrency: 3,
        transform: async (item) => fnv(await item.bytes()),
      });
      for await (const d of dataset) seen.push(d);
      check(
        JSON.stringify(seen) === JSON.stringify(objects.slice(0, 6).map((o) => fnv(o.bytes))),
        "fromUrls items",
      );
      return "GET with oss4 and s3v4 URLs; dataset fromUrls";
    }) &&
    await step("safetensors by tensor", async () => {
      const uri = `oss://${bucket}/${prefix}models/tiny.safetensors`;
      const opts = { ...base, partSize: MiB };
      await lib.saveSafetensors(uri, {
        w: { dtype: "F32", shape: [3], data: new Float32Array([1.5, -2, 3]) },
        h: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, // 1 and -2, half precision
        ids: { dtype: "I64", shape: [2], data: new BigInt64Array([1n, -1n]) },
      }, { ...opts, metadata: { format: "pt" } });
      const model = await lib.OssSafetensors.open(uri, opts);
      check(model.tensors.length === 3 && model.metadata.format === "pt", "safetensors header read back");
      const got = await model.getMany(["w", "h"]);
      check(JSON.stringify([...got.get("w").data]) === "[1.5,-2,3]", "F32 tensor read back");
      const h = got.get("h").data;
      const f16 = typeof globalThis.Float16Array === "function";
      check(
        f16 ? h instanceof globalThis.Float16Array && h[0] === 1 && h[1] === -2 : h instanceof Uint8Array,
        `F16 tensor came as ${h.constructor.name}`,
      );
      const all = await model.loadAll();
      check(all.get("ids").data[1] === -1n, "I64 tensor read back by loadAll");
      return `3 tensors; F16 as ${f16 ? "Float16Array" : "raw bytes"}; ${model.stats.requests} requests`;
    }) &&
    await step("tar shards as samples", async () => {
      const samples = [];
      for (let shard = 0; shard < 2; shard++) {
        const files = [];
        for (let i = 0; i < 3; i++) {
          const key = `${shard}${String(i).padStart(3, "0")}`;
          files.push([`${key}.txt`, `text ${key}`], [`${key}.cls`, String(i)]);
          samples.push([key, `text ${key}`, String(i)]);
        }
        const shardKey = `${prefix}shards/shard-${String(shard).padStart(6, "0")}.tar`;
        await client.put(bucket, shardKey, ustar(files));
      }
      const ds = lib.OssIterableDataset.fromShards(
        `oss://${bucket}/${prefix}shards/shard-{000000..000001}.tar`,
        {
          ...base,
          transform: async (s) => [s.key, await s.members.txt.text(), await s.members.cls.text()],
        },
      );
      const got = [];
      for await (const sample of ds) got.push(sample);
      check(JSON.stringify(got) === JSON.stringify(samples), `shard samples: ${JSON.stringify(got)}`);
      return `${got.length} samples from 2 ustar shards (brace pattern)`;
    });
  return { ok: ok && steps.every((s) => s.ok), steps, env, ms: Math.round(performance.now() - started) };
}
