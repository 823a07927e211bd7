/**
 * The results of `deno task bench` and what is generated from them: the Markdown table (printed, and
 * written into README.md between `<!-- bench:start -->` and `<!-- bench:end -->`) and the SVG bar chart.
 *
 *   deno task bench:report [bench/results/latest.json] [--force]   # regenerates README.md's table and the SVG
 *
 * @module
 */
import type { Settings } from "./common.ts";

/** Median and spread of one metric for one client. */
export interface Stat {
  runs: number[];
  median: number;
  min: number;
  max: number;
}

/** One measured quantity of a scenario, per client. */
export interface Metric {
  name: string;
  unit: string;
  better: "higher" | "lower";
  /** Drawn in the SVG chart. */
  chart?: boolean;
  /**
   * Measured to explain the other rows (how busy the server was, say), not a contest: no ratio, no verdict.
   */
  informational?: boolean;
  results: Record<string, Stat>;
  /**
   * The scenario's physical limit on this machine: the bare `fetch` loop against the bare limit server
   * (bench/limit_server.ts), pinned like the clients. Absent for metrics without one (memory, signing).
   */
  limit?: Stat;
}

/** One scenario of issue 6. */
export interface Scenario {
  id: number;
  title: string;
  setup: string;
  /** Repetitions measured (rounds of every client). */
  reps: number;
  metrics: Metric[];
}

/** bench/results/latest.json. */
export interface BenchResults {
  date: string;
  /** The commit measured (`+ uncommitted changes in src/` when the tree was dirty). */
  source?: string;
  deno: string;
  cpus: number;
  durationS: number;
  settings: Settings;
  seededMs: number;
  clients: string[];
  notes: Record<string, string>;
  /** How the processes were placed on CPUs (taskset), or why they were not pinned. */
  pinning?: string;
  /** Clients left out after a failure, with the reason. */
  failures?: Record<string, string>;
  scenarios: Scenario[];
}

const SUBJECT = "ossflow";
/** The peers that are libraries (the `fetch` loop is a bare baseline: no retries, checks or plumbing). */
const SDKS = ["ali-oss", "aws-sdk"];
const COLORS: Record<string, string> = {
  "ossflow": "#1f77b4",
  "ali-oss": "#ff7f0e",
  "aws-sdk": "#2ca02c",
  "fetch": "#7f7f7f",
  "fetch-checked": "#bcbd22",
};

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "–";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en");
  return String(Number(x.toPrecision(3)));
}

function cell(st: Stat | undefined, m?: Metric): string {
  if (!st) return "–";
  const text = st.runs.length > 1 ? `${fmt(st.median)} (${fmt(st.min)}–${fmt(st.max)})` : fmt(st.median);
  const share = m ? shareOfLimit(m, st) : undefined;
  return share === undefined ? text : `${text}, ${Math.round(share)} %`;
}

/**
 * A client's median as a share of the scenario's limit, in %: 100 is at the limit (for "lower is better"
 * metrics the ratio is inverted, so a client needing twice the limit's time or CPU is at 50 %).
 */
export function shareOfLimit(m: Metric, st: Stat): number | undefined {
  const limit = m.limit?.median;
  if (m.informational || limit === undefined || !(limit > 0) || !(st.median > 0)) return undefined;
  return 100 * (m.better === "higher" ? st.median / limit : limit / st.median);
}

/** How ossflow stands against one peer on one metric, by the win rule of bench/README.md. */
export type Verdict = "win" | "tie" | "loss" | "unproven";

/**
 * The win rule: ossflow wins when its worst repetition beats the peer's best, or when the medians differ in
 * its favour by more than the spread (the larger of the two clients' max − min); the peer wins by the same
 * rule the other way round; anything else is a tie. With fewer than two repetitions on either side there is
 * no spread to judge by: "unproven".
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { compareStats } from "./report.ts";
 * const st = (...runs: number[]) => ({ runs, median: runs[1], min: runs[0], max: runs[2] });
 * expect(compareStats(st(10, 11, 12), st(7, 8, 9), "higher")).toBe("win"); // worst 10 beats best 9
 * expect(compareStats(st(9, 11, 12), st(7, 10, 10.5), "higher")).toBe("tie"); // 1 apart, spread 3
 * expect(compareStats(st(9, 11, 12), st(7, 10, 10.5), "lower")).toBe("tie");
 * expect(compareStats(st(1, 2, 3), st(7, 8, 9), "higher")).toBe("loss");
 * ```
 */
export function compareStats(own: Stat, peer: Stat, better: "higher" | "lower"): Verdict {
  if (own.runs.length < 2 || peer.runs.length < 2) return "unproven";
  const sign = better === "higher" ? 1 : -1;
  const lead = sign * (own.median - peer.median); // > 0: ossflow's median is the better one
  const spread = Math.max(own.max - own.min, peer.max - peer.min);
  const ownWorst = better === "higher" ? own.min : own.max, ownBest = better === "higher" ? own.max : own.min;
  const peerWorst = better === "higher" ? peer.min : peer.max;
  const peerBest = better === "higher" ? peer.max : peer.min;
  if (sign * (ownWorst - peerBest) > 0 || lead > spread) return "win";
  if (sign * (peerWorst - ownBest) > 0 || -lead > spread) return "loss";
  return "tie";
}

/**
 * The row's verdict: a win only when ossflow wins against every peer; otherwise the first loss, else the
 * first tie, else "unproven", naming the peer.
 */
export function rowVerdict(m: Metric): { verdict: Verdict; peer?: string } | undefined {
  const own = m.results[SUBJECT];
  const peers = Object.entries(m.results).filter(([c]) => c !== SUBJECT);
  if (!own || peers.length === 0 || m.informational) return undefined;
  const verdicts = peers.map(([peer, st]) => ({ peer, verdict: compareStats(own, st, m.better) }));
  for (const v of ["loss", "tie", "unproven"] as const) {
    const hit = verdicts.find((x) => x.verdict === v);
    if (hit) return hit;
  }
  return { verdict: "win" };
}

function verdictText(m: Metric): string {
  const v = rowVerdict(m);
  if (!v) return "–";
  if (v.verdict === "win") return "**win**";
  return v.verdict === "unproven" ? `unproven (1 run)` : `${v.verdict} (${v.peer})`;
}

/**
 * How ossflow's median compares with the best peer's: > 1 means ossflow is better by that factor (for "lower
 * is better" metrics the ratio is inverted). Undefined when either side is missing.
 */
export function versusBestPeer(
  m: Metric,
  among: (client: string) => boolean = () => true,
): { factor: number; peer: string } | undefined {
  const own = m.results[SUBJECT]?.median;
  const peers = Object.entries(m.results).filter(([c]) => c !== SUBJECT && among(c));
  if (own === undefined || peers.length === 0 || m.informational) return undefined;
  const [peer, st] = peers.reduce((a, b) =>
    (m.better === "higher" ? b[1].median > a[1].median : b[1].median < a[1].median) ? b : a
  );
  const factor = m.better === "higher" ? own / st.median : st.median / own;
  return { factor, peer };
}

/** The Markdown table: one row per metric, one column per client, median (min–max), and ossflow vs best peer. */
export function renderTable(r: BenchResults): string {
  const head = [
    "scenario",
    "metric",
    "limit",
    ...r.clients,
    "ossflow vs best peer",
    "verdict",
    "vs best SDK",
  ];
  const versus = (vs: { factor: number; peer: string } | undefined) =>
    vs
      ? `${vs.factor >= 1 ? "**" : ""}×${vs.factor.toFixed(2)}${vs.factor >= 1 ? "**" : ""} vs ${vs.peer}`
      : "–";
  const rows: string[][] = [];
  for (const sc of r.scenarios) {
    sc.metrics.forEach((m, i) => {
      rows.push([
        i === 0 ? `${sc.id}. ${sc.title} (${sc.reps}×)` : "",
        `${m.name} (${m.unit}, ${m.better} is better)`,
        cell(m.limit),
        ...r.clients.map((c) => cell(m.results[c], m)),
        versus(versusBestPeer(m)),
        verdictText(m),
        versus(versusBestPeer(m, (c) => SDKS.includes(c))),
      ]);
    });
  }
  const s = r.settings;
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
  return [
    ...lines,
    "",
    `Median (min–max) of the repetitions shown per scenario, ${r.date.slice(0, 16)}Z, ` +
    `${r.source ? `source ${r.source}, ` : ""}Deno ${r.deno}, ` +
    `${r.cpus} CPUs, one local server process with ${s.latencyMs} ms latency per request and ` +
    `${s.bandwidthMiB} MiB/s per connection${s.quick ? " (**--quick** sizes)" : ""}; ` +
    `concurrency ${s.concurrency} (scenario 1), ${s.streamConcurrency} (scenarios 2, 3); run took ` +
    `${r.durationS} s; ${r.pinning ?? "not pinned"}. After each client's figures: its share of the ` +
    `scenario's limit (a bare server answering from memory, read by a bare fetch loop). ×1.00 or more: ` +
    `ossflow's median at or ahead of every peer's (of both SDKs in the last column); "win" only when ossflow's ` +
    `worst repetition beats each peer's best or the medians differ by more than the spread, "tie" otherwise.`,
    ...Object.entries(r.failures ?? {}).map(([c, why]) =>
      `\n**${c} failed** and is missing from later rows: ${why}`
    ),
  ].join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A grouped bar chart, one group per charted metric, each bar the client's median normalised to the best
 * peer (the best client other than ossflow) = 1, inverted for "lower is better", so taller is always better.
 */
export function renderSvg(r: BenchResults): string {
  const groups = r.scenarios.flatMap((sc) =>
    sc.metrics.filter((m) => m.chart).map((m) => ({ label: `${sc.id}. ${m.name}`, unit: m.unit, m }))
  );
  const barW = 22, gap = 30, left = 56, top = 64, plotH = 260, maxScale = 2.5;
  const groupW = r.clients.length * barW; // every group as wide as a full one, bars centred
  const width = left + groups.length * (groupW + gap) + 20;
  const height = top + plotH + 110;
  const y = (v: number) => top + plotH - (Math.min(v, maxScale) / maxScale) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">ossflow vs peers — median, normalised to the ` +
      `best peer = 1 (taller is better; "lower is better" metrics inverted)</text>`,
    `<text x="${left}" y="38" fill="#555">${
      esc(
        `${r.date.slice(0, 16)}Z · Deno ${r.deno} · ${r.cpus} CPUs · ${r.settings.latencyMs} ms/request · ` +
          `${r.settings.bandwidthMiB} MiB/s per connection${r.settings.quick ? " · --quick sizes" : ""}`,
      )
    }</text>`,
  );
  let lx = left;
  for (const c of r.clients) {
    out.push(
      `<rect x="${lx}" y="46" width="10" height="10" fill="${COLORS[c] ?? "#999"}"/>`,
      `<text x="${lx + 14}" y="55">${esc(c)}</text>`,
    );
    lx += 90;
  }
  for (const t of [0, 0.5, 1, 1.5, 2, 2.5]) {
    out.push(
      `<line x1="${left - 4}" x2="${width - 20}" y1="${y(t)}" y2="${y(t)}" stroke="${
        t === 1 ? "#333" : "#ddd"
      }" stroke-dasharray="${t === 1 ? "4 3" : ""}"/>`,
      `<text x="${left - 8}" y="${y(t) + 4}" text-anchor="end">×${t}</text>`,
    );
  }
  let x = left + gap / 2;
  for (const g of groups) {
    const peers = Object.entries(g.m.results).filter(([c]) => c !== SUBJECT).map(([, st]) => st.median);
    const best = peers.length === 0
      ? g.m.results[SUBJECT]?.median ?? 1
      : g.m.better === "higher"
      ? Math.max(...peers)
      : Math.min(...peers);
    let bx = x + (groupW - Object.keys(g.m.results).length * barW) / 2;
    for (const c of r.clients) {
      const st = g.m.results[c];
      if (!st) continue;
      const score = g.m.better === "higher" ? st.median / best : best / st.median;
      out.push(
        `<rect x="${bx}" y="${y(score)}" width="${barW - 3}" height="${top + plotH - y(score)}" fill="${
          COLORS[c] ?? "#999"
        }"><title>${
          esc(`${c}: ${fmt(st.median)} ${g.unit} (${fmt(st.min)}–${fmt(st.max)}), ×${score.toFixed(2)}`)
        }</title></rect>`,
        `<text x="${bx + (barW - 3) / 2}" y="${y(score) - 3}" text-anchor="middle" font-size="9">${
          score > maxScale ? "▲" : ""
        }${score.toFixed(2)}</text>`,
        `<text transform="translate(${bx + barW / 2 + 1},${
          top + plotH + 6
        }) rotate(60)" font-size="9" fill="#444">${esc(fmt(st.median))}</text>`,
      );
      bx += barW;
    }
    const lines = wrap(g.label, 19);
    lines.forEach((line, i) =>
      out.push(
        `<text x="${x + groupW / 2}" y="${top + plotH + 60 + 12 * i}" text-anchor="middle" font-size="10" ` +
          `font-weight="bold">${esc(line)}</text>`,
      )
    );
    out.push(
      `<text x="${x + groupW / 2}" y="${top + plotH + 60 + 12 * lines.length}" text-anchor="middle" ` +
        `font-size="10" fill="#555">${esc(g.unit)}</text>`,
    );
    x += groupW + gap;
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Splits `text` at spaces into lines of at most `width` characters (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

/** Rewrites the part of README.md between the bench markers with the table of `r`. */
export async function updateReadme(readme: URL | string, r: BenchResults): Promise<void> {
  const text = await Deno.readTextFile(readme);
  const a = text.indexOf(START), b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readme}: no ${START} … ${END} markers`);
  const body = [
    "",
    "Generated by `deno task bench` from `bench/results/latest.json` (chart: `bench/results/latest.svg`; method: " +
    "`bench/README.md`).",
    "",
    renderTable(r),
    "",
  ].join("\n");
  await Deno.writeTextFile(readme, text.slice(0, a + START.length) + "\n" + body + "\n" + text.slice(b));
  // deno fmt aligns Markdown tables; let it, so that `deno fmt --check` stays clean.
  const path = readme instanceof URL ? readme.pathname : readme;
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", path] }).output();
}

if (import.meta.main) {
  const path = Deno.args.find((a) => !a.startsWith("--")) ??
    new URL("./results/latest.json", import.meta.url).pathname;
  const r: BenchResults = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path.replace(/\.json$/, ".svg"), renderSvg(r));
  if (r.settings.quick && !Deno.args.includes("--force")) {
    console.error("--quick results: README.md left alone (pass --force to write them anyway)");
  } else {
    await updateReadme(new URL("../README.md", import.meta.url), r);
  }
  console.log(renderTable(r));
}
