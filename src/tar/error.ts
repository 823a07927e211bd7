/**
 * {@linkcode TarError}: a tar archive (a shard) that is truncated or corrupt, named with its URI and the byte
 * offset where reading it failed.
 *
 * @module
 */
import { OssflowError } from "../errors.ts";

/**
 * A tar archive could not be read: truncated, a corrupt header, or a member that does not match the archive's
 * layout. Names the archive (`uri`) and the byte `offset` in it where reading failed.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { TarError } from "./error.ts";
 * const e = new TarError("oss://b/shard-000001.tar", 10752, "the archive ends inside member 0007.jpg");
 * expect(e.message).toEqual("tar oss://b/shard-000001.tar at byte 10752: the archive ends inside member 0007.jpg");
 * expect([e.uri, e.offset]).toEqual(["oss://b/shard-000001.tar", 10752]);
 * ```
 */
export class TarError extends OssflowError {
  /** The archive's URI. */
  readonly uri: string;
  /** Byte offset in the archive where reading failed. */
  readonly offset: number;

  /** An error reading the archive `uri` at byte `offset`. */
  constructor(uri: string, offset: number, detail: string, options?: { cause?: unknown }) {
    super(`tar ${uri} at byte ${offset}: ${detail}`, options);
    this.name = "TarError";
    this.uri = uri;
    this.offset = offset;
  }
}
