/**
 * The `limit` client: a bare `fetch` loop against bench/limit_server.ts (a bare `Deno.serve` answering from
 * memory), with no signing, no checks and no retries — the most any client reaches in each scenario on this
 * machine, at the same concurrency, latency and bandwidth cap. Listing pages are picked apart with a regular
 * expression; checkpoint writes send `partSize` parts of the file, `concurrency` at a time (initiate and
 * complete calls included, so the round trips match a multipart upload), each part a stream of 64 KiB frames
 * read from the file as it is sent; checkpoint reads are ranged GETs in a sliding window.
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

/** Bytes of one HTTP chunk's payload such that chunk and frame make exactly 64 KiB (what ossflow sends too). */
const FRAME = 65536 - 8;

/** `length` bytes of `file` from `offset`, read as the stream is pulled, in frames of {@linkcode FRAME}. */
function fileRange(file: Deno.FsFile, offset: number, length: number): ReadableStream<Uint8Array> {
  let pos = offset;
  const end = offset + length;
  return new ReadableStream({
    async pull(controller) {
      if (pos >= end) {
        controller.close();
        return;
      }
      const buf = new Uint8Array(Math.min(FRAME, end - pos));
      await file.seek(pos, Deno.SeekMode.Start);
      let n = 0;
      while (n < buf.length) {
        const r = await file.read(buf.subarray(n));
        if (r === null) throw new Error(`file ended at ${pos + n}, expected ${end} bytes`);
        n += r;
      }
      pos += n;
      controller.enqueue(buf);
    },
  }, { highWaterMark: 0 });
}

const create: PeerFactory = (url) => {
  const at = (key: string, query = "") => new URL(`/${BUCKET}/${key}${query}`, url);
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    if (!r.ok) throw new Error(`limit: HTTP ${r.status}: ${await r.text()}`);
    return r;
  };
  const keys = (prefix: string) => regexKeys(prefix, async (q) => await (await ok(fetch(at("", q)))).text());
  const peer: Peer = {
    notes: "bare fetch, unsigned, against a bare Deno.serve answering from memory (the scenario's limit)",
    readPrefix(prefix, concurrency) {
      return readEach(keys(prefix), concurrency, async (key) => await (await ok(fetch(at(key)))).bytes());
    },
    listAll(prefix) {
      return timeListing(keys(prefix));
    },
    async writeCheckpoint(key, file, size, partSize, concurrency) {
      await (await ok(fetch(at(key, "?uploads"), { method: "POST" }))).body?.cancel();
      const parts = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i);
      await pool(parts, concurrency, async (i) => {
        using f = await Deno.open(file);
        const body = fileRange(f, i * partSize, Math.min(partSize, size - i * partSize));
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
          await (await ok(fetch(at(key), { headers: { range: `bytes=${start}-${end}` } }))).bytes(),
      );
    },
  };
  return Promise.resolve(peer);
};
export default create;
