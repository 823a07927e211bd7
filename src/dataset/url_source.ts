/**
 * Datasets from URLs: presigned OSS4 / SigV4 URLs or public `http(s)://` URLs, fetched with plain `fetch` and no
 * credentials. A URL's query may carry its signature, so it never leaves the reference: items, errors, log and
 * audit records name the URL without its query.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { bucketAndKey, redact } from "../log.ts";
import type { ObjectRef } from "./item.ts";
import { type DatasetSource, listIdentity } from "./sources.ts";

/**
 * What `fromUrls` accepts: URL strings or `URL`s, from an array (or any iterable) or an async iterable.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type UrlList, urlsSource } from "./url_source.ts";
 * const urls: UrlList = [new URL("https://example.com/a.jpg"), "https://example.com/b.jpg"];
 * expect(urlsSource(urls).description).toEqual("2 URLs");
 * ```
 */
export type UrlList =
  | string
  | URL
  | Iterable<string | URL>
  | AsyncIterable<string | URL>;

/**
 * How URLs become bucket and key.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { urlRef, type UrlRefOptions } from "./url_source.ts";
 * const opts: UrlRefOptions = { pathStyle: true };
 * const ref = urlRef("http://minio:9000/data/train/a.jpg", 0, opts);
 * expect([ref.bucket, ref.key]).toEqual(["data", "train/a.jpg"]);
 * ```
 */
export interface UrlRefOptions {
  /**
   * Whether the first path segment is the bucket (`http://host/bucket/key`). Default: yes for IP and `localhost`
   * hosts (the local server), no otherwise (`https://bucket.oss-cn-hangzhou.aliyuncs.com/key`, or any other host,
   * where the whole path is the key).
   */
  pathStyle?: boolean;
}

/**
 * `text` with the query of `url` removed wherever it appears (whole, or any parameter value of 4+ characters,
 * raw or decoded), and signatures, credentials and tokens masked as the logger masks them.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { redactQuery } from "./url_source.ts";
 * const url = "http://127.0.0.1:9000/b/k?x-oss-signature=abcdef0123";
 * expect(redactQuery(`error sending request for url (${url})`, url)).toEqual("error sending request for url (http://127.0.0.1:9000/b/k)");
 * ```
 */
export function redactQuery(text: string, url: string | URL): string {
  const href = String(url);
  const q = href.indexOf("?");
  if (q < 0) return redact(text);
  const base = href.slice(0, q);
  const search = href.slice(q).replace(/#.*$/, "");
  let out = text.split(href).join(base).split(search).join("");
  for (const pair of search.slice(1).split("&")) {
    const raw = pair.slice(pair.indexOf("=") + 1);
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw.replaceAll("+", " "));
    } catch { /* keep the raw form */ }
    for (const v of new Set([raw, decoded])) if (v.length >= 4) out = out.split(v).join("***");
  }
  return redact(out);
}

/** An input as error messages may show it: never its query, at most 200 characters. */
function shown(input: string): string {
  const cut = input.search(/[?#]/);
  const head = cut < 0 ? input : `${input.slice(0, cut)}${input[cut] === "?" ? "?…" : ""}`;
  return JSON.stringify(head.length > 200 ? `${head.slice(0, 200)}…` : head);
}

/**
 * Checks one URL and turns it into a reference: `key` is the decoded path without its leading slash (and, path
 * style, without the bucket segment, which becomes `bucket`), `uri` the URL without query or fragment, and `url`
 * — not enumerable, so it stays out of logs, JSON and worker messages — the URL to fetch.
 *
 * @throws {ConfigError} naming the entry (`#index`, and the URL without its query) and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { urlRef } from "./url_source.ts";
 * const ref = urlRef("https://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/a%20b.jpg?x-oss-signature=abc", 0);
 * expect([ref.bucket, ref.key, ref.uri])
 *   .toEqual(["my-bucket", "train/a b.jpg", "https://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/a%20b.jpg"]);
 * expect(JSON.stringify(ref).includes("signature")).toBe(false);
 * ```
 */
export function urlRef(input: unknown, index: number, opts: UrlRefOptions = {}): ObjectRef {
  const name = `fromUrls: URL #${index}`;
  let url: URL;
  if (input instanceof URL) url = new URL(input.href);
  else if (typeof input === "string") {
    try {
      url = new URL(input);
    } catch {
      throw new ConfigError(`${name} ${shown(input)}: expected an absolute http:// or https:// URL`);
    }
  } else {
    throw new ConfigError(
      `${name}: expected a URL string or a URL object, got ${input === null ? "null" : typeof input}`,
    );
  }
  url.hash = "";
  const uri = `${url.origin}${url.pathname}`;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(
      `${name} ${shown(url.href)}: expected an http:// or https:// URL, got ${url.protocol}//`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      `${name} (${url.host}${url.pathname}): a user name or password in the URL is not supported (fetch refuses them)`,
    );
  }
  const split = bucketAndKey(url, opts.pathStyle);
  // Virtual-hosted style the bucket is the host's first label, which an IP address has none of.
  const bucket = opts.pathStyle === false && IP.test(url.hostname) ? "" : split.bucket;
  const key = split.key;
  if (key === "") {
    throw new ConfigError(`${name} ${shown(uri)}: expected a URL naming an object, but its path names none`);
  }
  const ref: ObjectRef = { bucket, key, label: "", uri };
  Object.defineProperty(ref, "url", { value: url.href, enumerable: false });
  return ref;
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}

/**
 * The objects at a list of URLs (see {@linkcode urlRef} for bucket, key and uri). A URL string, a `URL` or an
 * iterable is read and checked at once. An async iterable is read during each pass (the first item is fetched
 * before the last URL arrives) and asked again for every pass, so one that fetches fresh presigned URLs renews
 * them per epoch; a one-shot async iterator (an async generator, a `ReadableStream`) is read once, and later
 * passes replay the URLs of that first, complete pass. Duplicate URLs are kept (e.g. to oversample).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { urlsSource } from "./url_source.ts";
 * const src = urlsSource(["http://127.0.0.1:9000/b/a.bin", "http://127.0.0.1:9000/b/b.bin"]);
 * expect([src.kind, src.description]).toEqual(["urls", "2 URLs"]);
 * ```
 */
export function urlsSource(urls: UrlList, opts: UrlRefOptions = {}): DatasetSource {
  if (typeof urls === "string" || urls instanceof URL) urls = [urls];
  if (isAsyncIterable(urls)) return asyncUrlsSource(urls, opts);
  if (urls === null || typeof urls !== "object" || !(Symbol.iterator in urls)) {
    throw new ConfigError(
      `fromUrls: expected an array, iterable or async iterable of URL strings or URLs, got ${
        urls === null ? "null" : typeof urls
      }`,
    );
  }
  const refs = Array.from(urls as Iterable<unknown>, (u, i) => urlRef(u, i, opts));
  return {
    kind: "urls",
    description: `${refs.length} URLs`,
    identity: () => listIdentity(refs),
    refs: () => refs,
  };
}

function asyncUrlsSource(urls: AsyncIterable<unknown>, opts: UrlRefOptions): DatasetSource {
  let state: "unread" | "reading" | "read" | "cut" = "unread";
  let kept: ObjectRef[] = [];
  return {
    kind: "urls",
    description: "URLs from an async iterable",
    async *refs(_client, signal) {
      const it = urls[Symbol.asyncIterator]();
      const oneShot = (it as unknown) === urls || urls instanceof ReadableStream;
      if (oneShot && state === "read") {
        yield* kept;
        return;
      }
      if (oneShot && state !== "unread") {
        throw new ConfigError(
          "fromUrls: the URLs came from a one-shot async iterator (an async generator or a stream) that " +
            `${state === "reading" ? "another pass is still reading" : "an earlier pass stopped reading"}` +
            "; pass an array, or an async iterable that can be iterated again, to make more passes",
        );
      }
      if (oneShot) state = "reading";
      let i = 0, done = false;
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          signal?.throwIfAborted();
          const ref = urlRef(r.value, i++, opts);
          if (oneShot) kept.push(ref);
          yield ref;
        }
        done = true;
      } finally {
        if (!done) await it.return?.();
        if (oneShot) {
          state = done ? "read" : "cut";
          if (!done) kept = [];
        }
      }
    },
  };
}
