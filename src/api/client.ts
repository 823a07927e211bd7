/**
 * The types of `OssClient`'s methods beyond the common ones at the root export (ranges, listing pages,
 * multipart uploads, appends), its retry policy, and presigning's building blocks.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_RETRY } from "./client.ts";
 *
 * expect(DEFAULT_RETRY.maxAttempts).toBeGreaterThan(1);
 * ```
 *
 * @module
 */
export type {
  AppendResult,
  ByteRange,
  CompletedPart,
  GetBytesResult,
  GetOptions,
  ListOptions,
  ListPage,
  ListUploadsOptions,
  PartInfo,
  PutBody,
  RequestOptions,
  SignedRequest,
  UploadInfo,
  UploadPartOptions,
} from "../client_types.ts";
export { DEFAULT_RETRY, type RetryEvent, type RetryPolicy } from "../retry.ts";
export { DEFAULT_PRESIGN_EXPIRES, type Presigner } from "../presign.ts";
export { type FastListOptions, listFast } from "../fast_list.ts";
