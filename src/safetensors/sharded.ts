/**
 * The index of a sharded model, as Hugging Face writes it (`model.safetensors.index.json`):
 *
 * ```json
 * { "metadata": { "total_size": 16 }, "weight_map": { "a.weight": "model-00001-of-00002.safetensors", … } }
 * ```
 *
 * `weight_map` names, for every tensor, the shard holding it, relative to the index's directory;
 * `total_size` is the sum of the tensors' byte lengths. ossflow adds `ossflow_generation` (and
 * `ossflow_save_id` when a save was given one) to `metadata`. Also: reading small JSON objects whole with their
 * CRC-64 checked.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import type { GetBytesResult } from "../client_types.ts";
import { crc64 } from "../crc64.ts";
import { IntegrityError, OssError, SafetensorsError } from "../errors.ts";
import { describe } from "./dtypes.ts";
import { MAX_HEADER_BYTES } from "./header.ts";

/**
 * A parsed index.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseIndex, type SafetensorsIndex } from "./sharded.ts";
 * const json = '{"metadata":{"total_size":8},"weight_map":{"w":"model-00001-of-00001.safetensors"}}';
 * const index: SafetensorsIndex = parseIndex("model.safetensors.index.json", new TextEncoder().encode(json));
 * expect(index.weightMap.get("w")).toEqual("model-00001-of-00001.safetensors");
 * ```
 */
export interface SafetensorsIndex {
  /** `metadata` as stored (`total_size`, and whatever the writer added). */
  metadata: Record<string, unknown>;
  /** Tensor name → shard path relative to the index's directory, in the index's order. */
  weightMap: Map<string, string>;
}

/**
 * Parses an index: a JSON object with a `weight_map` of tensor names to relative shard paths (no `..`, no
 * leading `/`) and an optional `metadata` object. Anything else is a {@linkcode SafetensorsError} naming `file`
 * (and the tensor, for a bad entry).
 */
export function parseIndex(file: string, bytes: Uint8Array): SafetensorsIndex {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new SafetensorsError(`the index is not valid UTF-8 JSON: ${(err as Error).message}`, {
      file,
      cause: err,
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SafetensorsError(`the index must be a JSON object, got ${describe(json)}`, { file });
  }
  const { metadata = {}, weight_map: map } = json as Record<string, unknown>;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new SafetensorsError(`metadata: expected an object, got ${describe(metadata)}`, { file });
  }
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    throw new SafetensorsError(
      `weight_map: expected an object of tensor names to shard files, got ${describe(map)}`,
      { file },
    );
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    checkShardPath(file, tensor, shard);
    weightMap.set(tensor, shard);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

function checkShardPath(file: string, tensor: string, shard: unknown): asserts shard is string {
  if (typeof shard !== "string") {
    throw new SafetensorsError(`weight_map: expected a shard file name, got ${describe(shard)}`, {
      file,
      tensor,
    });
  }
  const segments = shard.split("/");
  if (
    shard.length > 1024 || shard.includes("\\") ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new SafetensorsError(
      `weight_map: expected a file path relative to the index (no "..", "." or empty segments), got ${
        describe(shard)
      }`,
      { file, tensor },
    );
  }
}

/**
 * The bytes of an index in Hugging Face's form (`metadata` first, tensor names sorted, two-space indent).
 * Built by hand: a JavaScript object would move integer-like names ahead of the others.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeIndex } from "./sharded.ts";
 * const bytes = encodeIndex(new Map([["b", "m-2.safetensors"], ["a", "m-1.safetensors"]]), { total_size: 8 });
 * expect(JSON.parse(new TextDecoder().decode(bytes)).weight_map).toEqual({ a: "m-1.safetensors", b: "m-2.safetensors" });
 * ```
 */
export function encodeIndex(
  weightMap: ReadonlyMap<string, string>,
  metadata: Readonly<Record<string, unknown>>,
): Uint8Array<ArrayBuffer> {
  const names = [...weightMap.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const entries = names.map((n) => `    ${JSON.stringify(n)}: ${JSON.stringify(weightMap.get(n))}`);
  const meta = JSON.stringify(metadata, null, 2).replaceAll("\n", "\n  ");
  const text = `{\n  "metadata": ${meta},\n  "weight_map": {\n${entries.join(",\n")}\n  }\n}\n`;
  return new TextEncoder().encode(text);
}

/**
 * Reads a small object (an index, a rank record) whole, at most `maxBytes`, and checks its CRC-64 when the
 * store reports one. Resolves undefined when the object does not exist.
 */
export async function readSmallObject(
  client: OssClient,
  bucket: string,
  key: string,
  uri: string,
  signal?: AbortSignal,
  maxBytes: number = MAX_HEADER_BYTES,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; etag: string } | undefined> {
  let res: GetBytesResult;
  try {
    // A range bounds what a wrong key can cost; it covers the whole of any object small enough to accept.
    res = await client.getBytes(bucket, key, { range: { start: 0, end: maxBytes }, signal });
  } catch (err) {
    if (err instanceof OssError && err.status === 404 && err.code !== "NoSuchBucket") return undefined;
    if (err instanceof OssError && err.status === 416) return { bytes: new Uint8Array(0), etag: "" };
    throw err;
  }
  const size = res.status === 206 ? res.objectSize : res.bytes.length;
  if (size > maxBytes || res.bytes.length !== size) {
    throw new SafetensorsError(
      `expected a JSON document of at most ${maxBytes} bytes, the object has ${size}`,
      {
        file: uri,
      },
    );
  }
  if (res.crc64 !== undefined) {
    const actual = await crc64(res.bytes);
    if (actual !== res.crc64) {
      throw new IntegrityError(`${uri}: CRC-64 mismatch: server reports ${res.crc64}, computed ${actual}`, {
        key,
        expected: res.crc64,
        actual,
      });
    }
  }
  return { bytes: res.bytes, etag: res.etag };
}

/** The store a set lives in. */
export interface Store {
  client: OssClient;
  bucket: string;
}

/** The index at `key`, or undefined when there is none. */
export async function readIndex(
  store: Store,
  key: string,
  uri: string,
  signal?: AbortSignal,
): Promise<SafetensorsIndex | undefined> {
  const found = await readSmallObject(store.client, store.bucket, key, uri, signal);
  return found === undefined ? undefined : parseIndex(uri, found.bytes);
}

/** The generation an index records; 1 for an index that does not say (one written by another tool). */
export function generationOf(index: SafetensorsIndex): number {
  const g = index.metadata.ossflow_generation;
  return typeof g === "number" && Number.isSafeInteger(g) && g >= 1 ? g : 1;
}
