/**
 * Removing what a commit superseded: the rank records of its generation and earlier, shards of this model that
 * the new index does not name, and a single file saved at the same name (see the module comment of
 * `commit.ts`); and removing a whole set when a single file is saved over it. Best effort throughout: a failed
 * delete leaves an unreferenced file, never a broken checkpoint.
 *
 * @module
 */
import type { OssCheckpoint } from "../checkpoint/mod.ts";
import { prefetch } from "../prefetch.ts";
import { type ModelLayout, rankRecordGeneration, shardGeneration } from "./layout.ts";
import { generationOf, readIndex, type SafetensorsIndex, type Store } from "./sharded.ts";

/** Deletes run at once. */
const DELETE_CONCURRENCY = 16;

/**
 * Removes a sharded set saved at this name (its index, its shards and any rank records), after a single file
 * was saved there: best effort, like the sweep after a commit.
 */
export async function removeSet(
  checkpoint: OssCheckpoint,
  prefix: string,
  layout: ModelLayout,
  signal?: AbortSignal,
): Promise<void> {
  const t = await checkpoint.target(prefix + layout.indexKey);
  const store: Store = { client: t.client, bucket: t.bucket };
  const previous = await readIndex(store, layout.indexKey, t.uri, signal);
  if (previous === undefined) return;
  await store.client.delete(store.bucket, layout.indexKey, { signal });
  await sweep(store, layout, generationOf(previous), new Set(), previous, false);
}

/**
 * After a commit of `generation` naming `keep` (or after removing a set): deletes the rank records of
 * generations up to it, this model's shards of those generations not in `keep` (listed, plus those the previous
 * index named), and (after a commit) the single file saved at the same name before. Best effort: a failed
 * delete leaves an unreferenced file, never a broken checkpoint.
 */
export async function sweep(
  store: Store,
  layout: ModelLayout,
  generation: number,
  keep: ReadonlySet<string>,
  previous: SafetensorsIndex | undefined,
  afterCommit = true,
): Promise<void> {
  const doomed = new Set<string>();
  /** Adds the keys under `prefix` whose name (the key after `dir`) `pick` accepts. */
  const sweepListed = async (prefix: string, dir: string, pick: (name: string) => boolean) => {
    try {
      for await (const o of store.client.list(store.bucket, { prefix })) {
        if (pick(o.key.slice(dir.length))) doomed.add(o.key);
      }
    } catch {
      // Listing is only how leftovers are found: the previous index's shards are still removed below.
    }
  };
  await Promise.all([
    sweepListed(layout.commitPrefix, layout.commitPrefix, (name) => {
      const g = rankRecordGeneration(name);
      return g !== undefined && g <= generation;
    }),
    sweepListed(`${layout.dir}${layout.base}-`, layout.dir, (name) => {
      const g = shardGeneration(layout.base, name);
      return g !== undefined && g <= generation && !keep.has(name);
    }),
  ]);
  for (const name of previous?.weightMap.values() ?? []) {
    if (!keep.has(name) && shardGeneration(layout.base, name) !== undefined) doomed.add(layout.dir + name);
  }
  if (afterCommit) doomed.add(layout.fileKey);
  const deletes = prefetch([...doomed], (key) => store.client.delete(store.bucket, key).catch(() => {}), {
    concurrency: DELETE_CONCURRENCY,
  });
  for await (const _ of deletes) { /* best effort */ }
}
