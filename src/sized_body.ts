/**
 * Streamed request bodies of a known length, sent with a `Content-Length` instead of chunked transfer encoding.
 * AWS S3 refuses chunked uploads (`501 NotImplemented`, header `Transfer-Encoding`), and a receiver reads a sized
 * body in fewer, larger pieces. `fetch` has no option for it, so each runtime gets what works there:
 *
 * - **Deno** drops a `Content-Length` header set on a stream body, but sizes a `Blob` body by its `size` and reads
 *   it through its `stream()` method: the stream goes as a `Blob` whose `size` and `stream()` are the stream's.
 *   A probe (once per process) checks that `new Request()` still calls that `stream()` before this is used.
 * - **Node.js and Bun** send a stream body with the `Content-Length` header it is given.
 * - **Cloudflare workerd** sends the readable side of a `FixedLengthStream` with its length.
 * - Elsewhere (browsers, which buffer streamed bodies anyway) the body goes chunked, as without a size.
 *
 * Every sized body is guarded: a stream that gives more or fewer bytes than its size errors with an
 * {@linkcode IntegrityError} naming both (Deno would otherwise cut a longer one short without a word).
 *
 * @module
 */
import { IntegrityError } from "./errors.ts";

/**
 * How this runtime sends a sized stream: as a `Blob` (Deno), with a header (Node.js, Bun), through a
 * `FixedLengthStream` (workerd), or not at all.
 */
export type SizedBodyMethod = "blob" | "header" | "fixed" | "none";

let method: SizedBodyMethod | undefined;

/**
 * How this runtime's `fetch` can send a stream body with a `Content-Length` (decided once per process).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { sizedBodyMethod } from "./sized_body.ts";
 * expect(sizedBodyMethod()).toBe("blob"); // in Deno
 * ```
 */
export function sizedBodyMethod(): SizedBodyMethod {
  return method ??= detect();
}

function detect(): SizedBodyMethod {
  const g = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: string } };
    FixedLengthStream?: unknown;
  };
  if (g.Deno !== undefined) return blobBodiesReadThroughStream() ? "blob" : "none";
  if (typeof g.FixedLengthStream === "function") return "fixed";
  if (g.Bun !== undefined || g.process?.versions?.node !== undefined) return "header";
  return "none";
}

/** Whether `new Request()` takes a `Blob` body from the `Blob`'s own (overridden) `stream()` method. */
function blobBodiesReadThroughStream(): boolean {
  const probe = new ReadableStream<Uint8Array<ArrayBuffer>>();
  let called = false;
  class Probe extends Blob {
    override get size(): number {
      return 1;
    }
    override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
      called = true;
      return probe;
    }
  }
  try {
    const req = new Request("http://127.0.0.1/", { method: "PUT", body: new Probe() });
    return called && req.body === probe;
  } catch {
    return false;
  }
}

/** A stream body made ready for `fetch` by {@linkcode sizedBody}. */
export interface SizedBody {
  /** What to hand `fetch` as the body. */
  body: ReadableStream<Uint8Array> | Blob;
  /** The `Content-Length` header to set before signing, where the runtime sends it (Node.js, Bun). */
  contentLength?: string;
  /** The guard's error once the stream gave other than `size` bytes (then the request failed because of it). */
  readonly failure: unknown;
}

/**
 * `stream`, which must give exactly `size` bytes, made ready to be sent with a `Content-Length` of `size` where
 * the runtime allows it (see the module); `label` starts the guard's error message.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { sizedBody } from "./sized_body.ts";
 * const sized = sizedBody(new Blob(["12345"]).stream(), 4, "PUT b/k");
 * const err = await new Response(sized.body).arrayBuffer().catch((e) => e);
 * expect(err.message).toBe("PUT b/k: the body stream gave more than its size, 4 bytes");
 * expect(sized.failure).toBe(err);
 * ```
 */
export function sizedBody(stream: ReadableStream<Uint8Array>, size: number, label: string): SizedBody {
  let failure: unknown;
  const guarded = guard(stream, size, label, (err) => failure = err);
  const how = sizedBodyMethod();
  const result: SizedBody = {
    body: how === "blob"
      ? new SizedStreamBlob(guarded, size)
      : how === "fixed"
      ? fixedLength(guarded, size)
      : guarded,
    get failure() {
      return failure;
    },
  };
  if (how === "header") result.contentLength = String(size);
  return result;
}

/** workerd's `FixedLengthStream`: an identity transform whose readable side `fetch` sends with its length. */
type FixedLengthStreamClass = new (size: number) => TransformStream<Uint8Array, Uint8Array>;

function fixedLength(stream: ReadableStream<Uint8Array>, size: number): ReadableStream<Uint8Array> {
  const { FixedLengthStream } = globalThis as unknown as { FixedLengthStream: FixedLengthStreamClass };
  return stream.pipeThrough(new FixedLengthStream(size));
}

/** `source` passed through, erroring (and cancelling `source`) once it gives more or fewer than `size` bytes. */
function guard(
  source: ReadableStream<Uint8Array>,
  size: number,
  label: string,
  onFailure: (err: IntegrityError) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let given = 0;
  const fail = (message: string) => {
    const err = new IntegrityError(`${label}: ${message}`, { expected: String(size), actual: String(given) });
    onFailure(err);
    return err;
  };
  let cancelled = false; // by the consumer (a reset request): a read that ends after it proves nothing
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await reader.read();
      if (cancelled) return;
      if (r.done) {
        if (given !== size) throw fail(`the body stream gave ${given} bytes, its size is ${size}`);
        controller.close();
        return;
      }
      given += r.value.byteLength;
      if (given > size) {
        const err = fail(`the body stream gave more than its size, ${size} bytes`);
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      controller.enqueue(r.value);
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * A stream posing as a `Blob` of `size` bytes for Deno's `fetch`, which sizes a `Blob` body by `size` and reads
 * it through `stream()`. Anything else would read the empty `Blob` underneath, so it throws.
 */
class SizedStreamBlob extends Blob {
  #stream: ReadableStream<Uint8Array> | undefined;
  #size: number;

  constructor(stream: ReadableStream<Uint8Array>, size: number) {
    super();
    this.#stream = stream;
    this.#size = size;
  }

  override get size(): number {
    return this.#size;
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const s = this.#stream;
    if (s === undefined) throw new TypeError("a sized stream body can be sent once only");
    this.#stream = undefined;
    return s as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override slice(): Blob {
    throw onlyFetch();
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.reject(onlyFetch());
  }
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.reject(onlyFetch());
  }
  override text(): Promise<string> {
    return Promise.reject(onlyFetch());
  }
}

function onlyFetch(): TypeError {
  return new TypeError("a sized stream body is for fetch to send; it cannot be read as a Blob");
}
