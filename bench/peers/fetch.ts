/**
 * A plain `fetch` loop: what a user writes without an SDK. Every request is signed with ossflow's public
 * `signOss4` (OSS4-HMAC-SHA256 in the Authorization header, `UNSIGNED-PAYLOAD`), so this row measures
 * ossflow's client layers (retries, timeouts, dataset plumbing, integrity checks) against no layers at all.
 * Listing pages are parsed with two regular expressions; objects are read with `res.bytes()`; checkpoints are
 * one streamed PUT (chunked) and one streamed GET.
 *
 * @module
 */
import { signOss4 } from "../../src/signer/oss4.ts";
import { BUCKET, CREDS, type Peer, type PeerFactory, readEach, REGION, timeListing } from "../common.ts";

/**
 * A `fetch` of `/BUCKET/key` (or of the bucket, `key` undefined) at `url`, signed with `signOss4`; throws on a
 * status other than 2xx, with the body's text.
 */
export function signedFetch(
  url: string,
): (
  method: string,
  key: string | undefined,
  query?: string,
  body?: BodyInit,
  signal?: AbortSignal,
) => Promise<
  Response
> {
  const base = new URL(url);
  return async (method, key, query = "", body, signal) => {
    const path = key === undefined
      ? `/${BUCKET}/`
      : `/${BUCKET}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const u = new URL(path + query, base);
    const headers = new Headers();
    await signOss4({ method, url: u, headers, bucket: BUCKET, key }, {
      credentials: CREDS,
      region: REGION,
    });
    const init = { method, headers, body, ...(body ? { duplex: "half" } : {}) } as RequestInit;
    if (signal) init.signal = signal;
    const res = await fetch(u, init);
    if (!res.ok) throw new Error(`${method} ${u.pathname}: HTTP ${res.status}: ${await res.text()}`);
    return res;
  };
}

const create: PeerFactory = (url) => {
  const signed = signedFetch(url);

  const keys = (prefix: string) =>
    regexKeys(prefix, async (q) => await (await signed("GET", undefined, q)).text());

  const peer: Peer = {
    notes: "global fetch, each request signed with ossflow's signOss4; regex-parsed ListObjectsV2 pages; " +
      "one streamed PUT / GET per checkpoint",
    readPrefix(prefix, concurrency) {
      return readEach(keys(prefix), concurrency, async (key) => await (await signed("GET", key)).bytes());
    },
    listAll(prefix) {
      return timeListing(keys(prefix));
    },
    async writeCheckpoint(key, file) {
      const f = await Deno.open(file); // its readable closes it
      await (await signed("PUT", key, "", f.readable)).body?.cancel();
    },
    async readCheckpoint(key) {
      let n = 0;
      for await (const chunk of (await signed("GET", key)).body!) n += chunk.byteLength;
      return n;
    },
  };
  return Promise.resolve(peer);
};
export default create;

/**
 * Every key under `prefix`, page by page (1,000 keys a page), each page fetched by `getPage(query)` and its keys
 * picked out with a regular expression: the listing a user writes without an XML parser.
 */
export async function* regexKeys(
  prefix: string,
  getPage: (query: string) => Promise<string>,
): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    let q = `?list-type=2&max-keys=1000&prefix=${encodeURIComponent(prefix)}`;
    if (token) q += `&continuation-token=${encodeURIComponent(token)}`;
    const xml = await getPage(q);
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) yield unescapeXml(m[1]);
    token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
    if (token) token = unescapeXml(token);
  } while (token);
}

function unescapeXml(s: string): string {
  return s.includes("&")
    ? s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&")
    : s;
}
