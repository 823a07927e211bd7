/**
 * The preview app's view of model files: a `.safetensors` file as its tensor table (name, dtype, shape, bytes)
 * read from the header alone, and a `.safetensors.index.json` set as the table across its shards (every shard
 * must be under the allowed prefixes). Also the page's part: the script and style that draw the table.
 *
 * @module
 */
import type { OssClient } from "../../client.ts";
import { IntegrityError, SafetensorsError } from "../../errors.ts";
import { OssSafetensors } from "../../safetensors/reader.ts";
import { parseIndex, readSmallObject } from "../../safetensors/sharded.ts";
import { jsonResponse, PreviewApiError } from "./http.ts";

/** Longest header (and index) the preview reads: 16 MiB, far above any real model's. */
const MAX_PREVIEW_HEADER = 16 * 1024 * 1024;
/** Most shards of a set the preview opens. */
const MAX_PREVIEW_SHARDS = 512;
/** Most tensor rows in one answer; the counts and sizes still cover every tensor. */
const MAX_PREVIEW_ROWS = 5000;

/**
 * Whether the preview shows `key` as a model file: it ends in `.safetensors` or `.safetensors.index.json`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isSafetensorsKey } from "./safetensors.ts";
 * expect([isSafetensorsKey("llm/model-00001-of-00002.safetensors"), isSafetensorsKey("a.json")]).toEqual([true, false]);
 * ```
 */
export function isSafetensorsKey(key: string): boolean {
  return key.endsWith(".safetensors") || key.endsWith(".safetensors.index.json");
}

/**
 * The JSON body of a model file's preview.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { SafetensorsPreview } from "./safetensors.ts";
 * const p: SafetensorsPreview = {
 *   key: "m.safetensors", size: 80, etag: '"E"', kind: "safetensors", metadata: {}, files: [{ key: "m.safetensors", size: 80 }],
 *   tensorCount: 1, totalBytes: 8, truncated: false, tensors: [{ name: "w", dtype: "F32", shape: [2], bytes: 8 }],
 * };
 * expect(p.tensors[0].bytes).toEqual(8);
 * ```
 */
export interface SafetensorsPreview {
  /** The key previewed (the file, or the index). */
  key: string;
  /** Its size in bytes. */
  size: number;
  /** Its ETag. */
  etag: string;
  /** Always `"safetensors"`. */
  kind: "safetensors";
  /** `__metadata__` (for a set, of its first shard). */
  metadata: Record<string, string>;
  /** The files read: the one file, or every shard. */
  files: { key: string; size: number }[];
  /** Tensors in all. */
  tensorCount: number;
  /** Bytes of all tensors. */
  totalBytes: number;
  /** Whether `tensors` stops short of `tensorCount`. */
  truncated: boolean;
  /** The table: a row per tensor, in the file's data order (shard by shard for a set). */
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; file?: string }[];
}

/**
 * Answers the preview of the model file `key` (already checked against the allowed prefixes): headers only, at
 * most two ranged GETs per file. For an index, every shard key must pass `checkKey` (which throws to refuse)
 * before any shard is read. A file that breaks the format is a 422 naming the problem.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../../client.ts";
 * import { saveSafetensors } from "../../safetensors/writer.ts";
 * import { serveEmulator } from "../emulator.ts";
 * import { previewSafetensors } from "./safetensors.ts";
 * const server = await serveEmulator({ buckets: ["models"] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * await saveSafetensors("oss://models/m.safetensors", { w: { dtype: "F32", shape: [2], data: new Float32Array(2) } }, { client });
 * const res = await previewSafetensors(client, "models", "m.safetensors", () => {});
 * expect((await res.json()).tensors).toEqual([{ name: "w", dtype: "F32", shape: [2], bytes: 8 }]);
 * await server.close();
 * ```
 */
export async function previewSafetensors(
  client: OssClient,
  bucket: string,
  key: string,
  checkKey: (key: string) => void,
): Promise<Response> {
  const scheme = client.signatureVersion === "s3v4" ? "s3" : "oss";
  const uri = `${scheme}://${bucket}/${key}`;
  const dir = key.slice(0, key.lastIndexOf("/") + 1);
  try {
    let index: { size: number; etag: string } | undefined;
    if (key.endsWith(".index.json")) {
      // Checked before OssSafetensors reads any shard: the keys, and how many there are.
      const found = await readSmallObject(client, bucket, key, uri, undefined, MAX_PREVIEW_HEADER);
      if (found !== undefined) {
        index = { size: found.bytes.length, etag: found.etag };
        const shards = new Set(parseIndex(uri, found.bytes).weightMap.values());
        if (shards.size > MAX_PREVIEW_SHARDS) {
          throw new PreviewApiError(
            413,
            "TooManyShards",
            `${
              JSON.stringify(key)
            } names ${shards.size} shards; the preview opens at most ${MAX_PREVIEW_SHARDS}`,
          );
        }
        for (const shard of shards) checkKey(dir + shard);
      }
    }
    const model = await OssSafetensors.open(uri, { client, maxHeaderBytes: MAX_PREVIEW_HEADER, maxGap: 0 });
    const keyOf = (fileUri: string) => fileUri.slice(`${scheme}://${bucket}/`.length);
    for (const f of model.files) checkKey(keyOf(f.uri)); // the index might have changed since the check
    const sharded = model.index !== undefined;
    const { size, etag } = index ?? model.files[0];
    const preview: SafetensorsPreview = {
      key,
      size,
      etag,
      kind: "safetensors",
      metadata: { ...model.metadata },
      files: model.files.map((f) => ({ key: keyOf(f.uri), size: f.size })),
      tensorCount: model.tensors.length,
      totalBytes: model.tensors.reduce((n, t) => n + (t.end - t.start), 0),
      truncated: model.tensors.length > MAX_PREVIEW_ROWS,
      tensors: model.tensors.slice(0, MAX_PREVIEW_ROWS).map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        bytes: t.end - t.start,
        ...(sharded ? { file: keyOf(t.file).slice(dir.length) } : {}),
      })),
    };
    return jsonResponse(preview);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new PreviewApiError(422, "InvalidSafetensors", err.message);
    if (err instanceof IntegrityError) throw new PreviewApiError(502, "IntegrityError", err.message);
    throw err;
  }
}

/** The page's style for tensor tables (see {@linkcode TENSOR_TABLE_SCRIPT}). */
export const TENSOR_TABLE_CSS: string = `
figure:has(.tensors) { grid-column: span 2; }
.thumb .tensors { align-self: stretch; width: 100%; overflow: auto; background: #fff;
  font: 11px/1.3 ui-monospace, monospace; }
.tensors p { margin: 4px 6px; font-weight: 600; }
.tensors table { border-collapse: collapse; margin: 0 6px 6px; }
.tensors th, .tensors td { padding: 0 6px 0 0; text-align: left; white-space: nowrap; }
.tensors th { color: #6b7385; font-weight: normal; }
`;

/**
 * The page's function that draws a `kind: "safetensors"` preview as a table (plain JavaScript, part of the
 * page's script; only `textContent` is set, so names from the file cannot inject markup).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { TENSOR_TABLE_SCRIPT } from "./safetensors.ts";
 * expect(TENSOR_TABLE_SCRIPT.includes("function showTensorTable(card, p)")).toBe(true);
 * ```
 */
export const TENSOR_TABLE_SCRIPT: string = `
function showTensorTable(card, p) {
  const box = document.createElement("div");
  box.className = "tensors";
  const sharded = p.files.length > 1 || p.key.endsWith(".index.json");
  const summary = document.createElement("p");
  summary.textContent = p.tensorCount + " tensors, " + formatSize(p.totalBytes) +
    (sharded ? " in " + p.files.length + " shards" : "") + (p.truncated ? ", first " + p.tensors.length + " shown" : "");
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const name of sharded ? ["name", "dtype", "shape", "bytes", "file"] : ["name", "dtype", "shape", "bytes"]) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  const rows = table.createTBody();
  for (const t of p.tensors) {
    const row = rows.insertRow();
    const cells = [t.name, t.dtype, "[" + t.shape.join(", ") + "]", formatSize(t.bytes)];
    if (sharded) cells.push(t.file);
    for (const text of cells) row.insertCell().textContent = text;
  }
  box.append(summary, table);
  box.title = Object.entries(p.metadata).map(([k, v]) => k + ": " + v).join("\\n");
  card.thumb.replaceChildren(box);
  card.done = true;
}
`;
