/**
 * ossflow as users are told to use it: `OssIterableDataset.fromPrefix` for scenarios 1 and 2 (prefetch
 * concurrency as given, completion order like the peers' pools), `listFast` for listing (16 key ranges at once,
 * what `enableFastList` does for a dataset), and `OssCheckpoint` for checkpoints: `checkpoint.save(uri, { path })`,
 * each part read from the file as it is sent (like ali-oss's `multipartUpload(name, filePath)`), or with
 * `--ossflow-write-stream 1` `checkpoint.save(uri, file.readable)`, which reads the file straight into part
 * buffers; the reader.
 *
 * @module
 */
import { OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { OssClient } from "../../src/client.ts";
import { listFast } from "../../src/fast_list.ts";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { BUCKET, CREDS, type Peer, type PeerFactory, REGION, timeListing } from "../common.ts";

const create: PeerFactory = (url, settings) => {
  const client = new OssClient({ endpoint: url, region: REGION, credentials: CREDS });
  const workers = settings.ossflowWorkers;
  const fromStream = settings.ossflowWriteStream === 1;
  const peer: Peer = {
    notes: `OssIterableDataset.fromPrefix (prefetchWorker ${workers}, ordered: false), ` +
      `listFast (16 ranges, pages of 1000), OssCheckpoint.save(uri, ${
        fromStream ? "file.readable" : "{ path }"
      }) / reader (partSize, uploadConcurrency = prefetchConcurrency = the scenario's)`,
    async readPrefix(prefix, concurrency) {
      const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/${prefix}`, {
        endpoint: url,
        region: REGION,
        credentials: CREDS,
        prefetchConcurrency: concurrency,
        prefetchWorker: workers,
        ordered: false,
      });
      let objects = 0, bytes = 0;
      for await (const item of ds) {
        bytes += (await item.bytes()).byteLength;
        objects++;
      }
      return { objects, bytes };
    },
    listAll(prefix) {
      // 1,000 keys a page, like every peer here; 16 key ranges at once (`bench:listing` compares one listing).
      return timeListing(listFast(client, BUCKET, { prefix, concurrency: 16 }));
    },
    async writeCheckpoint(key, file, size, partSize, concurrency) {
      const ckpt = new OssCheckpoint({
        endpoint: url,
        region: REGION,
        credentials: CREDS,
        partSize,
        uploadConcurrency: concurrency,
      });
      if (!fromStream) return void await ckpt.save(`oss://${BUCKET}/${key}`, { path: file });
      const f = await Deno.open(file); // its readable closes it
      await ckpt.save(`oss://${BUCKET}/${key}`, f.readable, { sizeHint: size });
    },
    async readCheckpoint(key, _size, partSize, concurrency) {
      const ckpt = new OssCheckpoint({
        endpoint: url,
        region: REGION,
        credentials: CREDS,
        partSize,
        prefetchConcurrency: concurrency,
      });
      let n = 0;
      for await (const chunk of ckpt.reader(`oss://${BUCKET}/${key}`)) n += chunk.byteLength;
      return n;
    },
  };
  return Promise.resolve(peer);
};
export default create;
