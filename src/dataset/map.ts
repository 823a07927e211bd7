/**
 * `OssMapDataset`: a dataset listed once up front, for random access by index — `length`, `get(i)`,
 * `getMany(indices)` — and passes in index order or in a seeded permutation per epoch.
 *
 * @module
 */
import { OssClient } from "../client.ts";
import { ConfigError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { createLoader, type Loader, SKIP } from "./fetcher.ts";
import type { DataObject, ObjectRef } from "./item.ts";
import { flushLogs, type IterateOptions, linkedController, warnEmptyPrefix } from "./iterable.ts";
import type { ManifestFormat, ManifestParser } from "./manifest.ts";
import { type DatasetOptions, resolveDatasetOptions, type ResolvedDatasetOptions } from "./options.ts";
import { type EvenShards, shardIndices } from "./shard.ts";
import { epochSeed, permutation } from "./shuffle.ts";
import { type SnapshotResult, writeSnapshot } from "./snapshot.ts";
import {
  type DatasetSource,
  manifestArgs,
  type ManifestDatasetOptions,
  objectsSource,
  prefixSource,
} from "./sources.ts";
import { type UrlList, urlsSource } from "./url_source.ts";
import { tarIndexSource } from "./tar_source.ts";

/**
 * A map-style dataset: the source is listed once when the dataset is created, then any item can be fetched by
 * index. With `rank`/`worldSize` the dataset is that rank's shard (indices `rank, rank + worldSize, …` of the
 * listing, of equal sizes by default: see `evenShards`); {@linkcode OssMapDataset.shard} makes the shards of
 * all ranks from one listing. Such a shard is fixed, so that an index always names the same object. For
 * PyTorch's `DistributedSampler` semantics — a new assignment of items to ranks every epoch — create the dataset
 * without `rank` and let `distributedIndices` pick each rank's indices per epoch:
 * `ds.getMany(distributedIndices(ds.length, { rank, worldSize, seed, epoch }))`.
 *
 * Passes (`for await`, {@linkcode OssMapDataset.iterate}) visit the items in index order, or — with `shuffle` — in
 * the permutation drawn from `(seed, epoch)`; {@linkcode OssMapDataset.indices} tells that order. `get` and
 * `getMany` fetch inline; passes and `getMany` use the prefetch workers when `prefetchWorker` > 0. A failing
 * transform always throws from `get`/`getMany`; `onTransformError: "skip"` applies to passes.
 *
 * @example
 * ```ts ignore
 * import { OssMapDataset } from "./map.ts";
 * const ds = await OssMapDataset.fromPrefix("oss://my-bucket/train/", {
 *   endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
 *   credPath: "/root/.alibabacloud/credentials",
 *   shuffle: { seed: 1 },
 * });
 * console.log(ds.length, (await ds.get(0)).key);
 * const batch = await ds.getMany([3, 1, 4, 1, 5]);
 * for await (const item of ds.iterate({ epoch: 2 })) console.log(item.key);
 * ```
 *
 * @example Against the local server
 * ```ts
 * import { expect } from "expect";
 * import { OssMapDataset } from "./map.ts";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["demo"] });
 * const opts = { endpoint: server.url, region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "secret" } };
 * const client = new OssClient(opts);
 * for (const k of ["a", "b", "c"]) await client.put("demo", `train/${k}.txt`, k.repeat(3));
 * const ds = await OssMapDataset.fromPrefix("oss://demo/train/", { ...opts, shuffle: { seed: 7 } });
 * expect([ds.length, await (await ds.get(1)).text()]).toEqual([3, "bbb"]);
 * expect(Array.from(ds.indices(0)).sort()).toEqual([0, 1, 2]); // the order of epoch 0, seeded
 * await server.close();
 * ```
 */
export class OssMapDataset<R = DataObject> implements AsyncIterable<R> {
  readonly #refs: readonly ObjectRef[];
  /** Every reference of the source, before dealing to ranks: what a snapshot writes. */
  readonly #all: readonly ObjectRef[];
  readonly #o: ResolvedDatasetOptions<R>;
  #inline?: Promise<Loader<R>>;
  #epoch = 0;
  #skipped = 0;

  private constructor(refs: readonly ObjectRef[], all: readonly ObjectRef[], o: ResolvedDatasetOptions<R>) {
    this.#refs = refs;
    this.#all = all;
    this.#o = o;
  }

  static async #create<R>(source: DatasetSource, opts: DatasetOptions<R>): Promise<OssMapDataset<R>> {
    const o = await resolveDatasetOptions(opts, { byUrl: source.kind === "urls" });
    const all: ObjectRef[] = [];
    for await (const ref of source.refs(o.client, o.signal, o.listConcurrency)) all.push(ref);
    if (all.length === 0 && source.kind === "prefix") warnEmptyPrefix(o.logger, source.description);
    const { rank, worldSize } = o.shard;
    const refs = worldSize === 1
      ? all
      : Array.from(shardIndices(all.length, rank, worldSize, o.evenShards), (i) => all[i]);
    o.logger.info("map dataset listed", {
      source: source.description,
      objects: all.length,
      shard: refs.length,
    });
    return new OssMapDataset(refs, all, o);
  }

  /**
   * Writes the listing this dataset was built from (every reference, before dealing to ranks) to `uri` as a
   * JSON-lines manifest with sizes and ETags; `OssMapDataset.fromManifestFile(uri)` opens from it without
   * listing, its `length` known once the manifest is read.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient, OssMapDataset } from "../../mod.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["data"] });
   * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
   * for (const k of ["train/a.bin", "train/b.bin", "train/c.bin"]) await client.put("data", k, k);
   * const listed = await OssMapDataset.fromPrefix("oss://data/train/", { client, rank: 1, worldSize: 2 });
   * expect((await listed.snapshot("oss://data/lists/train.jsonl")).objects).toEqual(3); // every rank's objects
   * const opened = await OssMapDataset.fromManifestFile("oss://data/lists/train.jsonl", { client });
   * expect([opened.length, opened.ref(2).key, opened.ref(2).size]).toEqual([3, "train/c.bin", 11]);
   * await server.close();
   * ```
   */
  async snapshot(uri: string, opts: { signal?: AbortSignal } = {}): Promise<SnapshotResult> {
    if (!(this.#o.client instanceof OssClient)) {
      throw new ConfigError(
        `snapshot: needs an OssClient to write ${uri}; a URL dataset's listing is its URL list`,
      );
    }
    return await writeSnapshot(this.#o.client, uri, this.#all, opts.signal);
  }

  /** Lists every object under `uri` (`oss://bucket/prefix/`), in key order. */
  static fromPrefix<R = DataObject>(uri: string, opts: DatasetOptions<R> = {}): Promise<OssMapDataset<R>> {
    return OssMapDataset.#create(prefixSource(uri), opts);
  }

  /** The objects of a list of URIs, in the given order. */
  static fromObjects<R = DataObject>(
    uris: string | Iterable<string>,
    opts: DatasetOptions<R> = {},
  ): Promise<OssMapDataset<R>> {
    return OssMapDataset.#create(objectsSource(uris), opts);
  }

  /**
   * The members of one tar archive by index (osstorchconnector's `OssMapDataset.from_tar`): the index at
   * `indexUri` (see `buildTarIndex`; default beside the archive, `.idx` appended) is read once, and `get(i)`
   * fetches member `i` with one ranged GET pinned to the archive's ETag (`If-Match`) and checks its length; a
   * replaced archive fails with an `IntegrityError` instead of returning other bytes. Items are
   * {@linkcode DataObject}s whose key is the member's path.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssMapDataset } from "./map.ts";
   * import { writeTar } from "./tar_write.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["demo"] });
   * const opts = { endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } };
   * await writeTar("oss://demo/a.tar", [{ name: "1.txt", data: "one" }, { name: "2.txt", data: "two" }], opts);
   * const ds = await OssMapDataset.fromTar("oss://demo/a.tar", "oss://demo/a.tar.idx", opts);
   * expect([ds.length, (await ds.get(1)).key, await (await ds.get(1)).text()]).toEqual([2, "2.txt", "two"]);
   * await server.close();
   * ```
   */
  static fromTar<R = DataObject>(
    tarUri: string,
    indexUri?: string,
    opts: DatasetOptions<R> = {},
  ): Promise<OssMapDataset<R>> {
    return OssMapDataset.#create(tarIndexSource(tarUri, indexUri), opts);
  }

  /**
   * Reads a manifest (`oss://…`, `http(s)://…` or a local path) whole; options `parser` and `baseUri` as in
   * `OssIterableDataset.fromManifestFile`, whose positional form works here too.
   */
  static fromManifestFile<R = DataObject>(
    manifest: string,
    opts?: ManifestDatasetOptions<DatasetOptions<R>>,
  ): Promise<OssMapDataset<R>>;
  /** The positional form: `parser`, then `baseUri`, then the dataset options. */
  static fromManifestFile<R = DataObject>(
    manifest: string,
    parser?: ManifestParser | ManifestFormat,
    baseUri?: string,
    opts?: DatasetOptions<R>,
  ): Promise<OssMapDataset<R>>;
  static async fromManifestFile<R = DataObject>(
    manifest: string,
    parserOrOpts?: ManifestParser | ManifestFormat | ManifestDatasetOptions<DatasetOptions<R>>,
    baseUri?: string,
    opts?: DatasetOptions<R>,
  ): Promise<OssMapDataset<R>> {
    const args = manifestArgs(manifest, parserOrOpts, baseUri, opts);
    return await OssMapDataset.#create(args.source, args.opts);
  }

  /**
   * The objects at a list of URLs (presigned or public `http(s)://`), fetched with plain `fetch` and no
   * credentials; `urls` may be an async iterable, read whole here. Keys, `uri` and the handling of the URLs'
   * queries (never shown) are those of {@linkcode OssIterableDataset.fromUrls}. `ref(i)` returns the reference
   * whose `url` (not enumerable) is the URL itself.
   *
   * @throws {ConfigError} naming the entry (never its query) when a URL is not an absolute http(s) URL.
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssMapDataset } from "./map.ts";
   * import { OssClient } from "../client.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
   * const server = await serveEmulator({ buckets: ["demo"], credentials: [credentials] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials, signatureVersion: "s3v4" });
   * for (const k of ["a", "b"]) await client.put("demo", `${k}.txt`, k.repeat(3));
   * const urls = await Promise.all(["a", "b"].map((k) => client.presignUrl("demo", `${k}.txt`, { expires: 600 })));
   * const ds = await OssMapDataset.fromUrls(urls);
   * expect([ds.length, (await ds.get(1)).uri]).toEqual([2, `${server.url}/demo/b.txt`]); // the query is never shown
   * await server.close();
   * ```
   */
  static async fromUrls<R = DataObject>(
    urls: UrlList,
    opts: DatasetOptions<R> = {},
  ): Promise<OssMapDataset<R>> {
    return await OssMapDataset.#create(urlsSource(urls, { pathStyle: opts?.pathStyle }), opts);
  }

  /** Number of items (of this shard). */
  get length(): number {
    return this.#refs.length;
  }

  /** The epoch used by passes that don't name one. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Items dropped so far by a failing transform during passes (`onTransformError: "skip"`). */
  get skipped(): number {
    return this.#skipped;
  }

  /** Sets the epoch of the next passes. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`setEpoch: expected an integer >= 0, got ${epoch}`);
    }
    this.#epoch = epoch;
  }

  /** The reference at index `i` (no request). */
  ref(i: number): ObjectRef {
    this.#check("ref", i);
    return this.#refs[i];
  }

  /**
   * The shard of `rank` among `worldSize` (indices `rank, rank + worldSize, …`, evened out by `evenShards`,
   * default the dataset's), sharing this dataset's listing (no new request).
   */
  shard(rank: number, worldSize: number, evenShards: EvenShards = this.#o.evenShards): OssMapDataset<R> {
    const refs = Array.from(
      shardIndices(this.#refs.length, rank, worldSize, evenShards),
      (i) => this.#refs[i],
    );
    return new OssMapDataset(refs, this.#all, { ...this.#o, shard: { rank, worldSize }, evenShards });
  }

  /** The index order of a pass in `epoch`: `0 … length-1`, or the seeded permutation when shuffling. */
  indices(epoch: number = this.#epoch): Uint32Array {
    const sh = this.#o.shuffle;
    if (!sh) return Uint32Array.from({ length: this.#refs.length }, (_, i) => i);
    return permutation(this.#refs.length, epochSeed(sh.seed, epoch));
  }

  #check(what: string, i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.#refs.length) {
      throw new RangeError(`${what}: index must be an integer in [0, ${this.#refs.length}), got ${i}`);
    }
  }

  async #loadOne(loader: Loader<R>, i: number, signal: AbortSignal): Promise<R> {
    const v = await loader.load(this.#refs[i], signal);
    if (v === SKIP) throw new Error("unreachable: get() never skips");
    return v;
  }

  /** Fetches (and transforms) item `i`. */
  async get(i: number, opts: { signal?: AbortSignal } = {}): Promise<R> {
    this.#check("get", i);
    this.#inline ??= createLoader({ ...this.#o, onTransformError: "throw" }, { workers: 0 });
    const [ac, detach] = linkedController(this.#o.signal, opts.signal);
    try {
      return await this.#loadOne(await this.#inline, i, ac.signal);
    } finally {
      detach();
    }
  }

  /** Fetches a batch concurrently (up to `prefetchConcurrency` at once); results in the order of `indices`. */
  async getMany(indices: Iterable<number>, opts: { signal?: AbortSignal } = {}): Promise<R[]> {
    const list = [...indices];
    list.forEach((i) => this.#check("getMany", i));
    const loader = await createLoader({ ...this.#o, onTransformError: "throw" });
    const [ac, detach] = linkedController(this.#o.signal, opts.signal);
    try {
      const items = prefetch(list, (i, { signal }) => this.#loadOne(loader, i, signal), {
        concurrency: this.#o.concurrency,
        maxBytesInFlight: this.#o.maxBytesInFlight,
        sizeOf: (i) => this.#refs[i].size ?? (loader.meanSize || this.#o.maxBytesInFlight),
        signal: ac.signal,
      });
      const out: R[] = []; // not Array.fromAsync: Node.js 20 lacks it
      for await (const item of items) out.push(item);
      return out;
    } finally {
      detach();
      loader.close();
    }
  }

  /** One pass in index order (or the epoch's permutation). */
  [Symbol.asyncIterator](): AsyncIterator<R> {
    return this.iterate();
  }

  /** One pass, with an explicit epoch or signal. */
  async *iterate(pass: IterateOptions = {}): AsyncGenerator<R, void, undefined> {
    const order = this.indices(pass.epoch ?? this.#epoch);
    const loader = await createLoader(this.#o);
    const [ac, detach] = linkedController(this.#o.signal, pass.signal);
    const items = prefetch(order, (i, { signal }) => loader.load(this.#refs[i], signal), {
      concurrency: this.#o.concurrency,
      ordered: this.#o.ordered,
      maxBytesInFlight: this.#o.maxBytesInFlight,
      sizeOf: (i) => this.#refs[i].size ?? (loader.meanSize || this.#o.maxBytesInFlight),
      signal: ac.signal,
    });
    try {
      for (let r = await items.next(); !r.done; r = await items.next()) {
        if (r.value !== SKIP) yield r.value as R;
      }
    } finally {
      if (!ac.signal.aborted) ac.abort(new DOMException("iteration stopped", "AbortError"));
      await items.return();
      detach();
      loader.close();
      this.#skipped += loader.skipped;
      await flushLogs(this.#o);
    }
  }
}
