/**
 * Requests that get no response fail with an error naming the endpoint (host:port) and the cause — a closed
 * port, an unknown host, https against an http server — on the client, on URL datasets inline and in prefetch
 * workers; never with a URL's query.
 */
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { OssError } from "../src/errors.ts";
import { describeNetworkFailure } from "../src/network_error.ts";
import { CREDS, withServer } from "./client_fixtures.ts";

const QUICK = { maxAttempts: 2, minDelayMs: 1, maxDelayMs: 2 };

/** A port nothing listens on: bound, then closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function failure(p: Promise<unknown>): Promise<OssError> {
  const err = await p.then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(OssError);
  return err as OssError;
}

Deno.test("a closed port: the error names host:port and 'connection refused'", async () => {
  const port = closedPort();
  const client = new OssClient({ endpoint: `http://127.0.0.1:${port}`, credentials: CREDS, retry: QUICK });
  const err = await failure(Array.fromAsync(client.list("datasets")));
  expect(err.code).toBe("NetworkError");
  expect(err.message).toContain(`NetworkError (HTTP 0) on GET datasets/: cannot reach 127.0.0.1:${port}: `);
  expect(err.message).toContain("connection refused");
  expect(err.message).toContain("after 2 attempt(s)");
});

Deno.test("https against an http server: the error names host:port and a failed TLS handshake", async () => {
  await withServer(async (server) => {
    const host = new URL(server.url).host;
    const client = new OssClient({ endpoint: `https://${host}`, credentials: CREDS, retry: QUICK });
    const err = await failure(client.head("bkt", "k"));
    expect(err.message).toContain(
      `cannot reach ${host}: TLS handshake failed (an http:// server addressed as https://?)`,
    );
    expect(server.stats.requests).toBe(0); // no HTTP request was understood
  });
});

Deno.test("an unknown host: the error names it and says DNS", async () => {
  const client = new OssClient({
    endpoint: "http://no-such-host.invalid:9000",
    region: "cn-hangzhou",
    credentials: CREDS,
    retry: QUICK,
  });
  const err = await failure(client.get("bkt", "k"));
  // Virtual-hosted style: the host asked for is the bucket's.
  expect(err.message).toContain("cannot reach bkt.no-such-host.invalid:9000: host name not found (DNS)");
});

Deno.test("URL datasets (inline and in workers) name host:port and the cause, never the query", async () => {
  const port = closedPort();
  const url = `http://127.0.0.1:${port}/bkt/a.bin?x-oss-signature=feedface0123456789abcdef&x-oss-date=x`;
  for (const prefetchWorker of [0, 2]) {
    const err = await failure(
      Array.fromAsync(OssIterableDataset.fromUrls([url], { prefetchWorker, retry: QUICK })),
    );
    expect(err.message).toContain(`cannot reach 127.0.0.1:${port}: connection refused`);
    expect(err.message).not.toContain("feedface");
  }
});

Deno.test("describeNetworkFailure reads the cause chains of Node, Bun and browsers alike", () => {
  const node = (message: string, code: string) =>
    new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
  expect(describeNetworkFailure(node("connect ECONNREFUSED 127.0.0.1:9000", "ECONNREFUSED")))
    .toBe("connection refused (nothing listens on that port?) [ECONNREFUSED]");
  expect(describeNetworkFailure(node("getaddrinfo ENOTFOUND oss.invalid", "ENOTFOUND")))
    .toBe("host name not found (DNS) [ENOTFOUND]");
  expect(
    describeNetworkFailure(
      node("...:ssl3_get_record:wrong version number:...", "ERR_SSL_WRONG_VERSION_NUMBER"),
    ),
  )
    .toBe("TLS handshake failed (an http:// server addressed as https://?) [ERR_SSL_WRONG_VERSION_NUMBER]");
  expect(describeNetworkFailure(node("read ECONNRESET", "ECONNRESET"))).toBe("connection reset [ECONNRESET]");
  const bun = Object.assign(
    new TypeError("ECONNREFUSED: Unable to connect. Is the computer able to access the url?"),
    {
      code: "ECONNREFUSED",
    },
  );
  expect(describeNetworkFailure(bun)).toBe(
    "connection refused (nothing listens on that port?) [ECONNREFUSED]",
  );
  expect(describeNetworkFailure(new TypeError("Failed to fetch")))
    .toBe("the browser gives no reason (a closed port, a TLS error or a missing CORS rule)");
  const unknown = new TypeError("fetch failed", {
    cause: new Error("error sending request for url (http://h:1/k?sig=SECRET): something new"),
  });
  expect(describeNetworkFailure(unknown)).toBe("something new");
  expect(describeNetworkFailure(new Error("odd: see http://h:1/k?sig=SECRET#x"))).toBe(
    "odd: see http://h:1/k",
  );
});
