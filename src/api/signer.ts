/**
 * Request signing primitives: OSS V4 (`OSS4-HMAC-SHA256`) and AWS SigV4 (`AWS4-HMAC-SHA256`, through
 * `@smithy/signature-v4`), for headers and presigned URLs. `OssClient` signs every request with these; use them
 * to sign a request you send with your own `fetch`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signOss4 } from "./signer.ts";
 *
 * const url = new URL("https://data.oss-cn-hangzhou.aliyuncs.com/a.txt");
 * const req = { method: "GET", url, headers: new Headers(), bucket: "data", key: "a.txt" };
 * await signOss4(req, {
 *   credentials: { accessKeyId: "LTAIexample", accessKeySecret: "example-secret" },
 *   region: "cn-hangzhou",
 *   date: new Date("2026-01-01T00:00:00Z"),
 * });
 * expect(req.headers.get("authorization")).toMatch(/^OSS4-HMAC-SHA256 Credential=LTAIexample\/20260101\//);
 * ```
 *
 * @module
 */
export {
  type HeaderMapRequest,
  type Oss4PresignOptions,
  type Oss4SignOptions,
  presignOss4,
  type SignableRequest,
  signOss4,
} from "../signer/oss4.ts";
export type { HeaderMap } from "../signer/header_map.ts";
export { presignS3v4, type S3v4PresignOptions, type S3v4SignOptions, signS3v4 } from "../signer/s3v4.ts";
