import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { crc64, crc64Combine } from "../src/crc64.ts";
import { ConfigError } from "../src/errors.ts";
import {
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  OssCheckpoint,
  PartSchedule,
} from "../src/checkpoint/mod.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { BUCKET, randomBytes, setup } from "./checkpoint_fixture.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CREDS = { accessKeyId: "opts-key-id", accessKeySecret: "opts-key-secret" };

Deno.test("bad URIs are rejected at once with a ConfigError naming the URI", () => {
  const checkpoint = new OssCheckpoint({ endpoint: "http://127.0.0.1:9" });
  for (
    const uri of [
      "not-a-uri",
      "oss://",
      "oss://bucket",
      "oss://bucket/",
      "http://bucket/key",
      "oss://B_ad/key",
    ]
  ) {
    expect(() => checkpoint.writer(uri)).toThrow(ConfigError);
    expect(() => checkpoint.reader(uri)).toThrow(ConfigError);
  }
  expect(() => checkpoint.writer("oss://bucket")).toThrow(/oss:\/\/bucket/);
});

Deno.test("partSize outside 100 KiB..5 GiB or not an integer is rejected naming partSize", () => {
  for (const partSize of [0, 1024, MIN_PART_SIZE - 1, MAX_PART_SIZE + 1, 1.5 * MiB + 0.5, NaN]) {
    expect(() => new OssCheckpoint({ endpoint: "http://127.0.0.1:9", partSize })).toThrow(ConfigError);
  }
  expect(() => new OssCheckpoint({ partSize: 1024 })).toThrow(
    "partSize: expected an integer number of bytes from 102400 (100 KiB) to 5368709120 (5 GiB), got 1024",
  );
});

Deno.test("the smallest partSize accepted (100 KiB) is the part size a save uses", async () => {
  await using t = await setup(undefined, { partSize: MIN_PART_SIZE });
  const data = randomBytes(3 * MIN_PART_SIZE + 1, 11);
  const writer = t.checkpoint.writer(`oss://${BUCKET}/min-parts.bin`);
  await new Blob([data]).stream().pipeTo(writer);
  expect([writer.stats.partSize, writer.stats.partsUploaded]).toEqual([MIN_PART_SIZE, 4]);
  expect(new Uint8Array((await t.client.getBytes(BUCKET, "min-parts.bin")).bytes)).toEqual(data);
});

Deno.test("concurrency options must be positive integers", () => {
  expect(() => new OssCheckpoint({ uploadConcurrency: 0 })).toThrow("uploadConcurrency: expected an integer");
  expect(() => new OssCheckpoint({ prefetchConcurrency: -2 })).toThrow(
    "prefetchConcurrency: expected an integer",
  );
  expect(() => new OssCheckpoint({ uploadConcurrency: 2.5 })).toThrow(ConfigError);
});

Deno.test("credentials with credPath, or config with configPath, is a ConfigError", () => {
  expect(() => new OssCheckpoint({ credentials: CREDS, credPath: "/tmp/creds.json" })).toThrow(ConfigError);
  expect(() => new OssCheckpoint({ config: {}, configPath: "/tmp/config.json" })).toThrow(ConfigError);
});

Deno.test("a bad sizeHint is rejected at once", () => {
  const checkpoint = new OssCheckpoint({ endpoint: "http://127.0.0.1:9" });
  expect(() => checkpoint.writer("oss://bucket/k", { sizeHint: -1 })).toThrow("sizeHint: expected");
  expect(() => checkpoint.writer("oss://bucket/k", { sizeHint: MAX_PART_SIZE * MAX_PARTS + 1 })).toThrow(
    ConfigError,
  );
});

Deno.test("a URI without an endpoint anywhere fails the first write with a ConfigError", async () => {
  const checkpoint = new OssCheckpoint({ credentials: CREDS });
  const w = checkpoint.writer("oss://bucket/k").getWriter();
  await expect(w.write(new Uint8Array(1))).rejects.toThrow(/no endpoint/);
});

Deno.test("writing after close, or writing a non-Uint8Array chunk, fails clearly", async () => {
  const server = await serveEmulator({
    port: 0,
    buckets: ["ckpt"],
    credentials: [CREDS],
    minPartSize: MIN_PART_SIZE,
  });
  await using _ = { [Symbol.asyncDispose]: () => server.close() };
  const checkpoint = new OssCheckpoint({
    endpoint: server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    partSize: MIN_PART_SIZE,
  });
  const w = checkpoint.writer("oss://ckpt/closed.bin").getWriter();
  await w.write(new Uint8Array(10));
  await w.close();
  await expect(w.write(new Uint8Array(1))).rejects.toThrow(/clos/);

  const w2 = checkpoint.writer("oss://ckpt/typed.bin").getWriter();
  await w2.write(new Uint8Array(MIN_PART_SIZE + 1)); // starts a multipart upload
  await expect(w2.write("text" as unknown as Uint8Array)).rejects.toThrow(
    "oss://ckpt/typed.bin: checkpoint writer expects Uint8Array chunks, got string",
  );
  const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: CREDS });
  expect(await client.listUploads("ckpt")).toEqual([]);
});

Deno.test("checkpointConfig from config supplies the concurrency defaults, explicit options win", async () => {
  const server = await serveEmulator({
    port: 0,
    buckets: ["ckpt"],
    credentials: [CREDS],
    minPartSize: MIN_PART_SIZE,
    faults: { latencyMs: 20 },
  });
  await using _ = { [Symbol.asyncDispose]: () => server.close() };
  const mk = (uploadConcurrency?: number) =>
    new OssCheckpoint({
      endpoint: server.url,
      region: "cn-hangzhou",
      credentials: CREDS,
      partSize: MIN_PART_SIZE,
      config: { checkpointConfig: { uploadConcurrency: 2 } },
      uploadConcurrency,
    });
  const data = new Uint8Array(12 * MIN_PART_SIZE);
  const fromConfig = mk().writer("oss://ckpt/a.bin");
  await new Blob([data]).stream().pipeTo(fromConfig);
  expect(fromConfig.stats.peakUploadsInFlight).toBe(2);
  const explicit = mk(5).writer("oss://ckpt/b.bin");
  await new Blob([data]).stream().pipeTo(explicit);
  expect(explicit.stats.peakUploadsInFlight).toBe(5);
});

Deno.test("an invalid config.json value fails with a ConfigError naming its path", async () => {
  const checkpoint = new OssCheckpoint({
    endpoint: "http://127.0.0.1:9",
    credentials: CREDS,
    config: { checkpointConfig: { uploadConcurrency: "lots" } },
  });
  const w = checkpoint.writer("oss://bucket/k").getWriter();
  await expect(w.write(new Uint8Array(1))).rejects.toThrow(/checkpointConfig\.uploadConcurrency/);
});

Deno.test("part size grows so a size hint fits in 10,000 parts, and doubles every 1,000 parts without one", () => {
  expect(new PartSchedule(DEFAULT_PART_SIZE).sizeOf(1)).toBe(8 * MiB);
  expect(new PartSchedule(DEFAULT_PART_SIZE, 50 * GiB).sizeOf(1)).toBe(8 * MiB); // 6,400 parts fit
  const hinted = new PartSchedule(DEFAULT_PART_SIZE, 200 * GiB);
  expect(hinted.base).toBe(21 * MiB);
  expect(Math.ceil(200 * GiB / hinted.base)).toBeLessThanOrEqual(MAX_PARTS);
  const open = new PartSchedule(DEFAULT_PART_SIZE);
  expect(open.sizeOf(1000)).toBe(8 * MiB);
  expect(open.sizeOf(1001)).toBe(16 * MiB);
  expect(open.sizeOf(2001)).toBe(32 * MiB);
  let total = 0;
  for (let n = 1; n <= MAX_PARTS; n++) total += open.sizeOf(n);
  expect(total).toBeGreaterThan(7.8 * 1024 * GiB); // about 7.8 TiB without any hint
  expect(() => open.sizeOf(MAX_PARTS + 1)).toThrow(RangeError);
  expect(new PartSchedule(MIN_PART_SIZE, 5 * MAX_PART_SIZE * 1000).sizeOf(MAX_PARTS)).toBeLessThanOrEqual(
    MAX_PART_SIZE,
  );
});

Deno.test("crc64Combine of part CRCs equals the CRC-64 of the whole", async () => {
  const bytes = new Uint8Array(1_000_003).map((_, i) => (i * 2654435761) >>> 24);
  const cuts = [0, 1, 1, 65_536, 400_000, 1_000_003];
  let whole = await crc64(bytes.subarray(0, 0));
  for (let i = 1; i < cuts.length; i++) {
    const piece = bytes.subarray(cuts[i - 1], cuts[i]);
    whole = crc64Combine(whole, await crc64(piece), piece.length);
  }
  expect(whole).toBe(await crc64(bytes));
  expect(crc64Combine("5", "0", 0)).toBe("5");
});
