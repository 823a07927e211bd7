import { expect } from "expect";
import { ConfigError } from "../src/errors.ts";
import {
  bucketNameProblem,
  formatUri,
  objectKeyProblem,
  type ObjectUri,
  parsePrefixUri,
  parseUri,
} from "../src/uri.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

Deno.test("parseUri splits oss://bucket/key", () => {
  expect(parseUri("oss://my-bucket/train/0001.jpg")).toEqual({
    scheme: "oss",
    bucket: "my-bucket",
    key: "train/0001.jpg",
  });
});

Deno.test("parseUri reads the endpoint host of the manifest form oss://bucket.endpoint/key", () => {
  expect(parseUri("oss://my-bucket.oss-cn-hangzhou.aliyuncs.com/a/b.jpg")).toEqual({
    scheme: "oss",
    bucket: "my-bucket",
    key: "a/b.jpg",
    endpoint: "oss-cn-hangzhou.aliyuncs.com",
  });
  expect(parseUri("oss://b01.OSS-CN-Beijing-Internal.aliyuncs.com/k").endpoint).toBe(
    "oss-cn-beijing-internal.aliyuncs.com",
  );
  expect(parseUri("oss://bkt.127.0.0.1:9000/k")).toEqual({
    scheme: "oss",
    bucket: "bkt",
    key: "k",
    endpoint: "127.0.0.1:9000",
  });
});

Deno.test("parseUri keeps dots in s3:// bucket names instead of reading an endpoint", () => {
  expect(parseUri("s3://logs.example.com/2024/01/a.gz")).toEqual({
    scheme: "s3",
    bucket: "logs.example.com",
    key: "2024/01/a.gz",
  });
});

Deno.test("parseUri takes keys literally: spaces, unicode, %, ?, # and repeated slashes", () => {
  const cases: [string, string][] = [
    ["oss://bkt/a b/c d.txt", "a b/c d.txt"],
    ["oss://bkt/数据集/图片 1.png", "数据集/图片 1.png"],
    ["oss://bkt/a%20b", "a%20b"],
    ["oss://bkt/100%", "100%"],
    ["oss://bkt/q?x=1&y=2", "q?x=1&y=2"],
    ["oss://bkt/frag#1", "frag#1"],
    ["oss://bkt/a//b/", "a//b/"],
    ["oss://bkt/emoji 🎉.bin", "emoji 🎉.bin"],
    ["oss://bkt/ trailing space ", " trailing space "],
    ["oss://bkt/a/../b", "a/../b"],
  ];
  for (const [uri, key] of cases) expect(parseUri(uri).key).toBe(key);
});

Deno.test("parseUri matches the scheme case-insensitively and reports it in lower case", () => {
  expect(parseUri("OSS://bkt/k").scheme).toBe("oss");
  expect(parseUri("S3://bkt/k").scheme).toBe("s3");
});

Deno.test("prefix URIs accept an empty key with and without the trailing slash", () => {
  expect(parsePrefixUri("oss://bkt")).toEqual({ scheme: "oss", bucket: "bkt", key: "" });
  expect(parsePrefixUri("oss://bkt/")).toEqual({ scheme: "oss", bucket: "bkt", key: "" });
  expect(parseUri("oss://bkt/", { allowEmptyKey: true }).key).toBe("");
  expect(parsePrefixUri("oss://bkt/images/").key).toBe("images/");
});

Deno.test("object keys may be 1023 UTF-8 bytes for OSS and 1024 for S3, counted in bytes", () => {
  expect(parseUri("oss://bkt/" + "a".repeat(1023)).key.length).toBe(1023);
  expect(parseUri("oss://bkt/" + "中".repeat(341)).key.length).toBe(341); // 1023 bytes
  expect(parseUri("s3://bkt/" + "a".repeat(1024)).key.length).toBe(1024);
  expect(thrown(() => parseUri("oss://bkt/" + "中".repeat(342))).message).toContain("got 1026");
});

Deno.test("formatUri writes keys literally and is the inverse of parseUri", () => {
  const uris: ObjectUri[] = [
    { scheme: "oss", bucket: "bkt", key: "a b/c%20d?e#f" },
    { scheme: "oss", bucket: "bkt", key: "数据/🎉" },
    { scheme: "oss", bucket: "my-bucket", key: "k", endpoint: "oss-cn-hangzhou.aliyuncs.com" },
    { scheme: "oss", bucket: "bkt", key: "x", endpoint: "127.0.0.1:9000" },
    { scheme: "s3", bucket: "a.b.c", key: "/leading-slash-is-fine-on-s3" },
    { scheme: "oss", bucket: "bkt", key: "a//b/" },
  ];
  for (const u of uris) {
    const s = formatUri(u);
    expect(parseUri(s)).toEqual(u);
    expect(formatUri(parseUri(s))).toBe(s);
  }
  expect(formatUri({ scheme: "oss", bucket: "bkt", key: "" })).toBe("oss://bkt/");
  expect(parsePrefixUri(formatUri({ scheme: "oss", bucket: "bkt", key: "" }))).toEqual({
    scheme: "oss",
    bucket: "bkt",
    key: "",
  });
});

Deno.test("parseUri rejects bad URIs with a ConfigError naming the URI and what was expected", async (t) => {
  const lone = "oss://bkt/bad\ud800key";
  const cases: [name: string, uri: string, expected: string][] = [
    ["empty string", "", "expected"],
    ["no scheme", "bucket/key", 'expected "oss://bucket/key"'],
    ["http scheme", "http://bucket/key", "expected the scheme oss:// or s3://, got http://"],
    ["gs scheme", "gs://bucket/key", "got gs://"],
    ["single slash after scheme", "oss:/bucket/key", 'followed by "//"'],
    ["no bucket", "oss://", "expected a bucket name"],
    ["empty bucket with key", "oss:///key", "expected a bucket name"],
    ["bucket too short", "oss://ab/key", "3-63"],
    ["bucket too long", `oss://${"a".repeat(64)}/key`, "3-63"],
    ["uppercase bucket", "oss://MyBucket/key", "lowercase"],
    ["underscore in bucket", "oss://my_bucket/key", "lowercase letters, digits and hyphens"],
    ["bucket starts with a hyphen", "oss://-bucket/key", "starting and ending with a letter or digit"],
    ["bucket ends with a hyphen", "oss://bucket-/key", "starting and ending with a letter or digit"],
    ["port without endpoint", "oss://bucket:9000/key", 'bucket "bucket:9000"'],
    ["missing key", "oss://bucket", "expected an object key after the bucket"],
    ["empty key after slash", "oss://bucket/", "expected an object key after the bucket"],
    ["key with a leading slash", "oss://bucket//abs", 'no leading "/"'],
    ["key with a leading backslash", "oss://bucket/\\win", 'no leading "/" or "\\"'],
    ["key over 1023 bytes", `oss://bucket/${"k".repeat(1024)}`, "at most 1023 UTF-8 bytes, got 1024"],
    ["s3 key over 1024 bytes", `s3://bucket/${"k".repeat(1025)}`, "at most 1024 UTF-8 bytes"],
    ["unpaired surrogate", lone, "well-formed Unicode"],
    ["endpoint with a bad port", "oss://bkt.oss-cn-hangzhou.aliyuncs.com:99999/k", "expected a host name"],
    ["endpoint with an underscore", "oss://bkt.bad_host.com/k", 'endpoint "bad_host.com"'],
    ["endpoint with an empty label", "oss://bkt..com/k", "expected a host name"],
    ["s3 bucket with adjacent dots", "s3://a..b/k", "no two adjacent dots"],
    ["s3 bucket shaped like an IP", "s3://192.168.1.1/k", "not an IP address"],
    ["s3 bucket with uppercase", "s3://Logs/k", "lowercase"],
  ];
  for (const [name, uri, expected] of cases) {
    await t.step(`${name}: ${JSON.stringify(uri.slice(0, 40))}`, () => {
      const err = thrown(() => parseUri(uri));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(expected);
      expect(err.message).toContain(JSON.stringify(uri.length > 160 ? uri.slice(0, 160) + "…" : uri));
    });
  }
});

Deno.test("parseUri rejects a non-string with a ConfigError", () => {
  const err = thrown(() => parseUri(42 as unknown as string));
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain("got number");
});

Deno.test("formatUri rejects what parseUri would reject, naming bucket and key", async (t) => {
  const cases: [string, ObjectUri, string][] = [
    ["bad bucket", { scheme: "oss", bucket: "Bad_Bucket", key: "k" }, 'bucket "Bad_Bucket"'],
    [
      "endpoint on s3",
      { scheme: "s3", bucket: "bkt", key: "k", endpoint: "s3.amazonaws.com" },
      "only oss://",
    ],
    ["endpoint with scheme", {
      scheme: "oss",
      bucket: "bkt",
      key: "k",
      endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
    }, "no scheme"],
    ["leading slash", { scheme: "oss", bucket: "bkt", key: "/k" }, 'key "/k"'],
    ["bad scheme", { scheme: "gs" as "oss", bucket: "bkt", key: "k" }, 'expected "oss" or "s3", got "gs"'],
  ];
  for (const [name, u, expected] of cases) {
    await t.step(name, () => {
      const err = thrown(() => formatUri(u));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(expected);
      expect(err.message).toContain('bucket "');
    });
  }
});

Deno.test("bucketNameProblem and objectKeyProblem explain the naming rules", () => {
  expect(bucketNameProblem("abc")).toBeUndefined();
  expect(bucketNameProblem("a.b")).toContain("no dots");
  expect(bucketNameProblem("a.b.c", "s3")).toBeUndefined();
  expect(objectKeyProblem("k")).toBeUndefined();
  expect(objectKeyProblem("", "oss", { allowEmpty: true })).toBeUndefined();
  expect(objectKeyProblem("")).toContain("non-empty");
});
