/**
 * The body of a GET that survives broken connections: when the stream errors or ends before the promised
 * Content-Length, the rest is requested again with `Range: bytes=<next>-<end>` and `If-Match: <etag>`, so the
 * caller sees one uninterrupted, byte-exact stream (or an error once the retry budget is spent). A whole-object
 * body is checked against the server's CRC-64 as it goes: a mismatch errors the stream instead of delivering
 * its last chunk.
 *
 * @module
 */
import { Crc64 } from "./crc64.ts";
import { describeNetworkFailure } from "./network_error.ts";
import { IntegrityError, OssError } from "./errors.ts";
import { crcMismatch, expectedCrc64 } from "./integrity.ts";
import { backoffDelay, sleep } from "./retry.ts";
import type { Attempt, Reply, RequestSpec, Transport } from "./request.ts";

/** Absolute byte positions of a 206 `Content-Range: bytes a-b/total` (total may be `*`). */
export function parseContentRange(
  v: string | null,
): { start: number; end: number; total: number } | undefined {
  const m = v === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === "*" ? -1 : Number(m[3]) };
}

/**
 * Wraps the body of `reply` (bytes `start`..`end` of the object, inclusive; `end` undefined when the length is
 * unknown) in a stream that resumes after breaks.
 *
 * @example
 * ```ts ignore
 * const body = resumableBody(transport, spec, reply, 0, size - 1, etag);
 * ```
 */
export function resumableBody(
  transport: Transport,
  spec: RequestSpec,
  reply: Reply,
  start: number,
  end: number | undefined,
  etag: string,
): ReadableStream<Uint8Array> {
  return new ReadableStream(new ResumableSource(transport, spec, reply, start, end, etag));
}

class ResumableSource implements UnderlyingDefaultSource<Uint8Array> {
  #t: Transport;
  #spec: RequestSpec;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #attempt: Attempt;
  #pos: number;
  #end: number | undefined;
  #etag: string;
  #failures = 0;
  #closed = false;
  /** The server's CRC-64 of the whole object, when this body is the whole object; undefined once checked. */
  #expectedCrc: string | undefined;
  #crc?: Crc64;

  constructor(
    t: Transport,
    spec: RequestSpec,
    reply: Reply,
    start: number,
    end: number | undefined,
    etag: string,
  ) {
    this.#t = t;
    this.#spec = spec;
    this.#attempt = reply.attempt!;
    this.#attempt.busy = false; // no read pending until the consumer pulls
    this.#reader = reply.res.body!.getReader();
    this.#pos = start;
    this.#end = end;
    this.#etag = etag;
    this.#expectedCrc = expectedCrc64(reply.res);
  }

  async start(): Promise<void> {
    if (this.#expectedCrc !== undefined) this.#crc = await Crc64.create();
  }

  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      this.#attempt.wait();
      try {
        r = await this.#reader.read();
      } catch (err) {
        if (this.#spec.signal?.aborted) throw this.#finish(this.#spec.signal.reason);
        await this.#resume(err);
        continue;
      }
      this.#attempt.busy = false;
      if (r.done) {
        if (this.#end !== undefined && this.#pos <= this.#end) {
          await this.#resume(undefined);
          continue;
        }
        this.#checkCrc();
        this.#finish(undefined);
        controller.close();
        return;
      }
      const n = r.value.byteLength;
      if (n === 0) continue;
      if (this.#end !== undefined && this.#pos + n > this.#end + 1) {
        throw this.#finish(
          this.#integrity(`the server sent more bytes than promised (past byte ${this.#end})`),
        );
      }
      this.#crc?.update(r.value);
      this.#pos += n;
      // The last chunk is delivered only once the whole object has passed the check.
      if (this.#end !== undefined && this.#pos === this.#end + 1) this.#checkCrc();
      this.#attempt.ticks++;
      this.#failures = 0;
      controller.enqueue(r.value);
      return;
    }
  }

  cancel(reason: unknown): Promise<void> {
    this.#finish(undefined);
    return this.#reader.cancel(reason).catch(() => {});
  }

  /** Releases the attempt (timer, abort listener); returns `err` for `throw this.#finish(err)`. */
  #finish<E>(err: E): E {
    if (!this.#closed) {
      this.#closed = true;
      this.#attempt.done();
      if (err !== undefined) this.#reader.cancel(err).catch(() => {});
    }
    return err;
  }

  /** Throws (and ends the attempt) when the bytes read differ from the server's CRC-64; checks once. */
  #checkCrc(): void {
    const expected = this.#expectedCrc;
    if (expected === undefined || this.#crc === undefined) return;
    this.#expectedCrc = undefined;
    const actual = this.#crc.digest();
    if (actual !== expected) {
      const { bucket, key } = this.#spec;
      throw this.#finish(crcMismatch(`GET ${bucket}/${key}`, key ?? "", expected, actual, this.#pos));
    }
  }

  #integrity(what: string): IntegrityError {
    const { bucket, key } = this.#spec;
    return new IntegrityError(`GET ${bucket}/${key}: ${what}`, { key });
  }

  /** Opens the rest of the object after a break (`cause`: the read error, or undefined for an early end). */
  async #resume(cause: unknown): Promise<void> {
    this.#attempt.done();
    this.#reader.cancel(cause).catch(() => {});
    const { signal, bucket, key } = this.#spec;
    const policy = this.#t.retry;
    const failures = ++this.#failures;
    const where = `at byte ${this.#pos}${this.#end === undefined ? "" : ` of ${this.#end + 1}`}`;
    if (failures >= policy.maxAttempts) {
      this.#closed = true;
      if (cause === undefined) {
        throw this.#integrity(`the body ended early ${where} ${failures} time(s) in a row`);
      }
      throw new OssError({
        code: this.#attempt.timedOut ? "RequestTimeout" : "NetworkError",
        status: 0,
        message: `the body broke ${where} ${failures} time(s) in a row: ${describeNetworkFailure(cause)}`,
        bucket,
        key,
        method: "GET",
        cause,
      });
    }
    if (!this.#etag) {
      this.#closed = true;
      throw this.#integrity(`the body broke ${where} and cannot be resumed safely: the response had no ETag`);
    }
    const delayMs = backoffDelay(failures, policy);
    policy.onRetry?.({
      kind: "resume",
      attempt: failures,
      delayMs,
      method: "GET",
      bucket,
      key,
      error: cause,
    });
    await sleep(delayMs, signal);
    const range = `bytes=${this.#pos}-${this.#end ?? ""}`;
    const headers = { ...this.#spec.headers, range, "if-match": this.#etag };
    let reply: Reply;
    try {
      reply = await this.#t.send({ ...this.#spec, headers }, "stream");
    } catch (err) {
      this.#closed = true;
      if (err instanceof OssError && err.status === 412) {
        throw this.#integrity(`the object changed while it was read (ETag is no longer ${this.#etag})`);
      }
      throw err;
    }
    const got = parseContentRange(reply.res.headers.get("content-range"));
    if (reply.res.status !== 206 || got?.start !== this.#pos) {
      reply.attempt!.done();
      reply.res.body?.cancel().catch(() => {});
      this.#closed = true;
      throw this.#integrity(
        `resuming ${where} with Range ${range} returned ${reply.res.status} ${
          reply.res.headers.get("content-range") ?? ""
        }`,
      );
    }
    this.#attempt = reply.attempt!;
    this.#attempt.busy = false;
    this.#reader = reply.res.body!.getReader();
  }
}
