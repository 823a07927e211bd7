import { expect } from "expect";
import { ConfigError } from "../src/errors.ts";
import { mulberry32 } from "../src/server/faults.ts";
import {
  encodeKey,
  encodeRfc3986,
  type Endpoint,
  objectUrl,
  parseEndpoint,
  regionFromEndpoint,
} from "../src/endpoint.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

Deno.test("parseEndpoint defaults to https and virtual-hosted style for OSS hosts", () => {
  expect(parseEndpoint("oss-cn-hangzhou.aliyuncs.com")).toEqual({
    origin: "https://oss-cn-hangzhou.aliyuncs.com",
    host: "oss-cn-hangzhou.aliyuncs.com",
    region: "cn-hangzhou",
    pathStyle: false,
  });
});

Deno.test("parseEndpoint keeps an explicit scheme and normalises case, trailing slash and spaces", () => {
  expect(parseEndpoint(" HTTP://OSS-CN-Beijing-Internal.aliyuncs.com/ \n")).toEqual({
    origin: "http://oss-cn-beijing-internal.aliyuncs.com",
    host: "oss-cn-beijing-internal.aliyuncs.com",
    region: "cn-beijing",
    pathStyle: false,
  });
  expect(parseEndpoint("https://oss-cn-hangzhou.aliyuncs.com:443").origin).toBe(
    "https://oss-cn-hangzhou.aliyuncs.com",
  );
});

Deno.test("parseEndpoint uses http and path style for IP addresses and localhost", () => {
  expect(parseEndpoint("127.0.0.1:9000")).toEqual({
    origin: "http://127.0.0.1:9000",
    host: "127.0.0.1:9000",
    pathStyle: true,
  });
  expect(parseEndpoint("localhost:9000")).toEqual({
    origin: "http://localhost:9000",
    host: "localhost:9000",
    pathStyle: true,
  });
  expect(parseEndpoint("[::1]:9000")).toEqual({
    origin: "http://[::1]:9000",
    host: "[::1]:9000",
    pathStyle: true,
  });
  expect(parseEndpoint("10.0.0.5").origin).toBe("http://10.0.0.5");
  expect(parseEndpoint("https://127.0.0.1:8443").origin).toBe("https://127.0.0.1:8443");
});

Deno.test("parseEndpoint uses path style for single-label hosts like a MinIO container", () => {
  expect(parseEndpoint("http://minio:9000")).toEqual({
    origin: "http://minio:9000",
    host: "minio:9000",
    pathStyle: true,
  });
});

Deno.test("parseEndpoint pathStyle option overrides the default both ways", () => {
  expect(parseEndpoint("oss-cn-hangzhou.aliyuncs.com", { pathStyle: true }).pathStyle).toBe(true);
  expect(parseEndpoint("127.0.0.1:9000", { pathStyle: false }).pathStyle).toBe(false);
  const ep: Endpoint = parseEndpoint("s3.us-west-2.amazonaws.com");
  expect(parseEndpoint(ep)).toBe(ep);
  expect(parseEndpoint(ep, { pathStyle: true })).toEqual({ ...ep, pathStyle: true });
});

Deno.test("regionFromEndpoint reads OSS and S3 endpoint forms", () => {
  const cases: [string, string | undefined][] = [
    ["oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"],
    ["oss-cn-hangzhou-internal.aliyuncs.com", "cn-hangzhou"],
    ["oss-ap-southeast-1.aliyuncs.com", "ap-southeast-1"],
    ["oss-cn-hangzhou-finance-1-internal.aliyuncs.com", "cn-hangzhou-finance-1"],
    ["cn-shanghai.oss.aliyuncs.com", "cn-shanghai"],
    ["my-bucket.cn-shanghai.oss.aliyuncs.com", "cn-shanghai"],
    ["my-bucket.oss-eu-central-1.aliyuncs.com", "eu-central-1"],
    ["s3.oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"],
    ["oss-accelerate.aliyuncs.com", undefined],
    ["oss-accelerate-overseas.aliyuncs.com", undefined],
    ["s3.amazonaws.com", "us-east-1"],
    ["s3.eu-west-1.amazonaws.com", "eu-west-1"],
    ["s3-us-west-2.amazonaws.com", "us-west-2"],
    ["s3.dualstack.ap-northeast-1.amazonaws.com", "ap-northeast-1"],
    ["bucket.s3.us-gov-west-1.amazonaws.com", "us-gov-west-1"],
    ["s3.cn-north-1.amazonaws.com.cn", "cn-north-1"],
    ["OSS-CN-BEIJING.ALIYUNCS.COM:443", "cn-beijing"],
    ["https://oss-cn-qingdao.aliyuncs.com/", "cn-qingdao"],
    ["127.0.0.1:9000", undefined],
    ["minio.example.com", undefined],
    ["aliyuncs.com", undefined],
  ];
  for (const [host, region] of cases) expect([host, regionFromEndpoint(host)]).toEqual([host, region]);
});

Deno.test("parseEndpoint rejects bad endpoints with a ConfigError naming the endpoint", async (t) => {
  const cases: [name: string, input: string, expected: string][] = [
    ["empty", "", "expected a host"],
    ["blank", "   ", "expected a host"],
    ["ftp scheme", "ftp://oss-cn-hangzhou.aliyuncs.com", "expected http:// or https://, got ftp://"],
    ["with a path", "https://oss-cn-hangzhou.aliyuncs.com/bucket", 'expected no path, got "/bucket"'],
    ["path without scheme", "oss-cn-hangzhou.aliyuncs.com/my-bucket/", "expected no path"],
    ["with a query", "https://oss-cn-hangzhou.aliyuncs.com?x=1", "expected no query string"],
    ["with an empty query", "https://oss-cn-hangzhou.aliyuncs.com/?", "expected no query string"],
    ["with a fragment", "https://oss-cn-hangzhou.aliyuncs.com#top", "expected no fragment"],
    ["port too large", "127.0.0.1:99999", "port 99999: expected 1-65535"],
    ["port zero", "127.0.0.1:0", "port 0: expected 1-65535"],
    ["port not a number", "localhost:http", "not a valid URL"],
    ["scheme only", "https://", "not a valid URL"],
    ["broken IPv6", "http://[::1:9000", "not a valid URL"],
    ["space inside the host", "oss cn.aliyuncs.com", "not a valid URL"],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(`${name}: ${JSON.stringify(input)}`, () => {
      const err = thrown(() => parseEndpoint(input));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(expected);
      expect(err.message).toContain(`invalid endpoint ${JSON.stringify(input.trim())}`);
    });
  }
});

Deno.test("parseEndpoint rejects credentials in the endpoint without repeating the password", () => {
  for (
    const input of [
      "https://LTAIid:hunter2secret@oss-cn-hangzhou.aliyuncs.com",
      "LTAIid:hunter2secret@127.0.0.1:9000",
    ]
  ) {
    const err = thrown(() => parseEndpoint(input));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("expected no user name or password");
    expect(err.message).toContain("***@");
    expect(err.message).not.toContain("hunter2secret");
  }
});

Deno.test("parseEndpoint rejects a non-string with a ConfigError", () => {
  const err = thrown(() => parseEndpoint(undefined as unknown as string));
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain("got undefined");
});

Deno.test("encodeRfc3986 leaves only unreserved characters unencoded", () => {
  expect(encodeRfc3986("AZaz09-._~")).toBe("AZaz09-._~");
  expect(encodeRfc3986(" !'()*+,/:;=?@#[]$&%")).toBe(
    "%20%21%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%23%5B%5D%24%26%25",
  );
  expect(encodeRfc3986("中")).toBe("%E4%B8%AD");
});

Deno.test("encodeKey keeps '/' but encodes it when a dot segment would be collapsed", () => {
  expect(encodeKey("a b/c+d.jpg")).toBe("a%20b/c%2Bd.jpg");
  expect(encodeKey("dir/")).toBe("dir/");
  expect(encodeKey("a/./b")).toBe("a%2F.%2Fb");
  expect(encodeKey("../x")).toBe("..%2Fx");
  expect(encodeKey("a/.hidden/..b")).toBe("a/.hidden/..b");
});

Deno.test("objectUrl builds virtual-hosted URLs for OSS endpoints", () => {
  const ep = parseEndpoint("oss-cn-hangzhou.aliyuncs.com");
  expect(objectUrl(ep, "bkt", "a b/中.jpg").href).toBe(
    "https://bkt.oss-cn-hangzhou.aliyuncs.com/a%20b/%E4%B8%AD.jpg",
  );
  expect(objectUrl(ep, "bkt", undefined).href).toBe("https://bkt.oss-cn-hangzhou.aliyuncs.com/");
  expect(objectUrl(ep, "bkt", "").href).toBe("https://bkt.oss-cn-hangzhou.aliyuncs.com/");
  expect(objectUrl(ep, undefined, undefined).href).toBe("https://oss-cn-hangzhou.aliyuncs.com/");
  const local = parseEndpoint("http://localhost:8080", { pathStyle: false });
  expect(objectUrl(local, "bkt", "k").href).toBe("http://bkt.localhost:8080/k");
});

Deno.test("objectUrl builds path-style URLs for the local server", () => {
  const ep = parseEndpoint("127.0.0.1:9000");
  expect(objectUrl(ep, "bkt", "a/b c").href).toBe("http://127.0.0.1:9000/bkt/a/b%20c");
  expect(objectUrl(ep, "bkt", undefined).href).toBe("http://127.0.0.1:9000/bkt");
  expect(objectUrl(ep, "bkt", "").href).toBe("http://127.0.0.1:9000/bkt/");
  expect(objectUrl(ep, "a.b.c", "k").href).toBe("http://127.0.0.1:9000/a.b.c/k");
});

Deno.test("objectUrl encodes the query per RFC 3986 and writes empty values bare", () => {
  const ep = parseEndpoint("127.0.0.1:9000");
  const q = new URLSearchParams();
  q.set("uploads", "");
  q.set("prefix", "a b+c/数");
  q.set("max-keys", "10");
  const url = objectUrl(ep, "bkt", "k", q);
  expect(url.search).toBe("?uploads&prefix=a%20b%2Bc%2F%E6%95%B0&max-keys=10");
  expect(url.searchParams.get("prefix")).toBe("a b+c/数");
  expect(url.searchParams.get("uploads")).toBe("");
  expect(objectUrl(ep, "bkt", "k", new URLSearchParams()).search).toBe("");
});

Deno.test("objectUrl rejects bucket names that cannot appear in a URL and keys '.' and '..'", async (t) => {
  const ep = parseEndpoint("oss-cn-hangzhou.aliyuncs.com");
  const cases: [string, () => unknown, string][] = [
    ["empty bucket", () => objectUrl(ep, "", "k"), 'invalid bucket name ""'],
    ["bucket with a slash", () => objectUrl(ep, "a/b", "k"), 'invalid bucket name "a/b"'],
    ["uppercase bucket for a host name", () => objectUrl(ep, "Bucket", "k"), 'invalid bucket name "Bucket"'],
    ["key '..'", () => objectUrl(ep, "bkt", ".."), 'object key ".."'],
    ["key '.'", () => objectUrl(ep, "bkt", "."), 'object key "."'],
  ];
  for (const [name, fn, expected] of cases) {
    await t.step(name, () => {
      const err = thrown(fn);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(expected);
    });
  }
});

Deno.test("keys encoded by objectUrl reach an HTTP server intact, dot segments included", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const raw = new URL(req.url).pathname;
    seen.push(raw);
    // How an OSS-style server reads the key: strip "/bucket/", then percent-decode (%2F included).
    const key = decodeURIComponent(raw.slice("/bkt/".length));
    return new Response(key);
  });
  try {
    const ep = parseEndpoint(`127.0.0.1:${server.addr.port}`);
    const keys = [
      "plain.txt",
      "a b/c d.txt",
      "数据集/图片 1.png",
      "100%/a%20b",
      "q?x=1&y=2#frag",
      "a/../b",
      "./x",
      "a//b/",
      "tilde~star*quote'(paren)",
      "plus+equals=comma,semi;colon:at@",
      "emoji 🎉.bin",
    ];
    for (const key of keys) {
      const res = await fetch(objectUrl(ep, "bkt", key));
      expect(await res.text()).toBe(key);
    }
    expect(seen.every((p) => p.startsWith("/bkt/"))).toBe(true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("encodeKey: keys that skip encoding come out as the full encoder writes them (20,000 seeded keys)", () => {
  // The reference: every segment through encodeRfc3986, "/" kept unless a segment is "." or "..".
  const reference = (key: string) => {
    const parts = key.split("/");
    const dot = parts.some((p) => p === "." || p === "..");
    return parts.map(encodeRfc3986).join(dot ? "%2F" : "/");
  };
  const rand = mulberry32(19);
  const alphabet = [
    "a",
    "Z",
    "0",
    "-",
    ".",
    "_",
    "~",
    "/",
    "/",
    ".",
    " ",
    "+",
    "%",
    "é",
    "😀",
    "*",
    "'",
    "?",
  ];
  let plain = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + Math.floor(rand() * 12);
    let key = "";
    for (let j = 0; j < length; j++) {
      key += alphabet[Math.floor(rand() * (rand() < 0.8 ? 8 : alphabet.length))];
    }
    if (key === "." || key === "..") continue;
    const got = encodeKey(key);
    expect({ key, got }).toEqual({ key, got: reference(key) });
    if (got === key) plain++;
  }
  expect(plain).toBeGreaterThan(4_000); // the fast path was taken often, and so was the full one
  expect(plain).toBeLessThan(16_000);
});

Deno.test("objectUrl refuses a bucket name that needs encoding, as before the fast check", () => {
  const ep = parseEndpoint("http://127.0.0.1:9000");
  for (const bucket of ["a b", "a/b", "a%b", "é", "a?b", "a#b", ""]) {
    expect(thrown(() => objectUrl(ep, bucket, "k"))).toBeInstanceOf(ConfigError);
  }
  expect(objectUrl(ep, "Bucket_1.x~y", "k").pathname).toBe("/Bucket_1.x~y/k"); // S3 path style allows these
});
