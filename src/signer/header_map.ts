/**
 * The headers a signer reads and writes ({@linkcode HeaderMap}: a `Headers` object has all of it), and
 * {@linkcode HeaderRecord}, a plain record of them that `OssClient` signs and hands to `fetch`. `fetch` reads a
 * `Headers` object through its iterator, which sorts and joins the list on every call; a record it reads as it
 * is (measured in Deno 2.9: `new Request(url, { headers })` with four headers, 6.8 µs from a `Headers`, 3.4 µs
 * from a record), and a request per small object pays it.
 *
 * @module
 */

/**
 * What signing needs of a request's headers. A `Headers` object is one; so is {@linkcode HeaderRecord}.
 * Iteration yields `[name, value]` pairs with lower-case names in name order, as `Headers` does.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { HeaderMap } from "./header_map.ts";
 * const headers: HeaderMap = new Headers({ "X-Oss-Meta-A": "1" });
 * expect([...headers]).toEqual([["x-oss-meta-a", "1"]]);
 * ```
 */
export interface HeaderMap extends Iterable<[string, string]> {
  /** The value of `name` (any case), or null. */
  get(name: string): string | null;
  /** Whether `name` (any case) is set. */
  has(name: string): boolean;
  /** Sets `name` to `value`, replacing any value it had. */
  set(name: string, value: string): void;
  /** Removes `name`. */
  delete(name: string): void;
}

/** An HTTP token: what a header name may be made of (RFC 9110). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value may not hold: NUL, CR, LF (the Fetch standard), or a character above U+00FF (a byte string). */
const FORBIDDEN_IN_VALUE = /[\0\r\n\u0100-\uffff]/;
/** Leading and trailing HTTP whitespace, which `Headers` strips from values. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** Header names already checked, with their lower-case form: a request sets the same few names each time. */
const checkedNames = new Map<string, string>();
const CHECKED_NAMES_MAX = 1024;

/** `name` lower-cased, once checked to be an HTTP token. */
function headerName(name: string): string {
  let lower = checkedNames.get(name);
  if (lower !== undefined) return lower;
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  lower = name.toLowerCase();
  if (checkedNames.size >= CHECKED_NAMES_MAX) checkedNames.clear();
  checkedNames.set(name, lower);
  return lower;
}

/** Whether the character code is HTTP whitespace (tab, LF, CR, space). */
function isHttpSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Request headers as a plain record with lower-case names, checked and normalised as `Headers` checks and
 * normalises them (a name must be a token; a value loses its edge whitespace and must be a byte string without
 * NUL, CR or LF), so that what is signed is byte for byte what `fetch` sends, and a bad value is refused here
 * rather than by `fetch` (where it would look like a network error). `init` hands the record to `fetch`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { HeaderRecord } from "./header_map.ts";
 * const headers = new HeaderRecord({ Range: "bytes=0-9" });
 * headers.set("X-Oss-Meta-Note", "  spaced  ");
 * expect([...headers]).toEqual([["range", "bytes=0-9"], ["x-oss-meta-note", "spaced"]]);
 * expect(new Request("http://127.0.0.1/", { headers: headers.init }).headers.get("x-oss-meta-note")).toEqual("spaced");
 * expect(() => headers.set("x-oss-meta-bad", "a\nb")).toThrow(TypeError);
 * ```
 */
export class HeaderRecord implements HeaderMap {
  /** The headers for `fetch`'s `init.headers`: lower-case names, normalised values. */
  readonly init: Record<string, string> = Object.create(null);

  /** Headers from a record (names in any case), checked as {@linkcode HeaderRecord.set} checks them. */
  constructor(init?: Record<string, string>) {
    if (init !== undefined) { for (const name of Object.keys(init)) this.set(name, init[name]); }
  }

  /** The value of `name` (any case), or null. */
  get(name: string): string | null {
    return this.init[name.toLowerCase()] ?? null;
  }

  /** Whether `name` (any case) is set. */
  has(name: string): boolean {
    return this.init[name.toLowerCase()] !== undefined;
  }

  /**
   * Sets `name` to `value` without its edge whitespace.
   *
   * @throws {TypeError} when the name is not an HTTP token, or the value holds NUL, CR, LF or a character above
   * U+00FF (as `Headers` does).
   */
  set(name: string, value: string): void {
    const lower = headerName(name);
    let v = String(value);
    if (v.length > 0 && (isHttpSpace(v.charCodeAt(0)) || isHttpSpace(v.charCodeAt(v.length - 1)))) {
      v = v.replace(EDGE_WHITESPACE, "");
    }
    if (FORBIDDEN_IN_VALUE.test(v)) {
      throw new TypeError(
        `invalid value for header ${JSON.stringify(name)}: it holds NUL, CR, LF or a character above U+00FF`,
      );
    }
    this.init[lower] = v;
  }

  /** Removes `name` (any case). */
  delete(name: string): void {
    const lower = name.toLowerCase();
    if (this.init[lower] !== undefined) delete this.init[lower];
  }

  /** `[name, value]` pairs in name order. */
  [Symbol.iterator](): Iterator<[string, string]> {
    const init = this.init;
    return Object.keys(init).sort().map((name): [string, string] => [name, init[name]])[Symbol.iterator]();
  }
}
