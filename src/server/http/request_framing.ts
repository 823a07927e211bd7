/**
 * Follows the HTTP/1.1 requests on one client connection as its bytes pass through the connection proxy
 * (reset_proxy.ts), so the proxy can take over `Expect: 100-continue` from `Deno.serve`, which answers
 * `100 Continue` as soon as it has read the request head, before the handler runs: a client would upload
 * its whole body to be refused by authentication. The tracker renames the header of each request that
 * carries it to {@linkcode EXPECT_CONTINUE_MARKER} (so `Deno.serve` sends nothing) and reports it; the
 * server then sends `100 Continue` through the proxy when a handler first reads the body.
 *
 * Only request framing is parsed (head, `Content-Length` or chunked body, trailers); everything else is
 * forwarded byte for byte. Input it cannot follow (a head over 64 KiB, a malformed chunk, bytes that cannot
 * start a request line, such as a TLS handshake from a client that took the server for https) is passed on
 * untouched from then on, for `Deno.serve` to refuse at once.
 *
 * @module
 */

/**
 * The header `Expect: 100-continue` is renamed to on its way to `Deno.serve`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { EXPECT_CONTINUE_MARKER } from "./request_framing.ts";
 * expect(EXPECT_CONTINUE_MARKER).toEqual("ossflow-expect");
 * ```
 */
export const EXPECT_CONTINUE_MARKER = "ossflow-expect";

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const CR = 13, LF = 10;

type Mode = "head" | "fixed" | "chunk-size" | "chunk-data" | "trailer" | "pass";

/**
 * Request framing of one connection.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { RequestFraming } from "./request_framing.ts";
 * const seen: boolean[] = [];
 * const framing = new RequestFraming((expects) => seen.push(expects));
 * const wire = "PUT /b/k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n";
 * const out = framing.push(new TextEncoder().encode(wire)).map((piece) => new TextDecoder().decode(piece)).join("");
 * expect([out.includes("ossflow-expect: 100-continue"), seen]).toEqual([true, [true, false]]);
 * ```
 */
export class RequestFraming {
  #mode: Mode = "head";
  #head: Uint8Array = new Uint8Array(0);
  /** Body bytes left (`fixed`), or chunk bytes plus CRLF left (`chunk-data`). */
  #remaining = 0;
  /** The current chunk-size or trailer line. */
  #line = "";
  #onHead: (expectsContinue: boolean) => void;

  /** `onHead` runs for every request head, saying whether it asked for `100 Continue`. */
  constructor(onHead: (expectsContinue: boolean) => void) {
    this.#onHead = onHead;
  }

  /** The bytes to forward for `chunk`: the same bytes, with request heads rewritten where needed. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      const start = at;
      switch (this.#mode) {
        case "pass":
          out.push(chunk.subarray(at));
          return out;
        case "head":
          at = this.#readHead(chunk, at, out);
          continue;
        case "fixed":
        case "chunk-data": {
          at += Math.min(this.#remaining, chunk.length - at);
          this.#remaining -= at - start;
          if (this.#remaining === 0) this.#mode = this.#mode === "fixed" ? "head" : "chunk-size";
          break;
        }
        case "chunk-size":
        case "trailer":
          at = this.#readLine(chunk, at);
          break;
      }
      out.push(chunk.subarray(start, at));
    }
    return out;
  }

  /** Collects a request head; once complete, forwards it (rewritten) and switches to its body. */
  #readHead(chunk: Uint8Array, at: number, out: Uint8Array[]): number {
    const before = this.#head.length;
    const head = before === 0 ? chunk.subarray(at) : concat(this.#head, chunk.subarray(at));
    if (before === 0 && !requestLineStart(head)) {
      // Not HTTP (a TLS ClientHello starts with 0x16): waiting for a blank line would hold it forever.
      out.push(head);
      this.#mode = "pass";
      return chunk.length;
    }
    const end = indexOfBlankLine(head, Math.max(0, before - 3));
    if (end < 0) {
      this.#head = before === 0 ? head.slice() : head;
      if (head.length > MAX_HEAD) {
        out.push(head);
        this.#head = new Uint8Array(0);
        this.#mode = "pass";
      }
      return chunk.length;
    }
    this.#head = new Uint8Array(0);
    out.push(this.#startRequest(head.subarray(0, end)));
    return at + (end - before);
  }

  /** Reads a chunk-size or trailer line; returns where it stopped. */
  #readLine(chunk: Uint8Array, at: number): number {
    const lf = chunk.indexOf(LF, at);
    const stop = lf < 0 ? chunk.length : lf + 1;
    for (let i = at; i < stop; i++) this.#line += String.fromCharCode(chunk[i]);
    if (lf < 0) {
      if (this.#line.length > MAX_LINE) this.#mode = "pass";
      return stop;
    }
    const line = this.#line.replace(/\r?\n$/, "");
    this.#line = "";
    if (this.#mode === "trailer") {
      if (line === "") this.#mode = "head";
      return stop;
    }
    const size = /^[0-9a-fA-F]{1,12}(?:[ \t]*;.*)?$/.test(line) ? parseInt(line, 16) : NaN;
    if (Number.isNaN(size)) this.#mode = "pass";
    else if (size === 0) this.#mode = "trailer";
    else {
      this.#mode = "chunk-data";
      this.#remaining = size + 2;
    }
    return stop;
  }

  /** Parses a complete head (through its blank line), reports it and returns the bytes to forward. */
  #startRequest(head: Uint8Array): Uint8Array {
    let length = 0, chunked = false, expect = -1;
    // Header lines, by byte offsets: values may hold UTF-8, so the head is never decoded and re-encoded.
    for (let start = head.indexOf(LF) + 1; start < head.length;) {
      const lf = head.indexOf(LF, start);
      const end = lf < 0 ? head.length : lf + 1;
      const colon = head.indexOf(COLON, start);
      if (colon > start && colon < end) {
        const name = ascii(head, start, colon).trim().toLowerCase();
        const value = () => ascii(head, colon + 1, end).trim().toLowerCase();
        if (name === "content-length") length = /^\d{1,15}$/.test(value()) ? Number(value()) : 0;
        else if (name === "transfer-encoding") {
          chunked = value().split(",").some((v) => v.trim() === "chunked");
        } else if (name === "expect" && value() === "100-continue") expect = start;
      }
      start = end;
    }
    this.#onHead(expect >= 0);
    if (chunked) this.#mode = "chunk-size";
    else if (length > 0) {
      this.#mode = "fixed";
      this.#remaining = length;
    } else this.#mode = "head";
    if (expect < 0) return head;
    const colon = head.indexOf(COLON, expect);
    return concat(concat(head.subarray(0, expect), MARKER), head.subarray(colon));
  }
}

const COLON = 58;
const MARKER = new TextEncoder().encode(EXPECT_CONTINUE_MARKER);

/** Bytes [from, to) as text, one character per byte (header names and the values read here are ASCII). */
/**
 * Whether `bytes` can begin a request: empty lines (which a server ignores before a request line), then a method,
 * whose first character is an uppercase letter.
 */
function requestLineStart(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b !== CR && b !== LF) return b >= 0x41 && b <= 0x5a;
  }
  return true;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to && i - from < 256; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The index just past the first `\r\n\r\n` at or after `from`, or -1. */
function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(CR, from); i >= 0 && i + 3 < bytes.length; i = bytes.indexOf(CR, i + 1)) {
    if (bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) return i + 4;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
