/**
 * Byte ranges of local files, read when they are needed: the size and modification time of a file, and a
 * stream over `[start, end)` of it that opens the file on its first pull and reads one slice per pull (so a
 * checkpoint part read from a file holds one slice in memory, not the part, and can be read again on a retry).
 * Runtime-neutral like {@link ./fs.ts}: Deno's namespace, or `node:fs/promises` in Node.js and Bun.
 *
 * @module
 */
import { IntegrityError } from "./errors.ts";
import { fileError, runtime } from "./fs.ts";

/** What {@linkcode fileInfo} learns of a file: enough to tell whether it changed meanwhile. */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /** Last modification, ms since the epoch (undefined where the file system keeps none). */
  mtimeMs?: number;
}

/**
 * The size and modification time of the regular file at `path`.
 *
 * @throws {ConfigError} naming the file when it is missing, unreadable, not a regular file, or the runtime has
 * no file system.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { fileInfo } from "./file_range.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(5));
 * expect((await fileInfo(path)).size).toEqual(5);
 * ```
 */
export async function fileInfo(path: string): Promise<FileInfo> {
  const rt = runtime("read", path);
  let info: FileInfo & { isFile: boolean };
  try {
    if (rt.kind === "deno") {
      const st = await rt.fs.stat(path);
      info = { size: st.size, isFile: st.isFile, mtimeMs: st.mtime?.getTime() };
    } else {
      const st = await rt.fs.stat(path);
      info = { size: st.size, isFile: st.isFile(), mtimeMs: st.mtimeMs };
    }
  } catch (err) {
    throw fileError("read", path, err);
  }
  if (!info.isFile) throw fileError("read", path, { code: "EISDIR" });
  return { size: info.size, mtimeMs: info.mtimeMs };
}

/** A file open for reads at given positions. */
interface PositionalFile {
  read(into: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

async function openPositional(path: string): Promise<PositionalFile> {
  const rt = runtime("read", path);
  try {
    if (rt.kind === "node") {
      const h = await rt.fs.open(path, "r");
      return {
        read: async (into, position) => (await h.read(into, 0, into.length, position)).bytesRead,
        close: () => h.close(),
      };
    }
    const f = await rt.fs.open(path, { read: true });
    let at = -1; // where the file's cursor is, so that sequential reads need no seek
    return {
      async read(into, position) {
        if (at !== position) await f.seek(position, 0 /* SeekMode.Start */);
        const n = (await f.read(into)) ?? 0;
        at = position + n;
        return n;
      },
      close: () => Promise.resolve(f.close()),
    };
  } catch (err) {
    throw fileError("read", path, err);
  }
}

/** Options of {@linkcode fileRangeStream}. */
export interface FileRangeOptions {
  /** Bytes per chunk (each a fresh buffer: a chunk handed to `fetch` may be held by it). */
  chunkSize: number;
  /** Called with the error before the stream errors (a consumer such as `fetch` may report another one). */
  onError?: (err: unknown) => void;
}

/**
 * A stream of bytes `[start, end)` of the file at `path`, opened on the first pull and closed at the end, on
 * cancel or on error; each pull reads one chunk. A file that ends before `end` errors the stream with an
 * {@linkcode IntegrityError} saying where it ended.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { fileRangeStream } from "./file_range.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "0123456789");
 * const text = await new Response(fileRangeStream(path, 2, 7, { chunkSize: 2 })).text();
 * expect(text).toEqual("23456");
 * const short = fileRangeStream(path, 8, 12, { chunkSize: 4 });
 * await expect(new Response(short).text()).rejects.toThrow("ended at byte 10");
 * ```
 */
export function fileRangeStream(
  path: string,
  start: number,
  end: number,
  opts: FileRangeOptions,
): ReadableStream<Uint8Array> {
  let file: PositionalFile | undefined;
  let pos = start;
  // Set by cancel: a read still in flight then ends quietly (its consumer is gone; a late enqueue would throw
  // and be reported as the file's failure, failing a checkpoint part instead of letting it be sent again).
  let cancelled = false;
  const close = async () => {
    const f = file;
    file = undefined;
    await f?.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (pos >= end) {
          await close();
          return controller.close();
        }
        file ??= await openPositional(path);
        const chunk = new Uint8Array(Math.min(opts.chunkSize, end - pos));
        let n = 0;
        while (n < chunk.length) {
          const got = await file.read(chunk.subarray(n), pos + n);
          if (got === 0) {
            throw new IntegrityError(
              `file "${path}" ended at byte ${pos + n} while bytes ${start}–${end - 1} were read from it: ` +
                `it was truncated meanwhile`,
              { expected: String(end), actual: String(pos + n) },
            );
          }
          n += got;
        }
        pos += n;
        if (cancelled) return;
        controller.enqueue(chunk);
      } catch (err) {
        await close();
        if (cancelled) return;
        opts.onError?.(err);
        throw err;
      }
    },
    cancel() {
      cancelled = true;
      return close();
    },
  }, { highWaterMark: 0 });
}
