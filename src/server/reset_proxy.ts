/**
 * A TCP pass-through in front of `Deno.serve`, so that a handler can drop its client's connection before
 * any response byte is sent: `Deno.serve` itself always answers (a thrown handler becomes a 500), and
 * gives handlers no access to the socket. The proxy pairs each client connection with an upstream one;
 * the handler sees the upstream socket's local port as its remote port and asks the proxy to close
 * that pair.
 *
 * @module
 */

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
  #pairs = new Map<number, { client: Deno.TcpConn; upstream: Deno.TcpConn }>();
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
    this.#pairs.set(id, { client, upstream });
    await Promise.all([pump(client, upstream), pump(upstream, client)]);
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

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    closeQuietly(this.#listener);
    for (const port of [...this.#pairs.keys()]) this.reset(port);
    await this.#accepting;
  }
}

/** Copies `from` to `to` until EOF or error, then half-closes (or closes) `to`. */
async function pump(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
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
