/**
 * Reading a tar archive from a byte stream, member by member: `modern-tar`'s Web-streams decoder (strict: bad
 * checksums, truncation and junk after the end fail) beside {@linkcode TarLayout}, which places each member in
 * the archive. Never buffers the archive whole: one member at a time.
 *
 * @module
 */
import { createTarDecoder, type ParsedTarEntry } from "modern-tar";
import { OssflowError } from "../errors.ts";
import { TarError } from "./error.ts";
import { type MemberPlacement, TarLayout } from "./layout.ts";

/**
 * One member of a tar archive, with its placement and (unless only placements were asked for) its bytes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { TarMember } from "./reader.ts";
 * const m: TarMember = { name: "0001.cls", headerOffset: 0, dataOffset: 512, size: 1, type: "file", bytes: new Uint8Array([7]) };
 * expect(m.bytes?.[0]).toEqual(7);
 * ```
 */
export interface TarMember extends Omit<MemberPlacement, "typeflag"> {
  /** The member's path (PAX `path` and GNU long names applied). */
  name: string;
  /** `"file"`, `"directory"`, `"symlink"`, … (modern-tar's names). */
  type: string;
  /** The data, for regular files when read with `bytes: true` (the default). */
  bytes?: Uint8Array;
}

/** Options of {@linkcode readTar}. */
export interface ReadTarOptions {
  /** How the archive is named in errors (`oss://bucket/shard.tar`). */
  uri: string;
  /** Read each regular file's bytes (default true); false: placements only, bodies skipped. */
  bytes?: boolean;
}

/** Reads exactly `size` bytes of a member's body into one buffer. */
async function readMember(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  for await (const chunk of body) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Library errors (network, integrity, abort) pass through; anything the decoder threw becomes a TarError. */
function asTarError(e: unknown, uri: string, layout: TarLayout, current?: MemberPlacement): unknown {
  if (e instanceof OssflowError || (e instanceof DOMException && e.name === "AbortError")) return e;
  const msg = (e as Error)?.message ?? String(e);
  if (/truncated/i.test(msg)) {
    const inside = current && layout.received < current.dataOffset + current.size
      ? `, inside a member whose data should end at byte ${current.dataOffset + current.size}`
      : "";
    return new TarError(uri, layout.received, `the archive is truncated: it ends here${inside}`, {
      cause: e,
    });
  }
  return new TarError(uri, layout.failOffset, `corrupt archive: ${msg}`, { cause: e });
}

/**
 * Reads a tar archive (ustar, PAX, GNU long names) from `body`, yielding every member in archive order with its
 * placement: regular files with their bytes, other entries (directories, links) without. The archive must end
 * with its end-of-archive blocks.
 *
 * @throws {TarError} naming `opts.uri` and the byte offset when the archive is truncated or corrupt; errors of
 * the body itself (a network failure, a CRC-64 mismatch, an abort) pass through unchanged.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { packTar } from "modern-tar";
 * import { readTar } from "./reader.ts";
 * const tar = await packTar([{ header: { name: "0001.txt", size: 2 }, body: "hi" }]);
 * const members = await Array.fromAsync(readTar(new Blob([tar]).stream(), { uri: "mem://a.tar" }));
 * expect(members.map((m) => [m.name, m.dataOffset, new TextDecoder().decode(m.bytes)])).toEqual([["0001.txt", 512, "hi"]]);
 * ```
 */
export async function* readTar(
  body: ReadableStream<Uint8Array>,
  opts: ReadTarOptions,
): AsyncGenerator<TarMember, void, undefined> {
  const { uri } = opts;
  const layout = new TarLayout();
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      layout.push(chunk);
      c.enqueue(chunk);
    },
  });
  const decoder = createTarDecoder({ strict: true });
  // The body is read to its end even after the end-of-archive blocks: a CRC-64 checked body reports a mismatch
  // only there. Stopped when the consumer stops early.
  const stop = new AbortController();
  const piped = body.pipeThrough(tap).pipeTo(decoder.writable, { signal: stop.signal });
  piped.catch(() => {}); // its error reaches the reader too; awaited below
  const reader = decoder.readable.getReader();
  let current: MemberPlacement | undefined;
  let complete = false;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<ParsedTarEntry>;
      try {
        r = await reader.read();
      } catch (e) {
        throw asTarError(e, uri, layout, current);
      }
      if (r.done) break;
      const { header, body } = r.value;
      current = layout.take();
      if (current === undefined || (header.type === "file" && current.size !== header.size)) {
        await body.cancel().catch(() => {});
        throw new TarError(
          uri,
          current?.headerOffset ?? layout.failOffset,
          `member ${JSON.stringify(header.name)}: its header does not match the archive's layout`,
        );
      }
      const member: TarMember = {
        name: header.name,
        type: header.type ?? "file",
        headerOffset: current.headerOffset,
        dataOffset: current.dataOffset,
        size: header.type === "file" ? header.size : 0,
      };
      if (header.type === "file" && opts.bytes !== false) {
        try {
          member.bytes = await readMember(body, header.size);
        } catch (e) {
          throw asTarError(e, uri, layout, current);
        }
      } else await body.cancel().catch(() => {});
      yield member;
    }
    try {
      await piped;
    } catch (e) {
      throw asTarError(e, uri, layout, current);
    }
    complete = true;
  } finally {
    if (!complete) {
      stop.abort(new DOMException("tar reading stopped", "AbortError"));
      reader.cancel().catch(() => {});
    }
  }
}
