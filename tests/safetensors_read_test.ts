// OssSafetensors against the local server: headers in at most two GETs, only the tensors asked for (coalesced,
// split, in parallel), whole files through the checkpoint reader, and reads pinned to the version opened.
import { expect } from "expect";
import { IntegrityError, SafetensorsError } from "../src/errors.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import {
  BUCKET,
  bytesView,
  everyDtype,
  getsSince,
  KiB,
  makeTensor,
  rawFile,
  sameTensor,
  setup,
  snapshot,
} from "./safetensors_fixture.ts";

const URI = `oss://${BUCKET}/m/model.safetensors`;

/** `n` F32 tensors of `floats` elements each, named `w.0` … in data order. */
function layers(n: number, floats: number): Map<string, Tensor> {
  return new Map(Array.from({ length: n }, (_, i) => [`w.${i}`, makeTensor("F32", [floats], i + 1)]));
}

/** Keys of the requests the server gets from now on, with their operation. */
function observe(server: Awaited<ReturnType<typeof setup>>["server"]): string[] {
  const seen: string[] = [];
  server.faults.update({
    match: (_method, key, operation) => {
      seen.push(`${operation} ${key}`);
      return false;
    },
  });
  return seen;
}

Deno.test("open reads a header within the first 64 KiB with one GET and no HEAD", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(3, 16), t.opts);
  const seen = observe(t.server);
  const model = await OssSafetensors.open(URI, t.opts);
  expect(seen).toEqual(["GetObject m/model.safetensors"]);
  expect(model.tensors.map((x) => x.name)).toEqual(["w.0", "w.1", "w.2"]);
  expect(model.stats.requests).toBe(1);
});

Deno.test("open reads a header longer than the first range with exactly two GETs", async () => {
  await using t = await setup();
  // 2,000 tensors with long names: a header of about 200 KiB.
  const many = new Map(
    Array.from(
      { length: 2000 },
      (_, i) => [`encoder.layer.${i}.attention.output.dense.weight`, makeTensor("U8", [2], i)],
    ),
  );
  await saveSafetensors(URI, many, t.opts);
  const seen = observe(t.server);
  const model = await OssSafetensors.open(URI, t.opts);
  const n = model.tensors[0].start - 8; // the data starts right after the header
  expect(n).toBeGreaterThan(64 * KiB);
  expect(seen).toEqual(["GetObject m/model.safetensors", "GetObject m/model.safetensors"]);
  expect(model.stats.bytesFetched).toBe(8 + n);
  expect(model.tensors.length).toBe(2000);
  const tiny = await OssSafetensors.open(URI, { ...t.opts, headerProbeBytes: 8 });
  expect(tiny.stats.requests).toBe(2);
  expect(tiny.stats.bytesFetched).toBe(8 + n);
});

Deno.test("get, getMany and loadAll return every dtype byte for byte", async () => {
  await using t = await setup();
  const tensors = everyDtype();
  await saveSafetensors(URI, tensors, { ...t.opts, metadata: { format: "pt", note: "every dtype" } });
  const model = await OssSafetensors.open(URI, t.opts);
  expect(model.metadata).toEqual({ format: "pt", note: "every dtype" });
  const got = await model.getMany([...tensors.keys()].reverse());
  expect([...got.keys()]).toEqual([...tensors.keys()].reverse()); // in the order asked
  const all = await model.loadAll();
  for (const [name, want] of tensors) {
    expect({ name, same: sameTensor(got.get(name)!, want) }).toEqual({ name, same: true });
    expect({ name, same: sameTensor(all.get(name)!, want) }).toEqual({ name, same: true });
    expect({ name, same: sameTensor(await model.get(name), want) }).toEqual({ name, same: true });
    expect(all.get(name)!.data.constructor).toBe(want.data.constructor);
  }
});

Deno.test("getMany fetches only the tensors asked for, neighbours within maxGap in one GET", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(10, 256), t.opts); // 1 KiB per tensor
  const exact = await OssSafetensors.open(URI, { ...t.opts, maxGap: 0 });
  let before = snapshot(t.server);
  const got = await exact.getMany(["w.7", "w.1", "w.2"]);
  expect(getsSince(t.server, before)).toEqual({ gets: 2, bytes: 3 * KiB }); // w.1+w.2, then w.7
  expect([...got.keys()]).toEqual(["w.7", "w.1", "w.2"]);

  const gappy = await OssSafetensors.open(URI, { ...t.opts, maxGap: 4 * KiB });
  before = snapshot(t.server);
  const again = await gappy.getMany(["w.7", "w.1", "w.2"]);
  expect(getsSince(t.server, before)).toEqual({ gets: 1, bytes: 7 * KiB }); // w.1 … w.7 in one range
  for (const name of ["w.1", "w.2", "w.7"]) expect(sameTensor(again.get(name)!, got.get(name)!)).toBe(true);
  // Views into the one range: no copy per tensor.
  expect(again.get("w.1")!.data.buffer).toBe(again.get("w.7")!.data.buffer);
});

Deno.test("a tensor longer than the part size comes as parallel ranged GETs, whole", async () => {
  await using t = await setup({ latencyMs: 20 });
  const big = makeTensor("F32", [256 * KiB], 5); // 1 MiB, parts of 128 KiB
  await saveSafetensors(URI, { big, small: makeTensor("U8", [3], 6) }, t.opts);
  const model = await OssSafetensors.open(URI, t.opts);
  t.server.stats.reset();
  const got = await model.get("big");
  expect(getsSince(t.server, { gets: 0, bytes: 0 })).toEqual({ gets: 8, bytes: 1024 * KiB });
  expect(t.server.stats.maxInFlight).toBeGreaterThan(1);
  expect(sameTensor(got, big)).toBe(true);
});

Deno.test("loadAll reads the file through the checkpoint reader: whole ranges, no HEAD, one buffer", async () => {
  await using t = await setup();
  const tensors = layers(5, 64 * KiB); // 256 KiB each
  const saved = await saveSafetensors(URI, tensors, t.opts);
  const model = await OssSafetensors.open(URI, t.opts);
  t.server.stats.reset();
  const all = await model.loadAll();
  // Open learnt the size, ETag and CRC-64 from its ranged GET: the reader needs no HEAD.
  expect(t.server.stats.byOperation).toEqual({ GetObject: Math.ceil(saved.files[0].size / (128 * KiB)) });
  const buffers = new Set([...all.values()].map((x) => x.data.buffer));
  expect(buffers.size).toBe(1); // every tensor a view of the loaded file
  for (const [name, want] of tensors) expect(sameTensor(all.get(name)!, want)).toBe(true);
});

Deno.test("a checkpoint reader given the object's size, ETag and CRC-64 checks the bytes against them", async () => {
  await using t = await setup();
  const saved = await saveSafetensors(URI, layers(3, 64 * KiB), t.opts);
  const { size, crc64 } = saved.files[0];
  const etag = (await t.client.head(BUCKET, "m/model.safetensors")).etag;
  t.server.stats.reset();
  const bytes = await t.checkpoint.load(URI, { object: { size, etag, crc64: crc64! } });
  expect(bytes.length).toBe(size);
  expect(t.server.stats.byOperation.HeadObject).toBe(undefined);
  const wrong = String(BigInt(crc64!) ^ 1n);
  await expect(t.checkpoint.load(URI, { object: { size, etag, crc64: wrong } })).rejects.toThrow(
    new RegExp(`CRC-64 mismatch: server reports ${wrong}, computed ${crc64}`),
  );
  await expect(t.checkpoint.load(URI, { ifMatch: '"other"', object: { size, etag, crc64: crc64! } })).rejects
    .toThrow(IntegrityError);
});

Deno.test("a file replaced after open fails get and loadAll with IntegrityError, never mixed bytes", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(3, 64), t.opts);
  const model = await OssSafetensors.open(URI, t.opts);
  const other = layers(3, 64);
  for (const x of other.values()) (x.data as Float32Array).fill(42); // same header, other bytes
  await saveSafetensors(URI, other, t.opts);
  await expect(model.get("w.1")).rejects.toThrow(IntegrityError);
  await expect(model.get("w.1")).rejects.toThrow(/changed since it was opened/);
  await expect(model.loadAll()).rejects.toThrow(IntegrityError);
  const fresh = await OssSafetensors.open(URI, t.opts);
  expect([...(await fresh.get("w.1")).data as Float32Array].every((v) => v === 42)).toBe(true);
});

Deno.test("a missing .safetensors opens the set of <uri>.index.json; neither names both", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(4, 256), { ...t.opts, maxShardBytes: 2 * KiB });
  expect(await t.server.store.head(BUCKET, "m/model.safetensors")).toBe(undefined);
  const model = await OssSafetensors.open(URI, t.opts);
  expect(model.index?.uri).toBe(`${URI}.index.json`);
  expect(model.files.map((f) => f.uri)).toEqual([
    `oss://${BUCKET}/m/model-00001-of-00002.safetensors`,
    `oss://${BUCKET}/m/model-00002-of-00002.safetensors`,
  ]);
  const err = await OssSafetensors.open(`oss://${BUCKET}/nothing/model.safetensors`, t.opts).catch((e) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  expect(err.message).toBe(
    `oss://${BUCKET}/nothing/model.safetensors: no such file, and no index oss://${BUCKET}/nothing/model.safetensors.index.json either`,
  );
});

Deno.test("a sharded set reads each tensor from its own shard only", async () => {
  await using t = await setup();
  const tensors = layers(6, 256);
  await saveSafetensors(URI, tensors, { ...t.opts, maxShardBytes: 2 * KiB }); // 3 shards of 2 tensors
  const model = await OssSafetensors.open(URI, t.opts);
  expect(model.tensors.map((x) => [x.name, x.file.slice(-30)])).toEqual([
    ["w.0", "model-00001-of-00003.safetensors".slice(-30)],
    ["w.1", "model-00001-of-00003.safetensors".slice(-30)],
    ["w.2", "model-00002-of-00003.safetensors".slice(-30)],
    ["w.3", "model-00002-of-00003.safetensors".slice(-30)],
    ["w.4", "model-00003-of-00003.safetensors".slice(-30)],
    ["w.5", "model-00003-of-00003.safetensors".slice(-30)],
  ]);
  const seen = observe(t.server);
  const got = await model.getMany(["w.5", "w.0"]);
  expect(seen.sort()).toEqual([
    "GetObject m/model-00001-of-00003.safetensors",
    "GetObject m/model-00003-of-00003.safetensors",
  ]);
  expect(sameTensor(got.get("w.5")!, tensors.get("w.5")!)).toBe(true);
  const all = await model.loadAll();
  expect([...all.keys()]).toEqual([...tensors.keys()]);
  for (const [name, want] of tensors) expect(sameTensor(all.get(name)!, want)).toBe(true);
});

Deno.test("a file by another writer, unpadded and unaligned, reads byte for byte (copies where unaligned)", async () => {
  await using t = await setup();
  const a = new Float32Array([1.5, -2, 3.25]);
  const b = new BigInt64Array([-5n, 1n << 62n]);
  const c = new Uint8Array([7, 8, 9]);
  // c first (3 bytes), so a and b start at odd offsets; no padding after the JSON either.
  const data = new Uint8Array(3 + 12 + 16);
  data.set(c, 0);
  data.set(bytesView(a), 3);
  data.set(bytesView(b), 15);
  const header = {
    b: { dtype: "I64", shape: [2], data_offsets: [15, 31] },
    a: { dtype: "F32", shape: [3], data_offsets: [3, 15] },
    c: { dtype: "U8", shape: [3], data_offsets: [0, 3] },
  };
  await t.client.put(BUCKET, "raw.safetensors", rawFile(header, data, false));
  const model = await OssSafetensors.open(`oss://${BUCKET}/raw.safetensors`, t.opts);
  expect(model.tensors.map((x) => x.name)).toEqual(["c", "a", "b"]);
  for (const got of [await model.getMany(["a", "b", "c"]), await model.loadAll()]) {
    expect([...got.get("a")!.data as Float32Array]).toEqual([1.5, -2, 3.25]);
    expect([...got.get("b")!.data as BigInt64Array]).toEqual([-5n, 1n << 62n]);
    expect([...got.get("c")!.data]).toEqual([7, 8, 9]);
  }
});

Deno.test("an unknown tensor name rejects with SafetensorsError naming it, before any request", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(2, 4), t.opts);
  const model = await OssSafetensors.open(URI, t.opts);
  const before = snapshot(t.server);
  const err = await model.getMany(["w.0", "w.9"]).catch((e) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  expect(err.message).toBe(`${URI}: tensor "w.9": no such tensor (2 tensors here)`);
  expect(err.tensor).toBe("w.9");
  expect(getsSince(t.server, before).gets).toBe(0);
});
