/**
 * One tar archive as a dataset of its members (osstorchconnector's `from_tar`): with an index, each member is a
 * reference fetched by a ranged GET pinned to the archive's ETag (`OssMapDataset.fromTar`, and
 * `OssIterableDataset.fromTar` with an index); without one, the archive is streamed with one GET and each member
 * becomes an item as it is parsed. {@linkcode buildTarIndex} makes the index.
 *
 * @module
 */
import { OssCheckpointWriter } from "../checkpoint/writer.ts";
import { OssClient } from "../client.ts";
import { IntegrityError } from "../errors.ts";
import { formatTarIndex, parseTarIndex, type TarIndex } from "../tar/index_format.ts";
import { readTar } from "../tar/reader.ts";
import { parseUri } from "../uri.ts";
import { DataObject, type ObjectRef, TransformError } from "./item.ts";
import { type DatasetOptions, resolveDatasetOptions } from "./options.ts";
import type { CustomPass } from "./shard_dataset.ts";
import { dealStream } from "./shard.ts";
import type { DatasetClient, DatasetSource } from "./sources.ts";
import { defaultIndexUri, type TarWriteOptions } from "./tar_write.ts";

/** Reads and parses the index at `indexUri`. */
export async function readTarIndex(
  client: DatasetClient,
  indexUri: string,
  signal?: AbortSignal,
): Promise<TarIndex> {
  const u = parseUri(indexUri);
  const res = await client.get(u.bucket, u.key, { signal });
  return parseTarIndex(await new Response(res.body).text(), indexUri);
}

/**
 * Reads the archive at `tarUri` with one GET (bodies skipped, CRC-64 checked at the end) and writes its index to
 * `indexUri` (default: beside it, `.idx` appended) through the checkpoint writer; resolves with the index.
 *
 * @throws {TarError} naming the archive and the byte when it is truncated or corrupt (no index is written).
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { buildTarIndex } from "./tar_source.ts";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { packTar } from "modern-tar";
 * const server = await serveEmulator({ buckets: ["demo"] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * await client.put("demo", "a.tar", await packTar([{ header: { name: "0001.txt", size: 2 }, body: "hi" }]));
 * const index = await buildTarIndex("oss://demo/a.tar", undefined, { client });
 * expect(index.entries).toEqual([{ name: "0001.txt", offset: 512, size: 2 }]);
 * expect((await client.getBytes("demo", "a.tar.idx")).bytes.length > 0).toBe(true);
 * await server.close();
 * ```
 */
export async function buildTarIndex(
  tarUri: string,
  indexUri: string = defaultIndexUri(tarUri),
  opts: Omit<TarWriteOptions, "index"> = {},
): Promise<TarIndex> {
  const o = await resolveDatasetOptions({ ...opts });
  const client = o.client as OssClient;
  const u = parseUri(tarUri);
  const res = await client.get(u.bucket, u.key, { signal: opts.signal });
  const index: TarIndex = { size: res.size, etag: res.etag, entries: [] };
  for await (const m of readTar(res.body, { uri: tarUri, bytes: false })) {
    if (m.type === "file") index.entries.push({ name: m.name, offset: m.dataOffset, size: m.size });
  }
  const iu = parseUri(indexUri);
  const writer = new OssCheckpointWriter({
    client,
    bucket: iu.bucket,
    key: iu.key,
    retry: opts.retry,
    signal: opts.signal,
  });
  await new Blob([formatTarIndex(index)]).stream().pipeTo(writer);
  return index;
}

/**
 * The members of an indexed archive as references: each names the archive (bucket, key, ETag from the index,
 * else from a HEAD of the archive, which must then match the index's size) and the member's place in it.
 */
export function tarIndexSource(tarUri: string, indexUri: string = defaultIndexUri(tarUri)): DatasetSource {
  const u = parseUri(tarUri);
  return {
    kind: "tar",
    description: tarUri,
    async *refs(client, signal) {
      const index = await readTarIndex(client, indexUri, signal);
      let etag = index.etag;
      if (etag === undefined && client instanceof OssClient) {
        const head = await client.head(u.bucket, u.key, { signal });
        if (index.size !== undefined && head.size !== index.size) {
          throw new IntegrityError(
            `tar ${tarUri}: the index ${indexUri} is for an archive of ${index.size} bytes, the archive has ${head.size}`,
            { key: u.key, expected: String(index.size), actual: String(head.size) },
          );
        }
        etag = head.etag;
      }
      for (const e of index.entries) {
        yield {
          scheme: u.scheme,
          bucket: u.bucket,
          key: u.key,
          etag,
          size: e.size,
          label: "",
          member: { name: e.name, offset: e.offset, size: e.size },
        };
      }
    },
  };
}

/**
 * Fetches one member of an archive (a reference with `member`) with a ranged GET pinned to the archive's ETag
 * (`If-Match`), and checks its length.
 *
 * @throws {IntegrityError} when the archive changed (the ETag no longer matches) or the length differs.
 */
export async function loadMember(
  client: DatasetClient,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<DataObject> {
  const m = ref.member!;
  const uri = `${ref.scheme ?? "oss"}://${ref.bucket}/${ref.key}#${m.name}`;
  let bytes = new Uint8Array(0);
  if (m.size > 0) {
    const range = { start: m.offset, end: m.offset + m.size - 1 };
    const c = client as OssClient;
    try {
      bytes =
        (await c.getBytes(ref.bucket, ref.key, { range, ifMatch: ref.etag || undefined, signal })).bytes;
    } catch (e) {
      if ((e as { status?: number }).status === 412) {
        throw new IntegrityError(
          `${uri}: the archive changed since its index was made (ETag is no longer ${ref.etag})`,
          {
            key: ref.key,
            cause: e,
          },
        );
      }
      throw e;
    }
    if (bytes.byteLength !== m.size) {
      throw new IntegrityError(`${uri}: got ${bytes.byteLength} bytes, the index says ${m.size}`, {
        key: ref.key,
        expected: String(m.size),
        actual: String(bytes.byteLength),
      });
    }
  }
  return new DataObject({ scheme: ref.scheme, bucket: ref.bucket, key: m.name, uri, etag: ref.etag, bytes });
}

/**
 * The pass of `OssIterableDataset.fromTar` without an index: one GET of the archive, each regular file an item as
 * it is parsed, dealt to this rank (each rank reads the whole archive; give an index to read only your members).
 * A resumed pass reads the archive again from its start and passes over the members delivered before.
 */
export function tarStreamPass<R>(tarUri: string, opts: DatasetOptions<R>): CustomPass<R> {
  const u = parseUri(tarUri);
  return {
    kind: "tar-stream",
    description: tarUri,
    options: opts,
    async *run(o, epoch, signal, onSkip, track) {
      const client = o.client as DatasetClient;
      const res = await client.get(u.bucket, u.key, { signal });
      async function* objects() {
        for await (const m of readTar(res.body, { uri: tarUri })) {
          if (m.type !== "file") continue;
          const uri = `${tarUri}#${m.name}`;
          yield new DataObject({
            scheme: u.scheme,
            bucket: u.bucket,
            key: m.name,
            uri,
            etag: res.etag,
            bytes: m.bytes,
          });
        }
      }
      const deal = { ...o.shard, evenShards: o.evenShards, seed: o.shuffle?.seed, epoch };
      let passed = 0;
      for await (const item of dealStream(objects(), deal)) {
        // A resumed pass reads the archive again and passes over the members it delivered.
        if (passed++ < track.from.position) continue;
        track.position++;
        if (!o.transform) {
          yield item as R;
          continue;
        }
        let value: R;
        try {
          value = await o.transform(item);
        } catch (e) {
          if (o.onTransformError !== "skip") throw new TransformError(item, e);
          onSkip();
          o.logger.warn("transform failed, item skipped", { uri: item.uri, error: e });
          continue;
        }
        yield value;
      }
    },
  };
}
