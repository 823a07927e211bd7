/**
 * Loads only some tensors of a model on OSS — the layers of one pipeline stage, one adapter, the embeddings for
 * a retrieval index — fetching only their bytes: `OssSafetensors.open` reads the headers alone, and
 * `getMany(names)` fetches just those tensors by ranged GETs (neighbours merged, all in parallel), each tied to
 * the version of the file the header came from.
 *
 * Run: `deno run -A examples/safetensors_partial_load.ts [--layers=12] [--hidden=256] [--match=^layers\.3\.]`.
 * Without `OSS_ENDPOINT` it starts the local server and first saves a generated model there as a sharded set
 * (the Hugging Face layout: `model-0000i-of-0000N.safetensors` and `model.safetensors.index.json`), then checks
 * the tensors it loads against the ones it saved. With `OSS_ENDPOINT`, `OSS_MODEL_URI` (a `.safetensors` file
 * or a `.safetensors.index.json`, e.g. a Hugging Face model copied to OSS) and credentials in
 * `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET`, it loads the tensors of that model whose names match `--match`.
 *
 * @module
 */
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const MiB = 1024 * 1024;

function flag(name: string, fallback: string): string {
  const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

/** A small transformer: embeddings, `layers` blocks of attention and MLP weights (BF16 bits), norms, a head. */
function makeModel(layers: number, hidden: number): Map<string, Tensor> {
  let seed = 2024;
  const bf16 = (...shape: number[]): Tensor => {
    const data = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      data[i] = 0x3c00 | (seed >>> 22); // small positive bfloat16 numbers
    }
    return { dtype: "BF16", shape, data };
  };
  const norm = (): Tensor => ({ dtype: "F32", shape: [hidden], data: new Float32Array(hidden).fill(1) });
  const model = new Map<string, Tensor>([["embed.weight", bf16(4 * hidden, hidden)]]);
  for (let l = 0; l < layers; l++) {
    model.set(`layers.${l}.attn.qkv.weight`, bf16(3 * hidden, hidden));
    model.set(`layers.${l}.attn.out.weight`, bf16(hidden, hidden));
    model.set(`layers.${l}.mlp.up.weight`, bf16(4 * hidden, hidden));
    model.set(`layers.${l}.mlp.down.weight`, bf16(hidden, 4 * hidden));
    model.set(`layers.${l}.norm.weight`, norm());
  }
  model.set("norm.weight", norm());
  model.set("head.weight", bf16(4 * hidden, hidden));
  return model;
}

function sameBytes(a: Tensor, b: Tensor): boolean {
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && x.length === y.length &&
    x.every((v, i) => v === y[i]);
}

const match = new RegExp(flag("match", "^layers\\.3\\."));
const remote = Deno.env.get("OSS_ENDPOINT");
const remoteUri = Deno.env.get("OSS_MODEL_URI");
if (remote && !remoteUri) {
  console.error("OSS_ENDPOINT is set: set OSS_MODEL_URI too, e.g. oss://my-bucket/models/model.safetensors");
  Deno.exit(2);
}
const LOCAL_KEY = { accessKeyId: "local-example", accessKeySecret: "local-example-secret" };
const local = remote ? undefined : await serveEmulator({ buckets: ["models"], credentials: [LOCAL_KEY] });
try {
  const checkpoint = local
    ? new OssCheckpoint({ endpoint: local.url, region: "cn-hangzhou", credentials: LOCAL_KEY })
    : new OssCheckpoint({ endpoint: remote, region: Deno.env.get("OSS_REGION") }); // credentials from the env
  const uri = remoteUri ?? "oss://models/tiny-llm/model.safetensors";
  let saved: Map<string, Tensor> | undefined;
  if (local) {
    saved = makeModel(Number(flag("layers", "12")), Number(flag("hidden", "256")));
    const bytes = [...saved.values()].reduce((n, t) => n + t.data.byteLength, 0);
    const result = await saveSafetensors(uri, saved, {
      checkpoint,
      metadata: { format: "pt" },
      maxShardBytes: Math.ceil(bytes / 3),
    });
    console.log(
      `saved ${saved.size} tensors (${(bytes / MiB).toFixed(1)} MiB) as ${result.files.length} shards`,
    );
  }

  const model = await OssSafetensors.open(uri, { checkpoint });
  const size = model.files.reduce((n, f) => n + f.size, 0);
  console.log(
    `model: ${model.tensors.length} tensors in ${model.files.length} file(s), ${
      (size / MiB).toFixed(1)
    } MiB; ` +
      `headers read with ${model.stats.requests} requests`,
  );
  const names = model.tensors.map((t) => t.name).filter((n) => match.test(n));
  if (names.length === 0) throw new Error(`no tensor name matches ${match}`);
  console.log(`loading ${names.length} tensors matching ${match}: ${names.join(", ")}`);
  const before = { ...model.stats };
  const t0 = performance.now();
  const tensors = await model.getMany(names);
  const s = (performance.now() - t0) / 1000;
  const fetched = model.stats.bytesFetched - before.bytesFetched;
  console.log(
    `fetched ${fetched} bytes in ${model.stats.requests - before.requests} requests ` +
      `(${((100 * fetched) / size).toFixed(1)}% of the model) in ${s.toFixed(3)} s`,
  );
  for (const [name, t] of tensors) {
    console.log(`  ${name}: ${t.dtype} [${t.shape.join(", ")}] as ${t.data.constructor.name}`);
  }
  if (saved) {
    const wrong = names.filter((n) => !sameBytes(tensors.get(n)!, saved.get(n)!));
    if (wrong.length > 0) throw new Error(`tensors differ from the saved ones: ${wrong.join(", ")}`);
    console.log(`verified: ${names.length} tensors identical to the saved ones`);
  }
} finally {
  await local?.close();
}
