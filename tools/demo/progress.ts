/**
 * Progress bars for the demo's phases over `cli-progress`, drawn on stderr only when it is a terminal: in CI
 * logs and pipes nothing is drawn (the demo prints one result line per phase on stdout instead).
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import { SingleBar } from "cli-progress";
import process from "node:process";

/** One phase's bar. */
export interface PhaseBar {
  /** Counts `n` more units done, `bytes` more bytes moved. */
  tick(n?: number, bytes?: number): void;
  /** Removes the bar. */
  done(): void;
}

const NO_BAR: PhaseBar = { tick() {}, done() {} };

/**
 * The count a bar shows for `value` of `total` units displayed divided by `scale`: the total, rounded, once all
 * is done (a 31.99 MiB file ends at "32/32 MiB", not "31/32"), and never more than that before.
 *
 * @example
 * ```ts
 * import { shownCount } from "./progress.ts";
 * const MiB = 1024 * 1024;
 * console.log(shownCount(32 * MiB - 100, 32 * MiB - 100, MiB), shownCount(31.6 * MiB, 32 * MiB - 100, MiB)); // 32 31
 * ```
 */
export function shownCount(value: number, total: number, scale: number): number {
  const shownTotal = Math.round(total / scale);
  return value >= total ? shownTotal : Math.min(Math.floor(value / scale), shownTotal);
}

/**
 * Makes a bar per phase, or no-op bars when disabled or when stderr is not a terminal.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const bar = new Progress(false).phase("upload", 10, "objects");
 * bar.tick(1, 1024);
 * bar.done();
 * ```
 */
export class Progress {
  readonly enabled: boolean;
  readonly #open = new Set<PhaseBar>();

  constructor(enabled: boolean) {
    this.enabled = enabled && process.stderr.isTTY === true;
  }

  /** A bar for `total` units labelled `name`; the counts are shown divided by `scale` (e.g. bytes as MiB). */
  phase(name: string, total: number, unit: string, scale = 1): PhaseBar {
    if (!this.enabled) return NO_BAR;
    const shownTotal = shownCount(total, total, scale);
    const bar = new SingleBar({
      format: `${
        name.padEnd(16)
      } [{bar}] {percentage}% | {shown}/${shownTotal} ${unit} | {mbps} MB/s | {duration}s`,
      barCompleteChar: "█",
      barIncompleteChar: "░",
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    });
    const t0 = performance.now();
    let bytes = 0;
    const mbps = () => (bytes / 1e6 / Math.max(1e-3, (performance.now() - t0) / 1000)).toFixed(1);
    let value = 0;
    bar.start(total, 0, { mbps: "0.0", shown: 0 });
    const open = this.#open;
    const phase: PhaseBar = {
      tick(n = 1, b = 0) {
        bytes += b;
        value += n;
        bar.increment(n, { mbps: mbps(), shown: shownCount(value, total, scale) });
      },
      done() {
        if (open.delete(phase)) bar.stop();
      },
    };
    open.add(phase);
    return phase;
  }

  /** Removes the bars still drawn (a phase that failed), giving the cursor back. */
  close(): void {
    for (const bar of [...this.#open]) bar.done();
  }
}
