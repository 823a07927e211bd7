// Bad safetensors files, indexes, tensors and options: a SafetensorsError (or ConfigError for options) naming
// the file and the tensor, never a raw RangeError or TypeError.
import { expect } from "expect";
import { ConfigError, SafetensorsError } from "../src/errors.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import { BUCKET, rawFile, setup } from "./safetensors_fixture.ts";

const F32x2 = { dtype: "F32", shape: [2], data_offsets: [0, 8] };

/** A file whose first 8 bytes say `n` and whose rest is `rest`. */
function withLength(n: bigint, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + rest.length);
  new DataView(out.buffer).setBigUint64(0, n, true);
  out.set(rest, 8);
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** [what, file bytes, the message after "oss://<bucket>/bad.safetensors: "]. */
const BAD_FILES: [string, Uint8Array, string][] = [
  [
    "a file of 3 bytes",
    enc("abc"),
    "the file has 3 bytes; a safetensors file starts with an 8-byte header length",
  ],
  [
    "an empty file",
    new Uint8Array(0),
    "the file is empty; a safetensors file starts with an 8-byte header length",
  ],
  [
    "a header length past the end",
    withLength(1000n, enc("{}")),
    "header length 1000 runs past the end of the file (10 bytes)",
  ],
  [
    "a header length over 100 MB",
    withLength(1n << 40n, enc("{}")),
    "header length 1099511627776 is over the 100000000-byte limit (is this a safetensors file?)",
  ],
  [
    "a header that is not UTF-8",
    withLength(2n, new Uint8Array([0x7b, 0xff])),
    "the header is not valid UTF-8",
  ],
  [
    "a header not starting with {",
    rawFile(" {}", new Uint8Array(0)),
    'the header must start with "{", got " {}     "',
  ],
  ["malformed JSON", rawFile('{"a": {"dtype": "F32",', new Uint8Array(0)), "the header is not valid JSON: "],
  [
    "__metadata__ with a number",
    rawFile({ __metadata__: { epoch: 3 } }, new Uint8Array(0)),
    '__metadata__: the value of "epoch" must be a string, got 3',
  ],
  [
    "an entry that is not an object",
    rawFile({ w: [1, 2] }, new Uint8Array(0)),
    'tensor "w": expected { dtype, shape, data_offsets }, got an array',
  ],
  [
    "an unknown dtype",
    rawFile({ w: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)),
    'tensor "w": unknown dtype "F128"; expected one of BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64, F6_E2M3, F6_E3M2, F4',
  ],
  [
    "an inherited name as dtype",
    rawFile({ w: { dtype: "constructor", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
    'tensor "w": unknown dtype "constructor"; expected one of',
  ],
  [
    "a negative dimension",
    rawFile({ w: { dtype: "U8", shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)),
    'tensor "w": shape [-1]: expected non-negative integer dimensions',
  ],
  [
    "a fractional dimension",
    rawFile({ w: { dtype: "U8", shape: [1.5], data_offsets: [0, 1] } }, new Uint8Array(1)),
    'tensor "w": shape [1.5]: expected non-negative integer dimensions',
  ],
  [
    "a shape that is not an array",
    rawFile({ w: { dtype: "U8", shape: "2", data_offsets: [0, 2] } }, new Uint8Array(2)),
    'tensor "w": shape: expected an array of dimensions, got "2"',
  ],
  [
    "a shape whose element count overflows",
    rawFile({ w: { dtype: "U8", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 1] } }, new Uint8Array(1)),
    'tensor "w": shape [1099511627776, 1099511627776]: the element count overflows',
  ],
  [
    "F4 elements that do not fill whole bytes",
    rawFile({ w: { dtype: "F4", shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)),
    'tensor "w": shape [3] of F4 holds 3 elements of 4 bits, not a whole number of bytes',
  ],
  [
    "data_offsets of three numbers",
    rawFile({ w: { dtype: "U8", shape: [2], data_offsets: [0, 1, 2] } }, new Uint8Array(2)),
    'tensor "w": data_offsets: expected [begin, end] with integers 0 <= begin <= end, got [0, 1, 2]',
  ],
  [
    "data_offsets that run backwards",
    rawFile({ w: { dtype: "U8", shape: [0], data_offsets: [4, 2] } }, new Uint8Array(4)),
    'tensor "w": data_offsets: expected [begin, end] with integers 0 <= begin <= end, got [4, 2]',
  ],
  [
    "a shape that disagrees with the byte range",
    rawFile({ w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(20)),
    'tensor "w": shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 20] give 20',
  ],
  [
    "overlapping offsets",
    rawFile({ a: F32x2, b: { dtype: "U8", shape: [4], data_offsets: [6, 10] } }, new Uint8Array(10)),
    'tensor "b": data_offsets [6, 10] overlap those of "a" [0, 8]',
  ],
  [
    "a gap between tensors",
    rawFile({ a: F32x2, b: { dtype: "U8", shape: [2], data_offsets: [10, 12] } }, new Uint8Array(12)),
    'tensor "b": data_offsets [10, 12] leave bytes 8 to 10 of the data to no tensor',
  ],
  [
    "offsets past the data",
    rawFile({ a: F32x2, b: { dtype: "U8", shape: [8], data_offsets: [8, 16] } }, new Uint8Array(12)),
    'tensor "b": data_offsets [8, 16] run past the end of the data (12 bytes)',
  ],
  [
    "bytes after the last tensor",
    rawFile({ a: F32x2 }, new Uint8Array(11)),
    "the tensors cover 8 bytes of data, but the file has 11 after the header",
  ],
];

for (const [what, bytes, message] of BAD_FILES) {
  Deno.test(`open refuses ${what} with a SafetensorsError naming the file`, async () => {
    await using t = await setup();
    await t.client.put(BUCKET, "bad.safetensors", bytes);
    const err = await OssSafetensors.open(`oss://${BUCKET}/bad.safetensors`, t.opts).catch((e) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.file).toBe(`oss://${BUCKET}/bad.safetensors`);
    expect(err.message.startsWith(`oss://${BUCKET}/bad.safetensors: ${message}`)).toBe(true);
    if (message.startsWith("tensor ")) expect(err.tensor).toBe(/^tensor "(\w+)"/.exec(message)![1]);
  });
}

const INDEX = `oss://${BUCKET}/set/model.safetensors.index.json`;
const BAD_INDEXES: [string, string, string][] = [
  ["an index that is not JSON", "{weight_map", "the index is not valid UTF-8 JSON: "],
  [
    "an index without weight_map",
    '{"metadata": {}}',
    "weight_map: expected an object of tensor names to shard files, got undefined",
  ],
  [
    "a shard path leaving the directory",
    '{"weight_map": {"w": "../other/model.safetensors"}}',
    'tensor "w": weight_map: expected a file path relative to the index',
  ],
  [
    "an absolute shard path",
    '{"weight_map": {"w": "/model.safetensors"}}',
    'tensor "w": weight_map: expected a file path relative to the index',
  ],
  [
    "a shard path that is a number",
    '{"weight_map": {"w": 3}}',
    'tensor "w": weight_map: expected a shard file name, got 3',
  ],
  [
    "a tensor its shard lacks",
    '{"weight_map": {"w": "s.safetensors", "v": "s.safetensors"}}',
    'tensor "v": weight_map puts it in s.safetensors, which has no such tensor',
  ],
];

for (const [what, json, message] of BAD_INDEXES) {
  Deno.test(`open refuses ${what} with a SafetensorsError naming the index`, async () => {
    await using t = await setup();
    await t.client.put(BUCKET, "set/s.safetensors", rawFile({ w: F32x2 }, new Uint8Array(8)));
    await t.client.put(BUCKET, "set/model.safetensors.index.json", json);
    const err = await OssSafetensors.open(INDEX, t.opts).catch((e) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message.startsWith(`${INDEX}: ${message}`)).toBe(true);
  });
}

const OUT = `oss://${BUCKET}/out/model.safetensors`;
const BAD_TENSORS: [string, unknown, string][] = [
  [
    "an unknown dtype",
    { w: { dtype: "float32", shape: [1], data: new Float32Array(1) } },
    'tensor "w": dtype: expected one of BOOL',
  ],
  [
    "data of the wrong length",
    { w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } },
    'tensor "w": shape [2, 2] of F32 needs 16 bytes, data has 12',
  ],
  [
    "data of another array type",
    { w: { dtype: "F32", shape: [2], data: new Int32Array(2) } },
    'tensor "w": data: a F32 tensor takes Float32Array or raw bytes (Uint8Array), got Int32Array',
  ],
  [
    "data that is no typed array",
    { w: { dtype: "U8", shape: [2], data: [1, 2] } },
    'tensor "w": data: expected a typed array, got an array',
  ],
  [
    "a negative dimension",
    { w: { dtype: "U8", shape: [2, -1], data: new Uint8Array(0) } },
    'tensor "w": shape [2, -1]: expected non-negative integer dimensions',
  ],
  [
    "F4 elements not filling whole bytes",
    { w: { dtype: "F4", shape: [5], data: new Uint8Array(3) } },
    'tensor "w": shape [5] of F4 holds 5 elements of 4 bits, not a whole number of bytes',
  ],
  [
    "a tensor named __metadata__",
    new Map([["__metadata__", { dtype: "U8", shape: [], data: new Uint8Array(1) }]]),
    'tensors: expected tensor names as well-formed strings other than "__metadata__", got "__metadata__"',
  ],
  [
    "a name that is not a string",
    [[7, { dtype: "U8", shape: [], data: new Uint8Array(1) }]],
    "tensors: expected tensor names as well-formed strings",
  ],
  [
    "a lone surrogate in a name",
    { ["a\ud800"]: { dtype: "U8", shape: [], data: new Uint8Array(1) } },
    "tensors: expected tensor names as well-formed strings",
  ],
  ["a name given twice", [["w", { dtype: "U8", shape: [], data: new Uint8Array(1) }], ["w", {
    dtype: "U8",
    shape: [],
    data: new Uint8Array(1),
  }]], 'tensor "w": given twice'],
  [
    "null instead of tensors",
    null,
    "tensors: expected a Map or an object of name → { dtype, shape, data }, got null",
  ],
  ["a tensor that is a number", { w: 5 }, 'tensor "w": expected { dtype, shape, data }, got 5'],
];

for (const [what, tensors, message] of BAD_TENSORS) {
  Deno.test(`saveSafetensors refuses ${what} before any request`, async () => {
    await using t = await setup();
    // deno-lint-ignore no-explicit-any
    const err = await saveSafetensors(OUT, tensors as any, t.opts).catch((e) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message.startsWith(`${OUT}: ${message}`)).toBe(true);
    expect(t.server.stats.requests).toBe(0);
  });
}

Deno.test("saveSafetensors refuses metadata that is not all strings, naming the key", async () => {
  await using t = await setup();
  const w = { dtype: "U8" as const, shape: [1], data: new Uint8Array(1) };
  // deno-lint-ignore no-explicit-any
  const err = await saveSafetensors(OUT, { w }, { ...t.opts, metadata: { step: 10 } as any }).catch((e) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  expect(err.message).toBe(
    `${OUT}: metadata: every value must be a string (the format allows nothing else), got number for "step"`,
  );
  expect(t.server.stats.requests).toBe(0);
});

Deno.test("saveSafetensors refuses bad options and keys with a ConfigError naming them", async () => {
  await using t = await setup();
  const w = { w: { dtype: "U8" as const, shape: [1], data: new Uint8Array(1) } };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ rank: 0 }, /give both rank and worldSize, or neither/],
    [{ rank: 4, worldSize: 4 }, /rank: expected an integer from 0 to 3, got 4/],
    [{ rank: 0, worldSize: 0 }, /worldSize: expected a positive integer, got 0/],
    [{ maxShardBytes: 0 }, /maxShardBytes: expected a positive integer, got 0/],
    [{ commitTimeoutMs: -5 }, /commitTimeoutMs: expected a positive integer, got -5/],
    [{ saveId: "" }, /saveId: expected a string of 1 to 256 characters/],
  ];
  for (const [extra, message] of cases) {
    const err = await saveSafetensors(OUT, w, { ...t.opts, ...extra }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
  }
  const key = await saveSafetensors(`oss://${BUCKET}/out/model.bin`, w, t.opts).catch((e) => e);
  expect(key).toBeInstanceOf(ConfigError);
  expect(key.message).toBe(
    `oss://${BUCKET}/out/model.bin: expected the key of a model file, ending in ".safetensors" (or ".safetensors.index.json")`,
  );
  const gap = await OssSafetensors.open(OUT, { ...t.opts, maxGap: -1 }).catch((e) => e);
  expect(gap).toBeInstanceOf(ConfigError);
  expect(t.server.stats.requests).toBe(0);
});
