/**
 * Writing a tar archive as a stream: `modern-tar`'s packer (ustar, with PAX headers for long names and large
 * sizes) with {@linkcode TarLayout} over its output, so the index of what was written comes for free.
 *
 * @module
 */
import { createTarPacker } from "modern-tar";
import type { TarIndexEntry } from "./index_format.ts";
import { TarLayout } from "./layout.ts";

/**
 * Packs regular files into a tar stream; `readable` must be consumed (piped to a writer) while files are added.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { TarPacker } from "./writer.ts";
 * const packer = new TarPacker();
 * const archive = new Response(packer.readable).bytes();
 * await packer.add("0001.txt", new TextEncoder().encode("hi"));
 * const index = await packer.finish();
 * expect([(await archive).length, index]).toEqual([2048, [{ name: "0001.txt", offset: 512, size: 2 }]]);
 * ```
 */
export class TarPacker {
  /** The archive's bytes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes added so far (data only). */
  dataBytes = 0;
  readonly #controller: ReturnType<typeof createTarPacker>["controller"];
  readonly #layout = new TarLayout();
  readonly #names: string[] = [];
  readonly #mtime: Date;
  #ended: Promise<void>;

  /** A packer whose members get modification time `mtime` (default now). */
  constructor(opts: { mtime?: Date } = {}) {
    const { readable, controller } = createTarPacker();
    this.#controller = controller;
    this.#mtime = opts.mtime ?? new Date();
    let ended!: () => void;
    this.#ended = new Promise((r) => ended = r);
    const layout = this.#layout;
    this.readable = readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          layout.push(chunk);
          c.enqueue(chunk);
        },
        flush: () => ended(),
      }),
    );
  }

  /** Adds one regular file. */
  async add(name: string, bytes: Uint8Array): Promise<void> {
    const w = this.#controller.add({
      name,
      size: bytes.byteLength,
      type: "file",
      mode: 0o644,
      mtime: this.#mtime,
    })
      .getWriter();
    if (bytes.byteLength > 0) await w.write(bytes);
    await w.close();
    this.#names.push(name);
    this.dataBytes += bytes.byteLength;
  }

  /** Ends the archive; resolves with its index once `readable` has been read to the end. */
  async finish(): Promise<TarIndexEntry[]> {
    this.#controller.finalize();
    await this.#ended;
    return this.#names.map((name) => {
      const p = this.#layout.take()!;
      return { name, offset: p.dataOffset, size: p.size };
    });
  }

  /** Fails the archive stream (its consumer sees `reason`). */
  abort(reason: unknown): void {
    this.#controller.error(reason);
  }
}
