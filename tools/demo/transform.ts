/**
 * The demo dataset's transform, given to `OssIterableDataset` as a module URL so that it runs inside the
 * prefetch Web Workers (next to the fetch, off the main thread): decodes the PNG with `fast-png` and returns
 * its size and mean pixel value — a stand-in for the decode / augment step of a training input pipeline.
 *
 * @module
 */
import { decode } from "fast-png";
import type { DataObject } from "../../src/dataset/item.ts";

/** What the transform yields per image. */
export interface ImageStats {
  key: string;
  label: string;
  /** Bytes of the PNG file. */
  size: number;
  width: number;
  height: number;
  channels: number;
  /** Mean of all channel values of the decoded pixels. */
  mean: number;
}

/**
 * Decodes `item`'s PNG and measures it.
 *
 * @example
 * ```ts ignore
 * import transform from "./transform.ts";
 * const stats = await transform(item); // { key, label, size, width, height, channels, mean }
 * ```
 */
export default async function transform(item: DataObject): Promise<ImageStats> {
  const bytes = await item.bytes();
  const png = decode(bytes);
  let sum = 0;
  for (let i = 0; i < png.data.length; i++) sum += png.data[i];
  return {
    key: item.key,
    label: item.label,
    size: bytes.byteLength,
    width: png.width,
    height: png.height,
    channels: png.channels,
    mean: sum / png.data.length,
  };
}
