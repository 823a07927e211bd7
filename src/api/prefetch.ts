/**
 * The prefetch combinator the datasets are built on: maps an async source with bounded concurrency and a byte
 * budget, yielding results in order.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { prefetch } from "./prefetch.ts";
 *
 * const squares = await Array.fromAsync(prefetch([1, 2, 3], async (n) => n * n, { concurrency: 2 }));
 * expect(squares).toEqual([1, 4, 9]);
 * ```
 *
 * @module
 */
export { prefetch, type PrefetchContext, type PrefetchOptions } from "../prefetch.ts";
