/**
 * Saves a model's weights to OSS and loads them back — what the OSS docs do with `torch.save(state, writer)` /
 * `torch.load(reader)` over OSS Connector for AI/ML's `OssCheckpoint`, here with a safetensors file this example
 * builds itself:
 *
 * ```
 * [8 bytes: header length N, little-endian u64][N bytes: JSON header, space-padded][tensor bytes]
 * header: { "<name>": { "dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end] }, "__metadata__": {...} }
 * ```
 *
 * The file is streamed into the checkpoint writer tensor by tensor (never assembled in memory), read back
 * through parallel ranged GETs, parsed, and every tensor compared with the original.
 *
 * Run: `deno run -A examples/checkpoint_save_load.ts [--size-mib=128]`. Without `OSS_ENDPOINT` it starts the
 * local server; with `OSS_ENDPOINT`, `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` and `OSS_CHECKPOINT_URI`
 * (e.g. `oss://my-bucket/ckpt/model.safetensors`) it talks to real OSS.
 *
 * @module
 */
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const MiB = 1024 * 1024;

interface TensorInfo {
  dtype: "F32";
  shape: number[];
  data_offsets: [number, number];
}

/** A toy transformer's state dict: embeddings, a few blocks, a head; deterministic values. */
function makeStateDict(totalMiB: number): Map<string, Float32Array> {
  const width = 1024;
  const rowsTotal = Math.max(8, Math.floor((totalMiB * MiB) / 4 / width));
  const names = [
    "embed.weight",
    "block0.attn.qkv",
    "block0.mlp.up",
    "block1.attn.qkv",
    "block1.mlp.up",
    "head.weight",
  ];
  const state = new Map<string, Float32Array>();
  const per = Math.floor(rowsTotal / names.length);
  let seed = 12345;
  for (const [i, name] of names.entries()) {
    const rows = i < names.length - 1 ? per : rowsTotal - per * (names.length - 1);
    const t = new Float32Array(rows * width);
    for (let j = 0; j < t.length; j++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      t[j] = (seed / 2 ** 32 - 0.5) * 0.02; // small random weights
    }
    state.set(name, t);
  }
  return state;
}

/** The safetensors header for `state`, padded with spaces to a multiple of 8 bytes. */
function safetensorsHeader(state: Map<string, Float32Array>, width: number): Uint8Array {
  const header: Record<string, TensorInfo | Record<string, string>> = {
    __metadata__: { format: "pt", producer: "ossflow example" },
  };
  let offset = 0;
  for (const [name, t] of state) {
    header[name] = {
      dtype: "F32",
      shape: [t.length / width, width],
      data_offsets: [offset, offset + t.byteLength],
    };
    offset += t.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** `torch.save`: streams the safetensors file into `writable`, one tensor at a time. */
async function save(state: Map<string, Float32Array>, width: number, writable: WritableStream<Uint8Array>) {
  const w = writable.getWriter();
  await w.write(safetensorsHeader(state, width));
  for (const t of state.values()) await w.write(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  await w.close();
}

/** `torch.load`: the tensors of a loaded safetensors file, as views over its bytes. */
function parse(bytes: Uint8Array<ArrayBuffer>): Map<string, Float32Array> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const data = 8 + n; // multiple of 8: Float32Array views need 4-byte alignment
  const state = new Map<string, Float32Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = info as TensorInfo;
    if (dtype !== "F32") throw new Error(`${name}: this example only reads F32, got ${dtype}`);
    const t = new Float32Array(bytes.buffer, bytes.byteOffset + data + begin, (end - begin) / 4);
    if (t.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`${name}: shape ${shape} does not match its bytes`);
    }
    state.set(name, t);
  }
  return state;
}

function sameTensors(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (!y || y.length !== x.length) return false;
    const xb = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    const yb = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
    for (let i = 0; i < xb.length; i++) if (xb[i] !== yb[i]) return false;
  }
  return true;
}

const sizeArg = Deno.args.find((a) => a.startsWith("--size-mib="));
const sizeMiB = sizeArg ? Number(sizeArg.slice("--size-mib=".length)) : 128;
const width = 1024;

const remote = Deno.env.get("OSS_ENDPOINT");
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
  const uri = local ? "oss://ckpt/run-1/step-1000.safetensors" : Deno.env.get("OSS_CHECKPOINT_URI")!;

  const state = makeStateDict(sizeMiB);
  const bytes = [...state.values()].reduce((n, t) => n + t.byteLength, 0);
  console.log(`state dict: ${state.size} tensors, ${(bytes / MiB).toFixed(1)} MiB of F32 weights -> ${uri}`);

  let t0 = performance.now();
  const writer = checkpoint.writer(uri, { sizeHint: bytes + 4096 });
  await save(state, width, writer);
  let s = (performance.now() - t0) / 1000;
  console.log(
    `saved in ${s.toFixed(2)} s (${
      (bytes / MiB / s).toFixed(0)
    } MiB/s), ${writer.stats.partsUploaded} parts, ` +
      `part buffers peak ${(writer.stats.peakBufferedBytes / MiB).toFixed(0)} MiB, CRC-64 verified`,
  );

  t0 = performance.now();
  // One buffer of the file's size, filled by parallel ranged GETs; the tensors are views into it.
  const loaded = parse(await checkpoint.load(uri));
  s = (performance.now() - t0) / 1000;
  console.log(`loaded in ${s.toFixed(2)} s (${(bytes / MiB / s).toFixed(0)} MiB/s), CRC-64 verified`);

  if (!sameTensors(state, loaded)) throw new Error("reloaded tensors differ from the saved ones");
  const head = loaded.get("head.weight")!;
  console.log(
    `reload verified: ${loaded.size} tensors identical (head.weight[0..2] = ${
      [...head.subarray(0, 3)].map((v) => v.toFixed(5)).join(", ")
    })`,
  );
} finally {
  await local?.close();
}
