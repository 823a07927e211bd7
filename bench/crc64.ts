/**
 * CRC-64/XZ speed: ossflow's WebAssembly (src/crc64_wasm/), hash-wasm's (which it replaced) and the JavaScript
 * fallback (src/crc64_js.ts), on 16 KiB (a small object) and 8 MiB (a checkpoint part) buffers; MB/s, the
 * median (min–max) of `--reps` timed runs of about `--mb` MB each, in one process.
 *
 *   deno task bench:crc64 [--reps 5] [--mb 512]
 *
 * @module
 */
import { createCRC64 } from "hash-wasm";
import { WasmCrc64 } from "../src/crc64_wasm/hasher.ts";
import { Crc64Js } from "../src/crc64_js.ts";
import { spread } from "./common.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const reps = flag("reps", 5);
const mb = flag("mb", 512);

interface Hasher {
  init(): unknown;
  update(b: Uint8Array): unknown;
  digest(f: "hex"): string;
}
const hashers: [string, Hasher, number][] = [
  ["ossflow wasm", await WasmCrc64.create(), 1],
  ["hash-wasm", await createCRC64("c96c5795d7870f42"), 1],
  ["js fallback", new Crc64Js(), 0.1], // a tenth of the bytes: it is that much slower
];

for (const size of [16 * 1024, 8 * 1024 * 1024]) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const digests = new Set<string>();
  for (const [name, h, share] of hashers) {
    const calls = Math.max(1, Math.round((mb * 1e6 * share) / size));
    const runs: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) {
        h.init();
        h.update(data);
        h.digest("hex");
      }
      const s = (performance.now() - t0) / 1000;
      if (r > 0) runs.push((calls * size) / 1e6 / s); // the first run warms up
    }
    h.init();
    h.update(data);
    digests.add(h.digest("hex"));
    const { median, min, max } = spread(runs);
    console.log(
      `${String(size / 1024).padStart(5)} KiB  ${name.padEnd(13)} ${median.toFixed(0).padStart(5)} MB/s ` +
        `(${min.toFixed(0)}–${max.toFixed(0)})`,
    );
  }
  if (digests.size !== 1) throw new Error(`the hashers disagree on ${size} bytes: ${[...digests]}`);
}
