/**
 * `OssIterableDataset`: streams a prefix listing, a manifest or a list of URIs, deals it to this rank, shuffles
 * it (seeded), and prefetches the objects with bounded concurrency — the first item arrives before the listing
 * ends, and memory stays bounded however large the dataset.
 *
 * @module
 */
import type { AuditLog, Logger } from "../log.ts";
import { OssClient } from "../client.ts";
import { ConfigError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { createLoader, SKIP } from "./fetcher.ts";
import type { DataObject, ObjectRef } from "./item.ts";
import type { ManifestFormat, ManifestParser } from "./manifest.ts";
import { type DatasetOptions, resolveDatasetOptions, type ResolvedDatasetOptions } from "./options.ts";
import { dealList, dealStream } from "./shard.ts";
import { type SnapshotResult, writeSnapshot } from "./snapshot.ts";
import { epochSeed, hashSeed, shuffleBuffer } from "./shuffle.ts";
import { type CustomPass, type PassTrack, type ShardDatasetOptions, shardsPass } from "./shard_dataset.ts";
import type { ShardSpec } from "./shard_list.ts";
import type { ShardSample } from "./shard_samples.ts";
import { tarIndexSource, tarStreamPass } from "./tar_source.ts";
import {
  type DatasetSource,
  manifestArgs,
  type ManifestDatasetOptions,
  objectsSource,
  prefixSource,
} from "./sources.ts";
import { type UrlList, urlsSource } from "./url_source.ts";

/**
 * Options of one pass over a dataset.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type IterateOptions, OssIterableDataset } from "./iterable.ts";
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const opts = { endpoint: "http://127.0.0.1:9000", region: "cn-hangzhou", credentials };
 * const pass: IterateOptions = { epoch: 2, signal: AbortSignal.abort(new Error("stopped")) };
 * const items = OssIterableDataset.fromObjects("oss://b01/a.jpg", opts).iterate(pass);
 * expect(await items.next().catch((e: Error) => e.message)).toEqual("stopped");
 * ```
 */
export interface IterateOptions {
  /** The epoch, for seeded shuffles; default: the dataset's epoch ({@linkcode OssIterableDataset.setEpoch}). */
  epoch?: number;
  /** Stops this pass and every request in flight. */
  signal?: AbortSignal;
  /**
   * Continue a pass from a {@linkcode PassState} (from {@linkcode OssIterableDataset.state}, possibly of another
   * process): the items after the ones it counts, in the same order, nothing fetched for the ones before. Its
   * epoch is the pass's. A state of another source, seed, rank, world size or shard evening is refused.
   */
  resumeFrom?: PassState;
}

/**
 * Where a pass stands, small and JSON-serialisable: which pass (source, seed, epoch, rank, world size, shard
 * evening) and how many of its items were delivered (or skipped by `onTransformError: "skip"`). Items still in
 * flight count as not delivered. The order of a pass is a function of these, so `position` is all a resume
 * needs: the listing, deal and shuffle buffer are replayed without fetching.
 */
export interface PassState {
  /** The format of this value. */
  version: 1;
  /** The source kind and its description (the prefix URI, manifest location, …). */
  kind: string;
  /** The source's description; for a list of objects, URLs or shards with a digest of the list (`#1a2b3c4d`). */
  source: string;
  /** The shuffle seed, or null without shuffling. */
  seed: number | null;
  /** How items are ordered: `"none"`, `"global"`, or `"buffer N"` (a shuffle buffer of N). */
  order: string;
  /** The pass's epoch. */
  epoch: number;
  /** This process's rank. */
  rank: number;
  /** Ranks in all. */
  worldSize: number;
  /** How shards were evened out. */
  evenShards: string;
  /** Items of the pass delivered (or skipped) so far, in order. */
  position: number;
  /**
   * Shard and tar passes: where the pass stands in its own terms. For `fromShards`, a `ShardCursor`: the open
   * shards with the samples taken from each, the next shard, and with a shuffle the buffered samples (as
   * `[shard, sample]`) and the generator's state.
   */
  cursor?: unknown;
}

/**
 * Links signals into one controller; returns it and a function detaching the listeners.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { linkedController } from "./iterable.ts";
 * const outer = new AbortController();
 * const [ac, detach] = linkedController(outer.signal, undefined);
 * outer.abort("stop");
 * expect(ac.signal.reason).toEqual("stop");
 * detach();
 * ```
 */
export function linkedController(...signals: (AbortSignal | undefined)[]): [AbortController, () => void] {
  const ac = new AbortController();
  const detach: (() => void)[] = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      ac.abort(s.reason);
      break;
    }
    const on = () => ac.abort(s.reason);
    s.addEventListener("abort", on, { once: true });
    detach.push(() => s.removeEventListener("abort", on));
  }
  return [ac, () => detach.forEach((d) => d())];
}

/**
 * Writes out the audit and log records of a pass (a write error becomes a console warning: logging must not
 * fail a training loop).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { flushLogs } from "./iterable.ts";
 * import { Logger } from "../log.ts";
 * const path = await Deno.makeTempFile();
 * const logger = new Logger({ path });
 * logger.warn("listing was slow");
 * await flushLogs({ logger });
 * expect(await Deno.readTextFile(path)).toContain("listing was slow");
 * ```
 */
export async function flushLogs(o: { logger: Logger; audit?: AuditLog }): Promise<void> {
  try {
    await Promise.all([o.audit?.flush(), o.logger.flush()]);
  } catch (e) {
    console.warn(`ossflow: cannot write the log or audit file: ${(e as Error)?.message ?? e}`);
  }
}

/**
 * Tells the user once that a prefix matched nothing (a pass that yields no item is otherwise silent): through
 * the logger when it writes somewhere, else on the console.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { warnEmptyPrefix } from "./iterable.ts";
 * import { Logger } from "../log.ts";
 * const seen: string[] = [];
 * warnEmptyPrefix(new Logger({ sink: (r) => seen.push(r.msg) }), "oss://b01/nothing/");
 * expect(seen[0]).toEqual("oss://b01/nothing/ matched no objects: check the bucket and the prefix (a pass yields nothing)");
 * ```
 */
export function warnEmptyPrefix(logger: Logger, uri: string): void {
  const msg = `${uri} matched no objects: check the bucket and the prefix (a pass yields nothing)`;
  if (logger.hasDestination) logger.warn(msg, { source: uri });
  else console.warn(`ossflow: ${msg}`);
}

/**
 * A dataset read as a stream, for datasets too large to list up front or to hold in memory.
 *
 * Each pass (`for await`, or {@linkcode OssIterableDataset.iterate}) lists the source once, deals it to the
 * ranks as PyTorch's `DistributedSampler` does, and fetches this rank's objects `prefetchConcurrency` at a time
 * (in `prefetchWorker` Web Workers when asked):
 *
 * - without `shuffle`, rank `r` gets items `r, r + worldSize, …` of the listing as it streams;
 * - with `shuffle` (`mode: "global"`, the default), the whole listing is read first (references only), and each
 *   rank gets every `worldSize`-th item of a permutation of it drawn from `(seed, epoch)`;
 * - with `shuffle: { mode: "buffer" }`, each run of `worldSize` listed items is dealt in a seeded order and each
 *   rank mixes its items in a shuffle buffer (streaming, bounded memory, a local mix).
 *
 * In every case shard sizes are equal (`evenShards: "pad"`, the default, or `"drop"`) or differ by at most one
 * (`"none"`), the shards of one epoch together are the dataset, and with a shuffle the assignment of items to
 * ranks changes every epoch, reproducibly from `(seed, epoch)`. Call {@linkcode OssIterableDataset.setEpoch}
 * before each epoch (as with `DistributedSampler.set_epoch`) to get a new order.
 *
 * @example
 * ```ts ignore
 * import { OssIterableDataset } from "./iterable.ts";
 * const ds = OssIterableDataset.fromPrefix("oss://my-bucket/train/", {
 *   endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
 *   credPath: "/root/.alibabacloud/credentials",
 *   transform: async (item) => ({ key: item.key, n: (await item.bytes()).length }),
 *   shuffle: { seed: 42 },
 * });
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   ds.setEpoch(epoch);
 *   for await (const { key, n } of ds) console.log(key, n);
 * }
 * ```
 *
 * @example Against the local server
 * ```ts
 * import { expect } from "expect";
 * import { OssIterableDataset } from "./iterable.ts";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["demo"] });
 * const opts = { endpoint: server.url, region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "secret" } };
 * await new OssClient(opts).put("demo", "train/a.txt", "hello");
 * const items = [];
 * for await (const item of OssIterableDataset.fromPrefix("oss://demo/train/", opts)) {
 *   items.push([item.uri, await item.text()]);
 * }
 * expect(items).toEqual([["oss://demo/train/a.txt", "hello"]]);
 * await server.close();
 * ```
 */
export class OssIterableDataset<R = DataObject> implements AsyncIterable<R> {
  readonly #source: DatasetSource | CustomPass<R>;
  readonly #opts: DatasetOptions<R>;
  #resolved?: Promise<ResolvedDatasetOptions<R>>;
  #epoch = 0;
  #skipped = 0;
  #warnedEmpty = false;
  /** Where the latest pass stands. */
  #state?: PassState;
  #stateProblem?: string;
  /** The digest of a list source, with a space before it ("" for other sources), once computed. */
  #identity?: string;
  /** The track of the latest shard or tar pass (its position and cursor). */
  #track?: PassTrack;
  /** The references of a complete listing, with `cacheListing`. */
  #listing?: readonly ObjectRef[];

  private constructor(source: DatasetSource | CustomPass<R>, opts: DatasetOptions<R>) {
    this.#source = source;
    this.#opts = opts;
  }

  /** Every object under `uri` (`oss://bucket/prefix/`), in key order; a prefix matching nothing is warned of once. */
  static fromPrefix<R = DataObject>(uri: string, opts: DatasetOptions<R> = {}): OssIterableDataset<R> {
    return new OssIterableDataset(prefixSource(uri), opts);
  }

  /** The objects of a list of URIs (`oss://bucket/key`), in the given order. */
  static fromObjects<R = DataObject>(
    uris: string | Iterable<string>,
    opts: DatasetOptions<R> = {},
  ): OssIterableDataset<R> {
    return new OssIterableDataset(objectsSource(uris), opts);
  }

  /**
   * The objects listed in a manifest at `manifest` (`oss://…`, `http(s)://…` or a local path), read line by line
   * during each pass. Options: `parser` — a format name (`"jsonl"`, `"index"`, `"keylabel"`) or a function,
   * default detected from the first line — and `baseUri`, what relative paths resolve against, besides every
   * dataset option. The positional form `(manifest, parser?, baseUri?, opts?)` works too.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssIterableDataset } from "./iterable.ts";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["demo"] });
   * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
   * await client.put("demo", "img/a.png", "A");
   * await client.put("demo", "train.txt", "a.png:cat\n"); // the index format: path:label
   * const ds = OssIterableDataset.fromManifestFile("oss://demo/train.txt", {
   *   client,
   *   parser: "index",
   *   baseUri: "oss://demo/img/",
   * });
   * const got = [];
   * for await (const item of ds) got.push([item.key, item.label]);
   * expect(got).toEqual([["img/a.png", "cat"]]);
   * await server.close();
   * ```
   */
  static fromManifestFile<R = DataObject>(
    manifest: string,
    opts?: ManifestDatasetOptions<DatasetOptions<R>>,
  ): OssIterableDataset<R>;
  /** The positional form: `parser`, then `baseUri`, then the dataset options. */
  static fromManifestFile<R = DataObject>(
    manifest: string,
    parser?: ManifestParser | ManifestFormat,
    baseUri?: string,
    opts?: DatasetOptions<R>,
  ): OssIterableDataset<R>;
  static fromManifestFile<R = DataObject>(
    manifest: string,
    parserOrOpts?: ManifestParser | ManifestFormat | ManifestDatasetOptions<DatasetOptions<R>>,
    baseUri?: string,
    opts?: DatasetOptions<R>,
  ): OssIterableDataset<R> {
    const args = manifestArgs(manifest, parserOrOpts, baseUri, opts);
    return new OssIterableDataset(args.source, args.opts);
  }

  /**
   * The objects at a list of URLs — presigned (`client.presignUrl`, OSS4 or SigV4) or public `http(s)://` URLs —
   * fetched with plain `fetch`: no endpoint, no credentials, nothing secret besides the URLs themselves, so a
   * browser page can iterate them. `urls` is an array or iterable (read and checked at once) or an async
   * iterable (read during each pass; see `urlsSource`). An item's `key` is the URL's decoded path without the
   * leading slash — and without the bucket segment for path-style URLs (IP and `localhost` hosts, or
   * `pathStyle: true`), which becomes `bucket` — and its `uri` is the URL without its query. The query (the
   * signature) never appears in items, errors, logs or audit records. Everything else works as with the other
   * sources: transform, prefetch, workers, shuffle, shards, retries.
   *
   * @throws {ConfigError} naming the entry (never its query) when a URL is not an absolute http(s) URL.
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssIterableDataset } from "./iterable.ts";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
   * const server = await serveEmulator({ buckets: ["demo"], credentials: [credentials] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials });
   * await client.put("demo", "train/a.txt", "hello");
   * const urls = [await client.presignUrl("demo", "train/a.txt", { expires: 600 })];
   * // Elsewhere (a browser page, a worker): only the URLs are needed.
   * const items = [];
   * for await (const item of OssIterableDataset.fromUrls(urls, { prefetchConcurrency: 8 })) {
   *   items.push([item.key, await item.text()]);
   * }
   * expect(items).toEqual([["train/a.txt", "hello"]]);
   * await server.close();
   * ```
   */
  static fromUrls<R = DataObject>(urls: UrlList, opts: DatasetOptions<R> = {}): OssIterableDataset<R> {
    return new OssIterableDataset(urlsSource(urls, { pathStyle: opts?.pathStyle }), opts);
  }

  /**
   * Samples of tar shards as WebDataset writes them: `shards` is a list of URIs, a prefix URI (its `.tar`
   * objects) or a brace pattern (`oss://b/train/shard-{000000..000127}.tar`). Each shard is read with one GET
   * (resumed with a Range after a broken body, CRC-64 checked at its end) and parsed as it streams in, so the
   * first sample comes before the first shard is read; `prefetchShards` shards are read at once, within
   * `maxBytesInFlight` bytes of parsed samples. Members sharing a key (the path up to the first dot of the file
   * name) form one sample: `0001.jpg`, `0001.cls` → `{ key: "0001", members: { jpg, cls } }`, each member a
   * {@linkcode DataObject}. Shards are dealt to ranks like objects (disjoint, counts differing by at most one,
   * re-dealt per `(seed, epoch)`); see {@linkcode ShardDatasetOptions} for the rest. A truncated or corrupt shard
   * ends the pass with a `TarError` naming the shard and the byte.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssIterableDataset } from "./iterable.ts";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * import { packTar } from "modern-tar";
   * const server = await serveEmulator({ buckets: ["demo"] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
   * for (const s of [0, 1]) {
   *   const file = (name: string, body: string) => ({ header: { name, size: body.length }, body });
   *   await client.put("demo", `train/shard-${s}.tar`, await packTar([file(`${s}001.txt`, "hi"), file(`${s}001.cls`, `${s}`)]));
   * }
   * const ds = OssIterableDataset.fromShards("oss://demo/train/shard-{0..1}.tar", {
   *   client,
   *   transform: async (s) => [s.key, await s.members.txt.text(), await s.members.cls.text()],
   * });
   * expect(await Array.fromAsync(ds)).toEqual([["0001", "hi", "0"], ["1001", "hi", "1"]]);
   * await server.close();
   * ```
   */
  static fromShards<R = ShardSample>(
    shards: ShardSpec,
    opts: ShardDatasetOptions<R> = {},
  ): OssIterableDataset<R> {
    const pass = shardsPass(shards, opts);
    return new OssIterableDataset(pass, pass.options);
  }

  /**
   * The members of one tar archive, one {@linkcode DataObject} per regular file (key: the member's path), as
   * osstorchconnector's `from_tar`. With `indexUri` (see `buildTarIndex`), members are dealt, shuffled and
   * prefetched like objects, each fetched with a ranged GET pinned to the archive's ETag; without it, the
   * archive is streamed with one GET and each rank keeps its share of the members as they are parsed.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssIterableDataset } from "./iterable.ts";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * import { packTar } from "modern-tar";
   * const server = await serveEmulator({ buckets: ["demo"] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
   * await client.put("demo", "a.tar", await packTar([{ header: { name: "x/1.txt", size: 2 }, body: "hi" }]));
   * const got = await Array.fromAsync(OssIterableDataset.fromTar("oss://demo/a.tar", { client, transform: async (m) => [m.key, await m.text()] }));
   * expect(got).toEqual([["x/1.txt", "hi"]]);
   * await server.close();
   * ```
   */
  static fromTar<R = DataObject>(
    tarUri: string,
    indexUriOrOpts?: string | DatasetOptions<R>,
    opts: DatasetOptions<R> = {},
  ): OssIterableDataset<R> {
    if (typeof indexUriOrOpts === "string") {
      return new OssIterableDataset(tarIndexSource(tarUri, indexUriOrOpts), opts);
    }
    const o = indexUriOrOpts ?? opts;
    return new OssIterableDataset(tarStreamPass(tarUri, o), o);
  }

  /**
   * Where the latest pass of this dataset stands (see {@linkcode PassState}), to continue it later with
   * `iterate({ resumeFrom })`, in this process or another, for every source: prefix, manifest, objects, URLs,
   * tar archives and tar shards (mid-shard, with the shuffle buffer's samples). Throws before any pass, and for
   * unordered passes (`ordered: false`), whose order is the order of completion.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient, OssIterableDataset } from "../../mod.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["data"] });
   * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
   * for (let i = 0; i < 6; i++) await client.put("data", `train/${i}.bin`, `${i}`);
   * const ds = OssIterableDataset.fromPrefix("oss://data/train/", { client, shuffle: { seed: 7 } });
   * const before: string[] = [];
   * for await (const item of ds) if (before.push(item.key) === 2) break;
   * const saved = JSON.stringify(ds.state());
   * const after = await Array.fromAsync(ds.iterate({ resumeFrom: JSON.parse(saved) }), (o) => o.key);
   * const whole = await Array.fromAsync(ds, (o) => o.key);
   * expect([...before, ...after]).toEqual(whole);
   * await server.close();
   * ```
   */
  state(): PassState {
    if (this.#stateProblem !== undefined) throw new ConfigError(`state: ${this.#stateProblem}`);
    if (this.#state === undefined) throw new ConfigError("state: no pass has started");
    const track = this.#track;
    if (track === undefined) return { ...this.#state };
    const cursor = track.cursor?.();
    return {
      ...this.#state,
      position: track.position,
      ...(cursor === undefined ? {} : { cursor: structuredClone(cursor) }),
    };
  }

  /** The state a pass starts from: `resumeFrom` once checked against this dataset, else position 0. */
  #passState(o: ResolvedDatasetOptions<R>, pass: IterateOptions, epoch: number): PassState {
    const fresh: PassState = {
      version: 1,
      kind: this.#source.kind,
      source: this.#source.description +
        (this.#identity ??= this.#source.identity ? ` #${this.#source.identity()}` : ""),
      seed: o.shuffle?.seed ?? null,
      order: o.shuffle === undefined
        ? "none"
        : o.shuffle.mode === "global" && !("run" in this.#source)
        ? "global"
        : `buffer ${o.shuffle.bufferSize}`,
      epoch,
      rank: o.shard.rank,
      worldSize: o.shard.worldSize,
      evenShards: String(o.evenShards),
      position: 0,
    };
    const from = pass.resumeFrom;
    if (from === undefined) return fresh;
    if (!o.ordered && !("run" in this.#source)) {
      throw new ConfigError("iterate: resumeFrom needs an ordered pass (ordered: false was set)");
    }
    if (from === null || typeof from !== "object" || from.version !== 1) {
      throw new ConfigError(
        `iterate: resumeFrom: expected a state from OssIterableDataset.state(), got ${JSON.stringify(from)}`,
      );
    }
    for (const field of ["kind", "source", "seed", "order", "rank", "worldSize", "evenShards"] as const) {
      if (from[field] !== fresh[field]) {
        throw new ConfigError(
          `iterate: resumeFrom is a state of another pass: its ${field} is ${JSON.stringify(from[field])}, ` +
            `this dataset's ${JSON.stringify(fresh[field])}`,
        );
      }
    }
    if (!Number.isSafeInteger(from.position) || from.position < 0) {
      throw new ConfigError(
        `iterate: resumeFrom.position: expected an integer >= 0, got ${JSON.stringify(from.position)}`,
      );
    }
    return { ...fresh, epoch: from.epoch, position: from.position, cursor: from.cursor };
  }

  /** The epoch used by passes that don't name one. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Items dropped so far by a failing transform with `onTransformError: "skip"` (shards: bad samples with `onSampleError: "skip"`). */
  get skipped(): number {
    return this.#skipped;
  }

  /** Sets the epoch of the next passes: seeded shuffles and seeded deals change with it. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`setEpoch: expected an integer >= 0, got ${epoch}`);
    }
    this.#epoch = epoch;
  }

  /**
   * Resolves the options now (config and credential files are read once), so that the first pass does not
   * wait for them; a bad option rejects here.
   */
  async ready(): Promise<void> {
    await this.#options();
  }

  #options(): Promise<ResolvedDatasetOptions<R>> {
    const byUrl = "kind" in this.#source && this.#source.kind === "urls";
    this.#resolved ??= resolveDatasetOptions(this.#opts, { byUrl });
    return this.#resolved;
  }

  /** The source's references: the cached listing, or a fresh one (kept when `cacheListing` and complete). */
  #sourceRefs(
    source: DatasetSource,
    o: ResolvedDatasetOptions<R>,
    signal: AbortSignal,
    onEmpty?: () => void,
  ): AsyncIterable<ObjectRef> | Iterable<ObjectRef> {
    if (this.#listing !== undefined) return this.#listing;
    const refs = source.refs(o.client, signal, o.listConcurrency, onEmpty);
    if (!this.#opts.cacheListing) return refs;
    const kept: ObjectRef[] = [];
    return (async function* (self: OssIterableDataset<R>) {
      for await (const ref of refs) {
        kept.push({ ...ref });
        yield ref;
      }
      self.#listing = kept;
    })(this);
  }

  /**
   * Writes this dataset's listing (every reference of its source, before dealing and shuffling) to `uri` as a
   * JSON-lines manifest with sizes and ETags, through the checkpoint writer (invisible until complete).
   * `fromManifestFile(uri)` reads it back without listing: the same references, so the same deals and shuffles.
   * Uses the cached listing when there is one.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient, OssIterableDataset } from "../../mod.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["data"] });
   * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
   * for (const k of ["train/a.bin", "train/b.bin"]) await client.put("data", k, k);
   * const listed = OssIterableDataset.fromPrefix("oss://data/train/", { client });
   * expect(await listed.snapshot("oss://data/lists/train.jsonl")).toEqual({ uri: "oss://data/lists/train.jsonl", objects: 2 });
   * const again = OssIterableDataset.fromManifestFile("oss://data/lists/train.jsonl", { client });
   * expect(await Array.fromAsync(again, (o) => o.key)).toEqual(["train/a.bin", "train/b.bin"]);
   * await server.close();
   * ```
   */
  async snapshot(uri: string, opts: { signal?: AbortSignal } = {}): Promise<SnapshotResult> {
    const o = await this.#options();
    if (!(o.client instanceof OssClient)) {
      throw new ConfigError(
        `snapshot: needs an OssClient to write ${uri}; a URL dataset's listing is its URL list`,
      );
    }
    if ("run" in this.#source) {
      throw new ConfigError(`snapshot: a shard or tar dataset has no object listing to write to ${uri}`);
    }
    const signal = opts.signal ?? new AbortController().signal;
    return await writeSnapshot(o.client, uri, this.#sourceRefs(this.#source, o, signal), signal);
  }

  /** One pass over the dataset. */
  [Symbol.asyncIterator](): AsyncIterator<R> {
    return this.iterate();
  }

  /** One pass over the dataset, with an explicit epoch or signal. */
  async *iterate(pass: IterateOptions = {}): AsyncGenerator<R, void, undefined> {
    const o = await this.#options();
    const epoch = pass.epoch ?? pass.resumeFrom?.epoch ?? this.#epoch;
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`iterate: epoch must be an integer >= 0, got ${epoch}`);
    }
    if (pass.resumeFrom !== undefined && pass.epoch !== undefined && pass.epoch !== pass.resumeFrom.epoch) {
      throw new ConfigError(
        `iterate: resumeFrom is a state of epoch ${pass.resumeFrom.epoch}, but epoch ${pass.epoch} was asked`,
      );
    }
    const [ac, detach] = linkedController(o.signal, pass.signal);
    if ("run" in this.#source) {
      this.#track = undefined;
      const state = this.#passState(o, pass, epoch);
      const track: PassTrack = {
        from: { position: state.position, cursor: state.cursor },
        position: state.position,
      };
      this.#state = state;
      this.#stateProblem = undefined;
      this.#track = track;
      try {
        yield* this.#source.run(o, epoch, ac.signal, () => this.#skipped++, track);
      } finally {
        if (!ac.signal.aborted) ac.abort(new DOMException("iteration stopped", "AbortError"));
        detach();
        await flushLogs(o);
      }
      return;
    }
    this.#track = undefined;
    let refs = this.#sourceRefs(this.#source, o, ac.signal, () => {
      if (this.#warnedEmpty) return;
      this.#warnedEmpty = true;
      warnEmptyPrefix(o.logger, this.#source.description);
    });
    const sh = o.shuffle;
    const deal = { ...o.shard, evenShards: o.evenShards, seed: sh?.seed, epoch };
    if (sh?.mode === "global") refs = dealList(refs, deal);
    else {
      if (deal.worldSize > 1) refs = dealStream(refs, deal); // one rank takes the stream as it is
      if (sh) {
        refs = shuffleBuffer(refs, {
          bufferSize: sh.bufferSize,
          seed: hashSeed(epochSeed(sh.seed, epoch), o.shard.rank),
        });
      }
    }
    const state = this.#passState(o, pass, epoch);
    if (state.position > 0) refs = skipFirst(refs, state.position);
    this.#state = state;
    this.#stateProblem = o.ordered
      ? undefined
      : "an unordered pass (ordered: false) delivers in completion order";
    const loader = await createLoader(o);
    const items = prefetch(refs, (ref, { signal }) => loader.load(ref, signal), {
      concurrency: o.concurrency,
      ordered: o.ordered,
      maxBytesInFlight: o.maxBytesInFlight,
      sizeOf: (ref) => ref.size ?? (loader.meanSize || o.maxBytesInFlight),
      signal: ac.signal,
    });
    try {
      for (let r = await items.next(); !r.done; r = await items.next()) {
        state.position++; // before the yield: the caller holds the item
        if (r.value !== SKIP) yield r.value as R;
      }
    } finally {
      // Abort first, so that a listing page still loading is cancelled rather than awaited.
      if (!ac.signal.aborted) ac.abort(new DOMException("iteration stopped", "AbortError"));
      await items.return();
      detach();
      loader.close();
      this.#skipped += loader.skipped;
      await flushLogs(o);
    }
  }
}

/** `refs` without its first `n` references (a resumed pass: none of them is fetched). */
async function* skipFirst(
  refs: AsyncIterable<ObjectRef> | Iterable<ObjectRef>,
  n: number,
): AsyncGenerator<ObjectRef> {
  let seen = 0;
  for await (const ref of refs) if (seen++ >= n) yield ref;
}
