/**
 * Encoding rules shared by the signers and the verifier: RFC 3986 percent-encoding, the canonical query
 * string, and the ISO 8601 basic timestamps (`20231216T162057Z`) both signature versions put in the scope.
 *
 * @module
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const SUB_DELIMS = /[!'()*]/;
const SUB_DELIMS_ALL = /[!'()*]/g;

function hexEscape(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * Percent-encodes everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), as UTF-8 with
 * upper-case hex. `encodeURIComponent` leaves `!'()*` alone; signatures need them encoded.
 * Throws `URIError` on a lone surrogate, which has no UTF-8 form.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeRfc3986 } from "./encoding.ts";
 * expect(encodeRfc3986("a b!(é)")).toEqual("a%20b%21%28%C3%A9%29");
 * ```
 */
export function encodeRfc3986(value: string): string {
  if (UNRESERVED.test(value)) return value;
  const encoded = encodeURIComponent(value);
  return SUB_DELIMS.test(encoded) ? encoded.replace(SUB_DELIMS_ALL, hexEscape) : encoded;
}

/**
 * {@link encodeRfc3986} that keeps `/`: the form of a canonical URI such as `/bucket/dir/a%20b.txt`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeUriPath } from "./encoding.ts";
 * expect(encodeUriPath("/bucket/1234+-/123/1.txt")).toEqual("/bucket/1234%2B-/123/1.txt");
 * ```
 */
export function encodeUriPath(path: string): string {
  const encoded = encodeRfc3986(path);
  return encoded.includes("%2F") ? encoded.replaceAll("%2F", "/") : encoded;
}

/** Decodes one raw query component (`+` is a space) and re-encodes it in canonical RFC 3986 form. */
function canonicalComponent(raw: string): string {
  if (UNRESERVED.test(raw)) return raw;
  return encodeRfc3986(decodeURIComponent(raw.includes("+") ? raw.replaceAll("+", " ") : raw));
}

function comparePairs(a: [string, string], b: [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/**
 * The canonical query string of OSS Signature V4: every name and value decoded and re-encoded per RFC 3986,
 * pairs sorted by encoded name (then value), and a pair with an empty value written as the bare name.
 * `search` is a raw query (`url.search`, with or without the leading `?`). Re-encoding makes the result the
 * same however the sender spelled the query (`+` or `%20`, `!` or `%21`). Names in `exclude` (compared in
 * encoded form) are left out, e.g. `x-oss-signature` when a presigned URL is checked.
 * Throws `URIError` when a component is not valid percent-encoded UTF-8.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { canonicalQueryString } from "./encoding.ts";
 * expect(canonicalQueryString("?uploads&prefix=a+b&max-keys=2")).toEqual("max-keys=2&prefix=a%20b&uploads");
 * ```
 */
export function canonicalQueryString(search: string, exclude?: string): string {
  const start = search.startsWith("?") ? 1 : 0;
  if (search.length <= start) return "";
  const pairs: [string, string][] = [];
  for (const part of search.slice(start).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = canonicalComponent(eq < 0 ? part : part.slice(0, eq));
    if (name === exclude) continue;
    pairs.push([name, eq < 0 ? "" : canonicalComponent(part.slice(eq + 1))]);
  }
  if (pairs.length > 1) pairs.sort(comparePairs);
  let out = "";
  for (const [name, value] of pairs) {
    if (out !== "") out += "&";
    out += value === "" ? name : `${name}=${value}`;
  }
  return out;
}

/**
 * Formats a time as the ISO 8601 basic UTC timestamp used by both signature versions (`x-oss-date`,
 * `x-amz-date`). Returns `undefined` for an invalid Date or a year outside 0000-9999.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { formatIsoBasic } from "./encoding.ts";
 * expect(formatIsoBasic(new Date(Date.UTC(2023, 11, 16, 16, 20, 57)))).toEqual("20231216T162057Z");
 * ```
 */
export function formatIsoBasic(date: Date): string | undefined {
  const time = date.getTime();
  if (!Number.isFinite(time)) return undefined;
  const iso = date.toISOString(); // 2023-12-16T16:20:57.000Z
  if (iso.length !== 24) return undefined;
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${
    iso.slice(17, 19)
  }Z`;
}

const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Parses an ISO 8601 basic UTC timestamp such as `20231216T162057Z`. Returns `undefined` when the text is
 * not in that form or names an impossible time (month 13, 25 o'clock, 31 February).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseIsoBasic } from "./encoding.ts";
 * expect(parseIsoBasic("20231216T162057Z")?.toISOString()).toEqual("2023-12-16T16:20:57.000Z");
 * expect(parseIsoBasic("2023-12-16T16:20:57Z")).toBeUndefined();
 * ```
 */
export function parseIsoBasic(text: string): Date | undefined {
  const m = ISO_BASIC.exec(text);
  if (m === null) return undefined;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  // Date.UTC rolls 31 Feb over to 2/3 March and treats years 0-99 as 1900-1999: a round trip catches both.
  return formatIsoBasic(date) === text ? date : undefined;
}
