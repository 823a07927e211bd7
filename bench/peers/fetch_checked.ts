/**
 * The `fetch` loop of bench/peers/fetch.ts plus the checks no ossflow read drops: each GET carries an
 * `AbortSignal` (what makes a request cancellable, and an inactivity timeout possible) and its body is checked
 * against its Content-Length and its `x-oss-hash-crc64ecma` (CRC-64 by ossflow's own WebAssembly, the fastest
 * this machine has). No retries, no timeout timers, no dataset plumbing: the cheapest loop that keeps
 * ossflow's integrity promise, so where ossflow trails the bare `fetch` loop, this row says how much of the gap
 * the checks alone cost. Measured in scenarios 1 and 2 (and CPU per small object); its listing and checkpoint
 * jobs would be the bare loop's, so `deno task bench` does not run them.
 *
 * @module
 */
import { Crc64 } from "../../src/crc64.ts";
import { type Peer, type PeerFactory, readEach } from "../common.ts";
import bare, { regexKeys, signedFetch } from "./fetch.ts";

/** `res`'s body, checked against its Content-Length and CRC-64 headers; throws naming `key` on a mismatch. */
async function checkedBytes(key: string, res: Response): Promise<Uint8Array> {
  const bytes = await res.bytes();
  const length = res.headers.get("content-length");
  if (length !== null && Number(length) !== bytes.byteLength) {
    throw new Error(`${key}: ${bytes.byteLength} bytes, Content-Length says ${length}`);
  }
  const crc = res.headers.get("x-oss-hash-crc64ecma");
  if (crc === null) throw new Error(`${key}: no x-oss-hash-crc64ecma header`);
  const hasher = Crc64.createIfReady() ?? await Crc64.create();
  hasher.update(bytes);
  const got = hasher.digest();
  if (got !== crc) throw new Error(`${key}: CRC-64 ${got}, the server says ${crc}`);
  return bytes;
}

const create: PeerFactory = async (url, settings) => {
  const signed = signedFetch(url);
  const unchecked = await bare(url, settings);
  const peer: Peer = {
    notes:
      "the fetch loop plus an AbortSignal per GET and each body checked against its Content-Length and " +
      "CRC-64 (ossflow's WebAssembly)",
    readPrefix(prefix, concurrency) {
      const keys = regexKeys(prefix, async (q) => await (await signed("GET", undefined, q)).text());
      return readEach(keys, concurrency, async (key) => {
        const signal = new AbortController().signal;
        return await checkedBytes(key, await signed("GET", key, "", undefined, signal));
      });
    },
    listAll: unchecked.listAll,
    writeCheckpoint: unchecked.writeCheckpoint,
    readCheckpoint: unchecked.readCheckpoint,
  };
  return peer;
};
export default create;
