/**
 * Where a dataset's object references come from: a prefix listing (streamed page by page), a list of URIs, or a
 * manifest (streamed line by line). A source is a recipe: each epoch asks it for a fresh stream of references.
 *
 * @module
 */
import { OssClient } from "../client.ts";
import { listFast } from "../fast_list.ts";
import { type ObjectUri, parsePrefixUri, parseUri } from "../uri.ts";
import type { ObjectRef } from "./item.ts";
import type { DatasetOptions } from "./options.ts";
import {
  ManifestError,
  type ManifestFormat,
  type ManifestParser,
  openManifest,
  readManifest,
} from "./manifest.ts";

/**
 * The part of `OssClient` that datasets use (any object with these methods works). For references of URL
 * datasets, `get` and `getBytes` also receive the object's URL in `opts.url` (see `UrlFetchClient`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type DatasetClient, prefixSource } from "./sources.ts";
 * const listing = [{ key: "train/a.jpg", size: 1, etag: '"A"' }, { key: "train/b.jpg", size: 1, etag: '"B"' }];
 * const list = () => ReadableStream.from(listing);
 * const client: DatasetClient = { list, get: () => Promise.reject(new Error("unused")) };
 * const refs = await Array.fromAsync(prefixSource("oss://b01/train/").refs(client));
 * expect(refs.map((r) => r.key)).toEqual(["train/a.jpg", "train/b.jpg"]);
 * ```
 */
export interface DatasetClient {
  /** Fetches an object (or a range of it, both ends inclusive). */
  get(
    bucket: string,
    key: string,
    opts?: { url?: string; range?: { start: number; end?: number }; signal?: AbortSignal },
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number; etag: string }>;
  /**
   * Fetches a whole object into memory, byte-complete (optional; `get` is used without it). Inline prefetch
   * prefers it: no stream per object, which matters with millions of small objects.
   */
  getBytes?(
    bucket: string,
    key: string,
    opts?: { url?: string; signal?: AbortSignal },
  ): Promise<{ bytes: Uint8Array; etag: string }>;
  /** Lists objects under a prefix, page by page (`maxKeys`: entries per page, at most 1000). */
  list(bucket: string, opts?: { prefix?: string; maxKeys?: number; signal?: AbortSignal }): AsyncIterable<{
    key: string;
    size: number;
    etag: string;
  }>;
}

/**
 * A recipe for a stream of object references.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type DatasetSource, objectsSource } from "./sources.ts";
 * const source: DatasetSource = objectsSource(["oss://b01/a.jpg", "oss://b01/b.jpg"]);
 * expect([source.kind, source.description]).toEqual(["objects", "2 objects"]);
 * ```
 */
export interface DatasetSource {
  /** Which constructor made it. */
  readonly kind: "prefix" | "objects" | "manifest" | "urls" | "tar";
  /** The prefix URI, the manifest location, "N objects" or "N URLs", for messages. */
  readonly description: string;
  /** Sources given as a list: a digest of its objects, which a saved pass state must match (see `listIdentity`). */
  identity?(): string;
  /**
   * A fresh stream of references; stops (and aborts its requests) when `signal` aborts. A listing source calls
   * `onEmpty` when its listing ends without a reference.
   */
  refs(
    client: DatasetClient,
    signal?: AbortSignal,
    listConcurrency?: number,
    onEmpty?: () => void,
  ): AsyncIterable<ObjectRef> | Iterable<ObjectRef>;
}

/**
 * Every object under a prefix URI (`oss://bucket/prefix/`), in key order, streamed as the listing pages
 * arrive. Keys ending in `/` (folder markers) are skipped.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { prefixSource } from "./sources.ts";
 * expect(prefixSource("oss://my-bucket/train/").description).toEqual("oss://my-bucket/train/");
 * ```
 */
export function prefixSource(uri: string): DatasetSource {
  const u = parsePrefixUri(uri);
  return {
    kind: "prefix",
    description: uri,
    async *refs(client, signal, listConcurrency = 1, onEmpty) {
      // Fast listing pages of 1000: its parallel ranges, not small pages, keep it ahead of the prefetch.
      const listing = listConcurrency > 1 && client instanceof OssClient
        ? listFast(client, u.bucket, { prefix: u.key, concurrency: listConcurrency, signal })
        // No maxKeys: `OssClient.list` asks for 100 keys first (the first item comes soon), then pages of
        // 1000, each requested while the one before is consumed. Pages of 250 throughout cost 9 µs of client CPU
        // a key at 15 ms latency, pages of 1000 about 5 (bench/cpu_per_object.ts).
        : client.list(u.bucket, { prefix: u.key, signal });
      let any = false;
      for await (const o of listing) {
        if (o.key.endsWith("/")) continue;
        any = true;
        yield { scheme: u.scheme, bucket: u.bucket, key: o.key, size: o.size, etag: o.etag, label: "" };
      }
      if (!any) onEmpty?.();
    },
  };
}

/**
 * The objects named by a list of URIs (one URI string is a list of one). The URIs are checked at once.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { objectsSource } from "./sources.ts";
 * expect(objectsSource(["oss://b01/a.jpg", "oss://b01/b.jpg"]).description).toEqual("2 objects");
 * ```
 */
export function objectsSource(uris: string | Iterable<string>): DatasetSource {
  if (typeof uris !== "string" && (uris === null || typeof uris !== "object" || !(Symbol.iterator in uris))) {
    throw new TypeError(
      `fromObjects: expected a URI string or an iterable of URI strings, got ${typeof uris}`,
    );
  }
  const refs: ObjectRef[] = (typeof uris === "string" ? [uris] : [...uris]).map((s) => {
    const u = parseUri(s);
    return { scheme: u.scheme, bucket: u.bucket, key: u.key, label: "" };
  });
  return {
    kind: "objects",
    description: `${refs.length} objects`,
    identity: () => listIdentity(refs),
    refs: () => refs,
  };
}

/**
 * A digest of a list of objects (32-bit FNV-1a over each bucket and key, in order), so that a saved pass state
 * of one list is refused by a dataset of another list of the same length. URLs count by bucket and key only: a
 * list presigned again (new signatures) is the same list.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listIdentity } from "./sources.ts";
 * const a = listIdentity([{ bucket: "b", key: "x" }, { bucket: "b", key: "y" }]);
 * expect([a === listIdentity([{ bucket: "b", key: "x" }, { bucket: "b", key: "y" }]), a.length]).toEqual([true, 8]);
 * expect(a).not.toEqual(listIdentity([{ bucket: "b", key: "y" }, { bucket: "b", key: "x" }]));
 * ```
 */
export function listIdentity(refs: Iterable<{ bucket: string; key: string }>): string {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x0a, 0x01000193); // a separator no key or bucket holds in this position
  };
  for (const r of refs) {
    mix(r.bucket);
    mix(r.key);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Resolves a manifest path against the base URI: a full `oss://`/`s3://` URI stands alone, `/bucket/key` names
 * its bucket, anything else is a key under the base URI's prefix.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveManifestPath } from "./sources.ts";
 * import { parsePrefixUri } from "../uri.ts";
 * expect(resolveManifestPath("img/1.png", parsePrefixUri("oss://b01/data/")).key).toEqual("data/img/1.png");
 * ```
 */
export function resolveManifestPath(path: string, base?: ObjectUri): ObjectRef {
  if (/^(oss|s3):\/\//i.test(path)) {
    const u = parseUri(path);
    return { scheme: u.scheme, bucket: u.bucket, key: u.key };
  }
  if (path.startsWith("/")) {
    const slash = path.indexOf("/", 1);
    if (slash < 2 || slash === path.length - 1) {
      throw new SyntaxError(`expected /bucket/key, got ${JSON.stringify(path)}`);
    }
    return { scheme: base?.scheme ?? "oss", bucket: path.slice(1, slash), key: path.slice(slash + 1) };
  }
  if (!base) {
    throw new SyntaxError(
      `relative path ${JSON.stringify(path)} needs a base URI (pass baseUri, e.g. "oss://bucket/prefix/")`,
    );
  }
  const sep = base.key === "" || base.key.endsWith("/") ? "" : "/";
  return { scheme: base.scheme, bucket: base.bucket, key: base.key + sep + path };
}

/**
 * The objects listed in a manifest (on OSS, at an http(s) URL, or a local file), read line by line.
 * `parser` is a {@linkcode ManifestParser} or a format name (default "auto"); relative paths resolve against
 * `baseUri`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { manifestSource } from "./sources.ts";
 * const src = manifestSource("oss://b01/manifests/train.jsonl", "jsonl", "oss://b01/data/");
 * expect(src.kind).toEqual("manifest");
 * ```
 */
export function manifestSource(
  location: string,
  parser?: ManifestParser | ManifestFormat,
  baseUri?: string,
): DatasetSource {
  if (typeof location !== "string" || location === "") {
    throw new TypeError(
      `fromManifestFile: expected a manifest location (oss://, http(s)://, or a path), got ${location}`,
    );
  }
  const base = baseUri === undefined || baseUri === "" ? undefined : parsePrefixUri(baseUri);
  return {
    kind: "manifest",
    description: location,
    async *refs(client, signal) {
      const stream = await openManifest(location, { client, signal });
      for await (const e of readManifest(stream, { parser, source: location })) {
        let ref: ObjectRef;
        try {
          ref = resolveManifestPath(e.path, base);
        } catch (err) {
          throw new ManifestError(location, e.lineNumber, (err as Error).message, { cause: err });
        }
        ref.label = e.label;
        if (e.size !== undefined) ref.size = e.size;
        if (e.etag !== undefined) ref.etag = e.etag;
        yield ref;
      }
    },
  };
}

/**
 * Options of `fromManifestFile`: the dataset options plus the manifest's `parser` (a format name or a function;
 * default detected from the first line) and `baseUri` (what relative paths resolve against).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { ManifestDatasetOptions } from "./sources.ts";
 * const opts: ManifestDatasetOptions = { parser: "index", baseUri: "oss://my-bucket/images/", worldSize: 1 };
 * expect(opts.parser).toEqual("index");
 * ```
 */
export type ManifestDatasetOptions<O = DatasetOptions> = O & {
  /** A format name (`"jsonl"`, `"index"`, `"keylabel"`, `"auto"`) or a parser. Default `"auto"`. */
  parser?: ManifestParser | ManifestFormat;
  /** What relative paths resolve against, e.g. `"oss://my-bucket/images/"`. */
  baseUri?: string;
};

/**
 * Reads the arguments of `fromManifestFile` in either form — `(manifest, { parser, baseUri, ...options })` or
 * the positional `(manifest, parser?, baseUri?, options?)` — into the manifest source and the dataset options.
 *
 * @throws {TypeError} naming the argument when the second is neither options, a format name nor a parser.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { manifestArgs } from "./sources.ts";
 * const a = manifestArgs("oss://b01/m.txt", { parser: "index", baseUri: "oss://b01/", worldSize: 2 });
 * const b = manifestArgs("oss://b01/m.txt", "index", "oss://b01/", { worldSize: 2 });
 * expect([a.opts, b.opts]).toEqual([{ worldSize: 2 }, { worldSize: 2 }]);
 * ```
 */
export function manifestArgs<O extends object>(
  manifest: string,
  parserOrOpts: ManifestParser | ManifestFormat | ManifestDatasetOptions<O> | undefined,
  baseUri?: string,
  opts?: O,
): { source: DatasetSource; opts: O } {
  if (parserOrOpts !== null && typeof parserOrOpts === "object") {
    if (baseUri !== undefined || opts !== undefined) {
      throw new TypeError(
        "fromManifestFile: pass (manifest, { parser, baseUri, ...options }) or (manifest, parser, baseUri, " +
          "options), not options followed by more arguments",
      );
    }
    const { parser, baseUri: base, ...rest } = parserOrOpts as ManifestDatasetOptions<O>;
    return { source: manifestSource(manifest, parser, base), opts: rest as unknown as O };
  }
  if (parserOrOpts !== undefined && typeof parserOrOpts !== "string" && typeof parserOrOpts !== "function") {
    throw new TypeError(
      `fromManifestFile: the second argument must be options, a format name or a parser function, got ${
        JSON.stringify(parserOrOpts)
      }`,
    );
  }
  return { source: manifestSource(manifest, parserOrOpts, baseUri), opts: opts ?? ({} as O) };
}
