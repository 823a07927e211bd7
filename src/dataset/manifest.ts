/**
 * Manifest files: a line splitter over a byte stream, the three manifest formats of the OSS connector docs, and
 * opening a manifest that lives on OSS, on an http(s) URL, or in a local file. Manifests are read as streams, a
 * line at a time, so a manifest of millions of lines never sits whole in memory.
 *
 * Formats (each line is one or more entries; blank lines are skipped):
 * - JSON lines: `{"data": {"source": "oss://bucket/key", "label": "cat"}}` (also a top-level `label` or `source`).
 * - Index: `path:label,path:label,…` — entries separated by commas, the label after the last `:` of each entry.
 * - Key and label: `path<TAB>label` or `path label` (split at the tab, else at the last space); label optional.
 *
 * A path is a full `oss://` / `s3://` URI, a `/bucket/key` path, or a key relative to the dataset's base URI.
 *
 * @module
 */
import { OssflowError } from "../errors.ts";
import { openFileStream } from "../fs.ts";

/**
 * One entry of a manifest.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { keyLabelParser, type ManifestEntry } from "./manifest.ts";
 * const entry: ManifestEntry = keyLabelParser("train/cat.jpg cat", 1);
 * expect([entry.path, entry.label]).toEqual(["train/cat.jpg", "cat"]);
 * ```
 */
export interface ManifestEntry {
  /** `oss://bucket/key`, `s3://bucket/key`, `/bucket/key`, or a key relative to the base URI. */
  path: string;
  /** The label, "" when the line has none. */
  label: string;
  /** The object's size, when the manifest says (a listing snapshot does). */
  size?: number;
  /** The object's ETag, when the manifest says (a listing snapshot does); the items carry it. */
  etag?: string;
}

/**
 * Parses one manifest line into entries (`null`/`undefined`/`[]` for none). Throw (any error) for a malformed
 * line: the reader rethrows it as a {@linkcode ManifestError} naming the manifest and the line number.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type ManifestParser, readManifest } from "./manifest.ts";
 * const semicolons: ManifestParser = (line) => ({ path: line.split(";")[0], label: line.split(";")[1] ?? "" });
 * const stream = new Blob(["a.jpg;cat\nb.jpg;dog\n"]).stream();
 * const entries = await Array.fromAsync(readManifest(stream, { parser: semicolons }));
 * expect(entries.map((e) => e.label)).toEqual(["cat", "dog"]);
 * ```
 */
export type ManifestParser = (
  line: string,
  lineNumber: number,
) => ManifestEntry | ManifestEntry[] | null | undefined;

/**
 * The built-in formats by name; `"auto"` picks one from the first non-blank line.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type ManifestFormat, readManifest } from "./manifest.ts";
 * const format: ManifestFormat = "index";
 * const stream = new Blob(["a.jpg:cat,b.jpg:dog\n"]).stream();
 * const entries = await Array.fromAsync(readManifest(stream, { parser: format }));
 * expect([entries.length, entries[1].path, entries[1].label]).toEqual([2, "b.jpg", "dog"]);
 * ```
 */
export type ManifestFormat = "auto" | "jsonl" | "index" | "keylabel";

/**
 * A manifest that cannot be read or has a malformed line.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { ManifestError } from "./manifest.ts";
 * const e = new ManifestError("train.jsonl", 7, "expected a JSON object");
 * expect(e.message).toEqual("manifest train.jsonl: line 7: expected a JSON object");
 * ```
 */
export class ManifestError extends OssflowError {
  /** The manifest's location. */
  readonly source: string;
  /** 1-based line number, 0 when the error is not about one line. */
  readonly lineNumber: number;

  /** An error about `source` (and line `lineNumber`, when above 0). */
  constructor(source: string, lineNumber: number, message: string, options?: { cause?: unknown }) {
    super(`manifest ${source}: ${lineNumber > 0 ? `line ${lineNumber}: ` : ""}${message}`, options);
    this.name = "ManifestError";
    this.source = source;
    this.lineNumber = lineNumber;
  }
}

/**
 * The longest manifest line read by default, in UTF-16 code units (bytes, for ASCII): 1 MiB. A real entry is a
 * few hundred bytes; an index-format line holding a whole shard may reach tens of KiB. The limit keeps a file
 * that is not a manifest (or has no newlines at all) from being buffered whole: it fails fast with a
 * {@linkcode ManifestError} naming the line instead.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_MAX_LINE_LENGTH } from "./manifest.ts";
 * expect(DEFAULT_MAX_LINE_LENGTH).toEqual(1048576);
 * ```
 */
export const DEFAULT_MAX_LINE_LENGTH: number = 1024 * 1024;

/**
 * A line longer than the limit of a {@linkcode LineSplitStream}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { LineTooLongError } from "./manifest.ts";
 * const e = new LineTooLongError(3, 1024);
 * expect([e.lineNumber, e.message]).toEqual([3, "line 3 is longer than 1024 characters"]);
 * ```
 */
export class LineTooLongError extends OssflowError {
  /** 1-based number of the offending line. */
  readonly lineNumber: number;
  /** The limit that was exceeded. */
  readonly limit: number;

  constructor(lineNumber: number, limit: number) {
    super(`line ${lineNumber} is longer than ${limit} characters`);
    this.name = "LineTooLongError";
    this.lineNumber = lineNumber;
    this.limit = limit;
  }
}

/**
 * Splits a text stream into lines (without `\n` or `\r\n`), like Deno std's `TextLineStream`. A line longer
 * than `maxLineLength` (default {@linkcode DEFAULT_MAX_LINE_LENGTH}) errors the stream with a
 * {@linkcode LineTooLongError} as soon as that many characters are buffered.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { LineSplitStream } from "./manifest.ts";
 * const lines = ReadableStream.from(["a\nb", "c\r\n", "d"]).pipeThrough(new LineSplitStream());
 * expect(await Array.fromAsync(lines)).toEqual(["a", "bc", "d"]);
 * ```
 */
export class LineSplitStream extends TransformStream<string, string> {
  constructor(opts: { maxLineLength?: number } = {}) {
    const max = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    let rest = "";
    let n = 0;
    const emit = (line: string, ctl: TransformStreamDefaultController<string>) => {
      n++;
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (text.length > max) throw new LineTooLongError(n, max);
      ctl.enqueue(text);
    };
    super({
      transform(chunk, ctl) {
        const text = rest + chunk;
        let from = 0;
        for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
          emit(text.slice(from, nl), ctl);
          from = nl + 1;
        }
        rest = text.slice(from);
        // +1: a trailing "\r" of a CRLF may still be in `rest`.
        if (rest.length > max + 1) throw new LineTooLongError(n + 1, max);
      },
      flush(ctl) {
        if (rest.length > 0) emit(rest, ctl);
      },
    });
  }
}

const JSON_EXPECTED = 'expected a JSON object like {"data": {"source": "oss://bucket/key"}}';

function short(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}

function labelOf(v: unknown): string {
  return v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * JSON lines: `{"data": {"source": "oss://…", "label": …}}`; a label may also sit at the top level, and a bare
 * `{"source": …}` is accepted. Non-string labels are kept as their JSON text.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { jsonLinesParser } from "./manifest.ts";
 * expect(jsonLinesParser('{"data": {"source": "oss://b/cat.jpg", "label": "cat"}}', 1)).toEqual({ path: "oss://b/cat.jpg", label: "cat" });
 * ```
 */
export function jsonLinesParser(line: string, _lineNumber: number): ManifestEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new SyntaxError(`${JSON_EXPECTED}, got invalid JSON ${short(line)}`);
  }
  const o = v as { data?: { source?: unknown; label?: unknown }; source?: unknown; label?: unknown } | null;
  const source = o?.data?.source ?? o?.source;
  if (typeof o !== "object" || o === null || typeof source !== "string" || source === "") {
    throw new SyntaxError(`${JSON_EXPECTED}, got ${short(line)}`);
  }
  const entry: ManifestEntry = { path: source, label: labelOf(o.data?.label ?? o.label) };
  const { size, etag } = o as { size?: unknown; etag?: unknown };
  if (size !== undefined) {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new SyntaxError(
        `"size": expected a byte count (an integer >= 0), got ${short(JSON.stringify(size))}`,
      );
    }
    entry.size = size;
  }
  if (etag !== undefined) {
    if (typeof etag !== "string" || etag === "") {
      throw new SyntaxError(`"etag": expected a non-empty string, got ${short(JSON.stringify(etag))}`);
    }
    entry.etag = etag;
  }
  return entry;
}

/** The index of the `:` before a label in `path:label`, or -1 (a `:` inside `oss://` is not one). */
function labelColon(entry: string): number {
  const colon = entry.lastIndexOf(":");
  return colon > entry.lastIndexOf("/") && !entry.startsWith("://", colon) ? colon : -1;
}

/**
 * The index file: `path:label,path:label,…` on one or many lines.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { indexParser } from "./manifest.ts";
 * expect(indexParser("a.jpg:cat,b.jpg:dog", 1)).toEqual([{ path: "a.jpg", label: "cat" }, { path: "b.jpg", label: "dog" }]);
 * ```
 */
export function indexParser(line: string, _lineNumber: number): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const raw of line.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const colon = labelColon(entry);
    const path = (colon < 0 ? entry : entry.slice(0, colon)).trim();
    if (path === "") throw new SyntaxError(`expected entries like path:label, got ${short(entry)}`);
    out.push({ path, label: colon < 0 ? "" : entry.slice(colon + 1).trim() });
  }
  return out;
}

/**
 * `path<TAB>label` or `path label` (split at the first tab, else at the last space); a line with only a path
 * has the label "".
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { keyLabelParser } from "./manifest.ts";
 * expect(keyLabelParser("img/001.png\tlabel1", 1)).toEqual({ path: "img/001.png", label: "label1" });
 * ```
 */
export function keyLabelParser(line: string, _lineNumber: number): ManifestEntry {
  const text = line.trim();
  const tab = text.indexOf("\t");
  const cut = tab >= 0 ? tab : text.lastIndexOf(" ");
  const path = (cut < 0 ? text : text.slice(0, cut)).trim();
  if (path === "") throw new SyntaxError(`expected "path<TAB>label" or "path label", got ${short(line)}`);
  return { path, label: cut < 0 ? "" : text.slice(cut + 1).trim() };
}

/**
 * Picks the built-in parser for a manifest from its first non-blank line.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { detectManifestFormat } from "./manifest.ts";
 * expect(detectManifestFormat('{"data": {"source": "oss://b/k"}}')).toEqual("jsonl");
 * expect(detectManifestFormat("a.jpg:cat,b.jpg:dog")).toEqual("index");
 * expect(detectManifestFormat("a.jpg cat")).toEqual("keylabel");
 * ```
 */
export function detectManifestFormat(firstLine: string): Exclude<ManifestFormat, "auto"> {
  const t = firstLine.trim();
  if (t.startsWith("{")) return "jsonl";
  const comma = t.indexOf(",");
  if (comma > 0 && labelColon(t.slice(0, comma).trim()) >= 0) return "index";
  if (/[\t ]/.test(t)) return "keylabel";
  return labelColon(t) >= 0 ? "index" : "keylabel";
}

const PARSERS: Record<Exclude<ManifestFormat, "auto">, ManifestParser> = {
  jsonl: jsonLinesParser,
  index: indexParser,
  keylabel: keyLabelParser,
};

/** Options of {@linkcode readManifest}. */
export interface ReadManifestOptions {
  /** A parser or a format name. Default "auto". */
  parser?: ManifestParser | ManifestFormat;
  /** The manifest's name in errors. */
  source?: string;
  /** Longest line accepted, in characters. Default {@linkcode DEFAULT_MAX_LINE_LENGTH} (1 MiB). */
  maxLineLength?: number;
}

/**
 * Reads entries from a manifest byte stream, a line at a time. A malformed line ends the stream with a
 * {@linkcode ManifestError} naming the line number.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readManifest } from "./manifest.ts";
 * const bytes = new Blob(["a.jpg cat\n", "b.jpg dog\n"]).stream();
 * const entries = await Array.fromAsync(readManifest(bytes), (e) => [e.lineNumber, e.path, e.label]);
 * expect(entries).toEqual([[1, "a.jpg", "cat"], [2, "b.jpg", "dog"]]);
 * ```
 */
export async function* readManifest(
  stream: ReadableStream<Uint8Array>,
  opts: ReadManifestOptions = {},
): AsyncGenerator<ManifestEntry & { lineNumber: number }, void, undefined> {
  const source = opts.source ?? "<stream>";
  let parser = typeof opts.parser === "function" ? opts.parser : undefined;
  const format = typeof opts.parser === "string" ? opts.parser : "auto";
  if (!parser && format !== "auto") {
    parser = PARSERS[format];
    if (!parser) {
      throw new ManifestError(
        source,
        0,
        `unknown format ${JSON.stringify(format)}: expected auto, jsonl, index or keylabel`,
      );
    }
  }
  const lines = stream.pipeThrough(new TextDecoderStream("utf-8", { fatal: true }))
    .pipeThrough(new LineSplitStream({ maxLineLength: opts.maxLineLength }));
  const reader = lines.getReader();
  let n = 0;
  try {
    while (true) {
      let r: ReadableStreamReadResult<string>;
      try {
        r = await reader.read();
      } catch (e) {
        if (e instanceof LineTooLongError) {
          throw new ManifestError(
            source,
            e.lineNumber,
            `line longer than ${e.limit} characters: not a manifest, or raise maxLineLength`,
            { cause: e },
          );
        }
        throw new ManifestError(source, n + 1, `cannot read: ${(e as Error)?.message ?? e}`, { cause: e });
      }
      if (r.done) return;
      n++;
      const line = r.value;
      if (line.trim() === "") continue;
      parser ??= PARSERS[detectManifestFormat(line)];
      let parsed: ManifestEntry | ManifestEntry[] | null | undefined;
      try {
        parsed = parser(line, n);
      } catch (e) {
        throw new ManifestError(source, n, (e as Error)?.message ?? String(e), { cause: e });
      }
      if (!parsed) continue;
      for (const entry of Array.isArray(parsed) ? parsed : [parsed]) {
        if (typeof entry?.path !== "string" || entry.path === "") {
          throw new ManifestError(source, n, "the parser returned an entry without a path");
        }
        yield { ...entry, label: entry.label ?? "", lineNumber: n };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** What {@linkcode openManifest} needs to read a manifest stored on OSS (an `OssClient` fits). */
export interface ObjectGetter {
  /** Fetches an object; only `body` is used. */
  get(
    bucket: string,
    key: string,
    opts?: { signal?: AbortSignal },
  ): Promise<{ body: ReadableStream<Uint8Array> }>;
}

/**
 * Opens a manifest as a byte stream: `oss://bucket/key` or `s3://bucket/key` through `client`, an `http(s)://`
 * URL through `fetch`, a `file://` URL or any other string as a local path.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { openManifest, readManifest } from "./manifest.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a.jpg cat\n");
 * const entries = await Array.fromAsync(readManifest(await openManifest(path)), (e) => e.path);
 * expect(entries).toEqual(["a.jpg"]);
 * ```
 */
export async function openManifest(
  location: string,
  opts: { client?: ObjectGetter; fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<ReadableStream<Uint8Array>> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme === "oss" || scheme === "s3") {
    if (!opts.client) throw new ManifestError(location, 0, "a client is needed to read a manifest on OSS");
    const rest = location.slice(scheme.length + 3);
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) {
      throw new ManifestError(location, 0, `expected ${scheme}://bucket/key`);
    }
    return (await opts.client.get(rest.slice(0, slash), rest.slice(slash + 1), { signal: opts.signal })).body;
  }
  if (scheme === "http" || scheme === "https") {
    const res = await (opts.fetch ?? fetch)(location, { signal: opts.signal });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new ManifestError(location, 0, `HTTP ${res.status} ${res.statusText}`.trim());
    }
    return res.body;
  }
  if (scheme === "file") return await openFileStream(decodeURIComponent(new URL(location).pathname));
  if (scheme) {
    throw new ManifestError(location, 0, "expected oss://, s3://, http(s)://, file:// or a local path");
  }
  return await openFileStream(location);
}
