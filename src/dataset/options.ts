/**
 * Dataset options and their resolution: endpoint, credentials (`credentials` | `credPath` | the environment),
 * configuration (`config` | `configPath`, whose `datasetConfig` supplies defaults — explicit options win),
 * logging and the audit log.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import type { RetryOptions } from "../retry.ts";
import type { OssflowConfig } from "../config.ts";
import type { Credentials, CredentialsProvider } from "../credentials.ts";
import type { Endpoint } from "../endpoint.ts";
import { ConfigError } from "../errors.ts";
import type { AuditLog, AuditRecord, Logger } from "../log.ts";
import {
  accessClient,
  accessCredentials,
  accessEndpoint,
  checkAccessOptions,
  resolveAccess,
} from "../access.ts";
import type { RequestSigner, SignedRequest, WorkerRetry } from "./fetcher.ts";
import type { DataObject, ObjectRef } from "./item.ts";
import { type EvenShards, resolveEvenShards, resolveShard, type Shard } from "./shard.ts";
import type { ShuffleOptions } from "./shuffle.ts";
import type { DatasetClient } from "./sources.ts";
import { UrlFetchClient } from "./url_client.ts";

/**
 * A transform: receives the item with its bytes prefetched, may be async; its result is what iteration yields.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DataObject } from "./item.ts";
 * import type { ItemTransform } from "./options.ts";
 * const toLength: ItemTransform<number> = async (item) => (await item.bytes()).length;
 * expect(await toLength(new DataObject({ bucket: "b", key: "k", bytes: new Uint8Array(3) }))).toEqual(3);
 * ```
 */
export type ItemTransform<R> = (item: DataObject) => R | Promise<R>;

/**
 * Options shared by {@linkcode OssIterableDataset} and {@linkcode OssMapDataset}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type DatasetOptions, resolveDatasetOptions } from "./options.ts";
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const opts: DatasetOptions<string> = { endpoint: "http://127.0.0.1:9000", region: "cn-hangzhou", credentials };
 * const resolved = await resolveDatasetOptions({ ...opts, transform: (item) => item.key, rank: 1, worldSize: 4 });
 * expect([resolved.shard, resolved.concurrency]).toEqual([{ rank: 1, worldSize: 4 }, 24]);
 * ```
 */
export interface DatasetOptions<R = DataObject> {
  /**
   * `https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`, …; required unless `client` is given or the
   * dataset is made from URLs (`fromUrls`, which needs neither endpoint nor credentials).
   */
  endpoint?: string | Endpoint;
  /** Signing region; default: the endpoint's, else for local and custom hosts a default (see `defaultRegion`). */
  region?: string;
  /** Credentials or a provider. Default: `credPath`, else the environment then `~/.alibabacloud/credentials`. */
  credentials?: Credentials | CredentialsProvider;
  /** A JSON credential file (`AccessKeyId`, `AccessKeySecret`, optional `SecurityToken`, `Expiration`). */
  credPath?: string;
  /** A parsed or raw `config.json` object. */
  config?: OssflowConfig | Record<string, unknown>;
  /** Path of a `config.json`. */
  configPath?: string;
  /** An existing client; `endpoint`, `region`, `credentials`, `signatureVersion` are then ignored. */
  client?: OssClient;
  /** `"oss4"` (default) or `"s3v4"` for S3-compatible stores. */
  signatureVersion?: "oss4" | "s3v4";
  /**
   * Force path-style URLs. For `fromUrls`: whether a URL's first path segment is the bucket rather than part of
   * the key (default: only for IP and `localhost` hosts).
   */
  pathStyle?: boolean;
  /** Retry policy of the client. */
  retry?: RetryOptions;
  /**
   * Applied to each prefetched item. A function runs in the main thread; a module URL (string or URL) whose
   * default export is the transform runs inside the prefetch workers (and is imported inline without them).
   */
  transform?: ItemTransform<R> | string | URL;
  /** `"throw"` (default): a failing transform ends iteration with a TransformError naming the key. `"skip"`: the item is dropped and counted. */
  onTransformError?: "throw" | "skip";
  /** This process's rank (default 0). */
  rank?: number;
  /** Number of ranks (default 1). */
  worldSize?: number;
  /**
   * Shard sizes when the dataset's size is not a multiple of `worldSize`: `"pad"` (default, as PyTorch's
   * `DistributedSampler`) gives every rank `ceil(n / worldSize)` items, repeating a few from the start of the
   * epoch's order; `"drop"` gives every rank `floor(n / worldSize)`, leaving the last few out; `"none"` deals
   * every item exactly once and sizes differ by at most one. Equal sizes are the default because every rank of
   * a distributed training job must run the same number of steps (an extra step on one rank hangs the others at
   * its collective); use `"none"` to process each object exactly once.
   */
  evenShards?: EvenShards;
  /** Seeded shuffling: `true`, or options (seed, mode, buffer size). Default off. */
  shuffle?: boolean | ShuffleOptions;
  /** Shorthand for `shuffle.seed`. */
  seed?: number;
  /** Requests in flight. Default: `datasetConfig.prefetchConcurrency` (24). */
  prefetchConcurrency?: number;
  /**
   * List a prefix as several key ranges at once (`listFast` of `./client`), in the same order. Default:
   * `datasetConfig.enableFastList` (false). Needs an `OssClient` (not a URL list).
   */
  enableFastList?: boolean;
  /**
   * Iterable datasets: keep the references of the first complete pass and reuse them in later passes instead of
   * listing (or reading the manifest) again; deals and shuffles are the same as from a fresh listing. The
   * references stay in memory (about 200 bytes each). Default false.
   */
  cacheListing?: boolean;
  /** Listing requests in flight with `enableFastList`. Default: `datasetConfig.listConcurrency` (16). */
  listConcurrency?: number;
  /**
   * Web Workers that fetch (and run a module transform). Default: `datasetConfig.prefetchWorker` when a config
   * is given, else 0 (inline). Falls back to inline where `Worker` does not exist.
   */
  prefetchWorker?: number;
  /**
   * The prefetch worker module. Default: `workers/prefetch_worker` beside the library, which serves Deno, Bun,
   * browsers loading the modules, and bundlers that follow `new Worker(new URL(..., import.meta.url))` (Vite,
   * webpack 5, Parcel). After esbuild or `deno bundle`, which do not, bundle the worker as an entry of its own
   * and give its URL here.
   */
  prefetchWorkerUrl?: string | URL;
  /** Bytes of prefetched objects held at once (see `prefetch`). Default 256 MiB. */
  maxBytesInFlight?: number;
  /** Yield in order (default) or as objects arrive. */
  ordered?: boolean;
  /** Stops iteration and every request in flight. */
  signal?: AbortSignal;
  /** Receives slow-request audit records (besides `auditPath` from the config). */
  auditSink?: (record: AuditRecord) => void;
  /** Requests slower than this many milliseconds are audited (`auditPath`, `auditSink`). Default 100; 0: all. */
  auditThresholdMs?: number;
  /** A logger; default from the config's `logLevel`/`logPath`. */
  logger?: Logger;
}

/** Options after resolution. */
export interface ResolvedDatasetOptions<R> {
  /** Listing requests in flight for a prefix: 1 unless fast listing is on. */
  listConcurrency: number;
  client: OssClient | DatasetClient;
  concurrency: number;
  workers: number;
  maxBytesInFlight: number;
  ordered: boolean;
  shard: Shard;
  evenShards: EvenShards;
  shuffle?: Required<ShuffleOptions>;
  transform?: ItemTransform<R>;
  transformUrl?: string;
  /** The prefetch worker module; undefined: the one beside the library. */
  workerUrl?: string;
  onTransformError: "throw" | "skip";
  signal?: AbortSignal;
  logger: Logger;
  audit?: AuditLog;
  /** Retry policy of prefetch workers (from `retry`). */
  retry: WorkerRetry;
  /** Signs GETs for prefetch workers; undefined when the client cannot sign for others (workers then fall back to inline). */
  signer?: RequestSigner;
}

/**
 * Signs GETs for prefetch workers with the client's `signRequest` (`OssClient` has one; a custom client may);
 * undefined when the client has none.
 */
function makeSigner(client: unknown): RequestSigner | undefined {
  const c = client as {
    signRequest?: (spec: { method: "GET"; bucket: string; key: string }) => Promise<SignedRequest>;
  };
  if (typeof c?.signRequest !== "function") return undefined;
  return (ref: ObjectRef) => c.signRequest!({ method: "GET", bucket: ref.bucket, key: ref.key });
}

function positive(name: string, v: unknown, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`dataset option ${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Whether fast listing is on: the option, else the config's `enableFastList`. */
function fastList(
  opts: { enableFastList?: unknown },
  dc: OssflowConfig["datasetConfig"] | undefined,
): boolean {
  const v = opts.enableFastList;
  if (v !== undefined && typeof v !== "boolean") {
    throw new ConfigError(`dataset option enableFastList: expected true or false, got ${JSON.stringify(v)}`);
  }
  return v ?? dc?.enableFastList ?? false;
}

/** Signs for workers of a URL dataset: the reference's own URL, without headers. */
function urlSigner(ref: ObjectRef): Promise<SignedRequest> {
  if (ref.url === undefined) {
    return Promise.reject(new ConfigError(`a URL dataset's reference ${ref.bucket}/${ref.key} has no URL`));
  }
  return Promise.resolve({ url: ref.url, headers: [] });
}

/**
 * Resolves dataset options: loads `configPath`/`credPath`, applies `datasetConfig` defaults (explicit options
 * win), builds the client (with the audit log wired into its fetch) and checks every number. With
 * `source.byUrl` (datasets from URLs) the client is a {@linkcode UrlFetchClient}: `endpoint`, `region`,
 * `credentials`, `credPath`, `client` and `signatureVersion` are then not used.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveDatasetOptions } from "./options.ts";
 * const r = await resolveDatasetOptions({
 *   endpoint: "http://127.0.0.1:9000",
 *   region: "cn-hangzhou",
 *   credentials: { accessKeyId: "id", accessKeySecret: "secret" },
 *   config: { datasetConfig: { prefetchConcurrency: 8 } },
 *   prefetchWorker: 0,
 * });
 * expect([r.concurrency, r.workers]).toEqual([8, 0]);
 * ```
 */
export async function resolveDatasetOptions<R>(
  opts: DatasetOptions<R> = {},
  source: { byUrl?: boolean } = {},
): Promise<ResolvedDatasetOptions<R>> {
  checkAccessOptions("dataset options", opts);
  const threshold = opts.auditThresholdMs;
  if (threshold !== undefined && !(typeof threshold === "number" && threshold >= 0 && threshold < Infinity)) {
    throw new ConfigError(
      `dataset option auditThresholdMs: expected a number of milliseconds >= 0, got ${
        JSON.stringify(threshold)
      }`,
    );
  }
  const { config, logger, audit } = await resolveAccess(opts);
  const dc = config?.datasetConfig;

  let client: OssClient | DatasetClient;
  let signer: RequestSigner | undefined;
  if (source.byUrl) {
    client = new UrlFetchClient({ retry: opts.retry, audit });
    signer = urlSigner;
  } else if (opts.client !== undefined) {
    client = opts.client;
    signer = makeSigner(client);
  } else {
    if (opts.endpoint === undefined) {
      throw new ConfigError(
        'dataset options: endpoint is required (e.g. "https://oss-cn-hangzhou.aliyuncs.com")',
      );
    }
    const endpoint = accessEndpoint(opts, opts.endpoint);
    const credentials = accessCredentials(opts);
    const oss = accessClient(opts, endpoint, credentials, { audit });
    client = oss;
    signer = makeSigner(oss);
  }

  const shuffleOpt = opts.shuffle ?? (opts.seed !== undefined ? true : false);
  let shuffle: Required<ShuffleOptions> | undefined;
  if (typeof shuffleOpt !== "boolean" && (shuffleOpt === null || typeof shuffleOpt !== "object")) {
    throw new ConfigError(
      `dataset option shuffle: expected true, false or { seed, bufferSize, blockSize }, got ${
        JSON.stringify(shuffleOpt)
      }`,
    );
  }
  if (shuffleOpt !== false) {
    const so = shuffleOpt === true ? {} : shuffleOpt;
    if (so === null || typeof so !== "object") {
      throw new ConfigError(
        `dataset option shuffle: expected true, false or an object, got ${JSON.stringify(shuffleOpt)}`,
      );
    }
    const seed = so.seed ?? opts.seed ?? 0;
    if (!Number.isFinite(seed)) {
      throw new ConfigError(`dataset option shuffle.seed: expected a number, got ${seed}`);
    }
    if ("blockSize" in so) {
      throw new ConfigError(
        "dataset option shuffle.blockSize: no longer supported — items are dealt to ranks one at a time, so " +
          "that shard sizes differ by at most one (see evenShards)",
      );
    }
    const mode = so.mode ?? "global";
    if (mode !== "global" && mode !== "buffer") {
      throw new ConfigError(
        `dataset option shuffle.mode: expected "global" or "buffer", got ${JSON.stringify(mode)}`,
      );
    }
    shuffle = { seed, mode, bufferSize: positive("shuffle.bufferSize", so.bufferSize) ?? 1024 };
  }

  let transform: ItemTransform<R> | undefined;
  let transformUrl: string | undefined;
  if (typeof opts.transform === "function") transform = opts.transform;
  else if (typeof opts.transform === "string" || opts.transform instanceof URL) {
    transformUrl = String(opts.transform);
  } else if (opts.transform !== undefined) {
    throw new ConfigError(
      `dataset option transform: expected a function or a module URL, got ${typeof opts.transform}`,
    );
  }
  const workerUrl = opts.prefetchWorkerUrl;
  if (
    workerUrl !== undefined && !(workerUrl instanceof URL || (typeof workerUrl === "string" && workerUrl))
  ) {
    throw new ConfigError(
      `dataset option prefetchWorkerUrl: expected the worker module's URL (a string or URL), got ${
        JSON.stringify(workerUrl) ?? typeof workerUrl
      }`,
    );
  }
  const onTransformError = opts.onTransformError ?? "throw";
  if (onTransformError !== "throw" && onTransformError !== "skip") {
    throw new ConfigError(
      `dataset option onTransformError: expected "throw" or "skip", got ${JSON.stringify(onTransformError)}`,
    );
  }

  let shard: Shard;
  let evenShards: EvenShards;
  try {
    shard = resolveShard(opts.rank, opts.worldSize);
    evenShards = resolveEvenShards(opts.evenShards);
  } catch (e) {
    throw new ConfigError(`dataset options: ${(e as Error).message}`);
  }

  return {
    client,
    concurrency: positive("prefetchConcurrency", opts.prefetchConcurrency) ?? dc?.prefetchConcurrency ?? 24,
    listConcurrency: fastList(opts, dc)
      ? positive("listConcurrency", opts.listConcurrency) ?? dc?.listConcurrency ?? 16
      : 1,
    workers: positive("prefetchWorker", opts.prefetchWorker, 0) ?? dc?.prefetchWorker ?? 0,
    maxBytesInFlight: positive("maxBytesInFlight", opts.maxBytesInFlight) ?? 256 * 1024 * 1024,
    ordered: opts.ordered ?? true,
    shard,
    evenShards,
    shuffle,
    transform,
    transformUrl,
    workerUrl: workerUrl === undefined ? undefined : String(workerUrl),
    onTransformError,
    signal: opts.signal,
    logger,
    audit,
    signer,
    retry: {
      maxAttempts: positive("retry.maxAttempts", opts.retry?.maxAttempts) ?? 5,
      minDelayMs: opts.retry?.minDelayMs ?? 100,
      maxDelayMs: opts.retry?.maxDelayMs ?? 5000,
    },
  };
}
