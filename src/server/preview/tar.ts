/**
 * The preview app's view of a tar shard: its first WebDataset samples (members grouped by key, the path up to
 * the first dot of the file name), read from the head of the archive with one ranged GET. Images come as data
 * URLs, text and JSON as their decoded heads, anything else as a hex head.
 *
 * @module
 */
import type { OssClient } from "../../client.ts";
import { TarError } from "../../tar/error.ts";
import { readTar } from "../../tar/reader.ts";
import { memberKey } from "../../dataset/shard_samples.ts";
import { classify, hexHead, textPreview } from "./content.ts";
import { jsonResponse } from "./http.ts";

/** Bytes of the archive the preview reads: enough for the first samples of a shard of small files. */
const TAR_HEAD_BYTES = 1024 * 1024;
/** Samples shown. */
const MAX_SAMPLES = 8;
/** Text shown of a member, bytes. */
const MEMBER_TEXT_BYTES = 2048;
/** Largest image sent inline. */
const MAX_INLINE_IMAGE = 256 * 1024;

/** One member of a previewed sample. */
export interface TarMemberPreview {
  /** The extension after the sample key (`jpg`, `cls`, `seg.png`). */
  ext: string;
  /** The member's size in bytes. */
  size: number;
  /** How it is shown. */
  kind: "image" | "jsonl" | "json" | "text" | "binary";
  /** An image as a `data:` URL (at most 256 KiB). */
  image?: string;
  /** The decoded head of a text member. */
  text?: string;
  /** The hex head of a binary member (or of an image too large to inline). */
  hex?: string;
}

/** The JSON body of a tar shard's preview. */
export interface TarPreview {
  kind: "tar";
  key: string;
  /** The first samples, in archive order. */
  samples: { key: string; members: TarMemberPreview[] }[];
  /** Members with no sample key (no dot in the file name), by name. */
  others: string[];
  /** Whether the archive goes on past what was read (or past the samples shown). */
  truncated: boolean;
}

/**
 * Whether the preview shows `key` as a tar shard.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isTarKey } from "./tar.ts";
 * expect([isTarKey("train/shard-000001.tar"), isTarKey("a.tar.idx")]).toEqual([true, false]);
 * ```
 */
export function isTarKey(key: string): boolean {
  return key.endsWith(".tar");
}

/** base64 of `bytes` (btoa over a binary string, in slices). */
function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** How one member is shown. */
export function memberPreview(name: string, ext: string, bytes: Uint8Array): TarMemberPreview {
  const head = bytes.subarray(0, MEMBER_TEXT_BYTES);
  const { kind, contentType } = classify(name, undefined, head);
  const out: TarMemberPreview = { ext, size: bytes.length, kind };
  if (kind === "image" && bytes.length <= MAX_INLINE_IMAGE) {
    out.image = `data:${contentType};base64,${base64(bytes)}`;
  } else if (kind === "image" || kind === "binary") out.hex = hexHead(bytes.subarray(0, 64));
  else out.text = textPreview(head, "text", bytes.length > head.length).text;
  return out;
}

/**
 * Reads the head of the tar shard `key` and answers its first samples as {@linkcode TarPreview} JSON. A head
 * that ends inside a member shows the samples before it; a corrupt archive is a 422 naming the byte.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { packTar } from "modern-tar";
 * import { OssClient } from "../../client.ts";
 * import { serveEmulator } from "../emulator.ts";
 * import { previewTar } from "./tar.ts";
 * const server = await serveEmulator({ buckets: ["data"] });
 * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
 * await client.put("data", "s.tar", await packTar([{ header: { name: "0001.txt", size: 2 }, body: "hi" }]));
 * const body = await (await previewTar(client, "data", "s.tar")).json();
 * expect(body.samples).toEqual([{ key: "0001", members: [{ ext: "txt", size: 2, kind: "text", text: "hi" }] }]);
 * await server.close();
 * ```
 */
export async function previewTar(client: OssClient, bucket: string, key: string): Promise<Response> {
  const got = await client.getBytes(bucket, key, { range: { start: 0, end: TAR_HEAD_BYTES - 1 } });
  const head = got.bytes;
  const uri = `oss://${bucket}/${key}`;
  const samples: TarPreview["samples"] = [];
  const others: string[] = [];
  let truncated = head.length >= TAR_HEAD_BYTES;
  try {
    for await (const m of readTar(new Blob([head]).stream(), { uri })) {
      if (m.bytes === undefined) continue; // directories, links
      const mk = memberKey(m.name);
      if (mk === undefined) {
        others.push(m.name);
        continue;
      }
      let sample = samples.at(-1);
      if (sample?.key !== mk.key) {
        if (samples.length === MAX_SAMPLES) {
          truncated = true;
          break;
        }
        sample = { key: mk.key, members: [] };
        samples.push(sample);
      }
      sample.members.push(memberPreview(m.name, mk.ext, m.bytes));
    }
  } catch (err) {
    // The head ends inside a member: what came before it is shown. Anything else is the archive's fault.
    if (!(err instanceof TarError) || !truncated) {
      const offset = err instanceof TarError ? err.offset : 0;
      return jsonResponse({ error: (err as Error).message, code: "TarError", key, offset }, 422);
    }
  }
  const body: TarPreview = { kind: "tar", key, samples, others, truncated };
  return jsonResponse(body);
}
