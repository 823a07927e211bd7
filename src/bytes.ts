/**
 * {@linkcode concatBytes}: joins byte chunks into one array.
 *
 * @module
 */

/**
 * The bytes of `chunks` in one array: the chunk itself when there is only one, else a new array of `size`
 * bytes (the chunks' total, computed when not given).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { concatBytes } from "./bytes.ts";
 * expect(concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])])).toEqual(new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes<T extends ArrayBufferLike>(
  chunks: readonly Uint8Array<T>[],
  size: number = chunks.reduce((n, c) => n + c.byteLength, 0),
): Uint8Array<T | ArrayBuffer> {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
