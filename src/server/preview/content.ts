/**
 * How the preview app shows an object: what kind it is (image, JSON lines, JSON, text or binary), judged from
 * the stored content type, the key's extension and the first bytes; and the truncated text or hex head of it.
 *
 * @module
 */
import { getMimeType } from "hono/utils/mime";

/**
 * What an object is shown as: `image` (served as-is), `jsonl`, `json`, `text` (decoded, truncated) or
 * `binary` (a hex head).
 */
export type PreviewKind = "image" | "jsonl" | "json" | "text" | "binary";

/** Extensions Hono's table lacks. */
const EXTRA_TYPES: Record<string, string> = {
  jsonl: "application/jsonl",
  ndjson: "application/x-ndjson",
  md: "text/markdown; charset=utf-8",
  yaml: "application/yaml",
  yml: "application/yaml",
  tsv: "text/tab-separated-values; charset=utf-8",
  log: "text/plain; charset=utf-8",
  tfrecord: "application/octet-stream",
};

/** Content types that say nothing about the bytes: judge by extension and content instead. */
const GENERIC_TYPES = new Set([
  "",
  "application/octet-stream",
  "binary/octet-stream",
  "application/x-binary",
]);

/**
 * The content type a key's extension suggests, e.g. `image/png` for `cats/1.png`; undefined when unknown.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { typeFromKey } from "./content.ts";
 * expect(typeFromKey("train/0001.jpg")).toEqual("image/jpeg");
 * expect(typeFromKey("meta/rows.jsonl")).toEqual("application/jsonl");
 * ```
 */
export function typeFromKey(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return getMimeType(name) ?? getMimeType(name, EXTRA_TYPES);
}

function essence(contentType: string | undefined): string {
  return (contentType ?? "").split(";", 1)[0].trim().toLowerCase();
}

function kindOfType(type: string): PreviewKind | undefined {
  if (type.startsWith("image/")) return "image";
  if (type === "application/jsonl" || type === "application/x-ndjson" || type === "application/x-jsonlines") {
    return "jsonl";
  }
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (
    type.startsWith("text/") || type === "application/xml" || type.endsWith("+xml") ||
    type === "application/yaml" || type === "application/javascript"
  ) return "text";
  return undefined;
}

/**
 * Classifies an object: the stored content type wins when it is specific; otherwise the key's extension;
 * otherwise the first bytes (UTF-8 without NUL bytes is text, and text whose every complete line is a JSON
 * object is JSON lines). Also tells the content type to serve an image with.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { classify } from "./content.ts";
 * const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
 * expect(classify("a/1.png", "application/octet-stream", png)).toEqual({ kind: "image", contentType: "image/png" });
 * const rows = new TextEncoder().encode('{"a":1}\n{"a":2}\n');
 * expect(classify("rows", undefined, rows).kind).toEqual("jsonl");
 * ```
 */
export function classify(
  key: string,
  storedType: string | undefined,
  head: Uint8Array,
): { kind: PreviewKind; contentType: string } {
  const stored = essence(storedType);
  if (!GENERIC_TYPES.has(stored)) {
    const kind = kindOfType(stored);
    // A type that is specific but not previewable (e.g. application/zip) is binary.
    return { kind: kind ?? "binary", contentType: storedType! };
  }
  const fromKey = typeFromKey(key);
  const kind = fromKey ? kindOfType(essence(fromKey)) : undefined;
  if (kind) return { kind, contentType: fromKey! };
  if (fromKey) return { kind: "binary", contentType: fromKey };
  const text = decodeHead(head);
  if (text === undefined) return { kind: "binary", contentType: "application/octet-stream" };
  return looksLikeJsonLines(text)
    ? { kind: "jsonl", contentType: "application/jsonl" }
    : { kind: "text", contentType: "text/plain; charset=utf-8" };
}

/** The head decoded as UTF-8 (a character cut at the end is dropped); undefined when it is not text. */
function decodeHead(head: Uint8Array): string | undefined {
  if (head.includes(0)) return undefined;
  try {
    // stream: true leaves an incomplete last character for a next call that never comes: it is dropped.
    return new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
  } catch {
    return undefined;
  }
}

function looksLikeJsonLines(text: string): boolean {
  const lines = completeLines(text, false).filter((l) => l.trim() !== "");
  return lines.length > 0 && lines.every((l) => l.trimStart().startsWith("{") && parses(l));
}

function parses(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Lines of `text`; when `truncated`, the last (possibly cut) line is left out. */
function completeLines(text: string, truncated: boolean): string[] {
  const end = text.lastIndexOf("\n");
  if (end < 0) return truncated ? [] : [text];
  const lines = text.slice(0, end).split("\n");
  const rest = text.slice(end + 1);
  if (!truncated && rest !== "") lines.push(rest);
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

/** The text preview of an object's head. */
export interface TextPreview {
  /** The decoded text: at most the head's bytes, ending on a whole character (and, for JSON lines, a whole line). */
  text: string;
  /** For JSON lines: the parsed complete lines (a line that is not JSON is kept as its string). */
  records?: unknown[];
}

/**
 * Decodes the head of a text object for display. `truncated` says the object continues past the head: the
 * cut character (and for JSON lines the cut line) is then left out.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { textPreview } from "./content.ts";
 * const head = new TextEncoder().encode('{"id":1}\n{"id":2}\n{"id"');
 * expect(textPreview(head, "jsonl", true)).toEqual({ text: '{"id":1}\n{"id":2}\n', records: [{ id: 1 }, { id: 2 }] });
 * ```
 */
export function textPreview(head: Uint8Array, kind: PreviewKind, truncated: boolean): TextPreview {
  const text = new TextDecoder("utf-8").decode(head, { stream: truncated });
  if (kind !== "jsonl") return { text };
  const lines = completeLines(text, truncated);
  const records = lines.filter((l) => l.trim() !== "").map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return l;
    }
  });
  const shown = truncated ? text.slice(0, text.lastIndexOf("\n") + 1) : text;
  return { text: shown, records };
}

/**
 * Hex digits of bytes, two per byte, separated by spaces (a hex head of a binary object).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { hexHead } from "./content.ts";
 * expect(hexHead(new Uint8Array([0, 15, 255]))).toEqual("00 0f ff");
 * ```
 */
export function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
