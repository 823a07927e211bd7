/**
 * Fast listing: a prefix listed as several key ranges at once and merged back into the order one listing gives.
 *
 * ListObjectsV2 is a chain of round trips (each page names the next), so one listing gets at most a page per
 * round trip. {@linkcode listFast} lists `(after, upTo]` key ranges side by side. It finds their boundaries from
 * the store itself: while a range is being listed and request slots are idle, it picks split points between the
 * range's last listed key and its end, and starts a listing after each (`start-after`); that first page both
 * probes and lists. A split point past every remaining key yields an empty range and lowers the next guess, so the
 * ranges converge on where the keys are, whatever their distribution. Each range stops at its end (a page that
 * crosses it is cut there), so no key is lost or listed twice, and the ranges are yielded in key order.
 *
 * @module
 */
import type { OssClient } from "./client.ts";
import type { ObjectSummary, RequestOptions } from "./client_types.ts";
import { checkBucket, checkInt, checkOptionalString } from "./client_util.ts";
import { compareKeys } from "./key_order.ts";

/** Options of {@linkcode listFast}. */
export interface FastListOptions extends RequestOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys after this one. */
  startAfter?: string;
  /** Listing requests in flight at most; 1 is one plain listing. Default 16. */
  concurrency?: number;
  /** Keys per page, 1..1000; default 1000 (the first page: 100, so the first keys come quickly). */
  maxKeys?: number;
  /** Keys listed ahead of the caller in ranges it has not reached; a range waits beyond it. Default 200,000. */
  maxBufferedKeys?: number;
}

const FIRST_PAGE_KEYS = 100;
/** Above every code point: the end of the keys under a prefix is the prefix followed by it. */
const BEYOND = 0x110000;

/**
 * Every object under `prefix`, in the order one listing gives (UTF-8 byte order), listed as up to `concurrency`
 * key ranges at once. It starts as one listing (the first key comes as soon as one listing's would) and splits
 * the remaining key space whenever a request slot is idle. With `concurrency: 1` it is `client.list`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../mod.ts";
 * import { listFast } from "./fast_list.ts";
 * import { serveEmulator } from "./server/emulator.ts";
 * const server = await serveEmulator({ buckets: ["data"] });
 * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
 * const keys = Array.from({ length: 2500 }, (_, i) => `train/${String(i).padStart(5, "0")}.bin`);
 * for (const key of keys) await server.store.put("data", key, new Uint8Array(1));
 * const listed = await Array.fromAsync(listFast(client, "data", { prefix: "train/", concurrency: 8, maxKeys: 100 }));
 * expect(listed.map((o) => o.key)).toEqual(keys);
 * await server.close();
 * ```
 */
export async function* listFast(
  client: OssClient,
  bucket: string,
  opts: FastListOptions = {},
): AsyncGenerator<ObjectSummary> {
  checkBucket("listFast", bucket);
  checkOptionalString("listFast", "prefix", opts.prefix);
  checkOptionalString("listFast", "startAfter", opts.startAfter);
  const concurrency = checkInt("listFast", "concurrency", opts.concurrency ?? 16, 1, 1000);
  const maxKeys = checkInt("listFast", "maxKeys", opts.maxKeys ?? 1000, 1, 1000);
  const maxBuffered = checkInt("listFast", "maxBufferedKeys", opts.maxBufferedKeys ?? 200_000, 1);
  const { prefix = "", startAfter, signal, onRetry } = opts;
  if (concurrency === 1) {
    yield* client.list(bucket, { prefix, startAfter, maxKeys: opts.maxKeys, signal, onRetry });
    return;
  }
  const lister = new RangeLister(client, bucket, prefix, concurrency, maxKeys, maxBuffered, signal, onRetry);
  try {
    yield* lister.run(startAfter ?? "");
  } finally {
    await lister.close();
  }
}

/** Keys after `after`, up to and including `upTo` (to the end of the prefix when undefined). */
class Range {
  readonly pages: ObjectSummary[][] = [];
  done = false;
  running = false;
  /** Pages listed since the range was last split: one with more to come makes it a candidate. */
  fresh = 0;
  cursor: string;
  constructor(readonly after: string, public upTo: string | undefined, readonly leading = false) {
    this.cursor = after;
  }
}

class RangeLister {
  readonly #ranges: Range[] = [];
  #head = 0;
  #active = 0;
  #buffered = 0;
  #error: unknown;
  #wakers: (() => void)[] = [];
  readonly #workers = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;

  constructor(
    readonly client: OssClient,
    readonly bucket: string,
    readonly prefix: string,
    readonly concurrency: number,
    readonly maxKeys: number,
    readonly maxBuffered: number,
    signal: AbortSignal | undefined,
    readonly onRetry: RequestOptions["onRetry"],
  ) {
    this.#signal = signal ? AbortSignal.any([signal, this.#stop.signal]) : this.#stop.signal;
  }

  async *run(startAfter: string): AsyncGenerator<ObjectSummary> {
    this.#start(new Range(startAfter, undefined, true), 0);
    while (this.#head < this.#ranges.length) {
      if (this.#error !== undefined) throw this.#error;
      const r = this.#ranges[this.#head];
      const page = r.pages.shift();
      if (page !== undefined) {
        this.#buffered -= page.length;
        this.#notify();
        yield* page;
      } else if (r.done) {
        this.#head++;
        this.#notify();
      } else {
        await this.#changed();
      }
    }
    if (this.#error !== undefined) throw this.#error;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    this.#notify();
    await Promise.allSettled(this.#workers);
  }

  #notify(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #start(r: Range, at: number): void {
    this.#ranges.splice(at, 0, r);
    r.running = true;
    this.#active++;
    const worker = this.#list(r).catch((err) => {
      this.#error ??= err;
      this.#stop.abort();
    }).finally(() => {
      r.running = false;
      this.#active--;
      this.#workers.delete(worker);
      this.#notify();
      this.#split();
    });
    this.#workers.add(worker);
  }

  async #list(r: Range): Promise<void> {
    let token: string | undefined;
    for (let first = true;; first = false) {
      // Ranges ahead of the caller wait while it has enough to read; the one it reads never does.
      while (this.#ranges[this.#head] !== r && this.#buffered >= this.maxBuffered) {
        this.#signal.throwIfAborted();
        await this.#changed();
      }
      this.#signal.throwIfAborted();
      const page = await this.client.listPage(this.bucket, {
        prefix: this.prefix,
        startAfter: token === undefined && r.after !== "" ? r.after : undefined,
        continuationToken: token,
        maxKeys: first && r.leading ? Math.min(FIRST_PAGE_KEYS, this.maxKeys) : this.maxKeys,
        signal: this.#signal,
        onRetry: this.onRetry,
      });
      // The end may have moved down while the page was on its way (a split): read it now.
      const upTo = r.upTo;
      let keys = page.objects;
      const past = upTo === undefined ? -1 : keys.findIndex((o) => compareKeys(o.key, upTo) > 0);
      if (past >= 0) keys = keys.slice(0, past);
      if (keys.length > 0) {
        r.pages.push(keys);
        this.#buffered += keys.length;
        r.cursor = keys[keys.length - 1].key;
      }
      if (past >= 0 || !page.isTruncated || page.nextContinuationToken === undefined) {
        r.done = true;
        return;
      }
      token = page.nextContinuationToken;
      r.fresh++;
      this.#notify();
      this.#split();
    }
  }

  /** Gives idle request slots to new ranges cut from the end of the range that has listed most since its split. */
  #split(): void {
    const idle = this.concurrency - this.#active;
    if (idle <= 0 || this.#signal.aborted || this.#error !== undefined) return;
    let victim: Range | undefined;
    for (let i = this.#head; i < this.#ranges.length; i++) {
      const r = this.#ranges[i];
      if (r.running && !r.done && r.fresh > 0 && (victim === undefined || r.fresh > victim.fresh)) victim = r;
    }
    if (victim === undefined) return;
    const from = compareKeys(victim.cursor, this.prefix) > 0 ? victim.cursor : this.prefix;
    const to = victim.upTo === undefined ? [...codePoints(this.prefix), BEYOND] : codePoints(victim.upTo);
    const points = splitPoints(codePoints(from), to, idle).map((p) => String.fromCodePoint(...p));
    if (points.length === 0) return;
    victim.fresh = 0;
    const at = this.#ranges.indexOf(victim) + 1;
    const end = victim.upTo;
    victim.upTo = points[0];
    points.forEach((p, j) => this.#start(new Range(p, j + 1 < points.length ? points[j + 1] : end), at + j));
  }
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

/** The exclusive end of the character class of `c` (digits, lower- and upper-case letters, ASCII): where keys
 * like `img_0042` most likely go on, so split points land among them rather than far beyond. */
function classEnd(c: number): number {
  if (c >= 0x30 && c <= 0x39) return 0x3a;
  if (c >= 0x61 && c <= 0x7a) return 0x7b;
  if (c >= 0x41 && c <= 0x5a) return 0x5b;
  return c < 0x80 ? 0x80 : BEYOND;
}

/** Skips the surrogate range, which no code point of a well-formed key uses. */
function valid(c: number): number {
  return c >= 0xd800 && c <= 0xdfff ? 0xe000 : c;
}

/**
 * Up to `n` increasing code point strings strictly between `a` and `b` (`a < b`; `b` may end in
 * {@linkcode BEYOND}). At the first position where they differ it spreads the points over the characters between
 * them (within `a`'s character class when `b` is far); when there are none, one position deeper.
 *
 * @example
 * ```ts ignore
 * splitPoints([...'img_0'].map((c) => c.codePointAt(0)!), [...'img_9'].map((c) => c.codePointAt(0)!), 3);
 * // img_2, img_4, img_6 (as code points)
 * ```
 */
export function splitPoints(a: number[], b: number[], n: number): number[][] {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i >= b.length) return []; // b is a prefix of a: nothing lies between
  const lo = i < a.length ? a[i] : -1;
  const far = b[i] === BEYOND || b[i] - lo > 0x80;
  const hi = far ? Math.min(b[i], classEnd(Math.max(lo, 0))) : b[i];
  const room = hi - lo - 1;
  if (room <= 0) {
    // Nothing between at this position: go one deeper inside a's character there (all of it is below b).
    if (i >= a.length) return [];
    return splitPoints(a, [...a.slice(0, i + 1), BEYOND], n);
  }
  const count = Math.min(n, room);
  const points: number[][] = [];
  let last = lo;
  for (let j = 1; j <= count; j++) {
    const c = valid(lo + Math.round((j * (room + 1)) / (count + 1)));
    if (c <= last || c >= hi) continue;
    points.push([...a.slice(0, i), c]);
    last = c;
  }
  return points;
}
