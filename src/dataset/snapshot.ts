/**
 * Listing snapshots: a dataset's references written as a JSON-lines manifest (`source`, `size`, `etag`,
 * `label` per line), which `fromManifestFile` reads back without listing, sizes and ETags included.
 *
 * @module
 */
import type { OssClient } from "../client.ts";
import { OssCheckpointWriter } from "../checkpoint/writer.ts";
import { ConfigError } from "../errors.ts";
import { formatUri, parseUri } from "../uri.ts";
import type { ObjectRef } from "./item.ts";

/** What {@linkcode writeSnapshot} wrote. */
export interface SnapshotResult {
  /** Where the manifest is. */
  uri: string;
  /** Lines written: one per object. */
  objects: number;
}

/**
 * One manifest line for a reference: `{"source":"oss://data/k","size":…,"etag":"…","label":"…"}` (size, etag and
 * label only when known).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { snapshotLine } from "./snapshot.ts";
 * expect(snapshotLine({ scheme: "oss", bucket: "data", key: "a.jpg", size: 3, etag: '"e"', label: "" }))
 *   .toEqual('{"source":"oss://data/a.jpg","size":3,"etag":"\\"e\\""}');
 * ```
 */
export function snapshotLine(ref: ObjectRef): string {
  const line: Record<string, unknown> = {
    source: formatUri({ scheme: ref.scheme ?? "oss", bucket: ref.bucket, key: ref.key }),
  };
  if (ref.size !== undefined) line.size = ref.size;
  if (ref.etag !== undefined) line.etag = ref.etag;
  if (ref.label) line.label = ref.label;
  return JSON.stringify(line);
}

/**
 * Writes `refs` to `uri` as a JSON-lines manifest through the checkpoint writer: streamed in parts, CRC-64
 * checked, and invisible until complete (a failed write leaves any previous snapshot as it was).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { writeSnapshot } from "./snapshot.ts";
 * const server = await serveEmulator({ buckets: ["data"] });
 * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
 * const refs = [{ scheme: "oss" as const, bucket: "data", key: "a.jpg", size: 1, etag: '"x"', label: "" }];
 * expect(await writeSnapshot(client, "oss://data/lists/train.jsonl", refs)).toEqual({ uri: "oss://data/lists/train.jsonl", objects: 1 });
 * expect(new TextDecoder().decode((await client.getBytes("data", "lists/train.jsonl")).bytes))
 *   .toEqual('{"source":"oss://data/a.jpg","size":1,"etag":"\\"x\\""}\n');
 * await server.close();
 * ```
 */
export async function writeSnapshot(
  client: OssClient,
  uri: string,
  refs: AsyncIterable<ObjectRef> | Iterable<ObjectRef>,
  signal?: AbortSignal,
): Promise<SnapshotResult> {
  let target: ReturnType<typeof parseUri>;
  try {
    target = parseUri(uri);
  } catch (err) {
    throw new ConfigError(`snapshot: ${(err as Error).message}`, { cause: err });
  }
  const writer = new OssCheckpointWriter({ client, bucket: target.bucket, key: target.key, signal, uri });
  const w = writer.getWriter();
  const enc = new TextEncoder();
  let objects = 0, batch: string[] = [];
  try {
    for await (const ref of refs) {
      batch.push(snapshotLine(ref));
      objects++;
      if (batch.length === 4096) {
        await w.write(enc.encode(batch.join("\n") + "\n"));
        batch = [];
      }
    }
    if (batch.length > 0) await w.write(enc.encode(batch.join("\n") + "\n"));
    await w.close();
  } catch (err) {
    await w.abort(err).catch(() => {});
    throw err;
  }
  return { uri, objects };
}
