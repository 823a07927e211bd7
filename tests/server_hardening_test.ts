// Server hardening in the production configuration: credentials configured, requests signed, a directory store.
// The local server rejects path-traversal keys, oversize header sections and bodies, malformed and hostile XML
// bodies, unsigned or badly signed requests, and presigned URLs replayed after they expire; every rejection is
// an OSS XML error with a request id, and the server keeps serving afterwards.
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { ConfigError, OssError } from "../src/errors.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore } from "../src/server/store/mod.ts";
import { presignOss4, signOss4 } from "../src/signer/oss4.ts";
import { presignS3v4 } from "../src/signer/s3v4.ts";

const CREDS = { accessKeyId: "LTAIhardening", accessKeySecret: "hardening-secret-0123456789" };
const REGION = "cn-hangzhou";
const BUCKET = "data";

type Server = Awaited<ReturnType<typeof serveEmulator>>;

async function withServer(
  fn: (s: Server, dir: string) => Promise<void>,
  opts: { maxBodyBytes?: number; maxHeaderBytes?: number } = {},
): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "ossflow-hard-" });
  const store = new DirectoryStore(`${parent}/data-dir`);
  const s = await serveEmulator({ store, buckets: [BUCKET], credentials: [CREDS], region: REGION, ...opts });
  try {
    await fn(s, parent);
  } finally {
    await s.close();
    await store.close();
    await Deno.remove(parent, { recursive: true });
  }
}

/** A request signed with OSS4 for `bucket`/`key` (path style), sent with `fetch`. */
async function signed(
  s: Server,
  method: string,
  bucket: string,
  key: string,
  init: { query?: string; headers?: Record<string, string>; body?: BodyInit } = {},
): Promise<Response> {
  const path = key ? `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}` : `/${bucket}`;
  const url = new URL(`${s.url}${path}${init.query ? `?${init.query}` : ""}`);
  const headers = new Headers(init.headers);
  // Set it before signing: fetch would add text/plain for a string body, and OSS4 signs content-type.
  if (init.body !== undefined && !headers.has("content-type")) {
    headers.set("content-type", "application/octet-stream");
  }
  await signOss4({ method, url, headers, bucket, key }, { credentials: CREDS, region: REGION });
  return await fetch(url, { method, headers, body: init.body });
}

/** Status, error code and request id of an error response; the body must be OSS XML. */
async function errorOf(res: Response): Promise<[number, string | undefined]> {
  const text = await res.text();
  if (res.status >= 300 && res.status !== 304 && res.headers.get("x-oss-request-id") === null) {
    throw new Error(`error response ${res.status} without x-oss-request-id: ${[...res.headers]} ${text}`);
  }
  return [res.status, /<Error>[\s\S]*<Code>([^<]*)<\/Code>/.exec(text)?.[1]];
}

function walk(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]
  );
}

Deno.test("hardening: signed traversal keys are InvalidObjectName and nothing is written outside the data directory", async () => {
  await withServer(async (s, parent) => {
    const client = new OssClient({
      endpoint: s.url,
      region: REGION,
      credentials: CREDS,
      retry: { maxAttempts: 1 },
    });
    const keys = [
      "../escape.txt",
      "../../escape.txt",
      "a/../../../escape.txt",
      "a/b/../../../escape.txt",
      "..\\..\\escape.txt",
      "a\\..\\..\\escape.txt",
      "./../escape.txt",
      "..",
      ".",
      "a/./../../escape.txt",
      "nul\u0000byte",
      "/etc/passwd",
    ];
    for (const key of keys) {
      const err = await client.put(BUCKET, key, "escaped!").then(() => undefined, (e) => e);
      expect([key, err instanceof OssError || err instanceof ConfigError || err instanceof TypeError])
        .toEqual([key, true]);
      if (err instanceof OssError) {
        expect([key, err.status, err.code]).toEqual([key, 400, "InvalidObjectName"]);
      }
    }
    // Dots inside names are fine and stay confined.
    await client.put(BUCKET, "a..b/.hidden/..x", "fine");
    expect(new TextDecoder().decode((await client.getBytes(BUCKET, "a..b/.hidden/..x")).bytes)).toBe("fine");
    expect([...Deno.readDirSync(parent)].map((e) => e.name)).toEqual(["data-dir"]);
    const files = walk(`${parent}/data-dir`);
    for (const f of files) expect(f.startsWith(`${parent}/data-dir/`)).toBe(true);
    const contents = await Promise.all(files.map((f) => Deno.readFile(f)));
    expect(contents.filter((c) => new TextDecoder().decode(c).includes("escaped!"))).toEqual([]);
  });
});

Deno.test("hardening: a header section over maxHeaderBytes is rejected even when signed", async () => {
  await withServer(async (s) => {
    const res = await signed(s, "PUT", BUCKET, "k", {
      headers: { "x-oss-meta-big": "x".repeat(5000) },
      body: "v",
    });
    expect(await errorOf(res)).toEqual([400, "RequestHeaderSectionTooLarge"]);
    const many: Record<string, string> = {};
    // Many small headers add up too (under 100 of them: beyond that Deno's HTTP layer itself answers a bare 400).
    for (let i = 0; i < 80; i++) many[`x-oss-meta-h${i}`] = "y".repeat(50);
    expect(await errorOf(await signed(s, "GET", BUCKET, "k", { headers: many }))).toEqual([
      400,
      "RequestHeaderSectionTooLarge",
    ]);
    // Under the limit it is served.
    expect((await signed(s, "PUT", BUCKET, "k", { body: "v" })).status).toBe(200);
  }, { maxHeaderBytes: 4096 });
});

Deno.test("hardening: bodies over maxBodyBytes are EntityTooLarge, declared or streamed, and never stored", async () => {
  await withServer(async (s) => {
    const declared = await signed(s, "PUT", BUCKET, "big", { body: new Uint8Array(64 * 1024 + 1) });
    expect(await errorOf(declared)).toEqual([400, "EntityTooLarge"]);
    let sent = 0;
    const streamed = await signed(s, "PUT", BUCKET, "big", {
      body: new ReadableStream({
        pull(c) {
          if (sent >= 1024 * 1024) return c.close();
          c.enqueue(new Uint8Array(16 * 1024));
          sent += 16 * 1024;
        },
      }),
    }).catch((e) => e);
    if (streamed instanceof Response) expect(await errorOf(streamed)).toEqual([400, "EntityTooLarge"]);
    else expect(streamed).toBeInstanceOf(TypeError); // the server may close the connection mid-upload
    expect(await s.store.head(BUCKET, "big")).toBeUndefined();
    const up = await signed(s, "POST", BUCKET, "mp", { query: "uploads" });
    const uploadId = /<UploadId>([^<]+)/.exec(await up.text())![1];
    const part = await signed(s, "PUT", BUCKET, "mp", {
      query: `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`,
      body: new Uint8Array(64 * 1024 + 1),
    });
    expect(await errorOf(part)).toEqual([400, "EntityTooLarge"]);
    expect((await signed(s, "PUT", BUCKET, "small", { body: new Uint8Array(64 * 1024) })).status).toBe(200);
  }, { maxBodyBytes: 64 * 1024 });
});

Deno.test("hardening: malformed and hostile XML bodies are MalformedXML, quickly, and the server keeps serving", async () => {
  await withServer(async (s) => {
    const up = await signed(s, "POST", BUCKET, "mp", { query: "uploads" });
    const uploadId = /<UploadId>([^<]+)/.exec(await up.text())![1];
    const complete = `uploadId=${encodeURIComponent(uploadId)}`;
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i ? i : ""};`.repeat(10)}">`).join(
        "",
      ) +
      "]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol9;</ETag></Part></CompleteMultipartUpload>";
    const bodies: [name: string, body: string | Uint8Array<ArrayBuffer>][] = [
      ["empty", ""],
      ["not XML", "hello"],
      ["unclosed root", "<CompleteMultipartUpload><Part>"],
      ["wrong root", "<Other/>"],
      [
        "a part without a number",
        "<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
      ],
      [
        "a part number of text",
        "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
      ],
      ["billion laughs", laughs],
      [
        "an external entity",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part></CompleteMultipartUpload>',
      ],
      ["deep nesting", "<a>".repeat(20000) + "</a>".repeat(20000)],
      [
        "3 MB of XML",
        `<CompleteMultipartUpload>${"<Part></Part>".repeat(250_000)}</CompleteMultipartUpload>`,
      ],
      ["binary junk", Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)],
    ];
    for (const [name, body] of bodies) {
      const t0 = performance.now();
      const res = await signed(s, "POST", BUCKET, "mp", { query: complete, body });
      const [status, code] = await errorOf(res);
      expect([name, status, code]).toEqual([
        name,
        400,
        expect.stringMatching(/^(MalformedXML|InvalidPart|InvalidPartOrder)$/),
      ]);
      // The bound is the behaviour, generous for a loaded machine: an answer, not minutes of entity expansion.
      expect([name, performance.now() - t0 < 30_000]).toEqual([name, true]);
    }
    for (const [name, body] of bodies.slice(0, 4)) {
      const res = await signed(s, "POST", BUCKET, "", { query: "delete", body });
      expect([name, ...(await errorOf(res))]).toEqual([name, 400, "MalformedXML"]);
    }
    expect(s.stats.errors?.InternalError ?? 0).toBe(0);
    expect((await signed(s, "PUT", BUCKET, "still-up", { body: "ok" })).status).toBe(200);
  });
});

Deno.test("hardening: unsigned, junk-signed and wrongly signed requests are refused with XML errors", async () => {
  await withServer(async (s) => {
    await signed(s, "PUT", BUCKET, "k", { body: "v" }).then((r) => r.body?.cancel());
    const url = `${s.url}/${BUCKET}/k`;
    const cases: [name: string, method: string, headers: Record<string, string>, expected: string[]][] = [
      ["unsigned GET", "GET", {}, ["AccessDenied"]],
      ["unsigned PUT", "PUT", {}, ["AccessDenied"]],
      ["unsigned DELETE", "DELETE", {}, ["AccessDenied"]],
      ["unsigned POST", "POST", {}, ["AccessDenied"]],
      ["empty Authorization", "GET", { authorization: "" }, ["AccessDenied", "InvalidArgument"]],
      ["junk Authorization", "GET", { authorization: "Bearer abc" }, ["AccessDenied", "InvalidArgument"]],
      ["OSS4 without fields", "GET", { authorization: "OSS4-HMAC-SHA256 " }, [
        "AccessDenied",
        "InvalidArgument",
      ]],
      [
        "OSS4 with a bad credential scope",
        "GET",
        { authorization: "OSS4-HMAC-SHA256 Credential=x/y,Signature=00", "x-oss-date": "20240101T000000Z" },
        ["AccessDenied", "InvalidArgument", "InvalidAccessKeyId", "RequestTimeTooSkewed"],
      ],
      [
        "SigV4 with junk",
        "GET",
        { authorization: "AWS4-HMAC-SHA256 Credential=\u00e9/../..,SignedHeaders=;;,Signature=zz" },
        ["AccessDenied", "InvalidArgument", "AuthorizationHeaderMalformed"],
      ],
      ["OSS v1 style", "GET", {
        authorization: `OSS ${CREDS.accessKeyId}:c2lnbmF0dXJl`,
        date: new Date().toUTCString(),
      }, [
        "AccessDenied",
        "InvalidArgument",
        "SignatureDoesNotMatch",
      ]],
    ];
    for (const [name, method, headers, expected] of cases) {
      const res = await fetch(url, {
        method,
        headers,
        body: method === "PUT" || method === "POST" ? "x" : undefined,
      });
      const [status, code] = await errorOf(res);
      expect([name, status >= 400 && status < 500, expected.includes(code ?? "")]).toEqual([
        name,
        true,
        true,
      ]);
    }
    // A valid signature over one request does not authorise another.
    const u = new URL(url);
    const h = new Headers();
    await signOss4({ method: "GET", url: u, headers: h, bucket: BUCKET, key: "k" }, {
      credentials: CREDS,
      region: REGION,
    });
    expect(await errorOf(await fetch(`${s.url}/${BUCKET}/other`, { headers: h }))).toEqual([
      403,
      "SignatureDoesNotMatch",
    ]);
    expect(await errorOf(await fetch(url, { method: "DELETE", headers: h }))).toEqual([
      403,
      "SignatureDoesNotMatch",
    ]);
    expect(await s.store.head(BUCKET, "k")).toBeDefined();
  });
});

Deno.test("hardening: a presigned URL works until it expires and its replay afterwards is refused", async () => {
  await withServer(async (s) => {
    await signed(s, "PUT", BUCKET, "shared.txt", { body: "shared" }).then((r) => r.body?.cancel());
    const url = new URL(`${s.url}/${BUCKET}/shared.txt`);
    const req = { method: "GET", url, bucket: BUCKET, key: "shared.txt" };
    // Signing times have whole seconds: the URLs are valid until floor(date) + 3 s, at least 2 s from now.
    const date = new Date();
    const oss = await presignOss4(req, { credentials: CREDS, region: REGION, expires: 3, date });
    const s3 = await presignS3v4(req, { credentials: CREDS, region: REGION, expires: 3, date });
    for (const u of [oss, s3]) {
      const first = await fetch(u);
      expect([first.status, await first.text()]).toEqual([200, "shared"]);
    }
    const expiry = Math.floor(date.getTime() / 1000) * 1000 + 3000;
    await new Promise((r) => setTimeout(r, expiry + 1100 - Date.now()));
    for (const u of [oss, s3]) {
      expect(await errorOf(await fetch(u))).toEqual([403, "AccessDenied"]);
      // Stretching the lifetime in the URL breaks the signature instead.
      const stretched = new URL(u);
      if (stretched.searchParams.has("x-oss-expires")) stretched.searchParams.set("x-oss-expires", "3600");
      else stretched.searchParams.set("X-Amz-Expires", "3600");
      expect(await errorOf(await fetch(stretched))).toEqual([403, "SignatureDoesNotMatch"]);
    }
  });
});
