/**
 * WebDataset samples: consecutive tar members that share a key — the member path up to the first dot of its file
 * name — form one sample, each member under its extension (`0001.jpg`, `0001.cls` → `{ key: "0001", members: {
 * jpg, cls } }`).
 *
 * @module
 */
import { OssflowError } from "../errors.ts";
import type { TarMember } from "../tar/reader.ts";
import { DataObject, type ObjectRef } from "./item.ts";

/**
 * One sample of a shard: its key, the shard's URI, and its members by extension, each a {@linkcode DataObject}
 * (bytes in memory: `bytes()`, `text()`, `json()`) whose `key` is the member's path in the shard.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DataObject } from "./item.ts";
 * import type { ShardSample } from "./shard_samples.ts";
 * const cls = new DataObject({ bucket: "b", key: "0001.cls", bytes: new TextEncoder().encode("7") });
 * const sample: ShardSample = { key: "0001", shard: "oss://b/s-0.tar", members: { cls } };
 * expect(await sample.members.cls.text()).toEqual("7");
 * ```
 */
export interface ShardSample {
  /** The sample's key: the member path up to the first dot of the file name (`train/0001`). */
  key: string;
  /** URI of the shard the sample came from. */
  shard: string;
  /** The members by extension (`jpg`, `cls`, `seg.png`, …). */
  members: Record<string, DataObject>;
}

/**
 * A sample that breaks WebDataset's rules: a member without an extension, or two members with one extension.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { SampleError } from "./shard_samples.ts";
 * const e = new SampleError("oss://b/s-0.tar", "0001", "two members 0001.jpg");
 * expect(e.message).toEqual("bad sample 0001 in oss://b/s-0.tar: two members 0001.jpg");
 * ```
 */
export class SampleError extends OssflowError {
  /** The shard's URI. */
  readonly shard: string;
  /** The sample's key. */
  readonly key: string;

  /** A bad sample `key` of `shard`. */
  constructor(shard: string, key: string, detail: string, options?: { cause?: unknown }) {
    super(`bad sample ${key} in ${shard}: ${detail}`, options);
    this.name = "SampleError";
    this.shard = shard;
    this.key = key;
  }
}

/**
 * Splits a member path into its sample key and extension by WebDataset's rule (the first dot of the file name);
 * undefined when the file name has no dot.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { memberKey } from "./shard_samples.ts";
 * expect(memberKey("train/a.b/0001.seg.png")).toEqual({ key: "train/a.b/0001", ext: "seg.png" });
 * expect(memberKey("README")).toEqual(undefined);
 * ```
 */
export function memberKey(path: string): { key: string; ext: string } | undefined {
  const slash = path.lastIndexOf("/");
  const dot = path.indexOf(".", slash + 1);
  if (dot <= slash + 1) return undefined; // no dot, or a dot file: no key
  return { key: path.slice(0, dot), ext: path.slice(dot + 1) };
}

/** A sample or a bad sample (with `onSampleError: "skip"` the caller logs and drops it). */
export type SampleResult = { sample: ShardSample } | { bad: SampleError };

/**
 * Groups a shard's members into samples (directories and links are not data and are passed over). A bad sample
 * is returned as `{ bad }` in its place, so the caller decides between throwing and skipping.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { groupSamples } from "./shard_samples.ts";
 * const m = (name: string) => ({ name, type: "file", headerOffset: 0, dataOffset: 0, size: 1, bytes: new Uint8Array(1) });
 * const out = await Array.fromAsync(groupSamples([m("1.jpg"), m("1.cls"), m("2.jpg")], { bucket: "b", key: "s.tar" }));
 * expect(out.map((r) => "sample" in r ? [r.sample.key, Object.keys(r.sample.members)] : r.bad.message)).toEqual([["1", ["jpg", "cls"]], ["2", ["jpg"]]]);
 * ```
 */
export async function* groupSamples(
  members: AsyncIterable<TarMember> | Iterable<TarMember>,
  shard: ObjectRef,
): AsyncGenerator<SampleResult, void, undefined> {
  const shardUri = `${shard.scheme ?? "oss"}://${shard.bucket}/${shard.key}`;
  let current: ShardSample | undefined;
  let bad: SampleError | undefined;
  const flush = (): SampleResult | undefined => {
    const r = bad ? { bad } : current ? { sample: current } : undefined;
    current = undefined;
    bad = undefined;
    return r;
  };
  for await (const m of members) {
    if (m.type !== "file") continue;
    const split = memberKey(m.name);
    const key = split?.key ?? m.name;
    if (current?.key !== key || split === undefined) {
      const done = flush();
      if (done) yield done;
      current = { key, shard: shardUri, members: {} };
    }
    if (split === undefined) {
      bad = new SampleError(shardUri, key, `member ${JSON.stringify(m.name)} has no extension (no dot)`);
      continue;
    }
    if (split.ext in current!.members) {
      bad ??= new SampleError(shardUri, key, `two members named ${JSON.stringify(m.name)}`);
      continue;
    }
    current!.members[split.ext] = new DataObject({
      scheme: shard.scheme,
      bucket: shard.bucket,
      key: m.name,
      uri: `${shardUri}#${m.name}`,
      etag: shard.etag,
      bytes: m.bytes ?? new Uint8Array(0),
    });
  }
  const last = flush();
  if (last) yield last;
}
