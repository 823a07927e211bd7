/** The bench's win rule and limit shares (bench/report.ts): what the README table's verdict column claims. */
import { expect } from "expect";
import {
  compareStats,
  type Metric,
  rowVerdict,
  shareOfLimit,
  type Stat,
  versusBestPeer,
} from "../bench/report.ts";

function st(...runs: number[]): Stat {
  const v = [...runs].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return { runs, median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1] };
}

Deno.test("a win needs ossflow's worst run to beat the peer's best, or a median lead larger than the spread", () => {
  expect(compareStats(st(10, 11, 12), st(7, 8, 9), "higher")).toBe("win"); // worst 10 > best 9
  // The runs overlap (worst 5.5 < best 6), but the medians are 13 apart and the wider spread is 12.
  expect(compareStats(st(5.5, 17, 17.5), st(3, 4, 6), "higher")).toBe("win");
  expect(compareStats(st(9, 11, 12), st(7, 10, 10.5), "higher")).toBe("tie"); // lead 1, spread 3.5
  expect(compareStats(st(1, 2, 3), st(7, 8, 9), "higher")).toBe("loss");
  // Lower is better: the same rule mirrored.
  expect(compareStats(st(1, 2, 3), st(7, 8, 9), "lower")).toBe("win");
  expect(compareStats(st(7, 8, 9), st(1, 2, 3), "lower")).toBe("loss");
  expect(compareStats(st(5, 6, 7), st(5.5, 6.5, 7.5), "lower")).toBe("tie");
  // One run has no spread to judge by.
  expect(compareStats(st(10), st(1, 2, 3), "higher")).toBe("unproven");
});

Deno.test("a row is a win only against every peer, and names the peer it loses or ties with", () => {
  const m = (results: Record<string, Stat>): Metric => ({
    name: "x",
    unit: "1/s",
    better: "higher",
    results,
  });
  expect(rowVerdict(m({ ossflow: st(10, 11, 12), a: st(1, 2, 3), b: st(4, 5, 6) }))).toEqual({
    verdict: "win",
  });
  expect(rowVerdict(m({ ossflow: st(10, 11, 12), a: st(1, 2, 3), b: st(9, 11, 13) })))
    .toEqual({ peer: "b", verdict: "tie" });
  expect(rowVerdict(m({ ossflow: st(10, 11, 12), a: st(9, 11, 13), b: st(20, 21, 22) })))
    .toEqual({ peer: "b", verdict: "loss" });
});

Deno.test("a client's share of the limit is 100 % at the limit, inverted for lower-is-better metrics", () => {
  const limit = st(200, 200, 200);
  const higher: Metric = { name: "x", unit: "1/s", better: "higher", results: {}, limit };
  const lower: Metric = { ...higher, better: "lower" };
  expect(shareOfLimit(higher, st(100, 100, 100))).toBe(50);
  expect(shareOfLimit(lower, st(400, 400, 400))).toBe(50);
  expect(shareOfLimit({ ...higher, limit: undefined }, st(1, 1, 1))).toBe(undefined);
});

Deno.test("an informational row (how busy the server was) gets no ratio, no verdict and no share of the limit", () => {
  const m: Metric = {
    name: "server core busy",
    unit: "%",
    better: "lower",
    informational: true,
    results: { ossflow: st(97, 98, 99), "ali-oss": st(90, 91, 92) },
    limit: st(60, 61, 62),
  };
  expect(rowVerdict(m)).toBeUndefined();
  expect(versusBestPeer(m)).toBeUndefined();
  expect(shareOfLimit(m, m.results.ossflow)).toBeUndefined();
  // The same figures as a contest: a loss to ali-oss, with a ratio and a share.
  const contest = { ...m, informational: false };
  expect(rowVerdict(contest)).toEqual({ peer: "ali-oss", verdict: "loss" });
  expect(versusBestPeer(contest)?.peer).toBe("ali-oss");
  expect(shareOfLimit(contest, m.results.ossflow)).toBeCloseTo(100 * 61 / 98);
});
