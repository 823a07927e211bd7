/**
 * `@aws-sdk/client-s3` v3 as AWS documents it for throughput: one `S3Client` (path style for the local
 * endpoint) with a `NodeHttpHandler` over a keep-alive `http.Agent` whose `maxSockets` is the scenario's
 * concurrency; `paginateListObjectsV2` (pages of 1,000) and `GetObject` per object; `@aws-sdk/lib-storage`
 * `Upload` with `queueSize` = concurrency and `partSize` for checkpoints; ranged `GetObject`s in a sliding window
 * for reading them ("byte-range fetches", AWS's performance guideline; the SDK has no download manager).
 * Checksum settings are the SDK's defaults (CRC32 of uploads, validation of downloads that carry one).
 *
 * @module
 */
import http from "node:http";
import { createReadStream } from "node:fs";
import { GetObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NodeHttpHandler } from "@smithy/node-http-handler";
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

const create: PeerFactory = (url, settings) => {
  const maxSockets = Math.max(settings.concurrency, settings.streamConcurrency);
  const client = new S3Client({
    endpoint: url,
    forcePathStyle: true,
    region: REGION,
    credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.accessKeySecret },
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      requestTimeout: 120_000,
    }),
  });

  async function* keys(prefix: string): AsyncGenerator<string> {
    for await (
      const page of paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: BUCKET, Prefix: prefix })
    ) {
      for (const o of page.Contents ?? []) yield o.Key!;
    }
  }

  const getBytes = async (key: string, range?: string) => {
    const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return await r.Body!.transformToByteArray();
  };

  const peer: Peer = {
    notes: "S3Client (forcePathStyle, NodeHttpHandler + keep-alive http.Agent, maxSockets = concurrency): " +
      "paginateListObjectsV2 + GetObject; lib-storage Upload { queueSize, partSize }; ranged GetObject window",
    readPrefix(prefix, concurrency) {
      return readEach(keys(prefix), concurrency, getBytes);
    },
    listAll(prefix) {
      return timeListing(keys(prefix));
    },
    async writeCheckpoint(key, file, _size, partSize, concurrency) {
      const upload = new Upload({
        client,
        params: { Bucket: BUCKET, Key: key, Body: createReadStream(file) },
        queueSize: concurrency,
        partSize,
        leavePartsOnError: false,
      });
      await upload.done();
    },
    readCheckpoint(key, size, partSize, concurrency) {
      return orderedRanges(
        size,
        partSize,
        concurrency,
        (start, end) => getBytes(key, `bytes=${start}-${end}`),
      );
    },
  };
  return Promise.resolve(peer);
};
export default create;
