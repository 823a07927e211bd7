/**
 * Where each member of a tar stream lies: the byte offsets of its first header block and of its data.
 * `modern-tar` parses the archive (names, PAX and GNU long names, checksums) but does not tell offsets, which a
 * random-access index and an error message naming a byte both need; {@linkcode TarLayout} walks the same bytes
 * beside it, reading only what placement depends on — each header block's type flag and size field, and a PAX
 * header's `size` record — and the reader checks that both agree on every member.
 *
 * @module
 */

const BLOCK = 512;
const decoder = new TextDecoder();

/**
 * The placement of one member (a header that is not a PAX/GNU extension header).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { MemberPlacement } from "./layout.ts";
 * const p: MemberPlacement = { headerOffset: 0, dataOffset: 512, size: 5, typeflag: "0" };
 * expect(p.dataOffset - p.headerOffset).toEqual(512);
 * ```
 */
export interface MemberPlacement {
  /** Offset of the member's first header block (its PAX or GNU long-name header when it has one). */
  headerOffset: number;
  /** Offset of the member's first data byte. */
  dataOffset: number;
  /** Data bytes (0 for directories and links). */
  size: number;
  /** The ustar type flag (`"0"` regular file, `"5"` directory, …). */
  typeflag: string;
}

/** Rounds up to whole 512-byte blocks. */
export function padded(size: number): number {
  return size + ((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A numeric header field: octal digits, or GNU base-256 (high bit set) for values that do not fit. */
function numeric(block: Uint8Array, at: number, len: number): number {
  if (block[at] & 0x80) {
    let v = block[at] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + block[at + i];
    return v;
  }
  const s = decoder.decode(block.subarray(at, at + len)).replace(/[\0 ]+$/, "").trim();
  return s === "" ? 0 : parseInt(s, 8);
}

/** The `size` record of a PAX extended header, if any. */
function paxSize(body: Uint8Array): number | undefined {
  const m = /(?:^|\n)\d+ size=(\d+)\n/.exec(decoder.decode(body));
  return m ? Number(m[1]) : undefined;
}

/** The header checksum: the sum of the block's bytes with the checksum field counted as spaces. */
function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return numeric(h, 148, 8) === sum;
}

const EXTENSION = new Set(["x", "g", "L", "K"]);
const BODYLESS = new Set(["1", "2", "3", "4", "5", "6"]);

/**
 * Walks a tar stream chunk by chunk and records each member's placement, in archive order.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { packTar } from "modern-tar";
 * import { TarLayout } from "./layout.ts";
 * const tar = await packTar([{ header: { name: "a.txt", size: 3 }, body: "abc" }, { header: { name: "b.txt", size: 1 }, body: "b" }]);
 * const layout = new TarLayout();
 * layout.push(tar);
 * expect([layout.take()?.dataOffset, layout.take()?.dataOffset, layout.ended]).toEqual([512, 1536, true]);
 * ```
 */
export class TarLayout {
  /** Bytes seen so far. */
  received = 0;
  /** Offset of the first header block whose checksum is wrong, if any (where a strict parser stops). */
  badHeader: number | undefined;
  /** Whether the end-of-archive blocks were seen. */
  ended = false;
  #pos = 0;
  #skip = 0;
  #entryStart = 0;
  #header = new Uint8Array(BLOCK);
  #fill = 0;
  /** The body of a PAX header being read, and how much of it is still to come. */
  #pax: { body: Uint8Array; at: number } | undefined;
  #nextSize: number | undefined;
  #placed: MemberPlacement[] = [];
  #head = 0;

  /**
   * Where a read that fails now failed: the first header of the next member not yet taken (the walk runs ahead
   * of the parser), else the header the walk is in.
   */
  get failOffset(): number {
    return this.badHeader ?? this.#placed[this.#head]?.headerOffset ?? this.#entryStart;
  }

  /** The next member's placement, in order, or undefined when none is known yet. */
  take(): MemberPlacement | undefined {
    if (this.#head >= this.#placed.length) return undefined;
    const p = this.#placed[this.#head++];
    if (this.#head > 1024) {
      this.#placed = this.#placed.slice(this.#head);
      this.#head = 0;
    }
    return p;
  }

  /** Reads the next bytes of the archive. */
  push(chunk: Uint8Array): void {
    this.received += chunk.byteLength;
    let i = 0;
    while (i < chunk.byteLength && !this.ended) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.byteLength - i);
        if (this.#pax) {
          const want = this.#pax.body.byteLength - this.#pax.at;
          const take = Math.min(want, n);
          this.#pax.body.set(chunk.subarray(i, i + take), this.#pax.at);
          this.#pax.at += take;
        }
        i += n;
        this.#skip -= n;
        this.#pos += n;
        if (this.#skip === 0 && this.#pax) {
          this.#nextSize = paxSize(this.#pax.body) ?? this.#nextSize;
          this.#pax = undefined;
        }
        continue;
      }
      const n = Math.min(BLOCK - this.#fill, chunk.byteLength - i);
      this.#header.set(chunk.subarray(i, i + n), this.#fill);
      this.#fill += n;
      i += n;
      this.#pos += n;
      if (this.#fill === BLOCK) {
        this.#fill = 0;
        this.#block(this.#header);
      }
    }
  }

  #block(h: Uint8Array): void {
    const headerAt = this.#pos - BLOCK;
    if (h.every((b) => b === 0)) {
      this.ended = true; // the first of the two zero blocks that end an archive
      return;
    }
    if (this.badHeader === undefined && !checksumOk(h)) this.badHeader = headerAt;
    const typeflag = String.fromCharCode(h[156] || 0x30);
    const size = numeric(h, 124, 12);
    if (EXTENSION.has(typeflag)) {
      this.#skip = padded(size);
      if (typeflag === "x" && size > 0 && size <= 1 << 20) this.#pax = { body: new Uint8Array(size), at: 0 };
      return;
    }
    const dataSize = BODYLESS.has(typeflag) ? 0 : this.#nextSize ?? size;
    this.#nextSize = undefined;
    this.#placed.push({
      headerOffset: this.#entryStart,
      dataOffset: headerAt + BLOCK,
      size: dataSize,
      typeflag,
    });
    this.#skip = padded(dataSize);
    this.#entryStart = headerAt + BLOCK + padded(dataSize);
  }
}
