/**
 * Sharded sets and the commit of distributed checkpoints. The index is the commit record: a set exists from the
 * moment its `model.safetensors.index.json` is written, and a reader only ever follows an index.
 *
 * **Generations.** Every save first reads the current index (if any) and saves generation g + 1 (1 when there
 * is none; an index not written by ossflow counts as generation 1). Shards of generation 2 on are named
 * `….genN.safetensors` (see `layout.ts`), so a save never overwrites a file the committed index refers to.
 * Every rank reads the same index: the previous save's ranks all returned only after its commit was visible,
 * and this save cannot commit before every rank has written, so no rank reads a newer index than another.
 *
 * **Protocol** (rank r of W; a save by one process is rank 0 of 1 without the records):
 * 1. read the index, so g; rank r ≠ 0 deletes any record it left at generation g (a failed earlier attempt);
 * 2. write its shards, each through the checkpoint writer (CRC-64 checked);
 * 3. rank r ≠ 0 writes its record `model.safetensors.commit/g<g>-rank-<r>-of-<W>.json`: its shards with their
 *    sizes, CRC-64s and tensors; then polls the index until it shows generation g with its shards, and resolves;
 * 4. rank 0 polls for the W − 1 records, HEADs every shard of every rank (its own too) and compares the size
 *    and CRC-64 with what the writer computed, merges the weight maps (a tensor saved by two ranks fails), and
 *    writes the index (`metadata.total_size`, `ossflow_generation`, `ossflow_save_id`): the commit;
 * 5. rank 0 then removes what the new index superseded: the records of generations up to g, shards of this
 *    model of generations up to g that the new index does not name (the previous set's, and those of failed
 *    attempts), and a single `model.safetensors` saved at the same name before.
 *
 * Polls start 50 ms apart and double up to `pollIntervalMs`; rank 0 waits for the records, and the other ranks
 * for the index, at most `commitTimeoutMs` after writing their own shards, then reject. A rank that dies (or
 * fails) before its record is written leaves rank 0 without it: no index is written, the previous index and
 * every file it names are untouched, and the previous checkpoint loads as before. Its shards and the others'
 * stay behind as unreferenced files until the next successful commit removes them. A shard replaced or
 * damaged after its rank wrote it fails rank 0's check: nothing is committed.
 *
 * A rank record left by a failed attempt could be taken for the current one if the failed attempt's rank is
 * slow to start again; `saveId` rules that out. Readers holding an index that is then superseded fail loudly
 * once its shards are removed (404, or `If-Match` on a replaced file), never with mixed bytes.
 *
 * @module
 */
import type { OssCheckpoint } from "../checkpoint/mod.ts";
import { IntegrityError, OssError, SafetensorsError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { sleep } from "../retry.ts";
import type { CheckedTensor } from "./dtypes.ts";
import { type SavedFile, writeFile } from "./file_writer.ts";
import { type ModelLayout, rankRecordName, shardGeneration, shardName } from "./layout.ts";
import { sweep } from "./cleanup.ts";
import { encodeIndex, generationOf, readIndex, readSmallObject, type Store } from "./sharded.ts";

/** Requests (HEADs, record polls, deletes) the commit runs at once. */
const COMMIT_CONCURRENCY = 16;
const RECORD_FORMAT = "ossflow.safetensors.rank/1";

/** A sharded (or distributed) save, as `saveSafetensors` prepared it. */
export interface SetSave {
  checkpoint: OssCheckpoint;
  /** `oss://bucket/` (with the endpoint, if the URI had one): what a key is appended to for its URI. */
  prefix: string;
  layout: ModelLayout;
  tensors: CheckedTensor[];
  metadata?: Record<string, string>;
  maxShardBytes?: number;
  /** Rank of a distributed save; undefined for a save by one process. */
  rank?: number;
  worldSize?: number;
  saveId?: string;
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
}

/** One shard as a rank record lists it. */
interface ShardRecord {
  file: string;
  size: number;
  crc64?: string;
  tensors: [string, number][];
}

/** What a rank tells rank 0 about its part of the save. */
interface RankRecord {
  format: typeof RECORD_FORMAT;
  generation: number;
  rank: number;
  worldSize: number;
  saveId?: string;
  shards: ShardRecord[];
}

/** Saves this process's part of a sharded set and, as rank 0, commits it (see the module comment). */
export async function saveSet(s: SetSave): Promise<{ uri: string; generation: number; files: SavedFile[] }> {
  const t = await s.checkpoint.target(s.prefix + s.layout.indexKey);
  const store: Store = { client: t.client, bucket: t.bucket };
  const previous = await readIndex(store, s.layout.indexKey, t.uri, s.signal);
  const generation = previous === undefined ? 1 : generationOf(previous) + 1;
  const rank = s.rank ?? 0;
  const worldSize = s.worldSize ?? 1;
  const recordKey = (r: number) => s.layout.commitPrefix + rankRecordName(generation, r, worldSize);
  // A record this rank left at this generation (a failed attempt) goes before this attempt's is written.
  const staleRecord = rank === 0
    ? Promise.resolve()
    : store.client.delete(store.bucket, recordKey(rank), { signal: s.signal });
  staleRecord.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

  const groups = planShards(s.tensors, s.maxShardBytes);
  const files: SavedFile[] = [];
  const shards: ShardRecord[] = [];
  for (const [i, group] of groups.entries()) {
    const file = shardName(s.layout.base, {
      part: i + 1,
      parts: groups.length,
      rank: s.rank,
      worldSize: s.worldSize,
      generation,
    });
    const saved = await writeFile(s.checkpoint, s.prefix + s.layout.dir + file, group, s.metadata, s.signal);
    files.push(saved);
    shards.push({
      file,
      size: saved.size,
      crc64: saved.crc64,
      tensors: group.map((g) => [g.name, g.bytes.length]),
    });
  }
  const own: RankRecord = { format: RECORD_FORMAT, generation, rank, worldSize, saveId: s.saveId, shards };
  const result = { uri: t.uri, generation, files };
  await staleRecord;
  if (rank !== 0) {
    const record = new TextEncoder().encode(JSON.stringify(own));
    await s.checkpoint.save(s.prefix + recordKey(rank), record, { signal: s.signal });
    await waitForCommit(s, store, t.uri, own);
    return result;
  }
  const records = [own];
  if (worldSize > 1) records.push(...await collectRecords(s, store, t.uri, generation, recordKey));
  await verifyShards(s, store, records);
  const weightMap = mergeWeightMaps(t.uri, records);
  const total = records.reduce((n, r) => n + r.shards.reduce((m, sh) => m + sumTensors(sh), 0), 0);
  const metadata: Record<string, unknown> = { total_size: total, ossflow_generation: generation };
  if (s.saveId !== undefined) metadata.ossflow_save_id = s.saveId;
  await s.checkpoint.save(t.uri, encodeIndex(weightMap, metadata), { signal: s.signal }); // the commit
  await sweep(store, s.layout, generation, new Set(weightMap.values()), previous);
  return result;
}

/** Shards of the tensors in the order given: a new shard when the next tensor would overflow `max`. */
export function planShards(tensors: readonly CheckedTensor[], max?: number): CheckedTensor[][] {
  const groups: CheckedTensor[][] = [];
  let current: CheckedTensor[] = [];
  let bytes = 0;
  for (const t of tensors) {
    if (current.length > 0 && max !== undefined && bytes + t.bytes.length > max) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += t.bytes.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function sumTensors(shard: ShardRecord): number {
  return shard.tensors.reduce((n, [, bytes]) => n + bytes, 0);
}

/** Calls `step` until it returns a value, pausing 50 ms, then twice as long each time up to `pollMs`. */
async function poll<T>(
  s: Pick<SetSave, "timeoutMs" | "pollMs" | "signal">,
  step: () => Promise<T | undefined>,
  timedOut: () => Error,
): Promise<T> {
  const deadline = Date.now() + s.timeoutMs;
  let pause = Math.min(50, s.pollMs);
  for (;;) {
    s.signal?.throwIfAborted();
    const got = await step();
    if (got !== undefined) return got;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await sleep(Math.min(pause, left), s.signal);
    pause = Math.min(pause * 2, s.pollMs);
  }
}

/** Rank 0: the records of ranks 1 … W − 1 for this generation, as they appear. */
async function collectRecords(
  s: SetSave,
  store: Store,
  indexUri: string,
  generation: number,
  recordKey: (rank: number) => string,
): Promise<RankRecord[]> {
  const worldSize = s.worldSize!;
  const found: RankRecord[] = [];
  const pending = new Set(Array.from({ length: worldSize - 1 }, (_, i) => i + 1));
  return await poll(s, async () => {
    const reads = prefetch([...pending], async (rank) => {
      const key = recordKey(rank);
      const got = await readSmallObject(store.client, store.bucket, key, s.prefix + key, s.signal);
      return { rank, record: got && parseRecord(s.prefix + key, got.bytes, { generation, rank, worldSize }) };
    }, { concurrency: COMMIT_CONCURRENCY, signal: s.signal });
    for await (const { rank, record } of reads) {
      // A record of another save id is a failed attempt's, not yet replaced by this attempt's: keep waiting.
      if (record === undefined || record.saveId !== s.saveId) continue;
      found.push(record);
      pending.delete(rank);
    }
    return pending.size === 0 ? found.sort((a, b) => a.rank - b.rank) : undefined;
  }, () =>
    new SafetensorsError(
      `no record from rank ${[...pending].join(", ")} of ${worldSize} within ${s.timeoutMs} ms ` +
        `(generation ${generation}${s.saveId === undefined ? "" : `, save id ${s.saveId}`}): nothing was ` +
        `committed and the previous checkpoint is unchanged`,
      { file: indexUri },
    ));
}

function parseRecord(
  uri: string,
  bytes: Uint8Array,
  want: { generation: number; rank: number; worldSize: number },
): RankRecord {
  let r: RankRecord;
  try {
    r = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new SafetensorsError("the rank record is not valid JSON", { file: uri, cause: err });
  }
  const ok = r !== null && typeof r === "object" && r.format === RECORD_FORMAT &&
    r.generation === want.generation && r.rank === want.rank && Array.isArray(r.shards) &&
    r.shards.every((sh) =>
      sh !== null && typeof sh === "object" && typeof sh.file === "string" && Number.isSafeInteger(sh.size) &&
      (sh.crc64 === undefined || typeof sh.crc64 === "string") && Array.isArray(sh.tensors) &&
      sh.tensors.every((e) => Array.isArray(e) && typeof e[0] === "string" && Number.isSafeInteger(e[1]))
    );
  if (!ok) throw new SafetensorsError("not a rank record of this save", { file: uri });
  if (r.worldSize !== want.worldSize) {
    throw new SafetensorsError(
      `rank ${r.rank} saves with worldSize ${r.worldSize}, rank 0 with ${want.worldSize}`,
      { file: uri },
    );
  }
  return r;
}

/** Rank 0: HEADs every shard and checks its size and CRC-64 against its rank's record. */
async function verifyShards(s: SetSave, store: Store, records: readonly RankRecord[]): Promise<void> {
  const shards = records.flatMap((r) => r.shards.map((shard) => ({ rank: r.rank, shard })));
  const checks = prefetch(shards, async ({ rank, shard }) => {
    const key = s.layout.dir + shard.file;
    const uri = s.prefix + key;
    if (shardGeneration(s.layout.base, shard.file) === undefined) {
      throw new SafetensorsError(`rank ${rank} records a file that is not one of this model's shards`, {
        file: uri,
      });
    }
    let meta;
    try {
      meta = await store.client.head(store.bucket, key, { signal: s.signal });
    } catch (err) {
      if (err instanceof OssError && err.status === 404) {
        throw new IntegrityError(`${uri}: shard of rank ${rank} is missing; nothing was committed`, {
          key,
          cause: err,
        });
      }
      throw err;
    }
    const crcDiffers = shard.crc64 !== undefined && meta.crc64 !== undefined && meta.crc64 !== shard.crc64;
    if (meta.size !== shard.size || crcDiffers) {
      throw new IntegrityError(
        `${uri}: shard of rank ${rank} has ${meta.size} bytes and CRC-64 ${meta.crc64}, its rank wrote ${shard.size} bytes with CRC-64 ${shard.crc64}; nothing was committed`,
        { key, expected: shard.crc64 ?? String(shard.size), actual: meta.crc64 ?? String(meta.size) },
      );
    }
  }, { concurrency: COMMIT_CONCURRENCY, signal: s.signal });
  for await (const _ of checks) { /* each check throws on a mismatch */ }
}

function mergeWeightMaps(indexUri: string, records: readonly RankRecord[]): Map<string, string> {
  const map = new Map<string, string>();
  const owner = new Map<string, number>();
  for (const r of records) {
    for (const shard of r.shards) {
      for (const [name] of shard.tensors) {
        if (map.has(name)) {
          throw new SafetensorsError(
            `saved by rank ${owner.get(name)} (${
              map.get(name)
            }) and by rank ${r.rank} (${shard.file}); nothing was committed`,
            { file: indexUri, tensor: name },
          );
        }
        map.set(name, shard.file);
        owner.set(name, r.rank);
      }
    }
  }
  return map;
}

/** Rank r ≠ 0: polls the index until it commits generation `own.generation` with this rank's shards. */
async function waitForCommit(s: SetSave, store: Store, indexUri: string, own: RankRecord): Promise<void> {
  await poll(s, async () => {
    const index = await readIndex(store, s.layout.indexKey, indexUri, s.signal);
    if (index === undefined) return undefined;
    const g = generationOf(index);
    if (g > own.generation) {
      throw new SafetensorsError(
        `rank ${own.rank} saved generation ${own.generation}, but generation ${g} is committed`,
        { file: indexUri },
      );
    }
    if (g < own.generation || index.metadata.ossflow_save_id !== s.saveId) return undefined;
    for (const shard of own.shards) {
      for (const [name] of shard.tensors) {
        if (index.weightMap.get(name) !== shard.file) {
          throw new SafetensorsError(
            `generation ${g} was committed without rank ${own.rank}'s shard ${shard.file}`,
            {
              file: indexUri,
              tensor: name,
            },
          );
        }
      }
    }
    return true;
  }, () =>
    new SafetensorsError(
      `rank ${own.rank}: rank 0 committed no generation ${own.generation} within ${s.timeoutMs} ms; this ` +
        `rank's shards are in no checkpoint and the previous one is unchanged`,
      { file: indexUri },
    ));
}
