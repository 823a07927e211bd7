/**
 * The demo's dataset: small RGB images of labelled shapes on a noisy gradient, encoded as real PNG files by
 * `fast-png`, made from a seed (same index, same image), each with the mean pixel value the transform must find.
 *
 * @module
 */
import { encode } from "fast-png";

/** The classes, one shape each. */
export const LABELS = ["circle", "square", "triangle", "ring", "cross"] as const;

/** One generated image. */
export interface DemoImage {
  /** Key under the dataset prefix, e.g. `images/00042.png`. */
  name: string;
  /** Its class. */
  label: (typeof LABELS)[number];
  /** The PNG file. */
  png: Uint8Array;
  /** Mean of all channel values (0..255) of the decoded pixels: what the transform must compute. */
  mean: number;
}

/** A small xorshift generator: deterministic images without a global random state. */
function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function inside(label: DemoImage["label"], dx: number, dy: number, r: number): boolean {
  switch (label) {
    case "circle":
      return dx * dx + dy * dy <= r * r;
    case "square":
      return Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8;
    case "triangle":
      return dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= (dy + r) / 2;
    case "ring": {
      const d = dx * dx + dy * dy;
      return d <= r * r && d >= (r * 0.6) ** 2;
    }
    case "cross":
      return (Math.abs(dx) <= r * 0.25 && Math.abs(dy) <= r) ||
        (Math.abs(dy) <= r * 0.25 && Math.abs(dx) <= r);
  }
}

/**
 * Image number `index` (`size`×`size` RGB, 8 bits per channel) as a PNG.
 *
 * @example
 * ```ts
 * import { makeImage } from "./images.ts";
 * const img = makeImage(7, 32);
 * console.log(img.name, img.label, img.png.length > 0); // "images/00007.png" "square" true
 * ```
 */
export function makeImage(index: number, size: number): DemoImage {
  const label = LABELS[index % LABELS.length];
  const rand = rng(index + 1);
  const fg = [rand() * 255, rand() * 255, rand() * 255];
  const cx = size * (0.35 + rand() * 0.3), cy = size * (0.35 + rand() * 0.3);
  const r = size * (0.2 + rand() * 0.12);
  const data = new Uint8Array(size * size * 3);
  let sum = 0;
  for (let y = 0, i = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const on = inside(label, x - cx, y - cy, r);
      for (let c = 0; c < 3; c++, i++) {
        const bg = 40 + (160 * (c === 0 ? x : c === 1 ? y : x + y)) / (c === 2 ? 2 * size : size);
        const v = Math.max(0, Math.min(255, Math.round((on ? fg[c] : bg) + (rand() - 0.5) * 24)));
        data[i] = v;
        sum += v;
      }
    }
  }
  return {
    name: `images/${String(index).padStart(5, "0")}.png`,
    label,
    png: encode({ width: size, height: size, data, channels: 3, depth: 8 }),
    mean: sum / data.length,
  };
}
