/**
 * Packs a dataset of small objects into WebDataset tar shards and trains from the shards: the step that turns
 * millions of small GETs into one GET per thousand samples.
 *
 * 1. `OssIterableDataset.fromPrefix` reads every object under the source prefix (`<stem>.jpg` images with a
 *    `<stem>.cls` label beside each), grouped here into samples by stem.
 * 2. A `ShardWriter` writes them as `shard-000000.tar`, `shard-000001.tar`, … of at most `--per-shard` samples,
 *    each through the checkpoint writer (multipart, CRC-64 checked, invisible until complete) with its tar index
 *    (`.idx`) beside it.
 * 3. Every rank of `--world` reads its share of the shards with `OssIterableDataset.fromShards` (a brace
 *    pattern, shuffled with a seed), and the ranks together must see every sample exactly once, byte for byte.
 *
 * Run: `deno run -A examples/webdataset_shards.ts [--samples=500] [--per-shard=100] [--world=2]`. Without
 * `OSS_ENDPOINT` it starts the local server and generates the source objects there; with `OSS_ENDPOINT`,
 * credentials in `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET`, `OSS_SOURCE_PREFIX` (`oss://bucket/raw/`) and
 * `OSS_SHARD_PREFIX` (`oss://bucket/shards/`) it packs that prefix.
 *
 * @module
 */
import { OssClient, OssIterableDataset } from "../mod.ts";
import { ShardWriter } from "../src/dataset/tar_write.ts";
import { serveEmulator } from "../src/server/emulator.ts";

function flag(name: string, fallback: number): number {
  const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
}

const samples = flag("samples", 500), perShard = flag("per-shard", 100), world = flag("world", 2);
const credentials = {
  accessKeyId: Deno.env.get("OSS_ACCESS_KEY_ID") ?? "example-key",
  accessKeySecret: Deno.env.get("OSS_ACCESS_KEY_SECRET") ?? "example-secret",
};
const local = !Deno.env.get("OSS_ENDPOINT");
const server = local ? await serveEmulator({ buckets: ["datasets"], credentials: [credentials] }) : undefined;
const endpoint = server?.url ?? Deno.env.get("OSS_ENDPOINT")!;
const source = Deno.env.get("OSS_SOURCE_PREFIX") ?? "oss://datasets/raw/";
const target = Deno.env.get("OSS_SHARD_PREFIX") ?? "oss://datasets/shards/";
const opts = { endpoint, credentials };

try {
  if (server) {
    // Generated source objects: pseudo-random "images" of 2-6 KiB and their labels.
    const client = new OssClient(opts);
    let seed = 7;
    for (let i = 0; i < samples; i++) {
      const stem = `img_${String(i).padStart(6, "0")}`;
      const image = new Uint8Array(2048 + (i * 97) % 4096).map(() =>
        (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
      );
      await client.put("datasets", `raw/${stem}.jpg`, image);
      await client.put("datasets", `raw/${stem}.cls`, String(i % 10));
    }
  }

  // 1. Read the source and group its objects into samples by stem (listing order keeps a stem's files together).
  const writer = new ShardWriter(`${target}shard-%06d.tar`, { ...opts, maxCount: perShard });
  const expected = new Map<string, string>();
  let pending: { key: string; members: Record<string, Uint8Array> } | undefined;
  for await (const item of OssIterableDataset.fromPrefix(source, { ...opts, prefetchConcurrency: 32 })) {
    const name = item.key.slice(item.key.lastIndexOf("/") + 1);
    const dot = name.indexOf(".");
    const stem = name.slice(0, dot), ext = name.slice(dot + 1);
    if (pending?.key !== stem) {
      if (pending) await writer.write(pending);
      pending = { key: stem, members: {} };
    }
    pending.members[ext] = await item.bytes();
    expected.set(`${stem}.${ext}`, await crcOf(pending.members[ext]));
  }
  if (pending) await writer.write(pending);
  const shards = await writer.close();
  const bytes = shards.reduce((n, s) => n + s.size, 0);
  console.log(
    `packed ${expected.size} objects as ${shards.length} shards (${(bytes / 1024 / 1024).toFixed(1)} MiB)`,
  );

  // 2. Every rank reads its shards; together they must see every object once, byte for byte.
  const pattern = `${target}shard-{000000..${String(shards.length - 1).padStart(6, "0")}}.tar`;
  const seen = new Map<string, string>();
  for (let rank = 0; rank < world; rank++) {
    const ds = OssIterableDataset.fromShards(pattern, {
      ...opts,
      rank,
      worldSize: world,
      shuffle: { seed: 42 },
    });
    let n = 0;
    for await (const sample of ds) {
      for (const [ext, member] of Object.entries(sample.members)) {
        const name = `${sample.key}.${ext}`;
        if (seen.has(name)) throw new Error(`${name} was read twice`);
        seen.set(name, await crcOf(await member.bytes()));
      }
      n++;
    }
    console.log(`rank ${rank} of ${world}: ${n} samples`);
  }
  const same = seen.size === expected.size && [...expected].every(([k, v]) => seen.get(k) === v);
  if (!same) {
    throw new Error(`the shards hold ${seen.size} objects, ${expected.size} expected, or bytes differ`);
  }
  console.log(`verified: all ${seen.size} objects read back once from the shards, byte for byte`);
} finally {
  await server?.close();
}

/** A digest of `bytes` to compare what was packed with what was read. */
async function crcOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
