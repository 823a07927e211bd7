/**
 * The order OSS and S3 list keys in: UTF-8 byte order, which is code point order; JavaScript's `<` on strings
 * compares UTF-16 code units and differs from it for characters above U+FFFF.
 *
 * @module
 */

/**
 * Compares keys in UTF-8 byte order (the order OSS lists in), which differs from UTF-16 order for
 * characters above U+FFFF.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { compareKeys } from "./key_order.ts";
 * expect(["b", "a", "\u{1F600}", "\uFFFD"].sort(compareKeys)).toEqual(["a", "b", "\uFFFD", "\u{1F600}"]);
 * ```
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort above U+E000-U+FFFF in UTF-8 but below them in UTF-16.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x - y;
  }
  return a.length - b.length;
}
