/**
 * Turns an incoming request body into the payload stream a store consumes, plus the checks that must
 * pass before the write commits: aws-chunked decoding, the size limit, the bandwidth cap, and
 * `Content-MD5`, `x-amz-content-sha256` / `x-oss-content-sha256`, `x-amz-decoded-content-length` and
 * flexible-checksum (`x-amz-checksum-crc32|crc32c|sha1|sha256`, as header or aws-chunked trailer)
 * verification.
 *
 * @module
 */
import type { IHasher } from "hash-wasm";
import { AwsChunkedDecoderStream, isAwsChunked } from "./aws_chunked.ts";
import { EmulatorError } from "../error.ts";
import { meteredStream } from "../faults.ts";
import { acquireHasher, type HashKind, releaseHasher } from "./digest_stream.ts";
import { concatBytes } from "../../bytes.ts";
import type { BodyDigest } from "../store/types.ts";

/** What {@linkcode requestBody} needs from the server. */
export interface BodyContext {
  /** Largest accepted payload, bytes. */
  maxBodyBytes: number;
  /** Bandwidth cap for reading the body, bytes per second. */
  bytesPerSec?: number;
  /** Counts received payload bytes. */
  onBytes?: (n: number) => void;
  /** Aborts reading (server shutdown). */
  signal?: AbortSignal;
}

/** A payload ready for a store write. */
export interface PreparedBody {
  /** The decoded payload. */
  stream: ReadableStream<Uint8Array>;
  /** Checks to run on the received digest before the write commits. */
  verify: (digest: BodyDigest) => Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;

function base64ToHex(b64: string): string | undefined {
  try {
    return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

/**
 * Prepares the body of `req` for a store write.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { requestBody } from "./request_body.ts";
 * const req = new Request("http://localhost/b/k", { method: "PUT", body: "hello" });
 * const { stream } = requestBody(req, { maxBodyBytes: 100 });
 * expect(await new Response(stream).text()).toEqual("hello");
 * ```
 */
export function requestBody(req: Request, ctx: BodyContext): PreparedBody {
  const h = req.headers;
  const chunked = isAwsChunked(h);
  const declared = Number(
    chunked ? h.get("x-amz-decoded-content-length") ?? NaN : h.get("content-length") ?? NaN,
  );
  if (declared > ctx.maxBodyBytes) {
    throw new EmulatorError(
      "EntityTooLarge",
      `Your proposed upload exceeds the maximum allowed size of ${ctx.maxBodyBytes} bytes.`,
    );
  }
  let stream: ReadableStream<Uint8Array> = req.body ?? new Blob([]).stream();
  const decoder = chunked ? new AwsChunkedDecoderStream() : undefined;
  if (decoder) stream = stream.pipeThrough(decoder);
  const checks: ((d: BodyDigest) => void | Promise<void>)[] = [];

  const sha = (h.get("x-amz-content-sha256") ?? h.get("x-oss-content-sha256") ?? "").toLowerCase();
  if (HEX64.test(sha)) {
    const hashing = hashStream("sha256");
    stream = stream.pipeThrough(hashing.stream);
    checks.push(async () => {
      if ((await hashing.digest).hex !== sha) {
        throw new EmulatorError(
          "XAmzContentSHA256Mismatch",
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
    });
  }
  const trailer = (h.get("x-amz-trailer") ?? "").trim().toLowerCase();
  const checksum = Object.keys(CHECKSUMS).find((name) => h.has(name) || (decoder && trailer === name));
  if (checksum) {
    const hashing = hashStream(CHECKSUMS[checksum]);
    stream = stream.pipeThrough(hashing.stream);
    checks.push(async () => {
      const expected = h.get(checksum) ?? decoder?.trailers.get(checksum);
      if (expected === undefined) return; // a trailer announced but not sent: nothing to check
      const actual = btoa(String.fromCharCode(...(await hashing.digest).binary));
      if (actual !== expected.trim()) {
        throw new EmulatorError(
          "BadDigest",
          `The ${checksum.slice(15).toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
    });
  }
  const md5 = h.get("content-md5");
  if (md5 !== null) {
    const hex = base64ToHex(md5.trim());
    if (hex?.length !== 32) {
      throw new EmulatorError("InvalidDigest", "The Content-MD5 you specified is not valid.");
    }
    checks.push((d) => {
      if (d.md5 !== hex) {
        throw new EmulatorError(
          "BadDigest",
          "The Content-MD5 you specified did not match what was received.",
        );
      }
    });
  }
  if (chunked && Number.isFinite(declared)) {
    checks.push((d) => {
      if (d.size !== declared) {
        throw new EmulatorError(
          "IncompleteBody",
          `You did not provide the number of bytes specified by x-amz-decoded-content-length (${declared}); got ${d.size}.`,
        );
      }
    });
  }
  stream = meteredStream(stream, {
    bytesPerSec: ctx.bytesPerSec,
    onBytes: ctx.onBytes,
    signal: ctx.signal,
    readError: asIncompleteBody,
    limit: {
      bytes: ctx.maxBodyBytes,
      error: () =>
        new EmulatorError(
          "EntityTooLarge",
          `Your proposed upload exceeds the maximum allowed size of ${ctx.maxBodyBytes} bytes.`,
        ),
    },
  });
  return {
    stream,
    verify: async (d) => {
      for (const c of checks) await c(d);
    },
  };
}

/**
 * What a failed read of a request body means: the client sent fewer bytes than its Content-Length (or chunked
 * framing) promised and the connection ended. Errors of the server's own checks pass through.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { asIncompleteBody } from "./request_body.ts";
 * expect((asIncompleteBody(new TypeError("connection closed")) as Error & { code: string }).code).toEqual("IncompleteBody");
 * ```
 */
export function asIncompleteBody(err: unknown): unknown {
  if (err instanceof EmulatorError) return err;
  return new EmulatorError(
    "IncompleteBody",
    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  );
}

/**
 * Reads a small request body (an XML document) as text, at most `maxBytes` of it: a larger body is refused
 * by its Content-Length before anything is read, or as soon as the bytes read pass the limit, so a huge body
 * never sits in memory. `tooLarge` makes the error.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readSmallBody } from "./request_body.ts";
 * const req = new Request("http://localhost/b?delete", { method: "POST", body: "<Delete/>" });
 * expect(await readSmallBody(req, 100, () => new Error("too large"))).toEqual("<Delete/>");
 * ```
 */
export async function readSmallBody(req: Request, maxBytes: number, tooLarge: () => Error): Promise<string> {
  if (Number(req.headers.get("content-length") ?? 0) > maxBytes) throw tooLarge();
  if (req.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((err) => {
        throw asIncompleteBody(err);
      });
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  }
  return new TextDecoder().decode(concatBytes(chunks, size));
}

/** Flexible checksums the server verifies, by header name. */
const CHECKSUMS: Record<string, HashKind> = {
  "x-amz-checksum-crc32": "crc32",
  "x-amz-checksum-crc32c": "crc32c",
  "x-amz-checksum-sha1": "sha1",
  "x-amz-checksum-sha256": "sha256",
};

/** A pass-through stream hashing what flows through it; `digest` resolves once it has closed. */
function hashStream(kind: HashKind): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  digest: Promise<{ hex: string; binary: Uint8Array }>;
} {
  let hasher: IHasher;
  let resolve!: (r: { hex: string; binary: Uint8Array }) => void;
  const digest = new Promise<{ hex: string; binary: Uint8Array }>((r) => (resolve = r));
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async start() {
      hasher = await acquireHasher(kind);
    },
    transform(chunk, controller) {
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      const binary = hasher.digest("binary");
      releaseHasher(kind, hasher);
      resolve({ binary, hex: Array.from(binary, (b) => b.toString(16).padStart(2, "0")).join("") });
    },
  });
  return { stream, digest };
}
