/**
 * Saves a model's weights to OSS and loads them back — what the OSS docs do with `torch.save(state, writer)` /
 * `torch.load(reader)` over OSS Connector for AI/ML's `OssCheckpoint` — as a safetensors file:
 *
 * - `saveSafetensors(uri, stateDict, { metadata })` streams the header and then each tensor through the
 *   checkpoint writer (multipart upload, CRC-64 checked), never assembling the file in memory;
 * - `OssSafetensors.open(uri)` reads the header alone, and `loadAll()` reads the file through parallel ranged
 *   GETs with its CRC-64 checked; every tensor is a `Float32Array` view of the one loaded buffer.
 *
 * Every tensor is then compared with the original.
 *
 * Run: `deno run -A examples/checkpoint_save_load.ts [--size-mib=128]`. Without `OSS_ENDPOINT` it starts the
 * local server; with `OSS_ENDPOINT`, `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` and `OSS_CHECKPOINT_URI`
 * (e.g. `oss://my-bucket/ckpt/model.safetensors`) it talks to real OSS. A missing or malformed setting is said
 * plainly (exit code 2), a failed run by the error's name and message (exit code 1): no stack trace either way.
 *
 * @module
 */
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { parseUri } from "../src/uri.ts";

const MiB = 1024 * 1024;

/** A toy transformer's state dict: embeddings, a few blocks, a head; deterministic values. */
function makeStateDict(totalMiB: number, width: number): Map<string, Tensor> {
  const rowsTotal = Math.max(8, Math.floor((totalMiB * MiB) / 4 / width));
  const names = [
    "embed.weight",
    "block0.attn.qkv",
    "block0.mlp.up",
    "block1.attn.qkv",
    "block1.mlp.up",
    "head.weight",
  ];
  const state = new Map<string, Tensor>();
  const per = Math.floor(rowsTotal / names.length);
  let seed = 12345;
  for (const [i, name] of names.entries()) {
    const rows = i < names.length - 1 ? per : rowsTotal - per * (names.length - 1);
    const t = new Float32Array(rows * width);
    for (let j = 0; j < t.length; j++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      t[j] = (seed / 2 ** 32 - 0.5) * 0.02; // small random weights
    }
    state.set(name, { dtype: "F32", shape: [rows, width], data: t });
  }
  return state;
}

function sameTensors(a: Map<string, Tensor>, b: Map<string, Tensor>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (!y || y.dtype !== x.dtype || y.shape.join() !== x.shape.join()) return false;
    const xb = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const yb = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    if (xb.length !== yb.length) return false;
    for (let i = 0; i < xb.length; i++) if (xb[i] !== yb[i]) return false;
  }
  return true;
}

const sizeArg = Deno.args.find((a) => a.startsWith("--size-mib="));
const sizeMiB = sizeArg ? Number(sizeArg.slice("--size-mib=".length)) : 128;
const width = 1024;

const remote = Deno.env.get("OSS_ENDPOINT");
const remoteUri = Deno.env.get("OSS_CHECKPOINT_URI");
if (remote && !remoteUri) {
  console.error(
    "OSS_ENDPOINT is set: set OSS_CHECKPOINT_URI too, e.g. oss://my-bucket/ckpt/model.safetensors",
  );
  Deno.exit(2);
}
if (remoteUri) {
  try {
    parseUri(remoteUri);
  } catch (e) {
    console.error(`OSS_CHECKPOINT_URI: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
const LOCAL_KEY = { accessKeyId: "local-example", accessKeySecret: "local-example-secret" };
const local = remote
  ? undefined
  : await serveEmulator({ buckets: ["ckpt"], credentials: [LOCAL_KEY], minPartSize: 100 * 1024 });
try {
  const checkpoint = local
    ? new OssCheckpoint({
      endpoint: local.url,
      region: "cn-hangzhou",
      credentials: LOCAL_KEY,
      uploadConcurrency: 8,
      prefetchConcurrency: 8,
    })
    : new OssCheckpoint({ endpoint: remote, region: Deno.env.get("OSS_REGION") }); // credentials from the env
  const uri = remoteUri ?? "oss://ckpt/run-1/step-1000.safetensors";

  const state = makeStateDict(sizeMiB, width);
  const bytes = [...state.values()].reduce((n, t) => n + t.data.byteLength, 0);
  console.log(`state dict: ${state.size} tensors, ${(bytes / MiB).toFixed(1)} MiB of F32 weights -> ${uri}`);

  let t0 = performance.now();
  const saved = await saveSafetensors(uri, state, { checkpoint, metadata: { format: "pt", step: "1000" } });
  let s = (performance.now() - t0) / 1000;
  console.log(
    `saved in ${s.toFixed(2)} s (${(bytes / MiB / s).toFixed(0)} MiB/s), ${saved.files[0].size} bytes, ` +
      `CRC-64 ${saved.files[0].crc64} verified`,
  );

  t0 = performance.now();
  const model = await OssSafetensors.open(uri, { checkpoint }); // the header alone: one ranged GET
  const loaded = await model.loadAll(); // one buffer, filled by parallel ranged GETs; tensors view it
  s = (performance.now() - t0) / 1000;
  console.log(`loaded in ${s.toFixed(2)} s (${(bytes / MiB / s).toFixed(0)} MiB/s), CRC-64 verified`);

  if (!sameTensors(state, loaded)) throw new Error("reloaded tensors differ from the saved ones");
  const head = loaded.get("head.weight")!.data as Float32Array;
  console.log(
    `reload verified: ${loaded.size} tensors identical, metadata ${JSON.stringify(model.metadata)} ` +
      `(head.weight[0..2] = ${[...head.subarray(0, 3)].map((v) => v.toFixed(5)).join(", ")})`,
  );
} catch (e) {
  // The library's errors say what failed, where and why (and never hold a secret): the message is enough.
  console.error(`checkpoint_save_load failed: ${(e as Error).name}: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await local?.close();
}
