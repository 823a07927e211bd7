/**
 * Writing tar archives and WebDataset shards to OSS: {@linkcode writeTar} (one archive and its index) and
 * {@linkcode ShardWriter} (samples cut into shards of at most `maxCount` samples and `maxBytes` bytes). Every
 * archive goes through the checkpoint writer — multipart for large ones, CRC-64 checked, invisible until
 * complete, aborted on failure — and its index (see `index_format.ts`) is written beside it once it is there.
 *
 * @module
 */
import { OssCheckpointWriter } from "../checkpoint/writer.ts";
import { OssClient } from "../client.ts";
import { ConfigError } from "../errors.ts";
import { parseUri } from "../uri.ts";
import { formatTarIndex, type TarIndexEntry } from "../tar/index_format.ts";
import { TarPacker } from "../tar/writer.ts";
import { DataObject } from "./item.ts";
import { type DatasetOptions, resolveDatasetOptions } from "./options.ts";

/** Where the index of the archive at `tarUri` goes by default: beside it, with `.idx` appended. */
export function defaultIndexUri(tarUri: string): string {
  return `${tarUri}.idx`;
}

/**
 * Access options of the writers (endpoint, credentials or a client, config, retry), the checkpoint writer's
 * `partSize`/`uploadConcurrency`, and `index` — where the index goes: default beside the archive
 * ({@linkcode defaultIndexUri}), `false` for none.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { TarWriteOptions } from "./tar_write.ts";
 * const opts: TarWriteOptions = { endpoint: "http://127.0.0.1:9000", index: false, partSize: 8 << 20 };
 * expect(opts.index).toBe(false);
 * ```
 */
export type TarWriteOptions =
  & Pick<
    DatasetOptions,
    | "endpoint"
    | "region"
    | "credentials"
    | "credPath"
    | "config"
    | "configPath"
    | "client"
    | "retry"
    | "signal"
  >
  & {
    /** The index's URI, or false for none. Default: the archive's URI + `.idx`. */
    index?: string | false;
    /** Bytes per uploaded part. Default 8 MiB. */
    partSize?: number;
    /** Parts uploaded at once. Default 64. */
    uploadConcurrency?: number;
    /** Modification time of the members. Default: now. */
    mtime?: Date;
  };

/**
 * What one archive write produced.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { WrittenTar } from "./tar_write.ts";
 * const w: WrittenTar = { uri: "oss://b01/s-0.tar", indexUri: "oss://b01/s-0.tar.idx", members: 2, samples: 1, size: 3072, etag: '"A"' };
 * expect(w.members).toEqual(2);
 * ```
 */
export interface WrittenTar {
  /** The archive's URI. */
  uri: string;
  /** The index's URI, when one was written. */
  indexUri?: string;
  /** Members written. */
  members: number;
  /** Samples written (ShardWriter), or members (writeTar). */
  samples: number;
  /** The archive's size in bytes. */
  size: number;
  /** The archive's ETag. */
  etag: string;
}

/** A member's content: bytes, text (UTF-8), a `DataObject` (its bytes), or any other value (as JSON). */
export type MemberData = Uint8Array | string | DataObject | unknown;

const encoder = new TextEncoder();

async function encode(data: MemberData): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof DataObject) return await data.bytes();
  return encoder.encode(JSON.stringify(data));
}

async function resolveClient(opts: TarWriteOptions, what: string): Promise<OssClient> {
  const o = await resolveDatasetOptions({ ...opts });
  if (!(o.client instanceof OssClient)) throw new ConfigError(`${what}: writing needs an OssClient`);
  return o.client;
}

/** One archive being written: packer → checkpoint writer. */
class OpenTar {
  readonly packer: TarPacker;
  readonly #done: Promise<void>;
  readonly #writer: OssCheckpointWriter;
  members = 0;

  constructor(readonly client: OssClient, readonly uri: string, readonly opts: TarWriteOptions) {
    const u = parseUri(uri);
    this.packer = new TarPacker({ mtime: opts.mtime });
    this.#writer = new OssCheckpointWriter({
      client,
      bucket: u.bucket,
      key: u.key,
      uri,
      partSize: opts.partSize,
      uploadConcurrency: opts.uploadConcurrency,
      retry: opts.retry,
      signal: opts.signal,
    });
    this.#done = this.packer.readable.pipeTo(this.#writer);
    this.#done.catch(() => {});
  }

  async add(name: string, bytes: Uint8Array): Promise<void> {
    await Promise.race([this.packer.add(name, bytes), this.#done.then(() => {})]);
    this.members++;
  }

  /** Completes the archive, then writes its index; returns what was written. */
  async close(samples: number): Promise<WrittenTar> {
    const entries: Promise<TarIndexEntry[]> = this.packer.finish();
    await this.#done;
    const u = parseUri(this.uri);
    const head = await this.client.head(u.bucket, u.key, { signal: this.opts.signal });
    const out: WrittenTar = {
      uri: this.uri,
      members: this.members,
      samples,
      size: head.size,
      etag: head.etag,
    };
    const indexUri = this.opts.index === false ? undefined : this.opts.index ?? defaultIndexUri(this.uri);
    if (indexUri !== undefined) {
      const text = formatTarIndex({ size: head.size, etag: head.etag, entries: await entries });
      const iu = parseUri(indexUri);
      const w = new OssCheckpointWriter({
        client: this.client,
        bucket: iu.bucket,
        key: iu.key,
        retry: this.opts.retry,
        signal: this.opts.signal,
      });
      await new Blob([text]).stream().pipeTo(w);
      out.indexUri = indexUri;
    }
    return out;
  }

  /** Fails the archive: the upload is aborted and nothing appears at its URI. */
  async abort(reason: unknown): Promise<void> {
    this.packer.abort(reason);
    await this.#done.catch(() => {});
  }
}

/**
 * Writes one tar archive of `entries` (name and content) to `uri` through the checkpoint writer, then its
 * index beside it (unless `index: false`). Nothing appears at `uri` unless the whole archive was written.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { writeTar } from "./tar_write.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["demo"] });
 * const written = await writeTar("oss://demo/a.tar", [{ name: "0001.txt", data: "hi" }, { name: "0001.json", data: { n: 1 } }], {
 *   endpoint: server.url,
 *   credentials: { accessKeyId: "id", accessKeySecret: "secret" },
 * });
 * expect([written.members, written.size, written.indexUri]).toEqual([2, 3072, "oss://demo/a.tar.idx"]);
 * await server.close();
 * ```
 */
export async function writeTar(
  uri: string,
  entries: Iterable<{ name: string; data: MemberData }> | AsyncIterable<{ name: string; data: MemberData }>,
  opts: TarWriteOptions = {},
): Promise<WrittenTar> {
  parseUri(uri);
  const tar = new OpenTar(await resolveClient(opts, `writeTar ${uri}`), uri, opts);
  try {
    for await (const e of entries) await tar.add(e.name, await encode(e.data));
  } catch (e) {
    await tar.abort(e);
    throw e;
  }
  return await tar.close(tar.members);
}

/**
 * A sample to write: its key and its members by extension (`{ key: "0001", members: { jpg: bytes, cls: "7" } }`
 * becomes `0001.jpg` and `0001.cls`).
 */
export interface WritableSample {
  /** The sample's key (may contain `/`; its file name must not contain a dot). */
  key: string;
  /** Content by extension. */
  members: Record<string, MemberData>;
}

/**
 * Options of {@linkcode ShardWriter}: those of {@linkcode writeTar} (the index is always beside each shard, as
 * `<shard>.idx`, unless `index: false`), plus the limits of a shard.
 */
export type ShardWriterOptions = Omit<TarWriteOptions, "index"> & {
  /** Samples per shard at most. Default 10,000. */
  maxCount?: number;
  /** Bytes of member data per shard at most (a larger single sample gets a shard of its own). Default 3 GB. */
  maxBytes?: number;
  /** Number of the first shard. Default 0. */
  start?: number;
  /** Write an index beside each shard (default true). */
  index?: boolean;
};

/**
 * Writes samples as WebDataset tar shards, as WebDataset's `ShardWriter` does: `pattern` names the shards with a
 * `%06d`-style placeholder (`oss://b/train/shard-%06d.tar`); a shard is closed and the next one opened when it
 * would exceed `maxCount` samples or `maxBytes` bytes. Each shard goes up through the checkpoint writer
 * (multipart, CRC-64 checked, invisible until complete) with its index beside it. `close()` resolves with
 * every shard written; after a failed `write()` or an `abort()`, the shard being written does not appear.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { ShardWriter } from "./tar_write.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["demo"] });
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const writer = new ShardWriter("oss://demo/train/shard-%03d.tar", { endpoint: server.url, credentials, maxCount: 2 });
 * for (let i = 0; i < 5; i++) await writer.write({ key: `s${i}`, members: { txt: `sample ${i}`, cls: String(i % 2) } });
 * const shards = await writer.close();
 * expect(shards.map((s) => [s.uri, s.samples])).toEqual([
 *   ["oss://demo/train/shard-000.tar", 2], ["oss://demo/train/shard-001.tar", 2], ["oss://demo/train/shard-002.tar", 1],
 * ]);
 * await server.close();
 * ```
 */
export class ShardWriter {
  readonly #pattern: string;
  readonly #opts: ShardWriterOptions;
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #client?: Promise<OssClient>;
  #next: number;
  #open?: OpenTar;
  #samples = 0;
  #written: WrittenTar[] = [];
  #failed = false;

  /** A writer of shards named by `pattern` (`oss://bucket/prefix/shard-%06d.tar`). */
  constructor(pattern: string, opts: ShardWriterOptions = {}) {
    if (!/%0?\d*d/.test(pattern)) {
      throw new ConfigError(
        `ShardWriter: pattern ${pattern} has no %06d-style placeholder for the shard number`,
      );
    }
    parseUri(pattern.replace(/%0?\d*d/, "0"));
    const positive = (name: string, v: number | undefined, dflt: number) => {
      if (v === undefined) return dflt;
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new ConfigError(`ShardWriter: ${name}: expected an integer >= 1, got ${v}`);
      }
      return v;
    };
    this.#maxCount = positive("maxCount", opts.maxCount, 10_000);
    this.#maxBytes = positive("maxBytes", opts.maxBytes, 3e9);
    this.#next = opts.start ?? 0;
    this.#pattern = pattern;
    this.#opts = opts;
  }

  /** The shards completed so far. */
  get written(): readonly WrittenTar[] {
    return this.#written;
  }

  #uri(n: number): string {
    return this.#pattern.replace(
      /%(0?)(\d*)d/,
      (_, zero, width) => String(n).padStart(Number(width || 0), zero ? "0" : " "),
    );
  }

  async #closeOpen(): Promise<void> {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    this.#written.push(await open.close(this.#samples));
    this.#samples = 0;
  }

  /** Adds one sample to the current shard (opening the next shard when a limit would be passed). */
  async write(sample: WritableSample): Promise<void> {
    if (this.#failed) throw new ConfigError("ShardWriter: a write failed or the writer was aborted");
    if (
      typeof sample?.key !== "string" || sample.key === "" || /\.[^/]*$/.test(sample.key.split("/").pop()!)
    ) {
      throw new TypeError(
        `ShardWriter: sample key ${
          JSON.stringify(sample?.key)
        }: expected a non-empty key whose file name has no dot`,
      );
    }
    try {
      const members: [string, Uint8Array][] = [];
      let bytes = 0;
      for (const [ext, data] of Object.entries(sample.members)) {
        const b = await encode(data);
        members.push([`${sample.key}.${ext}`, b]);
        bytes += b.byteLength;
      }
      const open = this.#open;
      if (open && (this.#samples >= this.#maxCount || open.packer.dataBytes + bytes > this.#maxBytes)) {
        await this.#closeOpen();
      }
      if (!this.#open) {
        this.#client ??= resolveClient({ ...this.#opts, index: undefined }, `ShardWriter ${this.#pattern}`);
        const index = this.#opts.index === false ? false : undefined;
        this.#open = new OpenTar(await this.#client, this.#uri(this.#next++), { ...this.#opts, index });
      }
      for (const [name, b] of members) await this.#open.add(name, b);
      this.#samples++;
    } catch (e) {
      await this.abort(e);
      throw e;
    }
  }

  /** Completes the last shard; resolves with every shard written. */
  async close(): Promise<WrittenTar[]> {
    if (this.#failed) throw new ConfigError("ShardWriter: a write failed or the writer was aborted");
    await this.#closeOpen();
    return [...this.#written];
  }

  /** Abandons the shard being written (its upload is aborted; shards already closed stay). */
  async abort(reason?: unknown): Promise<void> {
    this.#failed = true;
    const open = this.#open;
    this.#open = undefined;
    await open?.abort(reason ?? new DOMException("ShardWriter aborted", "AbortError"));
  }
}
