import { expect } from "expect";
import { ConfigError } from "../src/errors.ts";
import { presignS3v4, signS3v4 } from "../src/signer/s3v4.ts";
import { Sha256Checksum } from "../src/signer/sha256_checksum.ts";
import { verifyRequest } from "../src/signer/verify.ts";

// The documented examples of "Authenticating Requests: Using the Authorization Header (AWS Signature
// Version 4)" (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, sections
// "Example: GET Object", "Example: GET Bucket Lifecycle", "Example: Get Bucket (List Objects)") and of
// "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html): bucket examplebucket,
// us-east-1, 20130524T000000Z, AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.
const AWS_CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  accessKeySecret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const AWS_DATE = new Date("2013-05-24T00:00:00Z");
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const lookupAws = (
  id: string,
) => (id === AWS_CREDENTIALS.accessKeyId ? AWS_CREDENTIALS.accessKeySecret : undefined);

const awsHeaderExamples: { name: string; path: string; headers: Record<string, string>; want: string }[] = [
  {
    name: "GET Object",
    path: "/test.txt",
    headers: { range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256 },
    want:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  },
  {
    name: "GET Bucket Lifecycle",
    path: "/?lifecycle",
    headers: { "x-amz-content-sha256": EMPTY_SHA256 },
    want:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
  },
  {
    name: "Get Bucket (List Objects)",
    path: "/?max-keys=2&prefix=J",
    headers: { "x-amz-content-sha256": EMPTY_SHA256 },
    want:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
  },
];

for (const example of awsHeaderExamples) {
  Deno.test(`signS3v4 reproduces the AWS documented example "${example.name}" and verifyRequest accepts it`, async () => {
    const req = {
      method: "GET",
      url: new URL(`https://examplebucket.s3.amazonaws.com${example.path}`),
      headers: new Headers(example.headers),
    };
    await signS3v4(req, { credentials: AWS_CREDENTIALS, region: "us-east-1", date: AWS_DATE });
    expect(req.headers.get("authorization")).toBe(example.want);
    expect(req.headers.get("x-amz-date")).toBe("20130524T000000Z");
    expect(await verifyRequest(req, { lookupSecret: lookupAws, now: AWS_DATE })).toEqual({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      scheme: "s3v4",
    });
  });
}

Deno.test("presignS3v4 reproduces the AWS documented presigned GET example and verifyRequest accepts it", async () => {
  const url = await presignS3v4(
    { method: "GET", url: new URL("https://examplebucket.s3.amazonaws.com/test.txt") },
    { credentials: AWS_CREDENTIALS, region: "us-east-1", date: AWS_DATE, expires: 86400 },
  );
  expect(url.href).toBe(
    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z" +
      "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
  );
  const req = { method: "GET", url, headers: new Headers() };
  const now = new Date(AWS_DATE.getTime() + 86_000_000);
  expect(await verifyRequest(req, { lookupSecret: lookupAws, now })).toEqual({
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    scheme: "s3v4-presign",
  });
});

Deno.test("Sha256Checksum computes SHA-256 and, with a key, HMAC-SHA256 (RFC 4231 case 2) over several chunks", async () => {
  const enc = new TextEncoder();
  const hash = new Sha256Checksum();
  hash.update(enc.encode("a"));
  hash.update(enc.encode("bc"));
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  expect(hex(await hash.digest())).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  hash.reset();
  expect(hex(await hash.digest())).toBe(EMPTY_SHA256);
  const mac = new Sha256Checksum("Jefe");
  mac.update(enc.encode("what do ya want "));
  mac.update(enc.encode("for nothing?"));
  expect(hex(await mac.digest())).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const keyed = new Sha256Checksum(enc.encode("Jefe"));
  keyed.update(enc.encode("what do ya want for nothing?"));
  expect(hex(await keyed.digest())).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

Deno.test("Sha256Checksum's HMACs agree with WebCrypto's for repeated short and long messages, and a caller's writes into one do not reach the next", async () => {
  const enc = new TextEncoder();
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const keys = ["Jefe", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "k\u00e9y"];
  // Messages around the memoized length (128 bytes), each asked for several times, under each key.
  const messages = Array.from(
    { length: 12 },
    (_, i) => "m".repeat([0, 1, 16, 20, 127, 128, 129, 300][i % 8]) + i,
  );
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 1000;
  for (let round = 0; round < 300; round++) {
    const key = keys[next() % keys.length], message = messages[next() % messages.length];
    const mac = new Sha256Checksum(key);
    mac.update(enc.encode(message));
    const got = await mac.digest();
    const webKey = await crypto.subtle.importKey(
      "raw",
      enc.encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      [
        "sign",
      ],
    );
    const want = new Uint8Array(await crypto.subtle.sign("HMAC", webKey, enc.encode(message)));
    expect([key, message, hex(got)]).toEqual([key, message, hex(want)]);
    got.fill(0); // a caller that reuses the buffer it was given
  }
});

Deno.test("signS3v4 with a session token signs X-Amz-Security-Token and verifyRequest accepts the request", async () => {
  const credentials = { accessKeyId: "AK1", accessKeySecret: "SK1", securityToken: "token/with+chars=" };
  const req = {
    method: "PUT",
    url: new URL("http://127.0.0.1:9000/bucket/dir/a%20b%2Bc%E4%B8%AD.txt?partNumber=1&uploadId=abc"),
    headers: new Headers({ "content-type": "text/plain", "content-length": "5", "user-agent": "test/1" }),
  };
  const date = new Date(Date.UTC(2024, 5, 1, 12));
  await signS3v4(req, { credentials, region: "us-east-1", date });
  expect(req.headers.get("x-amz-security-token")).toBe("token/with+chars=");
  expect(req.headers.get("x-amz-content-sha256")).toBe("UNSIGNED-PAYLOAD");
  const auth = req.headers.get("authorization")!;
  expect(auth).toContain(
    "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,",
  );
  const who = await verifyRequest(req, {
    lookupSecret: (id) => (id === "AK1" ? "SK1" : undefined),
    now: date,
  });
  expect(who).toEqual({ accessKeyId: "AK1", scheme: "s3v4" });
  // Signing again without a token removes the stale one.
  await signS3v4(req, {
    credentials: { accessKeyId: "AK1", accessKeySecret: "SK1" },
    region: "us-east-1",
    date,
  });
  expect(req.headers.get("x-amz-security-token")).toBeNull();
  expect(await verifyRequest(req, { lookupSecret: () => "SK1", now: date })).toEqual({
    accessKeyId: "AK1",
    scheme: "s3v4",
  });
});

Deno.test("presignS3v4 keeps the existing query, signs given headers, and presigning twice gives the same URL", async () => {
  const opts = {
    credentials: { accessKeyId: "AK1", accessKeySecret: "SK1", securityToken: "tok" },
    region: "oss-cn-hangzhou",
    date: new Date(Date.UTC(2024, 0, 1)),
    expires: 600,
  };
  const base = new URL("http://127.0.0.1:9000/b/k%21?response-content-type=text%2Fplain&versionId");
  const headers = new Headers({ "content-type": "image/png" });
  const once = await presignS3v4({ method: "PUT", url: base, headers }, opts);
  expect(once.searchParams.get("response-content-type")).toBe("text/plain");
  expect(once.searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
  expect(once.searchParams.get("X-Amz-Security-Token")).toBe("tok");
  const twice = await presignS3v4({ method: "PUT", url: once, headers }, opts);
  expect(twice.href).toBe(once.href);
  const who = await verifyRequest({ method: "PUT", url: once, headers }, {
    lookupSecret: () => "SK1",
    now: opts.date,
    region: "cn-hangzhou",
  });
  expect(who).toEqual({ accessKeyId: "AK1", scheme: "s3v4-presign" });
});

Deno.test("S3v4 signers reject bad options with a ConfigError naming the option", async () => {
  const url = new URL("http://127.0.0.1/b/k");
  const credentials = { accessKeyId: "ak", accessKeySecret: "SECRET-XYZ" };
  const cases: [() => Promise<unknown>, RegExp][] = [
    [
      () => presignS3v4({ method: "GET", url }, { credentials, region: "us-east-1", expires: 604801 }),
      /^expires: .*604801$/,
    ],
    [
      () => presignS3v4({ method: "GET", url }, { credentials, region: "us-east-1", expires: -1 }),
      /^expires: .*-1$/,
    ],
    [
      () => signS3v4({ method: "GET", url, headers: new Headers() }, { credentials, region: "" }),
      /^region: /,
    ],
    [
      () =>
        signS3v4({ method: "GET", url, headers: new Headers() }, {
          credentials,
          region: "r",
          date: new Date("x"),
        }),
      /^date: /,
    ],
  ];
  for (const [run, message] of cases) {
    const err = await run().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain("SECRET-XYZ");
  }
});
