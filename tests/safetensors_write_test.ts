// saveSafetensors by one process: the exact file layout, streaming through the checkpoint writer, sharded sets
// in the Hugging Face layout, and saves over earlier ones that never break the committed set.
import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { OssError } from "../src/errors.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { BUCKET, bytesView, KiB, makeTensor, sameTensor, setup } from "./safetensors_fixture.ts";

const URI = `oss://${BUCKET}/run/model.safetensors`;

async function keys(t: Awaited<ReturnType<typeof setup>>, prefix = "run/"): Promise<string[]> {
  const out: string[] = [];
  for await (const o of t.client.list(BUCKET, { prefix })) out.push(o.key);
  return out;
}

function layers(n: number, floats: number, seed = 1): Map<string, Tensor> {
  return new Map(Array.from({ length: n }, (_, i) => [`w.${i}`, makeTensor("F32", [floats], seed + i)]));
}

Deno.test("a saved file is the length, the space-padded JSON, then the tensors back to back widest first", async () => {
  await using t = await setup();
  const tensors = new Map<string, Tensor>([
    ["mask", makeTensor("BOOL", [3], 1)],
    ["proj", makeTensor("F32", [2, 2], 2)],
    ["ids", makeTensor("I64", [3], 3)],
    ["norm", makeTensor("BF16", [5], 4)],
    ["bias", makeTensor("F32", [3], 5)],
  ]);
  const saved = await saveSafetensors(URI, tensors, { ...t.opts, metadata: { format: "pt" } });
  const file = (await t.client.getBytes(BUCKET, "run/model.safetensors")).bytes;
  expect(saved).toEqual({
    uri: URI,
    files: [{
      uri: URI,
      size: file.length,
      crc64: await crc64(file),
      tensors: ["ids", "proj", "bias", "norm", "mask"],
    }],
  });
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  expect(n % 8).toBe(0);
  const json = new TextDecoder().decode(file.subarray(8, 8 + n));
  expect(json.trimEnd()).toBe(
    '{"__metadata__":{"format":"pt"},' +
      '"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},' +
      '"proj":{"dtype":"F32","shape":[2,2],"data_offsets":[24,40]},' +
      '"bias":{"dtype":"F32","shape":[3],"data_offsets":[40,52]},' +
      '"norm":{"dtype":"BF16","shape":[5],"data_offsets":[52,62]},' +
      '"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[62,65]}}',
  );
  expect(/^[^ ]*} *$/.test(json)).toBe(true);
  let at = 8 + n;
  for (const name of ["ids", "proj", "bias", "norm", "mask"]) {
    const want = bytesView(tensors.get(name)!.data);
    expect({ name, bytes: [...file.subarray(at, at + want.length)] }).toEqual({ name, bytes: [...want] });
    at += want.length;
  }
  expect(at).toBe(file.length);
});

Deno.test("a file larger than a part goes up as a multipart upload, part by part", async () => {
  await using t = await setup();
  t.server.stats.reset();
  const tensors = layers(4, 80 * KiB); // 4 × 320 KiB, parts of 128 KiB
  const saved = await saveSafetensors(URI, tensors, t.opts);
  const ops = t.server.stats.byOperation;
  expect(ops.InitiateMultipartUpload).toBe(1);
  expect(ops.UploadPart).toBe(Math.ceil(saved.files[0].size / (128 * KiB)));
  expect(ops.CompleteMultipartUpload).toBe(1);
  expect((await t.client.head(BUCKET, "run/model.safetensors")).crc64).toBe(saved.files[0].crc64);
});

Deno.test("maxShardBytes deals tensors in order into model-0000i-of-0000N shards and writes the index", async () => {
  await using t = await setup();
  const tensors = new Map<string, Tensor>([
    ["a", makeTensor("F32", [256], 1)], // 1 KiB
    ["b", makeTensor("F32", [256], 2)],
    ["huge", makeTensor("F32", [1024], 3)], // 4 KiB: a shard of its own
    ["c", makeTensor("U8", [100], 4)],
  ]);
  const saved = await saveSafetensors(URI, tensors, {
    ...t.opts,
    maxShardBytes: 2 * KiB,
    metadata: { format: "pt" },
  });
  expect(saved.uri).toBe(`${URI}.index.json`);
  expect(saved.generation).toBe(1);
  expect(saved.files.map((f) => [f.uri.slice(`oss://${BUCKET}/run/`.length), f.tensors])).toEqual([
    ["model-00001-of-00003.safetensors", ["a", "b"]],
    ["model-00002-of-00003.safetensors", ["huge"]],
    ["model-00003-of-00003.safetensors", ["c"]],
  ]);
  const index = new TextDecoder().decode(
    (await t.client.getBytes(BUCKET, "run/model.safetensors.index.json")).bytes,
  );
  expect(JSON.parse(index)).toEqual({
    metadata: { total_size: 2 * KiB + 4 * KiB + 100, ossflow_generation: 1 },
    weight_map: {
      a: "model-00001-of-00003.safetensors",
      b: "model-00001-of-00003.safetensors",
      c: "model-00003-of-00003.safetensors",
      huge: "model-00002-of-00003.safetensors",
    },
  });
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00003.safetensors",
    "run/model-00002-of-00003.safetensors",
    "run/model-00003-of-00003.safetensors",
    "run/model.safetensors.index.json",
  ]);
  const model = await OssSafetensors.open(saved.uri, t.opts);
  expect(model.metadata).toEqual({ format: "pt" });
  for (const [name, want] of tensors) expect(sameTensor(await model.get(name), want)).toBe(true);
});

Deno.test("a .safetensors.index.json URI saves a set even when every tensor fits one file", async () => {
  await using t = await setup();
  const saved = await saveSafetensors(`${URI}.index.json`, layers(2, 4), t.opts);
  expect(saved.files.map((f) => f.uri)).toEqual([`oss://${BUCKET}/run/model-00001-of-00001.safetensors`]);
  expect(await keys(t)).toEqual(["run/model-00001-of-00001.safetensors", "run/model.safetensors.index.json"]);
});

Deno.test("a set saved over a set uses generation 2 names and removes generation 1 once committed", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(4, 256, 1), { ...t.opts, maxShardBytes: 2 * KiB });
  const second = layers(4, 256, 50);
  const saved = await saveSafetensors(URI, second, { ...t.opts, maxShardBytes: 2 * KiB });
  expect(saved.generation).toBe(2);
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00002.gen2.safetensors",
    "run/model-00002-of-00002.gen2.safetensors",
    "run/model.safetensors.index.json",
  ]);
  const model = await OssSafetensors.open(URI, t.opts);
  for (const [name, want] of second) expect(sameTensor(await model.get(name), want)).toBe(true);
  const third = await saveSafetensors(URI, layers(4, 256, 90), { ...t.opts, maxShardBytes: 3 * KiB });
  expect(third.generation).toBe(3);
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00002.gen3.safetensors",
    "run/model-00002-of-00002.gen3.safetensors",
    "run/model.safetensors.index.json",
  ]);
});

Deno.test("a single file saved over a set removes the set, and a set saved over a file removes the file", async () => {
  await using t = await setup();
  await saveSafetensors(URI, layers(4, 256), { ...t.opts, maxShardBytes: 2 * KiB });
  await saveSafetensors(URI, layers(2, 4), t.opts);
  expect(await keys(t)).toEqual(["run/model.safetensors"]);
  const sharded = await saveSafetensors(URI, layers(4, 256, 7), { ...t.opts, maxShardBytes: 2 * KiB });
  expect(sharded.generation).toBe(1); // the index was removed with its set: numbering starts again
  expect(await keys(t)).toEqual([
    "run/model-00001-of-00002.safetensors",
    "run/model-00002-of-00002.safetensors",
    "run/model.safetensors.index.json",
  ]);
});

Deno.test("a failed shard upload commits nothing: the previous set still loads byte for byte", async () => {
  await using t = await setup();
  const first = layers(4, 256, 1);
  await saveSafetensors(URI, first, { ...t.opts, maxShardBytes: 2 * KiB });
  const indexBefore = await t.client.head(BUCKET, "run/model.safetensors.index.json");
  t.server.faults.update({
    errorRate: 1,
    errorKinds: ["slowdown"],
    match: (_m, key) => key === "run/model-00002-of-00002.gen2.safetensors",
  });
  const err = await saveSafetensors(URI, layers(4, 256, 50), { ...t.opts, maxShardBytes: 2 * KiB }).catch((
    e,
  ) => e);
  expect(err).toBeInstanceOf(OssError);
  expect(err.code).toBe("SlowDown");
  t.server.faults.update({ errorRate: 0 });
  expect((await t.client.head(BUCKET, "run/model.safetensors.index.json")).etag).toBe(indexBefore.etag);
  const model = await OssSafetensors.open(URI, t.opts);
  const all = await model.loadAll();
  for (const [name, want] of first) expect(sameTensor(all.get(name)!, want)).toBe(true);
});
