// The safetensors building blocks without a server: header bytes, typed-array views, range coalescing and the
// names of a sharded set.
import { expect } from "expect";
import { arrayClassOf, DTYPE_BITS, viewTensor } from "../src/safetensors/dtypes.ts";
import { encodeHeader, parseHeader } from "../src/safetensors/header.ts";
import { coalesce, split } from "../src/safetensors/ranges.ts";
import {
  layoutOf,
  rankRecordGeneration,
  rankRecordName,
  shardGeneration,
  shardName,
} from "../src/safetensors/layout.ts";
import { encodeIndex, parseIndex } from "../src/safetensors/sharded.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("encodeHeader writes a little-endian u64 length and space-pads the JSON to a multiple of 8", () => {
  for (let nameLength = 1; nameLength <= 9; nameLength++) {
    const bytes = encodeHeader([{ name: "x".repeat(nameLength), dtype: "U8", shape: [3], byteLength: 3 }]);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n).toBe(bytes.length - 8);
    expect(n % 8).toBe(0);
    const json = decode(bytes.subarray(8));
    expect(json.startsWith("{")).toBe(true);
    expect(/^[^ ]*} *$/.test(json)).toBe(true); // only trailing spaces after the closing brace
    expect(JSON.parse(json)[`${"x".repeat(nameLength)}`].data_offsets).toEqual([0, 3]);
  }
});

Deno.test("encodeHeader puts __metadata__ first and keeps integer-like names in the order given", () => {
  const bytes = encodeHeader([
    { name: "10", dtype: "F32", shape: [1], byteLength: 4 },
    { name: "2", dtype: "F32", shape: [2], byteLength: 8 },
    { name: "a", dtype: "U8", shape: [], byteLength: 1 },
  ], { "7": "seven", format: "pt" });
  const json = decode(bytes.subarray(8)).trimEnd();
  expect(json).toBe(
    '{"__metadata__":{"7":"seven","format":"pt"},' +
      '"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"2":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},' +
      '"a":{"dtype":"U8","shape":[],"data_offsets":[12,13]}}',
  );
});

Deno.test("parseHeader orders tensors by data_offsets whatever the JSON order, with absolute byte ranges", () => {
  const json = JSON.stringify({
    c: { dtype: "I16", shape: [2], data_offsets: [8, 12] },
    __metadata__: { who: "test" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    z: { dtype: "U8", shape: [0], data_offsets: [12, 12] },
  });
  const header = new TextEncoder().encode(json);
  const parsed = parseHeader("f.safetensors", header, 8 + header.length + 12);
  expect(parsed.metadata).toEqual({ who: "test" });
  expect(parsed.tensors.map((t) => [t.name, t.start - parsed.dataStart, t.end - parsed.dataStart])).toEqual([
    ["a", 0, 8],
    ["c", 8, 12],
    ["z", 12, 12],
  ]);
  expect(parsed.dataStart).toBe(8 + header.length);
});

Deno.test("tensors view the fetched bytes when aligned and copy them when not", () => {
  const file = new Uint8Array(64).map((_, i) => i);
  const aligned = viewTensor("F64", file.subarray(16, 32));
  expect(aligned).toBeInstanceOf(Float64Array);
  expect(aligned.buffer).toBe(file.buffer); // zero-copy
  const shifted = viewTensor("F64", file.subarray(3, 19));
  expect(shifted).toBeInstanceOf(Float64Array);
  expect(shifted.buffer).not.toBe(file.buffer);
  expect([...new Uint8Array(shifted.buffer)]).toEqual([...file.subarray(3, 19)]);
});

Deno.test("every dtype comes as its typed array, and BF16, F8, F6, F4 and C64 as raw bytes", () => {
  const expected: Record<string, string> = {
    F64: "Float64Array",
    F32: "Float32Array",
    F16: "Float16Array",
    I64: "BigInt64Array",
    U64: "BigUint64Array",
    I32: "Int32Array",
    U32: "Uint32Array",
    I16: "Int16Array",
    U16: "Uint16Array",
    I8: "Int8Array",
    U8: "Uint8Array",
    BOOL: "Uint8Array",
  };
  for (const dtype of Object.keys(DTYPE_BITS) as (keyof typeof DTYPE_BITS)[]) {
    const view = viewTensor(dtype, new Uint8Array(16));
    expect({ dtype, cls: view.constructor.name }).toEqual({ dtype, cls: expected[dtype] ?? "Uint8Array" });
    expect(view.byteLength).toBe(16);
  }
});

Deno.test("F16 comes as raw bytes on a runtime without Float16Array", () => {
  expect(arrayClassOf("F16", null)).toBe(undefined);
  const bytes = new Uint8Array([0, 0x3c, 0, 0xc0]); // 1.0 and -2.0 in half precision
  const raw = viewTensor("F16", bytes, null);
  expect(raw).toBe(bytes);
  const f16 = viewTensor("F16", bytes);
  expect([...f16 as Float16Array]).toEqual([1, -2]);
});

Deno.test("coalesce joins tensors at most maxGap bytes apart and split cuts long ranges", () => {
  const spans = [
    { start: 100, end: 200 },
    { start: 0, end: 10 },
    { start: 20, end: 30 }, // 10 bytes after the first
    { start: 30, end: 30 }, // empty: nothing to fetch
    { start: 31, end: 50 }, // 1 byte after
  ];
  expect(coalesce(spans, 0).map((g) => [g.start, g.end])).toEqual([[0, 10], [20, 30], [31, 50], [100, 200]]);
  expect(coalesce(spans, 1).map((g) => [g.start, g.end])).toEqual([[0, 10], [20, 50], [100, 200]]);
  expect(coalesce(spans, 10).map((g) => [g.start, g.end, g.members.length])).toEqual([[0, 50, 3], [
    100,
    200,
    1,
  ]]);
  expect(coalesce(spans, 50).map((g) => [g.start, g.end])).toEqual([[0, 200]]);
  expect(split({ start: 5, end: 25 }, 8)).toEqual([{ start: 5, end: 13 }, { start: 13, end: 21 }, {
    start: 21,
    end: 25,
  }]);
});

Deno.test("a model's files follow the Hugging Face layout and carry their generation from the second on", () => {
  const l = layoutOf("runs/1/model.safetensors", "oss://b/runs/1/model.safetensors");
  expect(l).toEqual({
    dir: "runs/1/",
    base: "model",
    fileKey: "runs/1/model.safetensors",
    indexKey: "runs/1/model.safetensors.index.json",
    commitPrefix: "runs/1/model.safetensors.commit/",
  });
  expect(layoutOf("model.safetensors.index.json", "u")).toEqual({
    ...l,
    dir: "",
    fileKey: "model.safetensors",
    indexKey: "model.safetensors.index.json",
    commitPrefix: "model.safetensors.commit/",
  });
  expect(() => layoutOf("runs/1/model.bin", "oss://b/runs/1/model.bin")).toThrow(
    /oss:\/\/b\/runs\/1\/model\.bin: expected the key of a model file/,
  );
  expect(() => layoutOf(".safetensors", "u")).toThrow(/expected the key of a model file/);

  const names = [
    shardName("model", { part: 1, parts: 3, generation: 1 }),
    shardName("model", { part: 3, parts: 3, generation: 2 }),
    shardName("model", { part: 1, parts: 1, rank: 1, worldSize: 4, generation: 1 }),
    shardName("model", { part: 2, parts: 3, rank: 0, worldSize: 4, generation: 12 }),
  ];
  expect(names).toEqual([
    "model-00001-of-00003.safetensors",
    "model-00003-of-00003.gen2.safetensors",
    "model-00002-of-00004.safetensors",
    "model-00001-of-00004-00002-of-00003.gen12.safetensors",
  ]);
  expect(names.map((n) => shardGeneration("model", n))).toEqual([1, 2, 1, 12]);
  for (
    const other of [
      "model.safetensors",
      "model-1-of-2.safetensors",
      "model2-00001-of-00002.safetensors",
      "x/model-00001-of-00002.safetensors",
    ]
  ) {
    expect({ other, g: shardGeneration("model", other) }).toEqual({ other, g: undefined });
  }
  expect(rankRecordGeneration(rankRecordName(7, 3, 8))).toBe(7);
  expect(rankRecordGeneration("notes.json")).toBe(undefined);
});

Deno.test("an index round-trips in Hugging Face's form: metadata first, names sorted as strings", () => {
  const map = new Map([["b.10", "s2.safetensors"], ["b.9", "s1.safetensors"], ["0", "s1.safetensors"]]);
  const bytes = encodeIndex(map, { total_size: 12, ossflow_generation: 3 });
  const text = decode(bytes);
  expect(text.indexOf('"metadata"')).toBeLessThan(text.indexOf('"weight_map"'));
  expect(text.indexOf('"0"')).toBeLessThan(text.indexOf('"b.10"'));
  expect(text.indexOf('"b.10"')).toBeLessThan(text.indexOf('"b.9"'));
  const parsed = parseIndex("i.json", bytes);
  expect(parsed.metadata).toEqual({ total_size: 12, ossflow_generation: 3 });
  expect([...parsed.weightMap]).toEqual([["0", "s1.safetensors"], ["b.10", "s2.safetensors"], [
    "b.9",
    "s1.safetensors",
  ]]);
});
