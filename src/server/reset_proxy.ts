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
    await Promise.all([
      pump(client, upstream, async (chunk) => {
        for (const piece of framing.push(chunk)) await writeAll(upstream, piece);
      }),
      pump(upstream, client, (chunk) => clientWrite(pair, chunk)),
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
 * Reads `from` until EOF or error, handing each chunk to `write` (which has finished with it when its
 * promise settles), then half-closes (or closes) `to`.
 */
async function pump(
  from: Deno.TcpConn,
  to: Deno.TcpConn,
  write: (chunk: Uint8Array) => Promise<unknown>,
): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      await write(buf.subarray(0, n));
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
