// The preview app's tensor tables: a .safetensors file from its header alone, a sharded set across its shards,
// shards outside the allowed prefixes refused, broken files answered with what is wrong.
import { expect } from "expect";
import { createPreviewApp } from "../src/server/preview/app.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import { BUCKET, KiB, makeTensor, MiB, rawFile, setup, snapshot } from "./safetensors_fixture.ts";

const TOKEN = "preview-safetensors-token";
const auth = { authorization: `Bearer ${TOKEN}` };

async function withApp(prefixes = ["zoo/"]) {
  const t = await setup();
  const app = createPreviewApp({
    client: t.client,
    bucket: BUCKET,
    prefixes,
    token: TOKEN,
    bundle: { url: "x.js" },
  });
  const preview = async (key: string) => {
    const res = await app.request(`/api/preview?key=${encodeURIComponent(key)}`, { headers: auth });
    return { status: res.status, body: await res.json() };
  };
  return Object.assign(t, { preview });
}

Deno.test("a .safetensors file previews as its tensor table, read from the header alone", async () => {
  await using t = await withApp();
  await saveSafetensors(`oss://${BUCKET}/zoo/bert.safetensors`, {
    "embeddings.weight": makeTensor("F32", [1000, 256], 1), // 1,000 KiB
    "pooler.bias": makeTensor("BF16", [256], 2),
    "ids": makeTensor("I64", [3], 3),
  }, { ...t.opts, metadata: { format: "pt" } });
  const before = snapshot(t.server);
  const { status, body } = await t.preview("zoo/bert.safetensors");
  expect(status).toBe(200);
  expect(body).toMatchObject({
    key: "zoo/bert.safetensors",
    kind: "safetensors",
    metadata: { format: "pt" },
    tensorCount: 3,
    totalBytes: 1000 * KiB + 512 + 24,
    truncated: false,
    tensors: [
      { name: "ids", dtype: "I64", shape: [3], bytes: 24 },
      { name: "embeddings.weight", dtype: "F32", shape: [1000, 256], bytes: 1000 * KiB },
      { name: "pooler.bias", dtype: "BF16", shape: [256], bytes: 512 },
    ],
  });
  expect(body.files).toEqual([{ key: "zoo/bert.safetensors", size: body.size }]);
  expect(body.tensors[0].file).toBe(undefined);
  const sent = t.server.stats.bytesSent - before.bytes;
  expect(t.server.stats.byOperation.GetObject - before.gets).toBe(1);
  expect(sent).toBeLessThanOrEqual(64 * KiB); // the first range only, not the megabyte of weights
});

Deno.test("an index previews as the table across its shards, with each tensor's file", async () => {
  await using t = await withApp();
  const tensors = new Map(Array.from({ length: 6 }, (_, i) => [`h.${i}`, makeTensor("F16", [512], i)]));
  await saveSafetensors(`oss://${BUCKET}/zoo/llm/model.safetensors`, tensors, {
    ...t.opts,
    maxShardBytes: 2 * KiB,
  });
  const { status, body } = await t.preview("zoo/llm/model.safetensors.index.json");
  expect(status).toBe(200);
  expect(body.files.map((f: { key: string }) => f.key)).toEqual([
    "zoo/llm/model-00001-of-00003.safetensors",
    "zoo/llm/model-00002-of-00003.safetensors",
    "zoo/llm/model-00003-of-00003.safetensors",
  ]);
  expect(body.tensorCount).toBe(6);
  expect(body.totalBytes).toBe(6 * KiB);
  expect(body.tensors.map((x: { name: string; file: string }) => [x.name, x.file])).toEqual([
    ["h.0", "model-00001-of-00003.safetensors"],
    ["h.1", "model-00001-of-00003.safetensors"],
    ["h.2", "model-00002-of-00003.safetensors"],
    ["h.3", "model-00002-of-00003.safetensors"],
    ["h.4", "model-00003-of-00003.safetensors"],
    ["h.5", "model-00003-of-00003.safetensors"],
  ]);
  // One shard also previews on its own.
  const shard = await t.preview("zoo/llm/model-00002-of-00003.safetensors");
  expect(shard.body.tensors.map((x: { name: string }) => x.name)).toEqual(["h.2", "h.3"]);
});

Deno.test("an index naming a shard outside the allowed prefixes is refused before the shard is read", async () => {
  await using t = await withApp(["zoo/m"]);
  await t.client.put(
    BUCKET,
    "zoo/other.safetensors",
    rawFile({ w: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
  );
  await t.client.put(
    BUCKET,
    "zoo/m.safetensors.index.json",
    JSON.stringify({ weight_map: { w: "other.safetensors" } }),
  );
  const before = snapshot(t.server);
  const { status, body } = await t.preview("zoo/m.safetensors.index.json");
  expect(status).toBe(403);
  expect(body.error.code).toBe("PrefixNotAllowed");
  expect(body.error.message).toMatch(/shard "zoo\/other\.safetensors" is outside the allowed prefixes/);
  expect(t.server.stats.byOperation.GetObject - before.gets).toBe(1); // the index only
});

Deno.test("a broken safetensors file previews as a 422 saying what is wrong", async () => {
  await using t = await withApp();
  await t.client.put(
    BUCKET,
    "zoo/bad.safetensors",
    rawFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
  );
  const { status, body } = await t.preview("zoo/bad.safetensors");
  expect({ status, body }).toEqual({
    status: 422,
    body: {
      error: {
        code: "InvalidSafetensors",
        message:
          `oss://${BUCKET}/zoo/bad.safetensors: tensor "w": shape [3] of F32 needs 12 bytes, data_offsets [0, 8] give 8`,
      },
    },
  });
  // A header longer than the preview reads (16 MiB) is refused without reading it.
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, BigInt(17 * MiB), true);
  await t.client.put(BUCKET, "zoo/huge.safetensors", huge);
  const big = await t.preview("zoo/huge.safetensors");
  expect(big.status).toBe(422);
  expect(big.body.error.message).toMatch(/header length 17825792 is over the 16777216-byte limit/);
});
