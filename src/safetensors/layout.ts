/**
 * Where a model's files live. For `dir/model.safetensors`:
 *
 * - one file: `dir/model.safetensors`;
 * - a sharded set (the Hugging Face layout): `dir/model.safetensors.index.json` and shards beside it,
 *   `model-00001-of-00003.safetensors` … (saved by one process), or `model-00002-of-00004.safetensors` for rank 1
 *   of 4 (`model-00002-of-00004-00001-of-00003.safetensors` … when that rank splits its tensors in three);
 * - a set saved over an earlier one carries its generation: `model-00001-of-00003.gen2.safetensors`, so the
 *   files of the committed set are never overwritten before the new index replaces the old;
 * - the distributed commit's rank records: `dir/model.safetensors.commit/g2-rank-00001-of-00004.json`.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

const FILE_SUFFIX = ".safetensors";
/** What an index key adds to the file key: `model.safetensors` → `model.safetensors.index.json`. */
export const INDEX_SUFFIX = ".index.json";

/**
 * The keys of one model (see the module comment).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { layoutOf } from "./layout.ts";
 * const l = layoutOf("runs/7/model.safetensors.index.json", "oss://ckpt/runs/7/model.safetensors.index.json");
 * expect([l.dir, l.base, l.fileKey]).toEqual(["runs/7/", "model", "runs/7/model.safetensors"]);
 * ```
 */
export interface ModelLayout {
  /** The key prefix the files share, `""` or ending in `/`. */
  dir: string;
  /** The model's name: `model` for `model.safetensors`. */
  base: string;
  /** Key of the single file. */
  fileKey: string;
  /** Key of the index of a sharded set. */
  indexKey: string;
  /** Key prefix of the distributed commit's rank records. */
  commitPrefix: string;
}

/**
 * The layout of the model that `key` (a `.safetensors` file or its `.safetensors.index.json`) names; `uri`
 * names it in the {@linkcode ConfigError} thrown for any other key.
 */
export function layoutOf(key: string, uri: string): ModelLayout {
  const fileKey = key.endsWith(FILE_SUFFIX + INDEX_SUFFIX) ? key.slice(0, -INDEX_SUFFIX.length) : key;
  const slash = fileKey.lastIndexOf("/");
  const name = fileKey.slice(slash + 1);
  if (!name.endsWith(FILE_SUFFIX) || name.length === FILE_SUFFIX.length) {
    throw new ConfigError(
      `${uri}: expected the key of a model file, ending in ".safetensors" (or ".safetensors.index.json")`,
    );
  }
  return {
    dir: fileKey.slice(0, slash + 1),
    base: name.slice(0, -FILE_SUFFIX.length),
    fileKey,
    indexKey: fileKey + INDEX_SUFFIX,
    commitPrefix: `${fileKey}.commit/`,
  };
}

const pad = (n: number) => String(n).padStart(5, "0");

/** Who writes a shard: its number among the writer's shards, and the rank of a distributed save. */
export interface ShardSlot {
  /** 1-based number of the shard among the writer's shards. */
  part: number;
  /** How many shards the writer writes. */
  parts: number;
  /** Rank of a distributed save; undefined for a save by one process. */
  rank?: number;
  /** World size of a distributed save. */
  worldSize?: number;
  /** Generation of the set (1 for the first set saved at this name). */
  generation: number;
}

/**
 * The file name of a shard (see the module comment).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardName } from "./layout.ts";
 * expect(shardName("model", { part: 2, parts: 3, generation: 1 })).toEqual("model-00002-of-00003.safetensors");
 * expect(shardName("model", { part: 1, parts: 1, rank: 3, worldSize: 4, generation: 2 })).toEqual("model-00004-of-00004.gen2.safetensors");
 * ```
 */
export function shardName(base: string, s: ShardSlot): string {
  const writer = s.rank === undefined
    ? `${pad(s.part)}-of-${pad(s.parts)}`
    : `${pad(s.rank + 1)}-of-${pad(s.worldSize!)}${s.parts > 1 ? `-${pad(s.part)}-of-${pad(s.parts)}` : ""}`;
  return `${base}-${writer}${s.generation > 1 ? `.gen${s.generation}` : ""}${FILE_SUFFIX}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The generation of a shard file name this layout could have written (1 without a `.genN`), or undefined for
 * any other name.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardGeneration } from "./layout.ts";
 * expect([shardGeneration("model", "model-00001-of-00002.gen3.safetensors"), shardGeneration("model", "notes.txt")]).toEqual([3, undefined]);
 * ```
 */
export function shardGeneration(base: string, name: string): number | undefined {
  const m = new RegExp(
    `^${escapeRegExp(base)}-\\d{5,}-of-\\d{5,}(?:-\\d{5,}-of-\\d{5,})?(?:\\.gen(\\d+))?\\.safetensors$`,
  ).exec(name);
  return m === null ? undefined : m[1] === undefined ? 1 : Number(m[1]);
}

/**
 * The name (under {@linkcode ModelLayout.commitPrefix}) of the record rank `rank` writes in generation
 * `generation`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { rankRecordName } from "./layout.ts";
 * expect(rankRecordName(2, 1, 4)).toEqual("g2-rank-00001-of-00004.json");
 * ```
 */
export function rankRecordName(generation: number, rank: number, worldSize: number): string {
  return `g${generation}-rank-${pad(rank)}-of-${pad(worldSize)}.json`;
}

/**
 * The generation of a rank record name, or undefined for any other name.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { rankRecordGeneration } from "./layout.ts";
 * expect(rankRecordGeneration("g7-rank-00003-of-00008.json")).toEqual(7);
 * ```
 */
export function rankRecordGeneration(name: string): number | undefined {
  const m = /^g(\d+)-rank-\d{5,}-of-\d{5,}\.json$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}
