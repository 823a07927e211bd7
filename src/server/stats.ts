/**
 * Counters the local server keeps for tests and benchmarks.
 *
 * @module
 */

/**
 * Request, concurrency, fault and byte counters of an emulator. A request is in flight from its arrival
 * until its response body has been fully streamed (or abandoned) — or, for a small body held in memory,
 * until it is handed to the HTTP server — so `maxInFlight` measures real client concurrency, streaming
 * included.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { EmulatorStats } from "./stats.ts";
 * const stats = new EmulatorStats();
 * const end = stats.begin("GET");
 * stats.count("GetObject");
 * end();
 * expect([stats.requests, stats.maxInFlight, stats.byOperation.GetObject]).toEqual([1, 1, 1]);
 * ```
 */
export class EmulatorStats {
  /** Requests received. */
  requests = 0;
  /** Requests whose response has not finished yet. */
  inFlight = 0;
  /** Highest `inFlight` seen since the last reset. */
  maxInFlight = 0;
  /** Faults injected (slowdown, reset, truncate). */
  faultsInjected = 0;
  /** Faults injected by kind. */
  faultsByKind: Record<string, number> = {};
  /** Response body bytes sent. */
  bytesSent = 0;
  /** Request body bytes received (after aws-chunked decoding). */
  bytesReceived = 0;
  /** Requests by HTTP method. */
  byMethod: Record<string, number> = {};
  /** Requests by operation name (`GetObject`, `PutObject`, `ListObjectsV2`, ...). */
  byOperation: Record<string, number> = {};
  /** Error responses by code. */
  errors: Record<string, number> = {};

  /** Records a request's arrival; call the returned function once when its response has finished. */
  begin(method: string): () => void {
    this.requests++;
    this.byMethod[method] = (this.byMethod[method] ?? 0) + 1;
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
    };
  }

  /** Counts a request for an operation. */
  count(operation: string): void {
    this.byOperation[operation] = (this.byOperation[operation] ?? 0) + 1;
  }

  /** Counts an injected fault. */
  fault(kind: string): void {
    this.faultsInjected++;
    this.faultsByKind[kind] = (this.faultsByKind[kind] ?? 0) + 1;
  }

  /** Counts an error response. */
  error(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** Zeroes every counter; `inFlight` keeps counting requests still running and seeds `maxInFlight`. */
  reset(): void {
    this.requests = 0;
    this.maxInFlight = this.inFlight;
    this.faultsInjected = 0;
    this.faultsByKind = {};
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.byMethod = {};
    this.byOperation = {};
    this.errors = {};
  }

  /** A plain snapshot of the counters. */
  toJSON(): Omit<EmulatorStats, "begin" | "count" | "fault" | "error" | "reset" | "toJSON"> {
    return { ...this };
  }
}
