import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import OSS from "ali-oss";
// ali-oss's own request builder (the code path of every ali-oss call), to check what it signs.
import { createRequest } from "ali-oss/lib/common/utils/createRequest.js";
import { expect } from "expect";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { presignOss4, type SignableRequest, signOss4 } from "../src/signer/oss4.ts";
import { presignS3v4, signS3v4 } from "../src/signer/s3v4.ts";
import { SignatureVerificationError, type VerifyOptions, verifyRequest } from "../src/signer/verify.ts";

const SECRET = "sk-VERY-SECRET-0123456789";
const credentials = { accessKeyId: "LTAIexample", accessKeySecret: SECRET };
const withToken = { ...credentials, securityToken: "sts-token/+=" };
const NOW = new Date(Date.UTC(2024, 4, 20, 8, 30, 0));
const opts: VerifyOptions = {
  lookupSecret: (id) => (id === credentials.accessKeyId ? SECRET : undefined),
  now: NOW,
  region: "cn-hangzhou",
};

function request(init: Partial<SignableRequest> = {}): SignableRequest {
  return {
    method: "PUT",
    url: new URL("http://127.0.0.1:9000/bucket/dir/%E4%B8%AD%20%2B%21.txt?partNumber=3&uploadId=u-1"),
    headers: new Headers({ "content-type": "text/plain", "x-oss-meta-a": "1", range: "bytes=0-9" }),
    bucket: "bucket",
    key: "dir/中 +!.txt",
    ...init,
  };
}

async function rejection(promise: Promise<unknown>): Promise<SignatureVerificationError> {
  const err = await promise.then(() => undefined, (e) => e);
  if (!(err instanceof SignatureVerificationError)) {
    throw new Error(`expected a SignatureVerificationError, got ${err}`);
  }
  expect(err.message).not.toContain(SECRET);
  return err;
}

async function signedOss4(init: Partial<SignableRequest> = {}, date = NOW) {
  const req = request(init);
  await signOss4(req, { credentials: withToken, region: "cn-hangzhou", date, additionalHeaders: ["range"] });
  return req;
}

async function presignedOss4(expires = 600, date = NOW, init: Partial<SignableRequest> = {}) {
  const req = request({ method: "GET", headers: new Headers(), ...init });
  const url = await presignOss4(req, { credentials: withToken, region: "cn-hangzhou", date, expires });
  return { ...req, url };
}

async function signedS3(date = NOW) {
  const req = request();
  await signS3v4(req, { credentials: withToken, region: "oss-cn-hangzhou", date });
  return req;
}

// ------------------------------------------------ acceptance ------------------------------------------------

Deno.test("verifyRequest accepts an OSS4 header-signed request with a token, additional headers and a unicode key", async () => {
  const req = await signedOss4();
  expect(req.headers.get("authorization")).toContain(",AdditionalHeaders=range,");
  expect(await verifyRequest(req, opts)).toEqual({ accessKeyId: "LTAIexample", scheme: "oss4" });
});

Deno.test("verifyRequest accepts an OSS4 presigned URL with a token within its lifetime", async () => {
  const req = await presignedOss4(3600, new Date(NOW.getTime() - 3000_000));
  expect(await verifyRequest(req, opts)).toEqual({ accessKeyId: "LTAIexample", scheme: "oss4-presign" });
});

Deno.test("verifyRequest accepts SigV4 header and presigned requests, also with the oss- region prefix", async () => {
  expect(await verifyRequest(await signedS3(), opts)).toEqual({ accessKeyId: "LTAIexample", scheme: "s3v4" });
  const url = await presignS3v4(request({ method: "GET" }), {
    credentials: withToken,
    region: "cn-hangzhou",
    date: NOW,
    expires: 60,
  });
  const req = request({ method: "GET", url });
  expect(await verifyRequest(req, opts)).toEqual({ accessKeyId: "LTAIexample", scheme: "s3v4-presign" });
});

Deno.test("an OSS4 signature over the host header (x-oss-additional-headers=host) binds the URL to its host", async () => {
  const req = request({ method: "GET", headers: new Headers() });
  const url = await presignOss4(request({ method: "GET", headers: new Headers() }), {
    credentials,
    region: "cn-hangzhou",
    date: NOW,
    expires: 600,
    additionalHeaders: ["host"],
  });
  expect(url.searchParams.get("x-oss-additional-headers")).toBe("host");
  const noHostHeader = { ...req, url };
  expect((await verifyRequest(noHostHeader, opts)).scheme).toBe("oss4-presign");
  const sameHost = { ...req, url, headers: new Headers({ host: url.host }) };
  expect((await verifyRequest(sameHost, opts)).scheme).toBe("oss4-presign");
  const otherHost = { ...req, url, headers: new Headers({ host: "evil.example.com" }) };
  expect((await rejection(verifyRequest(otherHost, opts))).code).toBe("SignatureDoesNotMatch");
  const signed = request();
  await signOss4(signed, { credentials, region: "cn-hangzhou", date: NOW, additionalHeaders: ["host"] });
  expect(signed.headers.get("authorization")).toContain(",AdditionalHeaders=host,");
  expect((await verifyRequest(signed, opts)).scheme).toBe("oss4");
});

Deno.test("verifyRequest passes SigV4 payload hash modes through as the client states them", async () => {
  for (const mode of ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "a".repeat(64)]) {
    const req = request({ headers: new Headers({ "x-amz-content-sha256": mode }) });
    await signS3v4(req, { credentials, region: "cn-hangzhou", date: NOW });
    expect(req.headers.get("authorization")).toContain("x-amz-content-sha256");
    expect(await verifyRequest(req, opts)).toEqual({ accessKeyId: "LTAIexample", scheme: "s3v4" });
    req.headers.set("x-amz-content-sha256", "b".repeat(64));
    expect((await rejection(verifyRequest(req, opts))).code).toBe("SignatureDoesNotMatch");
  }
});

Deno.test("verifyRequest reports a request without any signature as anonymous", async () => {
  const req = request({ headers: new Headers() });
  expect(await verifyRequest(req, opts)).toEqual({ accessKeyId: "", scheme: "anonymous" });
});

Deno.test("verifyRequest ignores changes to headers that are not signed", async () => {
  const req = await signedOss4();
  req.headers.set("user-agent", "other");
  req.headers.set("accept-encoding", "gzip");
  expect((await verifyRequest(req, opts)).scheme).toBe("oss4");
});

// ------------------------------------------------ rejection ------------------------------------------------

Deno.test("verifyRequest rejects tampered requests with SignatureDoesNotMatch (403)", async () => {
  const tamper: [string, (r: SignableRequest) => SignableRequest][] = [
    ["another key", (r) => ({ ...r, key: "dir/other.txt" })],
    ["another bucket", (r) => ({ ...r, bucket: "bucket2" })],
    ["another method", (r) => ({ ...r, method: "DELETE" })],
    ["an added query parameter", (r) => ({ ...r, url: new URL(`${r.url.href}&acl`) })],
    [
      "a changed query value",
      (r) => ({ ...r, url: new URL(r.url.href.replace("partNumber=3", "partNumber=4")) }),
    ],
    ["a changed x-oss-meta header", (r) => (r.headers.set("x-oss-meta-a", "2"), r)],
    ["an added x-oss-meta header", (r) => (r.headers.set("x-oss-meta-b", "1"), r)],
    ["a changed content-type", (r) => (r.headers.set("content-type", "text/html"), r)],
    ["a changed additional header", (r) => (r.headers.set("range", "bytes=0-10"), r)],
    ["a changed security token", (r) => (r.headers.set("x-oss-security-token", "other"), r)],
    [
      "a flipped signature",
      (r) => (r.headers.set("authorization", r.headers.get("authorization")!.replace(/.$/, "0")), r),
    ],
  ];
  for (const [what, change] of tamper) {
    const err = await rejection(verifyRequest(change(await signedOss4()), opts));
    expect({ what, code: err.code, status: err.status }).toEqual({
      what,
      code: "SignatureDoesNotMatch",
      status: 403,
    });
    expect(err.message).toMatch(/signature we calculated does not match/);
  }
  const presigned = await presignedOss4();
  const wrongKey = { ...presigned, key: "other" };
  expect((await rejection(verifyRequest(wrongKey, opts))).code).toBe("SignatureDoesNotMatch");
  const s3 = await signedS3();
  s3.headers.set("range", "bytes=1-2");
  expect((await rejection(verifyRequest(s3, opts))).code).toBe("SignatureDoesNotMatch");
  const wrongSecret = await verifyRequest(await signedOss4(), {
    ...opts,
    lookupSecret: () => "another-secret",
  })
    .then(() => undefined, (e) => e);
  expect(wrongSecret.code).toBe("SignatureDoesNotMatch");
});

Deno.test("verifyRequest rejects an unknown AccessKey ID with InvalidAccessKeyId (403) naming the ID", async () => {
  const unknown = { ...opts, lookupSecret: () => undefined };
  for (const req of [await signedOss4(), await presignedOss4(), await signedS3()]) {
    const err = await rejection(verifyRequest(req, unknown));
    expect([err.code, err.status]).toEqual(["InvalidAccessKeyId", 403]);
    expect(err.message).toContain('"LTAIexample"');
  }
});

Deno.test("verifyRequest rejects header-signed requests more than 15 minutes off with RequestTimeTooSkewed (403)", async () => {
  for (const offset of [16 * 60_000, -16 * 60_000]) {
    const date = new Date(NOW.getTime() + offset);
    for (const req of [await signedOss4({}, date), await signedS3(date)]) {
      const err = await rejection(verifyRequest(req, opts));
      expect([err.code, err.status]).toEqual(["RequestTimeTooSkewed", 403]);
      expect(err.message).toMatch(
        /request time \(x-(oss|amz)-date .*\) and the server's time .* is 960 s, more than the 900 s/,
      );
    }
  }
  const within = await signedOss4({}, new Date(NOW.getTime() - 14 * 60_000));
  expect((await verifyRequest(within, opts)).scheme).toBe("oss4");
  const custom = await signedOss4({}, new Date(NOW.getTime() - 61_000));
  expect((await rejection(verifyRequest(custom, { ...opts, maxSkewMs: 60_000 }))).code).toBe(
    "RequestTimeTooSkewed",
  );
});

Deno.test("verifyRequest rejects expired and not-yet-valid presigned URLs with AccessDenied (403)", async () => {
  const expired = await presignedOss4(60, new Date(NOW.getTime() - 61_000));
  const err = await rejection(verifyRequest(expired, opts));
  expect([err.code, err.status]).toEqual(["AccessDenied", 403]);
  expect(err.message).toMatch(/^Request has expired: .*x-oss-date 20240520T082859Z \+ x-oss-expires 60/);
  const s3url = await presignS3v4(request({ method: "GET" }), {
    credentials,
    region: "cn-hangzhou",
    date: new Date(NOW.getTime() - 61_000),
    expires: 60,
  });
  const s3err = await rejection(verifyRequest(request({ method: "GET", url: s3url }), opts));
  expect([s3err.code, s3err.message]).toEqual([
    "AccessDenied",
    expect.stringMatching(/^Request has expired/),
  ]);
  const future = await presignedOss4(60, new Date(NOW.getTime() + 3600_000));
  expect((await rejection(verifyRequest(future, opts))).message).toMatch(/^Request is not yet valid/);
  const lastSecond = await presignedOss4(60, new Date(NOW.getTime() - 60_000));
  expect((await verifyRequest(lastSecond, opts)).scheme).toBe("oss4-presign");
});

/** Replaces one query parameter of a URL, keeping the rest as sent. */
function withParam(url: URL, name: string, value: string | null): URL {
  const out = new URL(url);
  const parts = out.search.slice(1).split("&").filter((p) => !p.startsWith(`${name}=`) && p !== name);
  if (value !== null) parts.push(`${name}=${encodeURIComponent(value)}`);
  out.search = parts.join("&");
  return out;
}

Deno.test("verifyRequest rejects malformed authentication with InvalidArgument (400) naming the input", async () => {
  const oss = await signedOss4();
  const auth = oss.headers.get("authorization")!;
  const sig = auth.slice(auth.indexOf("Signature=") + 10);
  const withHeader = (base: SignableRequest, name: string, value: string | null) => {
    const headers = new Headers(base.headers);
    if (value === null) headers.delete(name);
    else headers.set(name, value);
    return { ...base, headers };
  };
  const withAuth = (value: string) => withHeader(oss, "authorization", value);
  const cred = "LTAIexample/20240520/cn-hangzhou/oss/aliyun_v4_request";
  const presigned = await presignedOss4();
  const s3 = await signedS3();
  const s3auth = s3.headers.get("authorization")!;
  const s3url = await presignS3v4(request({ method: "GET" }), {
    credentials,
    region: "cn-hangzhou",
    date: NOW,
    expires: 60,
  });
  const cases: [string, SignableRequest, RegExp][] = [
    ["unknown scheme", withAuth("Bearer abc.def"), /^Authorization header: unsupported algorithm "Bearer"/],
    [
      "OSS V1 header",
      withAuth("OSS LTAIexample:c2lnbmF0dXJl"),
      /OSS signature version 1 is not supported.*authorizationV4: true/,
    ],
    ["AWS V2 header", withAuth("AWS AKID:c2ln"), /AWS signature version 2 is not supported/],
    [
      "no Credential",
      withAuth(`OSS4-HMAC-SHA256 Signature=${sig}`),
      /^Authorization header: OSS4-HMAC-SHA256 needs Credential=/,
    ],
    ["no Signature", withAuth(`OSS4-HMAC-SHA256 Credential=${cred}`), /needs Signature=/],
    [
      "garbage component",
      withAuth(`OSS4-HMAC-SHA256 Credential=${cred},garbage,Signature=${sig}`),
      /component "garbage" is not of the form Name=value/,
    ],
    [
      "duplicate component",
      withAuth(`OSS4-HMAC-SHA256 Credential=${cred},Credential=${cred},Signature=${sig}`),
      /Credential appears twice/,
    ],
    [
      "short credential",
      withAuth(`OSS4-HMAC-SHA256 Credential=LTAIexample/20240520/cn-hangzhou/oss,Signature=${sig}`),
      /^Authorization header Credential "LTAIexample\/20240520\/cn-hangzhou\/oss" is malformed: expected <AccessKeyId>\/<yyyymmdd>\/<region>\/oss\/aliyun_v4_request$/,
    ],
    [
      "AWS terminator in an OSS4 scope",
      withAuth(
        `OSS4-HMAC-SHA256 Credential=LTAIexample/20240520/cn-hangzhou/oss/aws4_request,Signature=${sig}`,
      ),
      /terminator "aws4_request" should be "aliyun_v4_request"/,
    ],
    [
      "s3 service in an OSS4 scope",
      withAuth(
        `OSS4-HMAC-SHA256 Credential=LTAIexample/20240520/cn-hangzhou/s3/aliyun_v4_request,Signature=${sig}`,
      ),
      /service "s3" should be "oss"/,
    ],
    [
      "dashed scope date",
      withAuth(
        `OSS4-HMAC-SHA256 Credential=LTAIexample/2024-05-20/cn-hangzhou/oss/aliyun_v4_request,Signature=${sig}`,
      ),
      /date "2024-05-20" is not yyyymmdd/,
    ],
    [
      "scope date other than x-oss-date",
      withAuth(
        `OSS4-HMAC-SHA256 Credential=LTAIexample/20240521/cn-hangzhou/oss/aliyun_v4_request,Signature=${sig}`,
      ),
      /scope date 20240521 is not the date of the x-oss-date header \(20240520\)/,
    ],
    [
      "scope region other than the server's",
      withAuth(
        `OSS4-HMAC-SHA256 Credential=LTAIexample/20240520/cn-beijing/oss/aliyun_v4_request,Signature=${sig}`,
      ),
      /region "cn-beijing" does not match the server's region "cn-hangzhou"/,
    ],
    [
      "short signature",
      withAuth(`OSS4-HMAC-SHA256 Credential=${cred},Signature=abc123`),
      /Signature "abc123" is not 64 lower-case hex digits/,
    ],
    [
      "unsorted AdditionalHeaders",
      withAuth(`OSS4-HMAC-SHA256 Credential=${cred},AdditionalHeaders=zzz;range,Signature=${sig}`),
      /AdditionalHeaders "zzz;range" must be sorted, distinct, lower-case header names/,
    ],
    [
      "AdditionalHeaders naming an absent header",
      withAuth(`OSS4-HMAC-SHA256 Credential=${cred},AdditionalHeaders=if-match;range,Signature=${sig}`),
      /additional header "if-match" is listed as signed but the request does not carry it/,
    ],
    [
      "ISO 8601 extended x-oss-date",
      withHeader(oss, "x-oss-date", "2024-05-20T08:30:00Z"),
      /x-oss-date header "2024-05-20T08:30:00Z" is not a time of the form yyyymmddTHHMMSSZ/,
    ],
    [
      "impossible x-oss-date",
      withHeader(oss, "x-oss-date", "20240532T083000Z"),
      /x-oss-date header "20240532T083000Z" is not a time/,
    ],
    ["missing x-oss-date", withHeader(oss, "x-oss-date", null), /^missing x-oss-date header$/],
    [
      "negative x-oss-expires",
      { ...presigned, url: withParam(presigned.url, "x-oss-expires", "-5") },
      /x-oss-expires "-5" must be a whole number of seconds from 1 to 604800/,
    ],
    [
      "zero x-oss-expires",
      { ...presigned, url: withParam(presigned.url, "x-oss-expires", "0") },
      /x-oss-expires "0" must be/,
    ],
    [
      "too large x-oss-expires",
      { ...presigned, url: withParam(presigned.url, "x-oss-expires", "604801") },
      /x-oss-expires "604801" must be/,
    ],
    [
      "non-numeric x-oss-expires",
      { ...presigned, url: withParam(presigned.url, "x-oss-expires", "1e3") },
      /x-oss-expires "1e3" must be/,
    ],
    [
      "missing x-oss-signature",
      { ...presigned, url: withParam(presigned.url, "x-oss-signature", null) },
      /^presigned URL: missing query parameter x-oss-signature$/,
    ],
    [
      "missing x-oss-credential",
      { ...presigned, url: withParam(presigned.url, "x-oss-credential", null) },
      /missing query parameter x-oss-credential/,
    ],
    ["bad x-oss-signature-version", {
      ...presigned,
      url: withParam(presigned.url, "x-oss-signature-version", "OSS2"),
    }, /x-oss-signature-version "OSS2" should be "OSS4-HMAC-SHA256"/],
    [
      "bad presign date",
      { ...presigned, url: withParam(presigned.url, "x-oss-date", "yesterday") },
      /x-oss-date query parameter "yesterday" is not a time/,
    ],
    [
      "two auth methods",
      { ...presigned, headers: new Headers({ authorization: auth }) },
      /only one authentication method is allowed, the request has an Authorization header and x-oss-signature/,
    ],
    [
      "OSS V1 presigned URL",
      request({ url: new URL("http://h/b/k?OSSAccessKeyId=ak&Expires=1700000000&Signature=abc") }),
      /OSS signature version 1 \(OSSAccessKeyId, Signature\) is not supported/,
    ],
    [
      "SigV4 without SignedHeaders",
      withHeader(s3, "authorization", s3auth.replace(/SignedHeaders=[^,]*, /, "")),
      /AWS4-HMAC-SHA256 needs SignedHeaders=/,
    ],
    [
      "SigV4 SignedHeaders without host",
      withHeader(s3, "authorization", s3auth.replace("host;", "")),
      /SignedHeaders ".*" must include host/,
    ],
    [
      "SigV4 SignedHeaders naming an absent header",
      withHeader(s3, "authorization", s3auth.replace("host;", "host;if-match;")),
      /SignedHeaders lists "if-match" but the request does not carry that header/,
    ],
    ["SigV4 without x-amz-date", withHeader(s3, "x-amz-date", null), /^missing x-amz-date header$/],
    [
      "SigV4 without x-amz-content-sha256",
      withHeader(s3, "x-amz-content-sha256", null),
      /missing x-amz-content-sha256 header/,
    ],
    [
      "SigV4 with an OSS scope",
      withHeader(s3, "authorization", s3auth.replace("/s3/aws4_request", "/oss/aws4_request")),
      /service "oss" should be "s3"/,
    ],
    [
      "SigV4 with another region",
      withHeader(s3, "authorization", s3auth.replace("oss-cn-hangzhou", "us-east-1")),
      /region "us-east-1" does not match the server's region "cn-hangzhou"/,
    ],
    [
      "too large X-Amz-Expires",
      request({ method: "GET", url: withParam(s3url, "X-Amz-Expires", "604801") }),
      /X-Amz-Expires "604801" must be a whole number of seconds from 1 to 604800/,
    ],
    [
      "bad X-Amz-Algorithm",
      request({ method: "GET", url: withParam(s3url, "X-Amz-Algorithm", "AWS4-HMAC-SHA1") }),
      /X-Amz-Algorithm "AWS4-HMAC-SHA1" should be "AWS4-HMAC-SHA256"/,
    ],
    [
      "missing X-Amz-SignedHeaders",
      request({ method: "GET", url: withParam(s3url, "X-Amz-SignedHeaders", null) }),
      /missing query parameter X-Amz-SignedHeaders/,
    ],
  ];
  for (const [what, req, message] of cases) {
    const err = await rejection(verifyRequest(req, opts));
    expect({ what, code: err.code, status: err.status }).toEqual({
      what,
      code: "InvalidArgument",
      status: 400,
    });
    if (!message.test(err.message)) {
      throw new Error(`${what}: message ${JSON.stringify(err.message)} does not match ${message}`);
    }
  }
  expect(cases.length).toBeGreaterThanOrEqual(10);
});

// ------------------------------------------------- interop -------------------------------------------------

const aliOptions = {
  region: "oss-cn-hangzhou",
  accessKeyId: credentials.accessKeyId,
  accessKeySecret: SECRET,
  stsToken: "sts-token/+=",
  bucket: "bucket",
  authorizationV4: true,
  // Given only to keep ali-oss from printing advice about refreshing STS tokens.
  refreshSTSToken: () =>
    Promise.resolve({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: SECRET,
      stsToken: "sts-token/+=",
    }),
  refreshSTSTokenInterval: 3600_000,
};

Deno.test("verifyRequest accepts requests built by ali-oss's own request path with authorizationV4: true", async () => {
  const client = new OSS(aliOptions);
  const cases = [
    { method: "GET", bucket: "bucket", object: "dir/中 文+!(1).txt", subres: { versionId: "v1" } },
    {
      method: "PUT",
      bucket: "bucket",
      object: "a b.bin",
      mime: "application/octet-stream",
      headers: { "x-oss-meta-x": "1" },
    },
    { method: "GET", bucket: "bucket", query: { prefix: "dir/", "max-keys": 100, "list-type": 2 } },
    { method: "POST", bucket: "bucket", object: "big.bin", subres: "uploads" },
    {
      method: "PUT",
      bucket: "bucket",
      object: "big.bin",
      subres: { partNumber: 2, uploadId: "0004B9894A22E5B1888A1E29F823****" },
    },
  ];
  for (const params of cases) {
    const { url, params: sent } = createRequest.call(client, params);
    const headers = new Headers();
    for (const [name, value] of Object.entries(sent.headers as Record<string, unknown>)) {
      if (value !== undefined && value !== null) headers.set(name, String(value));
    }
    const now = new Date();
    const who = await verifyRequest(
      { method: params.method, url: new URL(url), headers, bucket: params.bucket, key: params.object },
      { ...opts, now },
    );
    expect(who).toEqual({ accessKeyId: "LTAIexample", scheme: "oss4" });
  }
});

Deno.test("verifyRequest accepts URLs presigned by ali-oss signatureUrlV4", async () => {
  const client = new OSS(aliOptions);
  const key = "dir/中 文+!(1).txt";
  const url = await client.signatureUrlV4("GET", 600, { headers: {}, queries: { versionId: "v1" } }, key);
  const who = await verifyRequest(
    { method: "GET", url: new URL(url), headers: new Headers(), bucket: "bucket", key },
    { ...opts, now: new Date() },
  );
  expect(who).toEqual({ accessKeyId: "LTAIexample", scheme: "oss4-presign" });
  const put = await client.signatureUrlV4(
    "PUT",
    600,
    { headers: { "content-type": "text/plain", "x-custom": "c" } },
    key,
    ["x-custom"],
  );
  const headers = new Headers({ "content-type": "text/plain", "x-custom": "c" });
  const whoPut = await verifyRequest(
    { method: "PUT", url: new URL(put), headers, bucket: "bucket", key },
    { ...opts, now: new Date() },
  );
  expect(whoPut.scheme).toBe("oss4-presign");
});

/** A tiny HTTP server that routes path style (or by an `*.aliyuncs.com` Host) and reports verifyRequest's verdict. */
function verifyingServer() {
  const seen: { scheme: string; payload: string | null }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    await request.body?.cancel();
    const host = request.headers.get("host") ?? "";
    const segments = url.pathname.slice(1).split("/");
    const virtual = host.endsWith(".aliyuncs.com");
    const bucket = virtual ? host.split(".")[0] : decodeURIComponent(segments.shift() ?? "");
    const key = (virtual ? segments : segments).map(decodeURIComponent).join("/");
    try {
      const who = await verifyRequest(
        {
          method: request.method,
          url,
          headers: request.headers,
          bucket: bucket || undefined,
          key: key || undefined,
        },
        { lookupSecret: opts.lookupSecret, region: "cn-hangzhou" },
      );
      seen.push({
        scheme: who.scheme,
        payload: request.headers.get("x-amz-content-sha256") ?? request.headers.get("x-oss-content-sha256"),
      });
      return new Response(request.method === "GET" ? "hello" : null, {
        headers: { etag: '"5d41402abc4b2a76b9719d911017c592"' },
      });
    } catch (err) {
      const e = err as SignatureVerificationError;
      return new Response(`<Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`, {
        status: e.status ?? 500,
        headers: { "content-type": "application/xml" },
      });
    }
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return { origin, seen, close: () => server.shutdown() };
}

Deno.test("requests signed by signOss4, presignOss4, signS3v4 and presignS3v4 pass verifyRequest over real HTTP", async () => {
  const server = verifyingServer();
  try {
    const key = "dir/中 文+!(1).txt";
    const url = new URL(
      `${server.origin}/bucket/${key.split("/").map(encodeURIComponent).join("/")}`.replace("!", "%21")
        .replace("(", "%28").replace(")", "%29"),
    );
    const oss = {
      method: "PUT",
      url,
      headers: new Headers({ "content-type": "text/plain" }),
      bucket: "bucket",
      key,
    };
    await signOss4(oss, { credentials: withToken, region: "cn-hangzhou" });
    expect((await fetch(oss.url, { method: "PUT", headers: oss.headers, body: "hello" })).status).toBe(200);
    const presigned = await presignOss4({ method: "GET", url, bucket: "bucket", key }, {
      credentials: withToken,
      region: "cn-hangzhou",
      expires: 60,
    });
    expect(await (await fetch(presigned)).text()).toBe("hello");
    const hostBound = await presignOss4({ method: "GET", url, bucket: "bucket", key }, {
      credentials,
      region: "cn-hangzhou",
      expires: 60,
      additionalHeaders: ["host"],
    });
    expect(await (await fetch(hostBound)).text()).toBe("hello");
    const s3 = { method: "PUT", url, headers: new Headers({ "content-type": "text/plain" }) };
    await signS3v4(s3, { credentials: withToken, region: "cn-hangzhou" });
    expect((await fetch(s3.url, { method: "PUT", headers: s3.headers, body: "hello" })).status).toBe(200);
    const s3presigned = await presignS3v4({ method: "GET", url }, {
      credentials,
      region: "cn-hangzhou",
      expires: 60,
    });
    expect(await (await fetch(s3presigned)).text()).toBe("hello");
    expect(server.seen.map((s) => s.scheme)).toEqual([
      "oss4",
      "oss4-presign",
      "oss4-presign",
      "s3v4",
      "s3v4-presign",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("aws-sdk v3 S3Client requests (signed payload hashes and checksums) pass verifyRequest over real HTTP", async () => {
  const server = verifyingServer();
  const client = new S3Client({
    endpoint: server.origin,
    region: "cn-hangzhou",
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: SECRET, sessionToken: "tok" },
    maxAttempts: 1,
  });
  try {
    await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "dir/中 文+!(1).txt", Body: "hello" }));
    // A stream body makes the SDK send aws-chunked with STREAMING-UNSIGNED-PAYLOAD-TRAILER.
    await client.send(
      new PutObjectCommand({
        Bucket: "bucket",
        Key: "stream.bin",
        Body: Readable.from([Buffer.from("streamed")]),
        ContentLength: 8,
      }),
    );
    const got = await client.send(
      new GetObjectCommand({ Bucket: "bucket", Key: "a b.txt", Range: "bytes=0-4" }),
    );
    expect(await got.Body!.transformToString()).toBe("hello");
    expect(server.seen.map((s) => s.scheme)).toEqual(["s3v4", "s3v4", "s3v4"]);
    // The payload hash modes the SDK chose are passed through: a hex SHA-256 of the body, the aws-chunked
    // trailer mode for the stream, the empty-body hash for the GET.
    expect(server.seen.map((s) => s.payload)).toEqual([
      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
      "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]);
  } finally {
    client.destroy();
    await server.close();
  }
});

Deno.test("an ali-oss client with authorizationV4: true passes verifyRequest over real HTTP", async () => {
  const server = verifyingServer();
  const client = new OSS({ ...aliOptions, endpoint: server.origin, secure: false, timeout: 5000 });
  try {
    await client.put("dir/中 文+!(1).txt", Buffer.from("hello"));
    const got = await client.get("dir/中 文+!(1).txt");
    expect(new TextDecoder().decode(got.content)).toBe("hello");
    expect(server.seen.map((s) => s.scheme)).toEqual(["oss4", "oss4"]);
  } finally {
    await server.close();
  }
});
