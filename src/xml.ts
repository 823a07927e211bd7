/**
 * XML of the OSS / S3 REST API over `@rgrove/parse-xml` (a strict, well-formedness-checking parser; documents in
 * the plain subset responses are written in are scanned faster by `xml_scan.ts`): response documents to typed values, the one request
 * document (CompleteMultipartUpload), and error bodies — including the ones that are not XML at all (HTML pages
 * of proxies, empty bodies of HEAD responses) — to the fields of an {@linkcode OssError}.
 *
 * @module
 */
import { parseXml as parseXmlDocument, type XmlElement, XmlNode as RgNode } from "@rgrove/parse-xml";
import { scanSimpleXml } from "./xml_scan.ts";
import type { CompletedPart, ListPage, ObjectSummary, PartInfo, UploadInfo } from "./client_types.ts";

/** Elements that may repeat and so are always parsed as arrays. */
const REPEATED = new Set(["Contents", "CommonPrefixes", "Part", "Upload"]);

/** A parsed XML element: child element names to text, child elements or arrays of them. */
export type XmlNode = Record<string, unknown>;
type Node = XmlNode;

/**
 * An element as a plain object: a child with child elements becomes a nested object, any other child its text
 * (entities decoded, whitespace kept: keys may begin or end with spaces); `REPEATED` names always collect into
 * arrays. Attributes are ignored: no OSS or S3 document carries data in them.
 */
function toNode(el: XmlElement, repeated: ReadonlySet<string>): Node {
  const out: Node = {};
  for (const child of el.children) {
    if (child.type !== RgNode.TYPE_ELEMENT) continue;
    const c = child as XmlElement;
    const value = c.children.some((n) => n.type === RgNode.TYPE_ELEMENT) ? toNode(c, repeated) : c.text;
    if (repeated.has(c.name)) ((out[c.name] ??= []) as unknown[]).push(value);
    else out[c.name] = value;
  }
  return out;
}

/** The first line of a parser error (`XmlError` messages go on with an excerpt and a caret). */
function reason(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0].trim();
}

/** Parses a well-formed document (throws `XmlError` otherwise) and returns its root element. */
function rootOf(text: string): XmlElement {
  const root = parseXmlDocument(text).root;
  if (root === null) throw new SyntaxError("the document has no root element");
  return root;
}

/** Characters XML 1.0 does not allow, not even as character references. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const NOT_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/**
 * {@linkcode rootOf}, but a document whose only fault is characters XML does not allow (a key with a control
 * character quoted in an error message, as servers do) is read with those characters as U+FFFD: the error code
 * matters more than the message's exact text.
 */
function rootOfLenient(text: string): XmlElement {
  try {
    return rootOf(text);
  } catch (err) {
    const cleaned = text.replace(NOT_XML_CHARS, "\uFFFD");
    if (cleaned === text) throw err;
    return rootOf(cleaned);
  }
}

/**
 * Parses a document (a response for the client, a request body for the emulator) and returns its root element
 * `root`; throws a `SyntaxError` naming the document when the text is not well-formed XML or has another root.
 * Elements named in `repeated` always collect into arrays (default: the repeating elements of the responses the
 * client reads).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseXml } from "./xml.ts";
 * const r = parseXml("<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>",
 *   "InitiateMultipartUploadResult");
 * expect(r.UploadId).toBe("u1");
 * const d = parseXml("<Delete><Object><Key> a </Key></Object></Delete>", "Delete", new Set(["Object"]));
 * expect(d.Object).toEqual([{ Key: " a " }]);
 * ```
 */
export function parseXml(text: string, root: string, repeated: ReadonlySet<string> = REPEATED): XmlNode {
  // The plain subset every OSS and S3 response is written in, scanned fast; anything else, the parser's.
  return scanSimpleXml(text, root, repeated) ?? parseXmlStrict(text, root, repeated);
}

/**
 * {@linkcode parseXml} by the general parser alone, without the fast scan of the plain subset: the reference
 * the scan is tested against.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseXmlStrict } from "./xml.ts";
 * const r = parseXmlStrict("<R><!-- a comment --><T><![CDATA[x<y]]></T></R>", "R");
 * expect(r.T).toBe("x<y");
 * ```
 */
export function parseXmlStrict(
  text: string,
  root: string,
  repeated: ReadonlySet<string> = REPEATED,
): XmlNode {
  let el: XmlElement;
  try {
    el = rootOf(text);
  } catch (err) {
    if (text.trim() === "") throw new SyntaxError(`${root}: expected a <${root}> document, got none`);
    throw new SyntaxError(`${root}: the response is not well-formed XML (${reason(err)})`, {
      cause: err,
    });
  }
  if (el.name !== root) throw new SyntaxError(`${root}: expected a <${root}> document, got <${el.name}>`);
  return toNode(el, repeated);
}

/** The text of child `name` of `node`, or undefined. */
function text(node: Node, name: string): string | undefined {
  const v = node[name];
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : "";
}

function int(node: Node, name: string, where: string): number {
  const v = text(node, name);
  const n = Number(v);
  if (v === undefined || v.trim() === "" || !Number.isSafeInteger(n)) {
    throw new SyntaxError(
      `${where}: expected an integer <${name}>, got ${v === undefined ? "none" : `"${v}"`}`,
    );
  }
  return n;
}

function required(node: Node, name: string, where: string): string {
  const v = text(node, name);
  if (v === undefined) throw new SyntaxError(`${where}: missing <${name}>`);
  return v;
}

function date(node: Node, name: string): Date | undefined {
  const v = text(node, name);
  return v ? new Date(v) : undefined;
}

function nodes(node: Node, name: string): Node[] {
  const v = node[name];
  return Array.isArray(v) ? v as Node[] : [];
}

/** Decodes a value of a listing sent with `encoding-type=url` (S3 writes spaces as `+`, OSS as `%20`). */
function urlDecode(s: string): string {
  return decodeURIComponent(s.includes("+") ? s.replaceAll("+", " ") : s);
}

/**
 * A ListObjectsV2 (`ListBucketResult`) page; keys and prefixes are URL-decoded when the response says
 * `<EncodingType>url</EncodingType>`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseListObjectsV2 } from "./xml.ts";
 * const page = parseListObjectsV2(`<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a%20b</Key>
 *   <Size>3</Size><ETag>"e"</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></Contents>
 *   <EncodingType>url</EncodingType></ListBucketResult>`);
 * expect(page.objects[0].key).toEqual("a b");
 * ```
 */
export function parseListObjectsV2(xml: string): ListPage {
  const where = "ListBucketResult";
  const r = parseXml(xml, where);
  const decode = text(r, "EncodingType")?.toLowerCase() === "url" ? urlDecode : (s: string) => s;
  const objects: ObjectSummary[] = nodes(r, "Contents").map((c) => ({
    key: decode(required(c, "Key", where)),
    size: int(c, "Size", where),
    etag: text(c, "ETag") ?? "",
    lastModified: date(c, "LastModified") ?? new Date(NaN),
    storageClass: text(c, "StorageClass"),
  }));
  const commonPrefixes = nodes(r, "CommonPrefixes").map((p) => decode(required(p, "Prefix", where)));
  const page: ListPage = { objects, commonPrefixes, isTruncated: text(r, "IsTruncated") === "true" };
  const next = text(r, "NextContinuationToken");
  if (next) page.nextContinuationToken = next;
  if (page.isTruncated && !next) {
    throw new SyntaxError(`${where}: <IsTruncated> is true but <NextContinuationToken> is missing`);
  }
  return page;
}

/**
 * The continuation token of a truncated ListObjectsV2 page, found by a cheap scan before the page is parsed (so
 * the next request can go out first); undefined when the page is not truncated or the token is not plain text.
 * {@linkcode parseListObjectsV2} stays the authority: callers compare its token with this guess.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { peekContinuationToken } from "./xml.ts";
 * const xml = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t1</NextContinuationToken>";
 * expect(peekContinuationToken(xml)).toEqual("t1");
 * ```
 */
export function peekContinuationToken(xml: string): string | undefined {
  if (!/<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml)) return undefined;
  return /<NextContinuationToken>([^<&]+)<\/NextContinuationToken>/.exec(xml)?.[1];
}

/**
 * The upload id of an `InitiateMultipartUploadResult`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseInitiateMultipart } from "./xml.ts";
 * const xml = "<InitiateMultipartUploadResult><UploadId>0004B9</UploadId></InitiateMultipartUploadResult>";
 * expect(parseInitiateMultipart(xml)).toEqual("0004B9");
 * ```
 */
export function parseInitiateMultipart(xml: string): string {
  const id = required(
    parseXml(xml, "InitiateMultipartUploadResult"),
    "UploadId",
    "InitiateMultipartUploadResult",
  );
  if (!id) throw new SyntaxError("InitiateMultipartUploadResult: <UploadId> is empty");
  return id;
}

/**
 * The ETag of a `CompleteMultipartUploadResult`, or of a `CopyObjectResult` (pass its root name).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseETagResult } from "./xml.ts";
 * const xml = "<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>";
 * expect(parseETagResult(xml, "CopyObjectResult")).toEqual('"e"');
 * ```
 */
export function parseETagResult(
  xml: string,
  root: "CompleteMultipartUploadResult" | "CopyObjectResult",
): string {
  return required(parseXml(xml, root), "ETag", root);
}

/**
 * A `ListPartsResult` page.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseListParts } from "./xml.ts";
 * const r = parseListParts(`<ListPartsResult><IsTruncated>false</IsTruncated>
 *   <Part><PartNumber>1</PartNumber><ETag>"a"</ETag><Size>5</Size></Part></ListPartsResult>`);
 * expect(r.parts[0].size).toEqual(5);
 * ```
 */
export function parseListParts(
  xml: string,
): { parts: PartInfo[]; isTruncated: boolean; nextMarker?: string } {
  const where = "ListPartsResult";
  const r = parseXml(xml, where);
  const parts = nodes(r, "Part").map((p) => ({
    partNumber: int(p, "PartNumber", where),
    etag: required(p, "ETag", where),
    size: int(p, "Size", where),
    lastModified: date(p, "LastModified"),
  }));
  const isTruncated = text(r, "IsTruncated") === "true";
  return { parts, isTruncated, nextMarker: text(r, "NextPartNumberMarker") };
}

/**
 * A `ListMultipartUploadsResult` page.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseListUploads } from "./xml.ts";
 * const r = parseListUploads(`<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>
 *   <Upload><Key>k</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>`);
 * expect(r.uploads[0].uploadId).toEqual("u");
 * ```
 */
export function parseListUploads(
  xml: string,
): { uploads: UploadInfo[]; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string } {
  const where = "ListMultipartUploadsResult";
  const r = parseXml(xml, where);
  const decode = text(r, "EncodingType")?.toLowerCase() === "url" ? urlDecode : (s: string) => s;
  const uploads = nodes(r, "Upload").map((u) => ({
    key: decode(required(u, "Key", where)),
    uploadId: required(u, "UploadId", where),
    initiated: date(u, "Initiated"),
  }));
  const nextKey = text(r, "NextKeyMarker");
  return {
    uploads,
    isTruncated: text(r, "IsTruncated") === "true",
    nextKeyMarker: nextKey === undefined ? undefined : decode(nextKey),
    nextUploadIdMarker: text(r, "NextUploadIdMarker"),
  };
}

/**
 * Escapes text for an XML element.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { escapeXml } from "./xml.ts";
 * expect(escapeXml('"a"&<b>')).toEqual("&quot;a&quot;&amp;&lt;b&gt;");
 * ```
 */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${c === "&" ? "amp" : c === "<" ? "lt" : c === ">" ? "gt" : c === '"' ? "quot" : "apos"};`,
  );
}

/**
 * The CompleteMultipartUpload request document, parts sorted by number.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { buildCompleteMultipart } from "./xml.ts";
 * expect(buildCompleteMultipart([{ partNumber: 1, etag: '"a"' }]))
 *   .toContain("<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>");
 * ```
 */
export function buildCompleteMultipart(parts: readonly CompletedPart[]): string {
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  let xml = "<CompleteMultipartUpload>";
  for (const p of sorted) {
    xml += `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`;
  }
  return xml + "</CompleteMultipartUpload>";
}

/** The fields of an error response that an {@linkcode OssError} carries. */
export interface ParsedError {
  /** `<Code>`, or a code derived from the HTTP status when the body has none. */
  code: string;
  /** `<Message>` (plus OSS's `<EC>` and a redirect's `<Endpoint>`), or what was wrong with the body. */
  message: string;
  /** `x-oss-request-id` / `x-amz-request-id`, else `<RequestId>`. */
  requestId?: string;
}

const STATUS_CODES: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "AccessDenied",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  411: "MissingContentLength",
  412: "PreconditionFailed",
  416: "InvalidRange",
  429: "TooManyRequests",
  500: "InternalError",
  501: "NotImplemented",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

/** What a request addressed, for naming the error of an answer without a body (HEAD). */
export interface ErrorTarget {
  /** The request's method. */
  method?: string;
  /** The object key, when the request addressed an object. */
  key?: string;
}

/** OSS's fine-grained error codes (`x-oss-ec`, also on bodiless answers) that name a common error code. */
const EC_CODES: Record<string, string> = { "0026-00000001": "NoSuchKey", "0015-00000101": "NoSuchBucket" };

const MISSING: Record<string, string> = {
  NoSuchKey: "The specified key does not exist.",
  NoSuchBucket: "The specified bucket does not exist.",
};

/**
 * The error of an answer without a body or `x-oss-err` (a HEAD): the code from OSS's `x-oss-ec` header when it
 * names one, else for a 404 to an object request `NoSuchKey`, as OSS and S3 mean it; the message says why
 * there is nothing more.
 */
function bodilessError(
  status: number,
  headers: Headers,
  fallback: string,
  requestId: string | undefined,
  target: ErrorTarget,
): ParsedError {
  const ec = headers.get("x-oss-ec")?.trim();
  const code = (ec !== undefined && EC_CODES[ec]) ||
    (status === 404 && target.key !== undefined ? "NoSuchKey" : fallback);
  const why = target.method === "HEAD" ? "HEAD answers have no body" : "the answer had no body";
  const message = MISSING[code] !== undefined
    ? `${MISSING[code]} (from the ${ec ? "x-oss-ec header" : "status"}: ${why})${ec ? ` [EC ${ec}]` : ""}`
    : `HTTP ${status} with an empty body${ec ? ` [EC ${ec}]` : ""}`;
  return { code, message, requestId };
}

/**
 * Turns an error response into the fields of an {@linkcode OssError}. Tolerates what arrives in practice: an
 * empty body (HEAD; OSS then may send the error document base64-encoded in `x-oss-err`), malformed XML, an HTML
 * page or plain text from a proxy or gateway, XML of another shape. The code then comes from the status
 * (`404` -> `NotFound`, `502` -> `BadGateway`, ...), and the message says what the body was — but an empty
 * answer to a request for an object (`target.key`) that is a 404 is `NoSuchKey`, and OSS's `x-oss-ec` header
 * names the code where it can (`0026-00000001` NoSuchKey, `0015-00000101` NoSuchBucket).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseErrorResponse } from "./xml.ts";
 * const e = parseErrorResponse(404, new Headers({ "x-oss-request-id": "r1" }),
 *   "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
 * expect([e.code, e.requestId]).toEqual(["NoSuchKey", "r1"]);
 * const head = parseErrorResponse(404, new Headers(), "", { method: "HEAD", key: "gone.bin" });
 * expect([head.code, head.message]).toEqual(["NoSuchKey", "The specified key does not exist. (from the status: HEAD answers have no body)"]);
 * ```
 */
export function parseErrorResponse(
  status: number,
  headers: Headers,
  body: string,
  target: ErrorTarget = {},
): ParsedError {
  const requestId = headers.get("x-oss-request-id") ?? headers.get("x-amz-request-id") ?? undefined;
  const fallback = STATUS_CODES[status] ?? (status ? `Http${status}` : "UnexpectedResponse");
  let doc = body.replace(/^\uFEFF/, "").trim();
  let source = "body";
  if (doc === "") {
    const header = headers.get("x-oss-err");
    const decoded = header ? decodeBase64(header) : undefined;
    if (decoded === undefined) return bodilessError(status, headers, fallback, requestId, target);
    doc = decoded.trim();
    source = "x-oss-err header";
  }
  const type = headers.get("content-type") ?? "no content-type";
  if (!doc.startsWith("<") || /^(<\?xml[^>]*>\s*)?(<!doctype html|<html[\s>])/i.test(doc)) {
    return {
      code: fallback,
      message: `HTTP ${status} with a non-XML ${source} (${type}), likely from a proxy or gateway: ${
        excerpt(doc)
      }`,
      requestId,
    };
  }
  let root: XmlElement;
  try {
    root = rootOfLenient(doc);
  } catch (err) {
    return {
      code: fallback,
      message: `HTTP ${status} with malformed XML in the ${source} (${reason(err)}): ${excerpt(doc)}`,
      requestId,
    };
  }
  if (root.name !== "Error") {
    return {
      code: fallback,
      message: `HTTP ${status} with XML that is not an <Error> document: ${excerpt(doc)}`,
      requestId,
    };
  }
  const err = toNode(root, REPEATED);
  let message = text(err, "Message")?.trim() || `HTTP ${status}`;
  const ec = text(err, "EC");
  if (ec) message += ` [EC ${ec}]`;
  const endpoint = text(err, "Endpoint");
  if (endpoint) message += ` (use endpoint ${endpoint})`;
  return {
    code: text(err, "Code")?.trim() || fallback,
    message,
    requestId: requestId ?? text(err, "RequestId"),
  };
}

function decodeBase64(s: string): string | undefined {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** A short one-line preview of a body: an HTML page's title, else its first 200 characters of text. */
function excerpt(body: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
  const flat = (title || body.replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim();
  return JSON.stringify(flat.length > 200 ? `${flat.slice(0, 200)}…` : flat);
}
