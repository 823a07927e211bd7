/**
 * A TCP pass-through in front of `Deno.serve`, so that a handler can drop its client's connection before
 * any response byte is sent: `Deno.serve` itself always answers (a thrown handler becomes a 500), and
 * gives handlers no access to the socket. The proxy pairs each client connection with an upstream one;
 * the handler sees the upstream socket's local port as its remote port and asks the proxy to close
 * that pair.
 *
 * The proxy also owns `Expect: 100-continue`: `Deno.serve` answers `100 Continue` as soon as it has read a
 * request head, before any handler could refuse the request, so the proxy hides the expectation from it
 * (see request_framing.ts) and sends `100 Continue` itself when the server asks ({@linkcode
 * ResetProxy.sendContinue}), once the request is authenticated and its body is wanted.
 *
 * @module
 */

import { RequestFraming } from "./request_framing.ts";

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** A client connection, its upstream connection and the state the proxy keeps for them. */
interface Pair {
  client: Deno.TcpConn;
  upstream: Deno.TcpConn;
  /** Whether the request being handled waits for `100 Continue`. */
  expectsContinue: boolean;
  /** Writes to the client, in order (responses and `100 Continue` must not interleave). */
  writes: Promise<unknown>;
}

/**
 * Forwards connections from `listener` to an upstream address and can close a pair on demand.
 *
 * @example
 * ```ts ignore
 * import { ResetProxy } from "./reset_proxy.ts";
 * const upstream = Deno.serve({ port: 0, onListen() {} }, () => new Response("ok"));
 * const proxy = new ResetProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), upstream.addr);
 * console.log(await (await fetch(`http://127.0.0.1:${proxy.port}/`)).text()); // "ok"
 * await proxy.close();
 * await upstream.shutdown();
 * ```
 */
export class ResetProxy {
  #listener: Deno.TcpListener;
  #upstream: Deno.NetAddr;
  /** Connection pairs keyed by the upstream socket's local port. */
  #pairs = new Map<number, Pair>();
  #accepting: Promise<void>;

  constructor(listener: Deno.TcpListener, upstream: Deno.NetAddr) {
    this.#listener = listener;
    this.#upstream = upstream;
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) this.#forward(client).catch(() => {});
    } catch {
      // listener closed
    }
  }

  async #forward(client: Deno.TcpConn): Promise<void> {
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: this.#upstream.hostname, port: this.#upstream.port });
    } catch {
      closeQuietly(client);
      return;
    }
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const id = (upstream.localAddr as Deno.NetAddr).port;
    const pair: Pair = { client, upstream, expectsContinue: false, writes: Promise.resolve() };
    this.#pairs.set(id, pair);
    const framing = new RequestFraming((expects) => (pair.expectsContinue = expects));
    // Whether the latest request the client started is a HEAD (whose answer must have no body).
    let head = false;
    await Promise.all([
      pump(client, upstream, async (chunk) => {
        if (chunk[0] >= 0x41 && chunk[0] <= 0x5a) {
          head = chunk.length > 5 && HEAD.every((b, i) => chunk[i] === b);
        }
        for (const piece of framing.push(chunk)) await writeAll(upstream, piece);
      }),
      pump(upstream, client, (chunk) => clientWrite(pair, explainRefusal(chunk, head))),
    ]);
    this.#pairs.delete(id);
    closeQuietly(client);
    closeQuietly(upstream);
  }

  /** Closes the pair whose upstream socket has local port `port`; true when one was found. */
  reset(port: number): boolean {
    const pair = this.#pairs.get(port);
    if (!pair) return false;
    this.#pairs.delete(port);
    closeQuietly(pair.client);
    closeQuietly(pair.upstream);
    return true;
  }

  /**
   * Sends `100 Continue` to the client of the pair whose upstream socket has local port `port`, if its
   * current request asked for it and has not had it yet.
   */
  async sendContinue(port: number): Promise<void> {
    const pair = this.#pairs.get(port);
    if (!pair?.expectsContinue) return;
    pair.expectsContinue = false;
    await clientWrite(pair, CONTINUE).catch(() => {});
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    closeQuietly(this.#listener);
    for (const port of [...this.#pairs.keys()]) this.reset(port);
    await this.#accepting;
  }
}

/** Writes to a pair's client after every write queued before. */
function clientWrite(pair: Pair, bytes: Uint8Array): Promise<unknown> {
  const write = () => writeAll(pair.client, bytes);
  pair.writes = pair.writes.then(write, write);
  return pair.writes;
}

async function writeAll(to: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await to.write(bytes.subarray(off));
}

/**
 * The bare answer of Deno's HTTP server to a request it refuses before any handler runs (a header section over
 * about 64 KiB, or a malformed request line or header): no server header, no body, connection closed. The
 * emulator's own answers always carry `server: ossflow-emulator`.
 */
const REFUSAL =
  /^HTTP\/1\.1 (4\d\d) [^\r]*\r\ncontent-length: 0\r\ndate: [^\r]+\r\nconnection: close\r\n\r\n$/;

const HEAD = [...new TextEncoder().encode("HEAD ")];

/**
 * Turns the HTTP server's bare refusal into an OSS error (a document, or its headers alone when `head`); any
 * other chunk passes as it is.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { explainRefusal } from "./reset_proxy.ts";
 * const bare = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 03:37:05 GMT\r\nconnection: close\r\n\r\n";
 * const answer = new TextDecoder().decode(explainRefusal(new TextEncoder().encode(bare), false));
 * expect(answer.includes("<Code>InvalidRequest</Code>")).toBe(true);
 * ```
 */
export function explainRefusal(chunk: Uint8Array, head: boolean): Uint8Array {
  if (chunk.length > 160 || chunk[0] !== 0x48) return chunk; // "H"
  const m = REFUSAL.exec(new TextDecoder().decode(chunk));
  if (!m) return chunk;
  const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0"))
    .join("").toUpperCase();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRequest</Code><Message>The HTTP ` +
    `server refused the request before reading it: its header section is over 64 KiB, or a request line or ` +
    `header is malformed.</Message><RequestId>${id}</RequestId><HostId>ossflow-emulator</HostId></Error>`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${m[1]} Bad Request\r\ncontent-type: application/xml\r\n` +
      `content-length: ${head ? 0 : body.length}\r\nx-oss-request-id: ${id}\r\nx-amz-request-id: ${id}\r\n` +
      `server: ossflow-emulator\r\nconnection: close\r\n\r\n${head ? "" : body}`,
  );
}

/**
 * Reads `from` until EOF or error, handing each chunk to `write` (which has finished with it when its
 * promise settles), then half-closes (or closes) `to`.
 */
async function pump(
  from: Deno.TcpConn,
  to: Deno.TcpConn,
  write: (chunk: Uint8Array) => Promise<unknown>,
): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  let writing = true;
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      if (!writing) continue;
      try {
        await write(buf.subarray(0, n));
      } catch {
        // `to` stopped reading: the server refused a request it had not read to the end and closed. Its
        // answer is still on the way back: keep reading (and dropping) what `from` sends, so that closing
        // `from` with unread bytes does not reset the connection before that answer arrives.
        writing = false;
      }
    }
    await to.closeWrite().catch(() => closeQuietly(to));
  } catch {
    closeQuietly(from);
    closeQuietly(to);
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}
