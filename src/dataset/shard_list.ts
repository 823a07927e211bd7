/**
 * Which tar shards a shard dataset reads: a list of URIs, a prefix URI (every `.tar` object under it), or a
 * brace pattern as WebDataset writes them (`oss://b/train/shard-{000000..000127}.tar`).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { parsePrefixUri, parseUri } from "../uri.ts";
import type { ObjectRef } from "./item.ts";
import type { DatasetClient } from "./sources.ts";

/**
 * Expands brace patterns as the shell and WebDataset's `braceexpand` do: `{000..003}` is a numeric range
 * (zero-padded to the width of its first bound), `{a,b}` a list; several braces multiply.
 *
 * @throws {ConfigError} naming the pattern when a range is malformed or runs backwards.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { expandBraces } from "./shard_list.ts";
 * expect(expandBraces("s-{08..10}.tar")).toEqual(["s-08.tar", "s-09.tar", "s-10.tar"]);
 * expect(expandBraces("{train,val}-{0..1}.tar")).toEqual(["train-0.tar", "train-1.tar", "val-0.tar", "val-1.tar"]);
 * ```
 */
export function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  const head = pattern.slice(0, m.index), tail = pattern.slice(m.index + m[0].length);
  const range = /^(\d+)\.\.(\d+)$/.exec(m[1]);
  let parts: string[];
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a) throw new ConfigError(`shard pattern ${pattern}: the range {${m[1]}} runs backwards`);
    const width = range[1].length;
    parts = Array.from({ length: b - a + 1 }, (_, i) => String(a + i).padStart(width, "0"));
  } else if (m[1].includes(",")) parts = m[1].split(",");
  else {
    throw new ConfigError(
      `shard pattern ${pattern}: {${m[1]}} is neither a range {000..127} nor a list {a,b}`,
    );
  }
  return parts.flatMap((p) => expandBraces(head + p + tail));
}

/**
 * What `fromShards` accepts: URIs of tar shards, a prefix URI ending in `/` (its `.tar` objects, in key order),
 * or one URI with brace patterns.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { ShardSpec } from "./shard_list.ts";
 * const spec: ShardSpec = "oss://b/train/shard-{000000..000127}.tar";
 * expect(typeof spec).toEqual("string");
 * ```
 */
export type ShardSpec = string | Iterable<string>;

/**
 * Resolves a {@linkcode ShardSpec} into shard references (listing a prefix).
 *
 * @throws {ConfigError} when the spec names no shard, or an entry is not an `oss://`/`s3://` URI.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveShards } from "./shard_list.ts";
 * const client = { list: () => ReadableStream.from([]), get: () => Promise.reject(new Error("unused")) };
 * const refs = await resolveShards("oss://b01/s-{0..2}.tar", client);
 * expect(refs.map((r) => r.key)).toEqual(["s-0.tar", "s-1.tar", "s-2.tar"]);
 * ```
 */
export async function resolveShards(
  spec: ShardSpec,
  client: DatasetClient,
  signal?: AbortSignal,
): Promise<ObjectRef[]> {
  if (typeof spec === "string" && spec.endsWith("/")) {
    const u = parsePrefixUri(spec);
    const refs: ObjectRef[] = [];
    for await (const o of client.list(u.bucket, { prefix: u.key, signal })) {
      if (!o.key.endsWith(".tar")) continue;
      refs.push({ scheme: u.scheme, bucket: u.bucket, key: o.key, size: o.size, etag: o.etag, label: "" });
    }
    if (refs.length === 0) throw new ConfigError(`fromShards: no .tar object under ${spec}`);
    return refs;
  }
  if (typeof spec !== "string" && (spec === null || typeof spec !== "object" || !(Symbol.iterator in spec))) {
    throw new TypeError(`fromShards: expected a URI, a prefix URI, a brace pattern or a list of URIs`);
  }
  const uris = typeof spec === "string" ? expandBraces(spec) : [...spec];
  if (uris.length === 0) throw new ConfigError("fromShards: the list of shards is empty");
  return uris.map((s) => {
    const u = parseUri(s);
    return { scheme: u.scheme, bucket: u.bucket, key: u.key, label: "" };
  });
}
