/**
 * A corrupting network for integrity tests: an HTTP proxy on 127.0.0.1 in front of a real server that flips
 * one byte in the middle of the bodies it is told to corrupt — responses (a GET's body, with the server's
 * headers, CRC-64 and ETag included, left as they were) or requests (a PUT's body, with its Content-MD5 and
 * signature left as they were), or that garbles the CRC-64 header of an answer. Everything else passes through
 * unchanged.
 *
 * The proxy cannot keep the Host header (fetch sets its own), so SigV4 signatures, which sign the host, do not
 * survive it: sign with OSS4 (which does not sign the host by default), or use an upstream without credentials.
 */

/** Which exchanges to corrupt; change them while the proxy runs. */
export interface CorruptionRules {
  /** Corrupt the body of this request before forwarding it. Default: none. */
  request?: (req: Request) => boolean;
  /** Corrupt the (2xx, non-empty) body of the upstream's answer to this request. Default: every GET. */
  response?: (req: Request) => boolean;
  /** Garble the `x-oss-hash-crc64ecma` header of the upstream's answer to this request. Default: none. */
  crcHeader?: (req: Request) => boolean;
  /**
   * Gzip the (2xx, non-empty) answer to this request when its Accept-Encoding allows gzip, as a compressing
   * intermediary does (Content-Length then counts the compressed bytes). Default: none.
   */
  gzip?: (req: Request) => boolean;
}

/** A running proxy. */
export interface CorruptingProxy {
  /** Base URL of the proxy, e.g. `http://127.0.0.1:41234`: use it as the client's endpoint. */
  url: string;
  /** The rules in force; assign new ones at any time. */
  rules: CorruptionRules;
  /** Bodies (and CRC-64 headers) corrupted so far. */
  readonly corrupted: { requests: number; responses: number; crcHeaders: number; gzipped: number };
  /** Requests forwarded so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

/** Flips the bits of the middle byte (a copy of `bytes` when they are someone else's). */
export function flipMiddleByte(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  out[out.length >> 1] ^= 0xff;
  return out;
}

const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "host", "content-length"];

/**
 * Starts a proxy to `upstream` (a base URL such as `server.url`).
 *
 * @example
 * ```ts ignore
 * const proxy = await startCorruptingProxy(server.url, { response: (req) => req.method === "GET" });
 * const client = new OssClient({ endpoint: proxy.url, region: "cn-hangzhou", credentials });
 * ```
 */
export function startCorruptingProxy(upstream: string, rules: CorruptionRules = {}): CorruptingProxy {
  const corrupted = { requests: 0, responses: 0, crcHeaders: 0, gzipped: 0 };
  let forwarded = 0;
  const state: { rules: CorruptionRules } = { rules };
  const target = new URL(upstream);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    url.protocol = target.protocol;
    url.host = target.host;
    const headers = new Headers(req.headers);
    for (const h of HOP_BY_HOP) headers.delete(h);
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (req.body !== null) {
      body = new Uint8Array(await req.arrayBuffer());
      if (body.length > 0 && (state.rules.request?.(req) ?? false)) {
        body = flipMiddleByte(body);
        corrupted.requests++;
      }
    }
    forwarded++;
    const res = await fetch(url, { method: req.method, headers, body, redirect: "manual" });
    const out = new Headers(res.headers);
    for (const h of ["connection", "keep-alive", "transfer-encoding"]) out.delete(h);
    const crc = out.get("x-oss-hash-crc64ecma");
    if (crc !== null && (state.rules.crcHeader?.(req) ?? false)) {
      out.set("x-oss-hash-crc64ecma", String(BigInt(crc) ^ 1n));
      corrupted.crcHeaders++;
    }
    if (req.method === "HEAD" || res.body === null) {
      await res.body?.cancel();
      return new Response(null, { status: res.status, headers: out });
    }
    let bytes = new Uint8Array(await res.arrayBuffer());
    const corrupt = state.rules.response ?? ((r: Request) => r.method === "GET");
    if (res.ok && bytes.length > 0 && corrupt(req)) {
      bytes = flipMiddleByte(bytes);
      corrupted.responses++;
    }
    const gzipAllowed = /\bgzip\b/.test(req.headers.get("accept-encoding") ?? "");
    if (res.ok && bytes.length > 0 && gzipAllowed && (state.rules.gzip?.(req) ?? false)) {
      const gz = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(gz).arrayBuffer());
      out.set("content-encoding", "gzip");
      out.set("content-length", String(bytes.length));
      corrupted.gzipped++;
    }
    return new Response(bytes, { status: res.status, headers: out });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get rules() {
      return state.rules;
    },
    set rules(r: CorruptionRules) {
      state.rules = r;
    },
    corrupted,
    get forwarded() {
      return forwarded;
    },
    close: () => server.shutdown(),
  };
}
