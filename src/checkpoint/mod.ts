/**
 * Checkpoints on OSS: {@linkcode OssCheckpoint} opens {@linkcode OssCheckpointWriter}s (multipart upload
 * behind a `WritableStream`) and {@linkcode OssCheckpointReader}s (parallel ranged GETs behind a
 * `ReadableStream`), the way OSS Connector for AI/ML's `OssCheckpoint` backs `torch.save` / `torch.load`.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import type { RetryOptions } from "../retry.ts";
import type { OssflowConfig } from "../config.ts";
import type { Credentials, CredentialsProvider } from "../credentials.ts";
import {
  accessClient,
  accessCredentials,
  accessEndpoint,
  checkAccessOptions,
  resolveAccess,
} from "../access.ts";
import { type Endpoint, parseEndpoint } from "../endpoint.ts";
import { ConfigError } from "../errors.ts";
import type { AuditLog } from "../log.ts";
import { formatUri, type ObjectUri, parseUri } from "../uri.ts";
import { checkPartSize, checkPositiveInteger, DEFAULT_PART_SIZE, PartSchedule } from "./part_size.ts";
import { DEFAULT_PREFETCH_CONCURRENCY, type KnownObject, OssCheckpointReader } from "./reader.ts";
import {
  type CheckpointWriterStats,
  DEFAULT_UPLOAD_CONCURRENCY,
  OssCheckpointWriter,
  writeFileTo,
} from "./writer.ts";
import { fileInfo } from "../file_range.ts";

export {
  type CheckpointReaderInit,
  type CheckpointReaderStats,
  DEFAULT_PREFETCH_CONCURRENCY,
  type KnownObject,
  OssCheckpointReader,
} from "./reader.ts";
export {
  type CheckpointWriterInit,
  type CheckpointWriterStats,
  DEFAULT_UPLOAD_CONCURRENCY,
  OssCheckpointWriter,
} from "./writer.ts";
export { DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, PartSchedule } from "./part_size.ts";

/**
 * Options of {@linkcode OssCheckpoint}. Explicit options win over `config.json`'s `checkpointConfig`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssCheckpoint, type OssCheckpointOptions } from "./mod.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["ckpt"] });
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const opts: OssCheckpointOptions = { endpoint: server.url, region: "cn-hangzhou", credentials, partSize: 1 << 20 };
 * await new Blob(["weights"]).stream().pipeTo(new OssCheckpoint(opts).writer("oss://ckpt/step-1.bin"));
 * expect((await server.store.head("ckpt", "step-1.bin"))?.size).toEqual(7);
 * await server.close();
 * ```
 */
export interface OssCheckpointOptions {
  /**
   * OSS endpoint, e.g. `https://oss-cn-hangzhou.aliyuncs.com` or `http://127.0.0.1:9000`. Optional when every
   * URI names its endpoint (`oss://bucket.oss-cn-hangzhou.aliyuncs.com/key`).
   */
  endpoint?: string | Endpoint;
  /** Signing region; default: the endpoint's, else for local and custom hosts a default (see `defaultRegion`). */
  region?: string;
  /** Credentials or a provider. Give this or `credPath`; neither: the environment, then the default file. */
  credentials?: Credentials | CredentialsProvider;
  /** Path of a credential file (`AccessKeyId`, `AccessKeySecret`, optional `SecurityToken`, `Expiration`). */
  credPath?: string;
  /**
   * A `config.json` object (parsed JSON). Give this or `configPath`. Its `checkpointConfig` supplies
   * `uploadConcurrency` and `prefetchConcurrency`; its `auditPath` receives requests slower than 100 ms.
   */
  config?: OssflowConfig | Record<string, unknown>;
  /** Path of a `config.json`. */
  configPath?: string;
  /** Bytes per part and per ranged GET, 100 KiB to 5 GiB. Default 8 MiB (grown to fit a size hint). */
  partSize?: number;
  /** Parts uploaded at once. Default `checkpointConfig.uploadConcurrency`, else 64. */
  uploadConcurrency?: number;
  /** Ranges fetched at once when reading. Default `checkpointConfig.prefetchConcurrency`, else 24. */
  prefetchConcurrency?: number;
  /** Aborts every writer and reader of this checkpoint object. */
  signal?: AbortSignal;
  /** `"oss4"` (default for `oss://`) or `"s3v4"` (default for `s3://`). */
  signatureVersion?: "oss4" | "s3v4";
  /** Force path-style or virtual-hosted URLs; default: path style for IPs and localhost. */
  pathStyle?: boolean;
  /** Retry policy of the client. */
  retry?: RetryOptions;
  /** Use this client for every request instead of building one from the options above. */
  client?: OssClient;
}

/**
 * Per-writer options of {@linkcode OssCheckpoint.writer}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type CheckpointWriterOptions, DEFAULT_PART_SIZE, PartSchedule } from "./mod.ts";
 * const opts: CheckpointWriterOptions = { sizeHint: 200 * 1024 ** 3 }; // a 200 GiB checkpoint
 * expect(new PartSchedule(DEFAULT_PART_SIZE, opts.sizeHint).base / 1024 ** 2).toEqual(21); // (MiB per part)
 * ```
 */
export interface CheckpointWriterOptions {
  /** Expected size in bytes: the part size grows so the object fits in 10,000 parts. */
  sizeHint?: number;
  /** Aborts this writer (and its multipart upload). */
  signal?: AbortSignal;
}

/**
 * Per-reader options of {@linkcode OssCheckpoint.reader}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type CheckpointReaderOptions, OssCheckpoint } from "./mod.ts";
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const checkpoint = new OssCheckpoint({ endpoint: "http://127.0.0.1:9000", region: "cn-hangzhou", credentials });
 * const opts: CheckpointReaderOptions = { signal: AbortSignal.abort(new Error("stopped")) };
 * const reader = checkpoint.reader("oss://ckpt/step-1.bin", opts).getReader();
 * expect(await reader.read().catch((e: Error) => e.message)).toEqual("stopped");
 * ```
 */
export interface CheckpointReaderOptions {
  /** Aborts this reader and its requests. */
  signal?: AbortSignal;
  /** The ETag the object must have: another version fails with an IntegrityError (see `OssCheckpointReader`). */
  ifMatch?: string;
  /** Size, ETag and CRC-64 already known (from an earlier ranged GET): the reader skips its HEAD. */
  object?: KnownObject;
}

/**
 * What {@linkcode OssCheckpoint.target} resolves a URI to: the client and settings its writers and readers use.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type CheckpointTarget, OssCheckpoint } from "./mod.ts";
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const checkpoint = new OssCheckpoint({ endpoint: "http://127.0.0.1:9000", region: "cn-hangzhou", credentials });
 * const t: CheckpointTarget = await checkpoint.target("oss://ckpt/run-1/step-5.bin");
 * expect([t.bucket, t.key, t.prefetchConcurrency]).toEqual(["ckpt", "run-1/step-5.bin", 24]);
 * ```
 */
export interface CheckpointTarget {
  /** The client every request of this URI goes through. */
  client: OssClient;
  /** Bucket of the URI. */
  bucket: string;
  /** Object key of the URI. */
  key: string;
  /** The URI, normalised (`oss://bucket/key`). */
  uri: string;
  /** Bytes per part and per ranged GET. */
  partSize: number;
  /** Parts uploaded at once. */
  uploadConcurrency: number;
  /** Ranges fetched at once. */
  prefetchConcurrency: number;
  /** The client's retry policy, as given. */
  retry?: RetryOptions;
  /** The checkpoint's own abort signal, if it has one. */
  signal?: AbortSignal;
}

interface Settings {
  credentials?: Credentials | CredentialsProvider;
  audit?: AuditLog;
  uploadConcurrency: number;
  prefetchConcurrency: number;
}

/**
 * Saves and loads checkpoints as OSS objects.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssCheckpoint } from "./mod.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["ckpt-bucket"] }); // or a real endpoint, credPath, configPath
 * const checkpoint = new OssCheckpoint({
 *   endpoint: server.url,
 *   region: "cn-hangzhou",
 *   credentials: { accessKeyId: "id", accessKeySecret: "secret" },
 *   config: { checkpointConfig: { uploadConcurrency: 8, prefetchConcurrency: 8 } },
 * });
 * const state = new Uint8Array(20 << 20).map((_, i) => i % 251); // e.g. serialized model weights
 * await new Blob([state]).stream().pipeTo(checkpoint.writer("oss://ckpt-bucket/run1/step-100.bin"));
 * const loaded = await new Response(checkpoint.reader("oss://ckpt-bucket/run1/step-100.bin")).bytes();
 * expect(loaded.length === state.length).toBe(true);
 * await server.close();
 * ```
 */
export class OssCheckpoint {
  readonly #opts: OssCheckpointOptions;
  readonly #partSize: number;
  #settings?: Promise<Settings>;
  readonly #clients = new Map<string, OssClient>();

  /** Checks the options at once (a bad endpoint, part size or concurrency fails here); config and credential files are read on first use. */
  constructor(opts: OssCheckpointOptions = {}) {
    checkAccessOptions("OssCheckpoint: options", opts);
    if (opts.endpoint !== undefined) parseEndpoint(opts.endpoint); // a bad endpoint fails here, not on first use
    this.#partSize = checkPartSize(opts.partSize ?? DEFAULT_PART_SIZE);
    if (opts.uploadConcurrency !== undefined) {
      checkPositiveInteger(opts.uploadConcurrency, "uploadConcurrency");
    }
    if (opts.prefetchConcurrency !== undefined) {
      checkPositiveInteger(opts.prefetchConcurrency, "prefetchConcurrency");
    }
    this.#opts = { ...opts };
  }

  /**
   * A stream that saves `uri` (`oss://bucket/key`). The object appears (or replaces the old one) when the
   * stream closes; on error or abort nothing changes at `uri`. See {@linkcode OssCheckpointWriter}.
   * Throws a {@linkcode ConfigError} at once for a malformed URI or size hint.
   */
  writer(uri: string, opts: CheckpointWriterOptions = {}): OssCheckpointWriter {
    const target = parseUri(uri);
    new PartSchedule(this.#partSize, opts.sizeHint); // validates sizeHint now rather than on first write
    const init = this.#target(target).then((t) => ({
      ...t,
      sizeHint: opts.sizeHint,
      signal: anySignal(t.signal, opts.signal),
    }));
    return new OssCheckpointWriter(init);
  }

  /**
   * Saves all of `source` to `uri` and resolves with the writer's counters once the object is there: a
   * {@linkcode OssCheckpoint.writer} fed by {@linkcode OssCheckpointWriter.writeAll}, so a byte stream (a
   * file's `readable`, a `fetch` body) is read straight into the part buffers. The size of a `Blob` or
   * `Uint8Array` serves as the size hint. On failure nothing changes at `uri` and the promise rejects.
   *
   * `{ path }` saves a local file (Deno, Node.js, Bun): each part is read from the file while it is sent and
   * read again if it is retried, so memory holds a few reads per part in flight and no part buffers (for files
   * of one part, and to S3-form stores where the runtime cannot send a stream with a Content-Length, the file
   * is read into part buffers like a byte stream). The
   * file must not change during the save: if its size or modification time differs before the upload is
   * completed, the save fails with an `IntegrityError` and nothing is saved.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssCheckpoint } from "./mod.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["ckpt"] });
   * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
   * const checkpoint = new OssCheckpoint({ endpoint: server.url, region: "cn-hangzhou", credentials });
   * const stats = await checkpoint.save("oss://ckpt/step-9.bin", new Blob([new Uint8Array(3 << 20)]));
   * expect([stats.bytesWritten, stats.partsUploaded]).toEqual([3145728, 0]); // (one part: a single PUT)
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeFile(path, new Uint8Array(20 << 20).fill(9)); // 20 MiB: three parts of 8 MiB
   * const fromFile = await checkpoint.save("oss://ckpt/step-10.bin", { path });
   * expect([fromFile.partsUploaded, fromFile.peakBufferedBytes]).toEqual([3, 0]); // read from the file as sent
   * await server.close();
   * ```
   */
  async save(
    uri: string,
    source: ReadableStream<Uint8Array> | Blob | Uint8Array | { path: string },
    opts: CheckpointWriterOptions = {},
  ): Promise<CheckpointWriterStats> {
    if (isPathSource(source)) {
      const info = await fileInfo(source.path);
      const writer = this.writer(uri, { ...opts, sizeHint: opts.sizeHint ?? info.size });
      await writeFileTo(writer, source.path, info);
      return writer.stats;
    }
    const size = source instanceof Blob
      ? source.size
      : source instanceof Uint8Array
      ? source.length
      : undefined;
    const writer = this.writer(uri, { ...opts, sizeHint: opts.sizeHint ?? size });
    await writer.writeAll(source);
    return writer.stats;
  }

  /**
   * A stream of the bytes of `uri`, fetched in parallel ranges and delivered in order, CRC-64 checked.
   * See {@linkcode OssCheckpointReader}. Throws a {@linkcode ConfigError} at once for a malformed URI.
   */
  reader(uri: string, opts: CheckpointReaderOptions = {}): OssCheckpointReader {
    const target = parseUri(uri);
    const init = this.#target(target).then((t) => ({
      ...t,
      signal: anySignal(t.signal, opts.signal),
      ifMatch: opts.ifMatch,
      object: opts.object,
    }));
    return new OssCheckpointReader(init);
  }

  /**
   * The client, bucket, key and settings that {@linkcode OssCheckpoint.writer} and
   * {@linkcode OssCheckpoint.reader} use for `uri`, for code that composes them with requests of its own
   * (the safetensors reader's ranged GETs, for one). Rejects with a {@linkcode ConfigError} for a malformed
   * URI, a URI without an endpoint, or a bad config file.
   */
  target(uri: string): Promise<CheckpointTarget> {
    try {
      return this.#target(parseUri(uri));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #target(target: ObjectUri): Promise<CheckpointTarget> {
    const s = await this.#resolve();
    return {
      client: this.#clientFor(target, s),
      bucket: target.bucket,
      key: target.key,
      uri: formatUri(target),
      partSize: this.#partSize,
      uploadConcurrency: s.uploadConcurrency,
      prefetchConcurrency: s.prefetchConcurrency,
      retry: this.#opts.retry,
      signal: this.#opts.signal,
    };
  }

  /**
   * Loads all of `uri` into one `Uint8Array` of the object's size: a {@linkcode OssCheckpoint.reader} whose
   * ranges are copied into place as they arrive, so memory peaks at the object plus the prefetch window rather
   * than at twice the object (`new Response(reader).bytes()` holds every chunk until it joins them). Rejects
   * as the reader does: a missing object, a CRC-64 or length mismatch ({@linkcode IntegrityError}), an abort.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssCheckpoint } from "./mod.ts";
   * import { serveEmulator } from "../server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["ckpt"] });
   * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
   * const checkpoint = new OssCheckpoint({ endpoint: server.url, region: "cn-hangzhou", credentials, partSize: 1 << 20 });
   * await checkpoint.save("oss://ckpt/step-3.bin", new Uint8Array(5 << 20).fill(7));
   * const weights = await checkpoint.load("oss://ckpt/step-3.bin"); // 5 ranges of 1 MiB, copied into place
   * expect([weights.length, weights[weights.length - 1]]).toEqual([5242880, 7]);
   * await server.close();
   * ```
   */
  async load(uri: string, opts: CheckpointReaderOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
    const stream = this.reader(uri, opts);
    const chunks = stream.getReader();
    let out: Uint8Array<ArrayBuffer> | undefined;
    let at = 0;
    try {
      for (;;) {
        const { done, value } = await chunks.read();
        if (done) break;
        out ??= new Uint8Array(stream.stats.size); // the first range comes after the HEAD that gave the size
        if (value.byteLength > out.length - at) {
          throw new Error(
            `${uri}: internal error: the reader delivered more than the ${out.length} bytes of HEAD`,
          );
        }
        out.set(value, at);
        at += value.byteLength;
      }
    } catch (err) {
      await chunks.cancel(err).catch(() => {});
      throw err;
    }
    if (out === undefined) return new Uint8Array(0); // an empty object: no range
    if (at !== out.length) {
      throw new Error(
        `${uri}: internal error: the reader delivered ${at} of the ${out.length} bytes of HEAD`,
      );
    }
    return out;
  }

  /** Reads the config file (once) and settles the defaults. */
  #resolve(): Promise<Settings> {
    this.#settings ??= (async () => {
      const o = this.#opts;
      const { config, audit } = await resolveAccess(o);
      const cc = config?.checkpointConfig;
      return {
        audit,
        credentials: o.client ? undefined : accessCredentials(o),
        uploadConcurrency: o.uploadConcurrency ?? cc?.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
        prefetchConcurrency: o.prefetchConcurrency ?? cc?.prefetchConcurrency ?? DEFAULT_PREFETCH_CONCURRENCY,
      };
    })();
    return this.#settings;
  }

  #clientFor(target: ObjectUri, s: Settings): OssClient {
    const o = this.#opts;
    if (o.client) return o.client;
    const given = o.endpoint ?? target.endpoint;
    if (given === undefined) {
      throw new ConfigError(
        `${
          formatUri(target)
        }: no endpoint: pass endpoint in the OssCheckpoint options or use oss://bucket.<endpoint-host>/key`,
      );
    }
    const endpoint = accessEndpoint(o, given);
    const signatureVersion = o.signatureVersion ?? (target.scheme === "s3" ? "s3v4" : "oss4");
    const id = `${signatureVersion} ${endpoint.origin} ${endpoint.pathStyle}`;
    let client = this.#clients.get(id);
    if (client === undefined) {
      client = accessClient(o, endpoint, s.credentials, s, signatureVersion);
      this.#clients.set(id, client);
    }
    return client;
  }
}

/** Both signals, either, or none (internal: the safetensors module combines signals the same way). */
export function anySignal(a?: AbortSignal, b?: AbortSignal): AbortSignal | undefined {
  return a && b && a !== b ? AbortSignal.any([a, b]) : a ?? b;
}

/** Whether `source` is `{ path }` (a local file to save); a `path` that is not a non-empty string is a TypeError. */
function isPathSource(source: unknown): source is { path: string } {
  if (typeof source !== "object" || source === null || !("path" in source)) return false;
  if (source instanceof ReadableStream || source instanceof Blob || source instanceof Uint8Array) {
    return false;
  }
  const path = (source as { path: unknown }).path;
  if (typeof path !== "string" || path === "") {
    throw new TypeError(
      `OssCheckpoint.save: source.path: expected the path of a local file, got ${JSON.stringify(path)}`,
    );
  }
  return true;
}
