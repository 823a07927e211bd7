// The plain-JavaScript CRC-64/XZ (the fallback for runtimes that forbid compiling WebAssembly, such as
// Cloudflare workerd) against hash-wasm's WebAssembly one, and the automatic switch to it.
import { expect } from "expect";
import { createCRC64 } from "hash-wasm";
import { crc64, crc64Implementation, Crc64Stream } from "../src/crc64.ts";
import { Crc64Js } from "../src/crc64_js.ts";
import { mulberry32 } from "../src/server/faults.ts";

const CHECK = "995dc9bbdf1939fa"; // CRC-64/XZ of "123456789" (the catalogue's check value)

Deno.test("crc64 js: the check value of CRC-64/XZ", () => {
  expect(new Crc64Js().update(new TextEncoder().encode("123456789")).digest("hex")).toBe(CHECK);
  expect(new Crc64Js().digest("hex")).toBe("0000000000000000");
});

Deno.test("crc64 js: equals hash-wasm on random data, lengths and chunkings", async () => {
  const rand = mulberry32(20261125);
  const wasm = await createCRC64("c96c5795d7870f42");
  const js = new Crc64Js();
  for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 255, 4096, 65_537, 1_000_003]) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(rand() * 256);
    wasm.init();
    js.init();
    // Random chunk boundaries exercise the 8-byte loop, the byte tail and state carried between updates.
    for (let at = 0; at < length;) {
      const end = Math.min(length, at + 1 + Math.floor(rand() * 3000));
      wasm.update(bytes.subarray(at, end));
      js.update(bytes.subarray(at, end));
      at = end;
    }
    expect([length, js.digest("hex")]).toEqual([length, wasm.digest("hex")]);
    expect(BigInt(`0x${js.digest("hex")}`).toString(10)).toBe(await crc64(bytes));
  }
});

Deno.test("crc64: falls back to JavaScript when WebAssembly cannot be compiled", async () => {
  // A fresh process whose WebAssembly refuses to compile, as Cloudflare workerd's does.
  const script = `
    const refuse = () => Promise.reject(new WebAssembly.CompileError("Wasm code generation disallowed by embedder"));
    WebAssembly.compile = refuse;
    WebAssembly.instantiate = refuse;
    const { crc64, crc64Implementation, Crc64Stream } = await import(${
    JSON.stringify(new URL("../src/crc64.ts", import.meta.url).href)
  });
    const stream = new Crc64Stream();
    await new Blob(["123456789"]).stream().pipeThrough(stream).pipeTo(new WritableStream());
    console.log(JSON.stringify([await crc64Implementation(), await crc64(new TextEncoder().encode("123456789")), await stream.digest]));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  expect([out.code, stderr]).toEqual([0, ""]);
  const decimal = BigInt(`0x${CHECK}`).toString(10);
  expect(JSON.parse(new TextDecoder().decode(out.stdout))).toEqual(["js", decimal, decimal]);
  // This process can compile WebAssembly, so it uses hash-wasm.
  expect(await crc64Implementation()).toBe("wasm");
  const stream = new Crc64Stream();
  await new Blob(["123456789"]).stream().pipeThrough(stream).pipeTo(new WritableStream());
  expect(await stream.digest).toBe(decimal);
});
