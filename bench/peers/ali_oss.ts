/**
 * `ali-oss` (the official OSS Node SDK) as its docs show it: one client with V4 signatures, its default
 * keep-alive agent (`agentkeepalive`) with `maxSockets` = the scenario's concurrency, `listV2` pages of 1,000,
 * `get` per object, `multipartUpload(name, filePath, { parallel, partSize })` for checkpoints, and ranged
 * `get`s (`Range` header) in a sliding window for reading them (the SDK has no parallel download).
 *
 * @module
 */
import OSS from "ali-oss";
import {
  BUCKET,
  CREDS,
  orderedRanges,
  type Peer,
  type PeerFactory,
  readEach,
  REGION,
  timeListing,
} from "../common.ts";

// deno-lint-ignore no-explicit-any
type Client = any;

const create: PeerFactory = (url, settings) => {
  const client: Client = new OSS({
    endpoint: url,
    region: `oss-${REGION}`,
    accessKeyId: CREDS.accessKeyId,
    accessKeySecret: CREDS.accessKeySecret,
    bucket: BUCKET,
    authorizationV4: true,
    timeout: 120_000,
    maxSockets: Math.max(settings.concurrency, settings.streamConcurrency),
  });

  async function* keys(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await client.listV2({ prefix, "max-keys": 1000, "continuation-token": token }, {});
      for (const o of page.objects ?? []) yield o.name;
      token = page.nextContinuationToken;
    } while (token);
  }

  const peer: Peer = {
    notes: "OSS client (authorizationV4, default agentkeepalive agent, maxSockets = concurrency): listV2 + " +
      "get; multipartUpload(file path, { parallel, partSize }); ranged get window for reads",
    readPrefix(prefix, concurrency) {
      return readEach(keys(prefix), concurrency, async (key) => (await client.get(key)).content);
    },
    listAll(prefix) {
      return timeListing(keys(prefix));
    },
    async writeCheckpoint(key, file, _size, partSize, concurrency) {
      await client.multipartUpload(key, file, { parallel: concurrency, partSize });
    },
    readCheckpoint(key, size, partSize, concurrency) {
      return orderedRanges(size, partSize, concurrency, async (start, end) => {
        const r = await client.get(key, { headers: { Range: `bytes=${start}-${end}` } });
        return r.content;
      });
    },
  };
  return Promise.resolve(peer);
};
export default create;
