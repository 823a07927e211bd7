/**
 * The `limit` client: a bare `fetch` loop against bench/limit_server.ts (a bare `Deno.serve` answering from
 * memory), with no signing, no checks and no retries — the most any client reaches in each scenario on this
 * machine, at the same concurrency, latency and bandwidth cap. Listing pages are picked apart with a regular
 * expression; checkpoint writes send `partSize` parts of the file, `concurrency` at a time (initiate and
 * complete calls included, so the round trips match a multipart upload), each part a stream of 64 KiB frames
 * read from the file as it is sent; checkpoint reads are ranged GETs in a sliding window. Bodies over 64 KiB are
 * read as a stream and counted, not gathered: `res.bytes()` of 4-8 MiB bodies (a gather and a copy each, and
 * large buffers for the collector) held this client to 439-776 MiB/s on checkpoint reads in a standalone probe
 * (102-235 in bench runs), where the same loop counting the stream read 1,102-1,241 MiB/s (2026-12-05).
 *
 * @module
 */
import {
  BUCKET,
  orderedRanges,
  type Peer,
  type PeerFactory,
  pool,
  readEach,
  timeListing,
} from "../common.ts";
import { regexKeys } from "./fetch.ts";
import { fileRangeStream } from "../../src/file_range.ts";
import { STREAM_SLICE } from "../../src/checkpoint/part_send.ts";

const create: PeerFactory = (url) => {
  const at = (key: string, query = "") => new URL(`/${BUCKET}/${key}${query}`, url);
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    if (!r.ok) throw new Error(`limit: HTTP ${r.status}: ${await r.text()}`);
    return r;
  };
  /** The body's length, read to the end: gathered when small (cheaper), counted as it streams when large. */
  const drain = async (res: Response): Promise<{ byteLength: number }> => {
    if (Number(res.headers.get("content-length") ?? Infinity) <= 64 * 1024) return await res.bytes();
    let byteLength = 0;
    for await (const chunk of res.body!) byteLength += chunk.byteLength;
    return { byteLength };
  };
  const keys = (prefix: string) => regexKeys(prefix, async (q) => await (await ok(fetch(at("", q)))).text());
  const peer: Peer = {
    notes: "bare fetch, unsigned, against a bare Deno.serve answering from memory (the scenario's limit)",
    readPrefix(prefix, concurrency) {
      return readEach(keys(prefix), concurrency, async (key) => await drain(await ok(fetch(at(key)))));
    },
    listAll(prefix) {
      return timeListing(keys(prefix));
    },
    async writeCheckpoint(key, file, size, partSize, concurrency) {
      await (await ok(fetch(at(key, "?uploads"), { method: "POST" }))).body?.cancel();
      const parts = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i);
      await pool(parts, concurrency, async (i) => {
        // Read as it is sent, in 64 KiB HTTP chunk frames, as ossflow's save(uri, { path }) reads.
        const body = fileRangeStream(file, i * partSize, Math.min(size, (i + 1) * partSize), {
          chunkSize: STREAM_SLICE,
        });
        const res = await ok(fetch(at(key, `?partNumber=${i + 1}&uploadId=limit`), {
          method: "PUT",
          body,
          duplex: "half",
        } as RequestInit));
        await res.body?.cancel();
      });
      await (await ok(fetch(at(key, "?uploadId=limit"), { method: "POST", body: "<Complete/>" }))).body
        ?.cancel();
    },
    readCheckpoint(key, size, partSize, concurrency) {
      return orderedRanges(
        size,
        partSize,
        concurrency,
        async (start, end) =>
          await drain(await ok(fetch(at(key), { headers: { range: `bytes=${start}-${end}` } }))),
      );
    },
  };
  return Promise.resolve(peer);
};
export default create;
