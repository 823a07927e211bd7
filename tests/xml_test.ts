import { expect } from "expect";
import {
  buildCompleteMultipart,
  escapeXml,
  parseErrorResponse,
  parseETagResult,
  parseInitiateMultipart,
  parseListObjectsV2,
  parseListParts,
  parseListUploads,
  parseXml,
  peekContinuationToken,
} from "../src/xml.ts";

const ossHeaders = new Headers({
  "x-oss-request-id": "5C3D9175B6FC201293AD4890",
  "content-type": "application/xml",
});

Deno.test("parseErrorResponse reads Code, Message, EC and the request id header of an OSS error", () => {
  const body = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The specified key does not exist.</Message>
  <RequestId>IGNORED-WHEN-HEADER-PRESENT</RequestId>
  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>
  <Key>a.bin</Key>
  <EC>0026-00000001</EC>
</Error>`;
  const e = parseErrorResponse(404, ossHeaders, body);
  expect(e).toEqual({
    code: "NoSuchKey",
    message: "The specified key does not exist. [EC 0026-00000001]",
    requestId: "5C3D9175B6FC201293AD4890",
  });
});

Deno.test("parseErrorResponse takes the request id from x-amz-request-id, else from the XML", () => {
  const body = "<Error><Code>AccessDenied</Code><Message>no</Message><RequestId>R-XML</RequestId></Error>";
  expect(parseErrorResponse(403, new Headers({ "x-amz-request-id": "R-AMZ" }), body).requestId).toBe("R-AMZ");
  expect(parseErrorResponse(403, new Headers(), body).requestId).toBe("R-XML");
});

Deno.test("parseErrorResponse names the endpoint of a PermanentRedirect", () => {
  const body = "<Error><Code>PermanentRedirect</Code><Message>Use the right endpoint.</Message>" +
    "<Endpoint>oss-cn-beijing.aliyuncs.com</Endpoint></Error>";
  const e = parseErrorResponse(301, new Headers(), body);
  expect(e.code).toBe("PermanentRedirect");
  expect(e.message).toContain("use endpoint oss-cn-beijing.aliyuncs.com");
});

// Bad inputs: each yields a usable code and a message that says what was wrong.
Deno.test("parseErrorResponse: an empty body (HEAD) gives a code from the status", () => {
  expect(parseErrorResponse(404, ossHeaders, "")).toEqual({
    code: "NotFound",
    message: "HTTP 404 with an empty body",
    requestId: "5C3D9175B6FC201293AD4890",
  });
  expect(parseErrorResponse(403, new Headers(), "  \n").code).toBe("AccessDenied");
});

Deno.test("parseErrorResponse: an empty body with x-oss-err decodes the base64 error document", () => {
  const xml = "<Error><Code>NoSuchBucket</Code><Message>The bucket does not exist.</Message></Error>";
  const h = new Headers({ "x-oss-err": btoa(xml) });
  expect(parseErrorResponse(404, h, "")).toMatchObject({
    code: "NoSuchBucket",
    message: "The bucket does not exist.",
  });
});

Deno.test("parseErrorResponse: a bad x-oss-err header falls back to the status", () => {
  const h = new Headers({ "x-oss-err": "%%% not base64 %%%" });
  expect(parseErrorResponse(404, h, "")).toMatchObject({
    code: "NotFound",
    message: "HTTP 404 with an empty body",
  });
});

Deno.test("parseErrorResponse: an HTML page from a proxy is reported with its title", () => {
  const html = `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>
    <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`;
  const e = parseErrorResponse(502, new Headers({ "content-type": "text/html" }), html);
  expect(e.code).toBe("BadGateway");
  expect(e.message).toBe(
    'HTTP 502 with a non-XML body (text/html), likely from a proxy or gateway: "502 Bad Gateway"',
  );
});

Deno.test("parseErrorResponse: HTML without a doctype, and after an XML declaration, is still HTML", () => {
  const e1 = parseErrorResponse(503, new Headers(), "<html><body><h1>Service Unavailable</h1></body></html>");
  expect(e1.code).toBe("ServiceUnavailable");
  expect(e1.message).toContain('likely from a proxy or gateway: "Service Unavailable"');
  const e2 = parseErrorResponse(
    504,
    new Headers(),
    '<?xml version="1.0"?>\n<html><title>Timeout</title></html>',
  );
  expect(e2).toMatchObject({ code: "GatewayTimeout" });
  expect(e2.message).toContain('"Timeout"');
});

Deno.test("parseErrorResponse: plain text and JSON bodies are non-XML, shown in short", () => {
  const e = parseErrorResponse(429, new Headers({ "content-type": "text/plain" }), "Too Many Requests\n");
  expect(e).toMatchObject({ code: "TooManyRequests" });
  expect(e.message).toBe(
    'HTTP 429 with a non-XML body (text/plain), likely from a proxy or gateway: "Too Many Requests"',
  );
  const long = parseErrorResponse(
    500,
    new Headers({ "content-type": "application/json" }),
    JSON.stringify({ e: "x".repeat(500) }),
  );
  expect(long.code).toBe("InternalError");
  expect(long.message.length).toBeLessThan(320);
  expect(long.message).toContain("…");
});

Deno.test("parseErrorResponse: malformed XML is reported with the parser's reason", () => {
  const e = parseErrorResponse(500, new Headers(), "<Error><Code>InternalError</Code><Message>boom</Error>");
  expect(e.code).toBe("InternalError");
  expect(e.message).toMatch(/^HTTP 500 with malformed XML in the body \(.+\): /);
});

Deno.test("parseErrorResponse: a truncated XML error body is malformed, not silently accepted", () => {
  const e = parseErrorResponse(
    403,
    new Headers(),
    "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>",
  );
  expect(e.code).toBe("AccessDenied");
  expect(e.message).toContain("malformed XML");
});

Deno.test("parseErrorResponse: XML of another shape, or an Error without a Code, falls back to the status", () => {
  const e = parseErrorResponse(409, new Headers(), "<Conflict><Reason>busy</Reason></Conflict>");
  expect(e.code).toBe("Conflict");
  expect(e.message).toContain("XML that is not an <Error> document");
  expect(parseErrorResponse(400, new Headers(), "<Error><Message>m</Message></Error>"))
    .toMatchObject({ code: "BadRequest", message: "m" });
  expect(parseErrorResponse(418, new Headers(), "").code).toBe("Http418");
});

Deno.test("parseErrorResponse: a byte-order mark and surrounding whitespace are tolerated", () => {
  const e = parseErrorResponse(
    404,
    new Headers(),
    "\uFEFF  <Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>\n",
  );
  expect(e).toMatchObject({ code: "NoSuchUpload", message: "gone" });
});

Deno.test("parseListObjectsV2 decodes url-encoded keys, prefixes, entities and keeps spaces and leading zeros", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult>
  <Name>b</Name><Prefix>dir%2F</Prefix><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated><NextContinuationToken>tok%2B1</NextContinuationToken>
  <Contents><Key>dir/a%20b+c%2Bd</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified>
    <ETag>&quot;5B3C1A2E&quot;</ETag><Size>0012</Size><StorageClass>Standard</StorageClass></Contents>
  <Contents><Key>dir/%E4%B8%AD%0A</Key><LastModified>2024-05-01T10:00:01.000Z</LastModified>
    <ETag>"x"</ETag><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>dir/sub%20dir/</Prefix></CommonPrefixes>
</ListBucketResult>`;
  const page = parseListObjectsV2(xml);
  expect(page.objects.map((o) => o.key)).toEqual(["dir/a b c+d", "dir/中\n"]);
  expect(page.objects[0]).toMatchObject({ size: 12, etag: '"5B3C1A2E"', storageClass: "Standard" });
  expect(page.objects[0].lastModified.toISOString()).toBe("2024-05-01T10:00:00.000Z");
  expect(page.commonPrefixes).toEqual(["dir/sub dir/"]);
  expect(page.isTruncated).toBe(true);
  expect(page.nextContinuationToken).toBe("tok%2B1"); // tokens are opaque: not decoded
});

Deno.test("parseListObjectsV2 leaves keys alone without EncodingType and decodes numeric entities once", () => {
  const xml =
    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key> a%20&amp;lt;&#x41;&#66; </Key>" +
    "<Size>1</Size><ETag>e</ETag><LastModified>2024-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>";
  const page = parseListObjectsV2(xml);
  expect(page.objects[0].key).toBe(" a%20&lt;AB ");
  expect(page.commonPrefixes).toEqual([]);
  expect(page.nextContinuationToken).toBeUndefined();
});

Deno.test("parseListObjectsV2 rejects a truncated page without a token, and a non-list document", () => {
  expect(() => parseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"))
    .toThrow("<IsTruncated> is true but <NextContinuationToken> is missing");
  expect(() => parseListObjectsV2("<Error><Code>X</Code></Error>"))
    .toThrow("ListBucketResult: expected a <ListBucketResult> document, got <Error>");
  expect(() => parseListObjectsV2("<ListBucketResult><Contents><Key>k</Key>"))
    .toThrow(/ListBucketResult: the response is not well-formed XML/);
  expect(() =>
    parseListObjectsV2(
      "<ListBucketResult><Contents><Key>k</Key><Size>big</Size></Contents></ListBucketResult>",
    )
  )
    .toThrow('ListBucketResult: expected an integer <Size>, got "big"');
});

Deno.test("multipart documents parse and the complete document is built sorted and escaped", () => {
  expect(parseInitiateMultipart(
    "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>0004B9895DBBB6EC98E</UploadId></InitiateMultipartUploadResult>",
  )).toBe("0004B9895DBBB6EC98E");
  expect(() => parseInitiateMultipart("<InitiateMultipartUploadResult></InitiateMultipartUploadResult>"))
    .toThrow("missing <UploadId>");
  expect(
    parseETagResult(
      "<CompleteMultipartUploadResult><ETag>&quot;A-2&quot;</ETag></CompleteMultipartUploadResult>",
      "CompleteMultipartUploadResult",
    ),
  )
    .toBe('"A-2"');
  const parts = parseListParts(
    `<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>
    <Part><PartNumber>1</PartNumber><LastModified>2024-01-01T00:00:00Z</LastModified><ETag>"a"</ETag><Size>5</Size></Part>
    <Part><PartNumber>2</PartNumber><ETag>"b"</ETag><Size>6</Size></Part></ListPartsResult>`,
  );
  expect(parts.parts.map((p) => [p.partNumber, p.etag, p.size])).toEqual([[1, '"a"', 5], [2, '"b"', 6]]);
  expect(parts).toMatchObject({ isTruncated: true, nextMarker: "2" });
  const ups = parseListUploads(`<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>
    <Upload><Key>k 1</Key><UploadId>u1</UploadId><Initiated>2024-01-01T00:00:00Z</Initiated></Upload></ListMultipartUploadsResult>`);
  expect(ups.uploads).toEqual([{ key: "k 1", uploadId: "u1", initiated: new Date("2024-01-01T00:00:00Z") }]);
  expect(buildCompleteMultipart([{ partNumber: 2, etag: '"b"' }, { partNumber: 1, etag: '"a&"' }])).toBe(
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&amp;&quot;</ETag></Part>" +
      "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>",
  );
  expect(escapeXml(`<'>`)).toBe("&lt;&apos;&gt;");
});

Deno.test("parseXml names the expected root when the document is empty", () => {
  expect(() => parseXml("", "ListPartsResult")).toThrow(/ListPartsResult: /);
});

Deno.test("peekContinuationToken finds a plain token of a truncated page and nothing otherwise", () => {
  const page = (truncated: boolean, token: string) =>
    `<ListBucketResult><IsTruncated>${truncated}</IsTruncated><NextContinuationToken>${token}</NextContinuationToken></ListBucketResult>`;
  expect(peekContinuationToken(page(true, "CgJhYg--"))).toBe("CgJhYg--");
  expect(peekContinuationToken(page(false, "CgJhYg--"))).toBeUndefined();
  // An escaped token is left to the real parser (the guess would be wrong), which decodes it.
  expect(peekContinuationToken(page(true, "a&amp;b"))).toBeUndefined();
  expect(parseListObjectsV2(page(true, "a&amp;b")).nextContinuationToken).toBe("a&b");
});

Deno.test("parseXml rejects undefined entities and mismatched tags with the parser's reason on one line", () => {
  expect(() => parseXml("<A><B>&bogus;</B></A>", "A")).toThrow(
    /^A: the response is not well-formed XML \([^\n]+\)$/,
  );
  expect(() => parseXml("<A><B></A>", "A")).toThrow(/not well-formed/);
  expect(() => parseXml("<B/>", "A")).toThrow("A: expected a <A> document, got <B>");
});

Deno.test("parseErrorResponse keeps the code of an error whose message quotes a key with a control character", () => {
  const body = "<Error><Code>InvalidObjectName</Code><Message>bad key a\u0000b</Message></Error>";
  const e = parseErrorResponse(400, ossHeaders, body);
  expect(e.code).toBe("InvalidObjectName");
  expect(e.message).toBe("bad key a\uFFFDb");
});
