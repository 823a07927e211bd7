/**
 * One abort listener per signal, however many requests wait on it. A dataset pass hands one signal to every
 * request it makes (24 at once by default, more with retries sleeping); a listener each would pile up on that
 * long-lived signal — Node warns past 10 (`MaxListenersExceededWarning: Possible EventTarget memory leak`) — and
 * each add and remove walks the signal's listener list. Here the first waiter adds the signal's only listener,
 * which calls the waiters registered at the time of the abort; the last one to leave removes it.
 *
 * @module
 */

/** Something to call when a signal aborts: a function, or an object whose `handleEvent` is called. */
export type AbortWaiter = (() => void) | { handleEvent(): void };

const waiters = new WeakMap<AbortSignal, Set<AbortWaiter>>();

function fire(this: AbortSignal): void {
  const set = waiters.get(this);
  if (set === undefined) return;
  waiters.delete(this);
  this.removeEventListener("abort", fire);
  for (const w of set) {
    try {
      if (typeof w === "function") w();
      else w.handleEvent();
    } catch (err) {
      // One waiter's failure must not keep the others from hearing about the abort.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/**
 * Calls `waiter` once when `signal` aborts, sharing one listener on the signal with every other waiter. As with
 * `addEventListener`, adding the same waiter twice registers it once. Nothing is registered when `signal` is
 * undefined or already aborted (the caller checks `aborted` first).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { addAbortWaiter, removeAbortWaiter } from "./abort.ts";
 * const ac = new AbortController();
 * let heard = 0;
 * const waiters = Array.from({ length: 100 }, () => () => heard++);
 * for (const w of waiters) addAbortWaiter(ac.signal, w);
 * removeAbortWaiter(ac.signal, waiters[0]); // this one leaves before the abort
 * ac.abort();
 * expect(heard).toEqual(99);
 * ```
 */
export function addAbortWaiter(signal: AbortSignal | undefined, waiter: AbortWaiter): void {
  if (signal === undefined || signal.aborted) return;
  let set = waiters.get(signal);
  if (set === undefined) {
    set = new Set();
    waiters.set(signal, set);
    signal.addEventListener("abort", fire);
  }
  set.add(waiter);
}

/**
 * Unregisters a waiter added by {@linkcode addAbortWaiter}; the signal's listener goes with the last waiter.
 * Does nothing when the waiter is not registered.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { addAbortWaiter, removeAbortWaiter } from "./abort.ts";
 * const ac = new AbortController();
 * let calls = 0;
 * const waiter = () => void calls++;
 * addAbortWaiter(ac.signal, waiter);
 * removeAbortWaiter(ac.signal, waiter);
 * ac.abort();
 * expect(calls).toBe(0);
 * ```
 */
export function removeAbortWaiter(signal: AbortSignal | undefined, waiter: AbortWaiter): void {
  if (signal === undefined) return;
  const set = waiters.get(signal);
  if (set === undefined || !set.delete(waiter) || set.size > 0) return;
  waiters.delete(signal);
  signal.removeEventListener("abort", fire);
}
