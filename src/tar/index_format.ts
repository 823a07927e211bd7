/**
 * The tar index: where each member's data lies in an archive, for random access with ranged GETs
 * (`OssMapDataset.fromTar`). It is JSON Lines (UTF-8), one object per line:
 *
 * ```text
 * {"format":"ossflow-tar-index","version":1,"size":3584,"etag":"\"5D41…\"","members":2}
 * {"name":"train/0001.jpg","offset":512,"size":1024}
 * {"name":"train/0001.cls","offset":2048,"size":1}
 * ```
 *
 * The first line describes the archive: its size in bytes and ETag when known (a reader pins every ranged GET to
 * that ETag with `If-Match`, so a replaced archive fails instead of returning other bytes) and the number of
 * member lines. Each further line is one regular file, in archive order: its path (PAX and GNU long names
 * applied), the byte offset of its first data byte, and its size. Any tool can make one: a member's data is bytes
 * `offset … offset + size - 1` of the archive.
 *
 * @module
 */
import { TarError } from "./error.ts";

/** One member of a {@linkcode TarIndex}. */
export interface TarIndexEntry {
  /** The member's path. */
  name: string;
  /** Byte offset of its data in the archive. */
  offset: number;
  /** Its size in bytes. */
  size: number;
}

/**
 * A parsed tar index.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { formatTarIndex, parseTarIndex, type TarIndex } from "./index_format.ts";
 * const index: TarIndex = { size: 3584, etag: '"A"', entries: [{ name: "0001.jpg", offset: 512, size: 1024 }] };
 * expect(parseTarIndex(formatTarIndex(index), "oss://b01/s.tar.idx")).toEqual(index);
 * ```
 */
export interface TarIndex {
  /** The archive's size in bytes, when known. */
  size?: number;
  /** The archive's ETag (quotes included), when known. */
  etag?: string;
  /** The members, in archive order. */
  entries: TarIndexEntry[];
}

/** The `format` value of an index's first line. */
export const TAR_INDEX_FORMAT = "ossflow-tar-index";

/**
 * Writes an index as JSON Lines (see the module doc).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { formatTarIndex } from "./index_format.ts";
 * const text = formatTarIndex({ entries: [{ name: "a.txt", offset: 512, size: 3 }] });
 * expect(text.split("\n")[1]).toEqual('{"name":"a.txt","offset":512,"size":3}');
 * ```
 */
export function formatTarIndex(index: TarIndex): string {
  const head = {
    format: TAR_INDEX_FORMAT,
    version: 1,
    size: index.size,
    etag: index.etag,
    members: index.entries.length,
  };
  const lines = [JSON.stringify(head)];
  for (const e of index.entries) lines.push(JSON.stringify({ name: e.name, offset: e.offset, size: e.size }));
  return lines.join("\n") + "\n";
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads an index written by {@linkcode formatTarIndex} (or any tool following the format).
 *
 * @throws {TarError} naming the index (`uri`) and the byte offset of the first bad line.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseTarIndex } from "./index_format.ts";
 * expect(() => parseTarIndex('{"format":"zip"}\n', "oss://b01/s.tar.idx")).toThrow("at byte 0");
 * ```
 */
export function parseTarIndex(text: string, uri: string): TarIndex {
  const lines = text.split("\n");
  let at = 0;
  const fail = (detail: string): never => {
    throw new TarError(uri, at, `bad tar index: ${detail}`);
  };
  let head: Record<string, unknown> = {};
  try {
    head = JSON.parse(lines[0]);
  } catch {
    fail(`the first line is not JSON (expected {"format":"${TAR_INDEX_FORMAT}",…})`);
  }
  if (head?.format !== TAR_INDEX_FORMAT || head.version !== 1) {
    fail(`the first line must be {"format":"${TAR_INDEX_FORMAT}","version":1,…}`);
  }
  const index: TarIndex = { entries: [] };
  if (head.size !== undefined) index.size = isCount(head.size) ? head.size : fail("size: expected bytes");
  if (head.etag !== undefined) {
    index.etag = typeof head.etag === "string" ? head.etag : fail("etag: expected a string");
  }
  const encoder = new TextEncoder();
  at += encoder.encode(lines[0]).byteLength + 1;
  for (const line of lines.slice(1)) {
    if (line.trim() !== "") {
      let e: Record<string, unknown> = {};
      try {
        e = JSON.parse(line);
      } catch {
        fail("a member line is not JSON");
      }
      if (typeof e?.name !== "string" || !isCount(e.offset) || !isCount(e.size)) {
        fail('expected {"name": string, "offset": bytes, "size": bytes}');
      }
      if (index.size !== undefined && (e.offset as number) + (e.size as number) > index.size) {
        fail(`member ${JSON.stringify(e.name)} ends past the archive's ${index.size} bytes`);
      }
      index.entries.push({ name: e.name as string, offset: e.offset as number, size: e.size as number });
    }
    at += encoder.encode(line).byteLength + 1;
  }
  if (isCount(head.members) && head.members !== index.entries.length) {
    at = 0;
    fail(
      `the first line promises ${head.members} members, the index has ${index.entries.length} (truncated?)`,
    );
  }
  return index;
}
