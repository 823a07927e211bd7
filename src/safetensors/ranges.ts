/**
 * Which byte ranges to fetch for a set of tensors: neighbours closer than `maxGap` share one range (fewer
 * requests for a few wasted bytes, as s3torchconnector's DCP reader does), and a range longer than the part
 * size is cut into pieces fetched in parallel.
 *
 * @module
 */

/**
 * A byte span `[start, end)`.
 */
export interface Span {
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/**
 * A range to fetch and the spans it covers.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { coalesce, type RangeGroup, type Span } from "./ranges.ts";
 * const groups: RangeGroup<Span>[] = coalesce([{ start: 0, end: 4 }], 0);
 * expect(groups[0].members.length).toEqual(1);
 * ```
 */
export interface RangeGroup<T extends Span> extends Span {
  /** The spans inside, by start. */
  members: T[];
}

/**
 * Groups `spans` (in any order; empty ones are left out) into ranges to fetch: sorted by start, a span joins
 * the range before it when the bytes between them number at most `maxGap`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { coalesce } from "./ranges.ts";
 * const spans = [{ start: 50, end: 60 }, { start: 0, end: 10 }, { start: 12, end: 20 }];
 * expect(coalesce(spans, 4).map((g) => [g.start, g.end])).toEqual([[0, 20], [50, 60]]);
 * ```
 */
export function coalesce<T extends Span>(spans: readonly T[], maxGap: number): RangeGroup<T>[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const groups: RangeGroup<T>[] = [];
  let current: RangeGroup<T> | undefined;
  for (const s of sorted) {
    if (current !== undefined && s.start - current.end <= maxGap) {
      current.end = Math.max(current.end, s.end);
      current.members.push(s);
    } else {
      current = { start: s.start, end: s.end, members: [s] };
      groups.push(current);
    }
  }
  return groups;
}

/**
 * `span` cut into consecutive pieces of at most `size` bytes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { split } from "./ranges.ts";
 * expect(split({ start: 0, end: 10 }, 4)).toEqual([{ start: 0, end: 4 }, { start: 4, end: 8 }, { start: 8, end: 10 }]);
 * ```
 */
export function split(span: Span, size: number): Span[] {
  const out: Span[] = [];
  for (let start = span.start; start < span.end; start += size) {
    out.push({ start, end: Math.min(span.end, start + size) });
  }
  return out;
}
