/**
 * ossflow's WebAssembly CRC-64 (src/crc64_wasm/) against an independent reference written from the definition
 * in Python (tests/crc64_wasm_test.py) and against hash-wasm's CRC-64, which it replaced: every length 0..64,
 * lengths around the four-lane threshold and the module's 256 KiB buffer, random lengths to 70,000, unaligned
 * views, odd-sized updates, and hashers interleaved on the one shared instance.
 */
import { expect } from "expect";
import { createCRC64 } from "hash-wasm";
import { Crc64, crc64 } from "../src/crc64.ts";
import { WasmCrc64 } from "../src/crc64_wasm/hasher.ts";
import { randomBytes } from "./checkpoint_fixture.ts";

/** `n` seeded bytes starting `offset` bytes into their buffer (an unaligned view when offset > 0). */
function bytesOf(seed: number, n: number, offset = 0): Uint8Array {
  return randomBytes(n + offset, seed).subarray(offset);
}

/** Decimal CRC-64/XZ of each buffer, by the Python reference. */
async function reference(buffers: Uint8Array[]): Promise<string[]> {
  const total = buffers.reduce((n, b) => n + 4 + b.length, 0);
  const input = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    new DataView(input.buffer).setUint32(at, b.length, true);
    input.set(b, at + 4);
    at += 4 + b.length;
  }
  const child = new Deno.Command("/usr/bin/python3", {
    args: [new URL("./crc64_wasm_test.py", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  expect(out.success).toBe(true);
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

const hashWasm = await createCRC64("c96c5795d7870f42");
function byHashWasm(bytes: Uint8Array): string {
  hashWasm.init();
  hashWasm.update(bytes);
  return BigInt(`0x${hashWasm.digest("hex")}`).toString(10);
}

const LENGTHS = [
  ...Array.from({ length: 65 }, (_, i) => i),
  1016,
  1023,
  1024,
  1025,
  1031,
  1032,
  1033,
  4095,
  4096,
  4097,
  16384,
  262143,
  262144,
  262145,
  524288 + 13,
  ...Array.from({ length: 24 }, (_, i) => (i * 2654435761) % 70001),
];

Deno.test("the WebAssembly CRC-64 agrees with a reference written from the definition and with hash-wasm, at every tricky length and offset", async () => {
  const inputs = LENGTHS.map((n, i) => bytesOf(i + 1, n, i % 8));
  const expected = await reference(inputs);
  expect(expected.length).toBe(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const got = await crc64(inputs[i]);
    expect({ length: inputs[i].length, offset: i % 8, crc: got }).toEqual({
      length: inputs[i].length,
      offset: i % 8,
      crc: expected[i],
    });
    expect(byHashWasm(inputs[i])).toBe(expected[i]);
  }
});

Deno.test("updates of odd sizes, and hashers interleaved on the one instance, give the one-shot checksum", async () => {
  const data = [bytesOf(7, 700_001), bytesOf(8, 33_333, 3), bytesOf(9, 5)];
  const expected = await reference(data);
  const hashers = await Promise.all(data.map(() => Crc64.create()));
  const sizes = [1, 7, 8, 1023, 1025, 4096, 65536, 262145, 3];
  const at = data.map(() => 0);
  // Round-robin: every hasher's update runs between the others', each with its own register.
  for (let step = 0; at.some((a, i) => a < data[i].length); step++) {
    for (let i = 0; i < data.length; i++) {
      if (at[i] >= data[i].length) continue;
      const n = sizes[(step + i) % sizes.length];
      hashers[i].update(data[i].subarray(at[i], at[i] + n));
      at[i] += n;
    }
  }
  expect(hashers.map((h) => h.digest())).toEqual(expected);
});

Deno.test("a hasher starts over on init, and an empty input is the empty checksum", async () => {
  const h = await WasmCrc64.create();
  h.update(bytesOf(3, 5000));
  h.init();
  expect(h.digest("hex")).toBe("0000000000000000");
  h.update(new TextEncoder().encode("123456789"));
  expect(h.digest("hex")).toBe("995dc9bbdf1939fa");
});

Deno.test("the embedded module was built from the committed crc64.c (edit the C, then run tools/build_crc64_wasm.ts)", async () => {
  const { CRC64_SOURCE_SHA256 } = await import("../src/crc64_wasm/binary.ts");
  const source = await Deno.readFile(new URL("../src/crc64_wasm/crc64.c", import.meta.url));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
  expect(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")).toBe(CRC64_SOURCE_SHA256);
});
