/**
 * {@linkcode PartPool}: the part buffers of a checkpoint writer, reused from part to part and counted, so that
 * the writer's memory bound (`partSize × (uploadConcurrency + 1)`) is a number one can read.
 *
 * @module
 */

/** The counters a {@linkcode PartPool} keeps up to date (a subset of the writer's stats). */
export interface PartPoolGauge {
  /** Bytes of part buffers held now (filling, uploading or free for reuse). */
  bufferedBytes: number;
  /** Most bytes of part buffers ever held at once. */
  peakBufferedBytes: number;
}

/**
 * A free list of part buffers. `acquire` reuses a free buffer of the requested size (parts only grow, so a
 * smaller one is dropped) or allocates; `release` returns a buffer once its upload settled. After `close()`
 * every buffer released is dropped, so a finished or failed writer holds nothing.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { PartPool } from "./part_pool.ts";
 * const gauge = { bufferedBytes: 0, peakBufferedBytes: 0 };
 * const pool = new PartPool(gauge);
 * const a = pool.acquire(1024);
 * pool.release(a);
 * expect([pool.acquire(1024) === a, gauge.peakBufferedBytes]).toEqual([true, 1024]);
 * ```
 */
export class PartPool {
  readonly #gauge: PartPoolGauge;
  #free: Uint8Array[] = [];
  #closed = false;

  /** Counts into `gauge`. */
  constructor(gauge: PartPoolGauge) {
    this.#gauge = gauge;
  }

  /** A buffer of exactly `size` bytes (contents undefined when reused). */
  acquire(size: number): Uint8Array {
    while (this.#free.length > 0) {
      const buf = this.#free.pop()!;
      if (buf.length === size) return buf;
      this.drop(buf); // parts grew: the smaller buffer is of no further use
    }
    this.#account(size);
    return new Uint8Array(size);
  }

  /** Gives a buffer back for reuse (dropped once the pool is closed). */
  release(buf: Uint8Array): void {
    if (this.#closed) this.drop(buf);
    else this.#free.push(buf);
  }

  /** Forgets a buffer for good (or `buf` bytes of one lent out and lost, e.g. to a failed BYOB read). */
  drop(buf: Uint8Array | number): void {
    this.#account(-(typeof buf === "number" ? buf : buf.length));
  }

  /** Drops the free buffers; buffers released later are dropped too. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const buf of this.#free) this.drop(buf);
    this.#free = [];
  }

  #account(delta: number): void {
    const g = this.#gauge;
    g.bufferedBytes += delta;
    g.peakBufferedBytes = Math.max(g.peakBufferedBytes, g.bufferedBytes);
  }
}
