/**
 * One demo run: seed the dataset, stream it, save and load the checkpoint, clean up, print the summary.
 *
 * @module
 */
import { OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { OssIterableDataset } from "../../src/dataset/mod.ts";
import { IntegrityError } from "../../src/errors.ts";
import { prefetch } from "../../src/prefetch.ts";
import type { DemoOptions } from "./args.ts";
import { loadAndVerify, makeSafetensors, saveCheckpoint } from "./checkpoint.ts";
import { type DemoImage, LABELS, makeImage } from "./images.ts";
import { Progress } from "./progress.ts";
import { openTarget, type Target } from "./target.ts";
import type { ImageStats } from "./transform.ts";

const MiB = 1024 * 1024;
const TRANSFORM = new URL("./transform.ts", import.meta.url);

/** Measurements of a run, as printed in the summary. */
export interface DemoResult {
  objects: number;
  datasetBytes: number;
  datasetMs: number;
  checkpointBytes: number;
  writeMs: number;
  readMs: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / Math.max(ms, 1e-3) * 1000).toFixed(1)} MB/s`;

/** Uploads the images and the JSON-lines manifest (`{"data": {"source": …}, "label": …}` per image). */
async function seed(
  target: Target,
  o: DemoOptions,
  scheme: string,
  progress: Progress,
  written: string[],
): Promise<{ images: Map<string, DemoImage>; bytes: number; manifest: string }> {
  const images = new Map<string, DemoImage>();
  const bar = progress.phase("seed", o.images, "images");
  let bytes = 0;
  const made = (function* () {
    for (let i = 0; i < o.images; i++) yield makeImage(i, o.imageSize);
  })();
  const uploads = prefetch(made, async (img, { signal }) => {
    await target.client.put(o.bucket, o.prefix + img.name, img.png, { contentType: "image/png", signal });
    return img;
  }, { concurrency: o.concurrency, ordered: false });
  for await (const img of uploads) {
    images.set(o.prefix + img.name, img);
    written.push(o.prefix + img.name);
    bytes += img.png.length;
    bar.tick(1, img.png.length);
  }
  bar.done();
  const lines = [...images.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([key, img]) =>
    JSON.stringify({ data: { source: `${scheme}://${o.bucket}/${key}` }, label: img.label })
  );
  const manifest = `${o.prefix}manifest.jsonl`;
  await target.client.put(o.bucket, manifest, lines.join("\n") + "\n", { contentType: "application/jsonl" });
  written.push(manifest);
  return { images, bytes, manifest };
}

/** Streams the manifest's images through the worker transform and checks each result against the original. */
async function stream(
  target: Target,
  o: DemoOptions,
  scheme: string,
  manifest: string,
  images: Map<string, DemoImage>,
  progress: Progress,
): Promise<{ objects: number; bytes: number; ms: number; firstMs: number; perLabel: Map<string, number> }> {
  const dataset = OssIterableDataset.fromManifestFile<ImageStats>(
    `${scheme}://${o.bucket}/${manifest}`,
    "jsonl",
    undefined,
    {
      ...target.connection,
      transform: TRANSFORM,
      prefetchWorker: o.workers,
      prefetchConcurrency: o.concurrency,
    },
  );
  const bar = progress.phase("dataset", images.size, "objects");
  const perLabel = new Map<string, number>();
  const seen = new Set<string>();
  let bytes = 0, firstMs = 0;
  const t0 = performance.now();
  for await (const s of dataset) {
    firstMs ||= performance.now() - t0;
    const img = images.get(s.key);
    if (!img) throw new IntegrityError(`dataset yielded ${s.key}, which the demo did not write`);
    if (seen.has(s.key)) throw new IntegrityError(`dataset yielded ${s.key} twice`);
    if (s.width !== o.imageSize || s.height !== o.imageSize || s.label !== img.label) {
      throw new IntegrityError(
        `${s.key}: decoded ${s.width}x${s.height} "${s.label}", expected ${o.imageSize}x${o.imageSize} "${img.label}"`,
      );
    }
    if (Math.abs(s.mean - img.mean) > 1e-9) {
      throw new IntegrityError(`${s.key}: mean pixel ${s.mean}, expected ${img.mean}`);
    }
    seen.add(s.key);
    bytes += s.size;
    perLabel.set(s.label, (perLabel.get(s.label) ?? 0) + 1);
    bar.tick(1, s.size);
  }
  const ms = performance.now() - t0;
  bar.done();
  if (seen.size !== images.size) {
    throw new IntegrityError(`dataset yielded ${seen.size} of the ${images.size} images in the manifest`);
  }
  return { objects: seen.size, bytes, ms, firstMs, perLabel };
}

/** Deletes what the demo wrote to a remote bucket. */
async function cleanUp(target: Target, o: DemoOptions, keys: string[]): Promise<void> {
  const deletes = prefetch(keys, (key, { signal }) => target.client.delete(o.bucket, key, { signal }), {
    concurrency: o.concurrency,
  });
  for await (const _ of deletes);
}

/**
 * Runs the demo and prints its lines with `print`.
 *
 * @example
 * ```ts ignore
 * await runDemo(parseDemoArgs(Deno.args, Deno.env.toObject()), console.log);
 * ```
 */
export async function runDemo(o: DemoOptions, print: (line: string) => void): Promise<DemoResult> {
  const t0 = performance.now();
  const progress = new Progress(o.progress);
  const target = await openTarget(o);
  const scheme = o.signatureVersion === "s3v4" ? "s3" : "oss";
  const written: string[] = [];
  try {
    print(`ossflow demo -> ${target.description}`);
    print(`  writing to ${scheme}://${o.bucket}/${o.prefix}`);

    const t1 = performance.now();
    const seeded = await seed(target, o, scheme, progress, written);
    print(
      `seed: ${seeded.images.size} PNG images (${o.imageSize}x${o.imageSize} RGB, ${
        mb(seeded.bytes)
      }) + manifest.jsonl written in ${secs(performance.now() - t1)}`,
    );

    const ds = await stream(target, o, scheme, seeded.manifest, seeded.images, progress);
    const how = o.workers > 0 ? `${o.workers} prefetch workers` : "inline prefetch";
    print(
      `dataset: ${ds.objects} objects, ${mb(ds.bytes)} in ${secs(ds.ms)}: ${
        (ds.objects / Math.max(ds.ms, 1e-3) * 1000).toFixed(0)
      } objects/s, ${rate(ds.bytes, ds.ms)} (manifest, ${how}, PNG decode + mean pixel transform)`,
    );
    const labels = LABELS.filter((l) => ds.perLabel.has(l)).map((l) => `${l} ${ds.perLabel.get(l)}`);
    print(
      `  first item after ${ds.firstMs.toFixed(0)} ms (${
        o.workers > 0 ? "workers started, " : ""
      }manifest read line by line)`,
    );
    print(`  labels: ${labels.join(", ")}; every image's size, label and mean pixel verified`);

    const file = makeSafetensors(o.checkpointMiB);
    const ckptKey = `${o.prefix}checkpoints/step-1000.safetensors`;
    const ckptUri = `${scheme}://${o.bucket}/${ckptKey}`;
    const checkpoint = new OssCheckpoint({
      ...target.connection,
      partSize: 4 * MiB,
      uploadConcurrency: o.concurrency,
      prefetchConcurrency: o.concurrency,
    });
    const size = file.bytes.length;
    const wbar = progress.phase("checkpoint write", size, "MiB", MiB);
    written.push(ckptKey); // an aborted upload leaves nothing; a completed one is deleted with the rest
    const w = await saveCheckpoint(checkpoint, ckptUri, file.bytes, wbar);
    wbar.done();
    const parts = w.stats.uploadId
      ? `multipart upload: ${w.stats.partsUploaded} parts of ${
        w.stats.partSize / MiB
      } MiB, ${w.stats.peakUploadsInFlight} at once`
      : "one PUT: smaller than a part";
    print(
      `checkpoint write: ${(size / MiB).toFixed(1)} MiB (${file.tensors} tensors, safetensors) in ${
        secs(w.ms)
      }: ${rate(size, w.ms)} (${parts})`,
    );
    const rbar = progress.phase("checkpoint read", size, "MiB", MiB);
    const r = await loadAndVerify(checkpoint, ckptUri, file.bytes, rbar);
    rbar.done();
    print(
      `checkpoint read: ${(size / MiB).toFixed(1)} MiB in ${secs(r.ms)}: ${
        rate(size, r.ms)
      } (${r.ranges} ranged GET${r.ranges === 1 ? "" : "s"}, every byte verified)`,
    );

    if (!target.local && !o.keep) {
      await cleanUp(target, o, written);
      print(`cleanup: deleted the ${written.length} objects the demo wrote (--keep leaves them)`);
    }
    print(`done in ${secs(performance.now() - t0)}`);
    return {
      objects: ds.objects,
      datasetBytes: ds.bytes,
      datasetMs: ds.ms,
      checkpointBytes: size,
      writeMs: w.ms,
      readMs: r.ms,
    };
  } catch (e) {
    progress.close();
    if (!target.local && !o.keep && written.length > 0) {
      await cleanUp(target, o, written).catch(() => {});
    }
    throw e;
  } finally {
    await target.close();
  }
}
