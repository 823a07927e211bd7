/**
 * The item of a dataset: an object's identity (bucket, key, label, size, ETag) and its bytes, already fetched
 * when a transform sees it.
 *
 * @module
 */
import { OssflowError } from "../errors.ts";

/**
 * A reference to one object of a dataset, before its bytes are fetched.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DataObject, type ObjectRef } from "./item.ts";
 * const ref: ObjectRef = { scheme: "s3", bucket: "data", key: "train/0001.jpg", size: 1024 };
 * const item = new DataObject(ref);
 * expect([item.uri, item.size, item.prefetched]).toEqual(["s3://data/train/0001.jpg", 1024, false]);
 * ```
 */
export interface ObjectRef {
  /** `oss` (default) or `s3`: only used to format {@linkcode DataObject.uri}. */
  scheme?: "oss" | "s3";
  /** Bucket. */
  bucket: string;
  /** Object key. */
  key: string;
  /** Label from a manifest, "" when none. */
  label?: string;
  /** Size in bytes when known before fetching (from a listing). */
  size?: number;
  /** ETag when known before fetching (from a listing). */
  etag?: string;
  /** The item's URI when it is not `scheme://bucket/key`: for URL datasets, the URL without its query. */
  uri?: string;
  /** A member of a tar archive (the reference then names the archive): its path and where its data lies. */
  member?: { name: string; offset: number; size: number };
  /**
   * For URL datasets: the URL to fetch, whose query may carry a signature. Set as a non-enumerable property, so
   * it stays out of JSON, logs and worker messages; never copied to a {@linkcode DataObject}.
   */
  url?: string;
}

/** Reads a byte range `[start, end)` of an object that was not prefetched. */
export type RangeReader = (
  ref: ObjectRef,
  start: number,
  end: number,
  signal?: AbortSignal,
) => Promise<Uint8Array>;

/**
 * What a {@linkcode DataObject} is made of.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DataObject, type DataObjectInit } from "./item.ts";
 * const bytes = new TextEncoder().encode("hello");
 * const init: DataObjectInit = { bucket: "b", key: "k", reader: (_, from, to) => Promise.resolve(bytes.slice(from, to)) };
 * expect(await new DataObject(init).text()).toEqual("hello");
 * ```
 */
export interface DataObjectInit extends ObjectRef {
  /** The object's bytes, when prefetched. */
  bytes?: Uint8Array;
  /** Reads ranges when `bytes` is absent. */
  reader?: RangeReader;
}

const decoder = new TextDecoder();

/**
 * One object of a dataset. In a dataset the bytes are prefetched: `bytes()`, `text()`, `json()`, `stream()` and
 * `range()` then cost no request. `bytes()` returns the prefetched buffer itself, not a copy.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DataObject } from "./item.ts";
 * const item = new DataObject({ bucket: "b", key: "a.json", label: "x", bytes: new TextEncoder().encode('{"n":1}') });
 * expect([item.uri, item.size, (await item.json<{ n: number }>()).n]).toEqual(["oss://b/a.json", 7, 1]);
 * ```
 */
export class DataObject {
  /** Bucket. */
  readonly bucket: string;
  /** Object key. */
  readonly key: string;
  /** Label from the manifest, "" when none. */
  readonly label: string;
  /** Size in bytes (of the fetched bytes when prefetched, else from the listing, -1 when unknown). */
  readonly size: number;
  /** ETag, quotes included, "" when unknown. */
  readonly etag: string;
  readonly #scheme: "oss" | "s3";
  readonly #uri?: string;
  #bytes?: Uint8Array;
  #reader?: RangeReader;

  /** An item with its identity and (already fetched) bytes. */
  constructor(init: DataObjectInit) {
    this.bucket = init.bucket;
    this.key = init.key;
    this.label = init.label ?? "";
    this.etag = init.etag ?? "";
    this.#scheme = init.scheme ?? "oss";
    this.#uri = init.uri;
    this.#bytes = init.bytes;
    this.#reader = init.reader;
    this.size = init.bytes ? init.bytes.byteLength : init.size ?? -1;
  }

  /** `oss://bucket/key` (or `s3://…`); for URL datasets the URL without its query. */
  get uri(): string {
    return this.#uri ?? `${this.#scheme}://${this.bucket}/${this.key}`;
  }

  /** Whether the bytes are in memory. */
  get prefetched(): boolean {
    return this.#bytes !== undefined;
  }

  /** The object's bytes (the prefetched buffer itself when prefetched). */
  async bytes(): Promise<Uint8Array> {
    if (this.#bytes) return this.#bytes;
    if (!this.#reader) throw new Error(`DataObject ${this.uri}: no bytes and no reader`);
    this.#bytes = await this.#reader(this, 0, Number.MAX_SAFE_INTEGER);
    return this.#bytes;
  }

  /** The bytes decoded as UTF-8. */
  async text(): Promise<string> {
    return decoder.decode(await this.bytes());
  }

  /** The bytes parsed as JSON; a parse error names the object. */
  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new SyntaxError(`DataObject ${this.uri}: not valid JSON (${(e as Error).message})`, { cause: e });
    }
  }

  /** The bytes as a stream. */
  stream(): ReadableStream<Uint8Array> {
    const bytes = this.#bytes;
    if (bytes) {
      return new ReadableStream({
        type: "bytes",
        start(ctl) {
          if (bytes.byteLength > 0) ctl.enqueue(bytes.slice());
          ctl.close();
        },
      });
    }
    let started = false;
    return new ReadableStream({
      pull: async (ctl) => {
        if (started) return;
        started = true;
        ctl.enqueue(await this.bytes());
        ctl.close();
      },
    });
  }

  /**
   * Bytes `[start, end)` (end exclusive, like `Uint8Array.subarray`; omitted: to the end). Prefetched objects
   * answer from memory; otherwise one ranged GET is sent.
   */
  async range(start: number, end?: number): Promise<Uint8Array> {
    if (
      !Number.isInteger(start) || start < 0 || (end !== undefined && (!Number.isInteger(end) || end < start))
    ) {
      throw new RangeError(
        `DataObject ${this.uri}: range(start, end): expected integers 0 <= start <= end, got ${start}, ${end}`,
      );
    }
    if (this.#bytes) return this.#bytes.subarray(start, end);
    if (!this.#reader) throw new Error(`DataObject ${this.uri}: no bytes and no reader`);
    if (end === start) return new Uint8Array(0);
    return await this.#reader(this, start, end ?? Number.MAX_SAFE_INTEGER);
  }

  /** A plain description (no bytes), for logs and JSON. */
  toJSON(): { uri: string; key: string; label: string; size: number; etag: string } {
    return { uri: this.uri, key: this.key, label: this.label, size: this.size, etag: this.etag };
  }
}

/**
 * A transform failed on an item; names the object.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { TransformError } from "./item.ts";
 * const e = new TransformError({ key: "k.jpg", uri: "oss://b/k.jpg" }, new Error("bad image"));
 * expect(e.message).toEqual("transform failed for oss://b/k.jpg: bad image");
 * ```
 */
export class TransformError extends OssflowError {
  /** Key of the object the transform failed on. */
  readonly key: string;
  /** URI of the object the transform failed on. */
  readonly uri: string;

  /** The error of the transform that failed on `item`, kept as `cause`. */
  constructor(item: { key: string; uri: string }, cause: unknown) {
    super(`transform failed for ${item.uri}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "TransformError";
    this.key = item.key;
    this.uri = item.uri;
  }
}
