/**
 * Listing over a bucket's key index: prefix, delimiter grouping, start-after and page size, in UTF-8
 * key order. The sorted key array is maintained incrementally while small and rebuilt lazily when large.
 *
 * @module
 */
import { compareKeys, type ListOptions, type ListResult, type ObjectMeta } from "./types.ts";

/** The part of a bucket record listing needs. */
export interface KeyIndex {
  objects: Map<string, { meta: ObjectMeta }>;
  sorted?: string[];
}

/** Above this size an out-of-order insert invalidates the sorted array instead of splicing into it. */
const SPLICE_LIMIT = 50_000;

/**
 * Sorts keys in UTF-8 byte order.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { sortKeys } from "./list.ts";
 * expect(sortKeys(["b", "a/", "a"])).toEqual(["a", "a/", "b"]);
 * ```
 */
export function sortKeys(keys: string[]): string[] {
  return keys.sort(compareKeys);
}

/** First index in `keys` whose key does not satisfy `before` (which must hold for a prefix of `keys`). */
function partition(keys: string[], lo: number, before: (key: string) => boolean): number {
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(keys[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Records a new key in the sorted index.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { insertSorted } from "./list.ts";
 * const index = { objects: new Map(), sorted: ["a", "c"] };
 * insertSorted(index, "b");
 * expect(index.sorted).toEqual(["a", "b", "c"]);
 * ```
 */
export function insertSorted(index: KeyIndex, key: string): void {
  const keys = index.sorted;
  if (!keys) return;
  if (keys.length === 0 || compareKeys(keys[keys.length - 1], key) < 0) keys.push(key);
  else if (keys.length < SPLICE_LIMIT) {
    keys.splice(partition(keys, 0, (k) => compareKeys(k, key) < 0), 0, key);
  } else index.sorted = undefined;
}

/**
 * Removes a key from the sorted index.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { removeSorted } from "./list.ts";
 * const index = { objects: new Map(), sorted: ["a", "b"] };
 * removeSorted(index, "a");
 * expect(index.sorted).toEqual(["b"]);
 * ```
 */
export function removeSorted(index: KeyIndex, key: string): void {
  const keys = index.sorted;
  if (!keys) return;
  const i = partition(keys, 0, (k) => compareKeys(k, key) < 0);
  if (keys[i] === key) keys.splice(i, 1);
}

/**
 * One page of a listing: objects and common prefixes strictly after `startAfter`, in order, at most
 * `maxKeys` entries in all. A common prefix at or before `startAfter` is skipped whole, so a page
 * boundary after a common prefix never repeats it.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listSorted } from "./list.ts";
 * const meta = (key: string) => ({ meta: { key } as never });
 * const index = { objects: new Map([["a/1", meta("a/1")], ["b", meta("b")]]) };
 * const page = listSorted(index, { delimiter: "/", maxKeys: 10 });
 * expect([page.commonPrefixes, page.objects.length]).toEqual([["a/"], 1]);
 * ```
 */
export function listSorted(index: KeyIndex, opts: ListOptions): ListResult {
  const keys = index.sorted ??= sortKeys([...index.objects.keys()]);
  const prefix = opts.prefix ?? "";
  const after = opts.startAfter ?? "";
  const delimiter = opts.delimiter || undefined;
  const result: ListResult = { objects: [], commonPrefixes: [], isTruncated: false };
  let count = 0;
  let i = partition(
    keys,
    0,
    (k) => compareKeys(k, prefix) < 0 || (after !== "" && compareKeys(k, after) <= 0),
  );
  while (i < keys.length) {
    const key = keys[i];
    if (!key.startsWith(prefix)) break;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) {
      const cp = key.slice(0, cut + delimiter!.length);
      const end = partition(keys, i, (k) => k.startsWith(cp));
      if (after === "" || compareKeys(cp, after) > 0) {
        if (count === opts.maxKeys) {
          result.isTruncated = true;
          break;
        }
        result.commonPrefixes.push(cp);
        result.nextMarker = cp;
        count++;
      }
      i = end;
      continue;
    }
    if (count === opts.maxKeys) {
      result.isTruncated = true;
      break;
    }
    result.objects.push(index.objects.get(key)!.meta);
    result.nextMarker = key;
    count++;
    i++;
  }
  if (!result.isTruncated) result.nextMarker = undefined;
  return result;
}
