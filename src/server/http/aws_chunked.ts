/**
 * Decoding of `Content-Encoding: aws-chunked` request bodies, which `@aws-sdk/client-s3` sends for
 * PutObject/UploadPart with flexible checksums (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`
 * or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`).
 *
 * Wire format: `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` repeated, then `0[;...]\r\n`, optional
 * trailer lines `name:value\r\n`, and a final `\r\n`. Chunk signatures are not verified (the seed
 * signature of the request is); trailers are collected for the caller.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";

const MAX_LINE = 8192;

/**
 * Whether a request body is aws-chunked encoded.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isAwsChunked } from "./aws_chunked.ts";
 * expect(isAwsChunked(new Headers({ "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER" }))).toBe(true);
 * ```
 */
export function isAwsChunked(headers: Headers): boolean {
  const sha = headers.get("x-amz-content-sha256") ?? "";
  return sha.startsWith("STREAMING-") ||
    /(^|,)\s*aws-chunked\s*(,|$)/i.test(headers.get("content-encoding") ?? "");
}

/**
 * Turns an aws-chunked body into the payload bytes; `trailers` holds the trailing headers once the
 * stream has closed.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { AwsChunkedDecoderStream } from "./aws_chunked.ts";
 * const wire = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
 * const decoder = new AwsChunkedDecoderStream();
 * const text = await new Response(new Blob([wire]).stream().pipeThrough(decoder)).text();
 * expect([text, decoder.trailers.get("x-amz-checksum-crc32")]).toEqual(["hello", "NhCmhg=="]);
 * ```
 */
export class AwsChunkedDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Trailing headers (lower-case names), complete once the stream has closed. */
  readonly trailers: Map<string, string> = new Map();

  constructor() {
    let state: "size" | "data" | "crlf" | "trailer" | "done" = "size";
    let line: number[] = [];
    let remaining = 0;
    let crlfSeen = 0;
    const trailers = () => this.trailers;
    const fail = (why: string) => {
      throw new EmulatorError("IncompleteBody", `The aws-chunked request body is malformed: ${why}.`);
    };
    super({
      transform(chunk, controller) {
        let i = 0;
        while (i < chunk.length) {
          if (state === "data") {
            const n = Math.min(remaining, chunk.length - i);
            controller.enqueue(chunk.subarray(i, i + n));
            i += n;
            remaining -= n;
            if (remaining === 0) state = "crlf";
          } else if (state === "crlf") {
            if (chunk[i++] !== (crlfSeen === 0 ? 13 : 10)) fail("a chunk is not followed by CRLF");
            if (++crlfSeen === 2) {
              crlfSeen = 0;
              state = "size";
            }
          } else if (state === "done") {
            return;
          } else {
            const b = chunk[i++];
            if (b !== 10) {
              line.push(b);
              if (line.length > MAX_LINE) fail("a chunk header line is too long");
              continue;
            }
            const text = String.fromCharCode(...line).replace(/\r$/, "");
            line = [];
            if (state === "size") {
              const size = parseInt(text.split(";")[0].trim(), 16);
              if (
                !Number.isSafeInteger(size) || size < 0 || !/^[0-9a-f]+$/i.test(text.split(";")[0].trim())
              ) {
                fail(`bad chunk size line "${text.slice(0, 40)}"`);
              }
              remaining = size;
              state = size === 0 ? "trailer" : "data";
            } else if (text === "") {
              state = "done";
            } else {
              const colon = text.indexOf(":");
              if (colon > 0) {
                trailers().set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
              }
            }
          }
        }
      },
      flush() {
        if (state !== "done" && state !== "trailer") fail("the body ended before the final chunk");
      },
    });
  }
}
