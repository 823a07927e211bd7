/**
 * `Expect: 100-continue`: the server answers `100 Continue` only once the request is authenticated and its
 * body is wanted, so a client never uploads a body to be refused. Checked on the wire (raw TCP), and the
 * request framing the connection proxy follows is checked on its own.
 */
import { expect } from "expect";
import { signOss4 } from "../src/signer/oss4.ts";
import { signS3v4 } from "../src/signer/s3v4.ts";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { EXPECT_CONTINUE_MARKER, RequestFraming } from "../src/server/http/request_framing.ts";

const CREDS = { accessKeyId: "LTAI-expect", accessKeySecret: "expect-secret" };
const enc = new TextEncoder(), dec = new TextDecoder();

/** The byte index of the first `\r\n\r\n`, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

/** A raw HTTP/1.1 connection that reads whole responses (interim ones included) off the wire. */
class Wire {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  static async open(s: RunningEmulator): Promise<Wire> {
    return new Wire(await Deno.connect({ hostname: "127.0.0.1", port: s.port }));
  }
  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? enc.encode(text) : text;
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
  }
  /** The next response: its status line, headers and body (by Content-Length). */
  async response(): Promise<{ status: string; headers: Headers; body: string }> {
    let end: number;
    while ((end = headEnd(this.#buf)) < 0) await this.#fill();
    const [status, ...lines] = dec.decode(this.#buf.subarray(0, end)).split("\r\n");
    const headers = new Headers(
      lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
    const length = Number(headers.get("content-length") ?? 0);
    while (this.#buf.length < end + 4 + length) await this.#fill();
    const body = dec.decode(this.#buf.subarray(end + 4, end + 4 + length));
    this.#buf = this.#buf.subarray(end + 4 + length);
    return { status, headers, body };
  }
  async #fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Error(`connection closed; got ${JSON.stringify(dec.decode(this.#buf))}`);
    const joined = new Uint8Array(this.#buf.length + n);
    joined.set(this.#buf);
    joined.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = joined;
  }
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** A request head signed with `secret` (OSS4 or SigV4), asking for 100 Continue. */
async function signedHead(
  s: RunningEmulator,
  scheme: "oss4" | "s3v4",
  method: string,
  path: string,
  body: Uint8Array,
  secret = CREDS.accessKeySecret,
): Promise<string> {
  const url = new URL(`${s.url}${path}`);
  const headers = new Headers({ "content-type": "text/plain" });
  if (scheme === "s3v4") headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  const [bucket, ...key] = url.pathname.slice(1).split("/");
  const req = { method, url, headers, bucket, key: key.length ? key.join("/") : undefined };
  const credentials = { ...CREDS, accessKeySecret: secret };
  if (scheme === "oss4") await signOss4(req, { credentials, region: "cn-hangzhou" });
  else await signS3v4(req, { credentials, region: "cn-hangzhou" });
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${body.length}`, "Expect: 100-continue");
  return lines.join("\r\n") + "\r\n\r\n";
}

async function withServer(fn: (s: RunningEmulator) => Promise<void>): Promise<void> {
  const s = await serveEmulator({ buckets: ["data"], credentials: [CREDS] });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

for (const scheme of ["oss4", "s3v4"] as const) {
  Deno.test(`expect-continue (${scheme}): a request failing authentication gets its 403 first, never 100 Continue`, async () => {
    await withServer(async (s) => {
      const body = enc.encode("x".repeat(1000));
      const wire = await Wire.open(s);
      try {
        await wire.send(await signedHead(s, scheme, "PUT", "/data/k", body, "wrong-secret"));
        const first = await wire.response();
        expect([first.status, /<Code>([^<]*)</.exec(first.body)?.[1]]).toEqual([
          "HTTP/1.1 403 Forbidden",
          "SignatureDoesNotMatch",
        ]);
        // The client must not send the body nor reuse the connection.
        expect(first.headers.get("connection")).toBe("close");
      } finally {
        wire.close();
      }
      expect(await s.store.head("data", "k")).toBeUndefined();
    });
  });

  Deno.test(`expect-continue (${scheme}): an authenticated request gets 100 Continue, then its body is stored`, async () => {
    await withServer(async (s) => {
      const body = enc.encode("continued body");
      const wire = await Wire.open(s);
      try {
        await wire.send(await signedHead(s, scheme, "PUT", "/data/k", body));
        expect((await wire.response()).status).toBe("HTTP/1.1 100 Continue");
        await wire.send(body);
        expect((await wire.response()).status).toBe("HTTP/1.1 200 OK");
      } finally {
        wire.close();
      }
      expect(await new Response((await s.store.get("data", "k")).body).text()).toBe("continued body");
    });
  });
}

Deno.test("expect-continue: a request refused before its body is read (NotImplemented, NoSuchUpload) gets no 100 Continue", async () => {
  await withServer(async (s) => {
    const body = enc.encode("<LegalHold><Status>ON</Status></LegalHold>");
    for (const path of ["/data/k?legal-hold", "/data/k?partNumber=1&uploadId=NOSUCHUPLOAD"]) {
      const wire = await Wire.open(s);
      try {
        await wire.send(await signedHead(s, "s3v4", "PUT", path, body));
        const first = await wire.response();
        expect([path, first.status]).toEqual([
          path,
          path.includes("legal-hold") ? "HTTP/1.1 501 Not Implemented" : "HTTP/1.1 404 Not Found",
        ]);
      } finally {
        wire.close();
      }
    }
    expect(await s.store.head("data", "k")).toBeUndefined();
  });
});

Deno.test("expect-continue: one keep-alive connection carries continued, chunked and plain requests in turn", async () => {
  const s = await serveEmulator({ buckets: ["data"] });
  const wire = await Wire.open(s);
  try {
    await wire.send("PUT /data/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n");
    expect((await wire.response()).status).toBe("HTTP/1.1 100 Continue");
    await wire.send("hello");
    expect((await wire.response()).status).toBe("HTTP/1.1 200 OK");
    await wire.send(
      "PUT /data/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nexpect: 100-continue\r\nx-oss-meta-city: Zürich\r\n\r\n",
    );
    expect((await wire.response()).status).toBe("HTTP/1.1 100 Continue");
    await wire.send("3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nx-trailer: t\r\n\r\n");
    expect((await wire.response()).status).toBe("HTTP/1.1 200 OK");
    await wire.send("GET /data/b HTTP/1.1\r\nHost: x\r\n\r\n");
    const get = await wire.response();
    expect([get.status, get.body, get.headers.get(EXPECT_CONTINUE_MARKER)]).toEqual([
      "HTTP/1.1 200 OK",
      "abcde",
      null,
    ]);
    // The renamed head keeps every other byte: a UTF-8 header value reads as it does without Expect.
    await wire.send(
      "PUT /data/c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nx-oss-meta-city: Zürich\r\n\r\n",
    );
    expect((await wire.response()).status).toBe("HTTP/1.1 200 OK");
    const city = (key: string) => s.store.head("data", key).then((m) => m?.userMeta.city);
    expect(await city("c")).toMatch(/^Z.+rich$/);
    expect(await city("b")).toBe(await city("c"));
    expect(await new Response((await s.store.get("data", "a")).body).text()).toBe("hello");
  } finally {
    wire.close();
    await s.close();
  }
});

/** Feeds `wire` to a framing tracker `step` bytes at a time; returns what it forwards and what it saw. */
async function frame(wire: Uint8Array, step: number): Promise<{ out: Uint8Array; heads: boolean[] }> {
  const heads: boolean[] = [];
  const framing = new RequestFraming((expects) => heads.push(expects));
  const pieces: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0; at < wire.length; at += step) {
    // Copies: the tracker must not keep views of a buffer the proxy reuses.
    for (const piece of framing.push(wire.slice(at, at + step))) pieces.push(piece.slice());
  }
  return { out: await new Blob(pieces).bytes(), heads };
}

Deno.test("request framing: heads are found across any chunking, bodies and trailers pass untouched, only Expect is renamed", async () => {
  const requests = [
    "PUT /b/1 HTTP/1.1\r\nHost: h\r\nExpect:  100-continue\r\nContent-Length: 10\r\nx-oss-meta-a: é\r\n\r\n",
    "0123456789",
    "POST /b/2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "4;name=value\r\nExpe\r\n0\r\nx-checksum: abc\r\n\r\n",
    "GET /b/3 HTTP/1.1\r\nHost: h\r\nEXPECT: 100-continue\r\n\r\n",
    "DELETE /b/4 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
  ];
  const wire = enc.encode(requests.join(""));
  const expected = requests.join("")
    .replace("Expect:  100-continue", `${EXPECT_CONTINUE_MARKER}:  100-continue`)
    .replace("EXPECT: 100-continue", `${EXPECT_CONTINUE_MARKER}: 100-continue`);
  for (const step of [1, 2, 3, 7, 64, wire.length]) {
    const { out, heads } = await frame(wire, step);
    expect([step, dec.decode(out)]).toEqual([step, expected]);
    expect([step, heads]).toEqual([step, [true, false, true, false]]);
  }
});

Deno.test("request framing: a head over 64 KiB or a malformed chunk size is passed on untouched from then on", async () => {
  const huge = `GET / HTTP/1.1\r\nx-big: ${"a".repeat(70_000)}\r\nExpect: 100-continue\r\n\r\n`;
  const big = await frame(enc.encode(huge), 4096);
  expect([dec.decode(big.out) === huge, big.heads]).toEqual([true, []]);
  const bad =
    "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /y HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
  const malformed = await frame(enc.encode(bad), 5);
  expect([dec.decode(malformed.out), malformed.heads]).toEqual([bad, [false]]);
});

Deno.test("request framing: bytes that cannot start a request (a TLS ClientHello) are passed on at once, untouched", async () => {
  // The first bytes of a TLS 1.2/1.3 ClientHello record: no blank line will ever come.
  const hello = new Uint8Array([
    0x16,
    0x03,
    0x01,
    0x02,
    0x00,
    0x01,
    0x00,
    0x01,
    0xfc,
    0x03,
    0x03,
    0x0d,
    0x0a,
  ]);
  for (const step of [1, 5, hello.length]) {
    const { out, heads } = await frame(hello, step);
    expect([step, [...out], heads]).toEqual([step, [...hello], []]);
  }
  // Empty lines before a request line are allowed (RFC 9112, 2.2), and the request is still followed.
  const wire = "\r\nGET /b/k HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
  const { out, heads } = await frame(enc.encode(wire), 1);
  expect([dec.decode(out), heads]).toEqual([wire.replace("Expect", EXPECT_CONTINUE_MARKER), [true]]);
});
