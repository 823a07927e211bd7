// crc64Tap: the CRC-64 of a stream's chunks as they pass, for uploads (the checkpoint writer's parts, a streamed
// PUT). The chunks must pass as they are, the digest must be the bytes' CRC-64 (checked against the CRC-64/XZ
// check value and the one-shot crc64), and a failing or cancelled stream must never leave a digest to trust.
import { expect } from "expect";
import { crc64, crc64Tap } from "../src/crc64.ts";

/** A stream of `chunks`, recording what it was cancelled with. */
function sourceOf(chunks: Uint8Array[], failWith?: Error) {
  const seen = { cancelled: undefined as unknown };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else if (failWith) c.error(failWith);
      else c.close();
    },
    cancel(reason) {
      seen.cancelled = reason;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("crc64Tap passes every chunk on as it is and digests the bytes' CRC-64", async () => {
  const check = crc64Tap(
    sourceOf([new TextEncoder().encode("12345"), new TextEncoder().encode("6789")]).stream,
  );
  await new Response(check.stream).arrayBuffer();
  expect(await check.digest).toEqual("11051210869376104954"); // CRC-64/XZ's check value

  const bytes = new Uint8Array(1 << 20);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  let seed = 11;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(bytes.length - at, seed % 70000); // empty chunks included
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  const tap = crc64Tap(sourceOf(chunks).stream);
  const passed: Uint8Array[] = [];
  for await (const c of tap.stream) passed.push(c);
  expect(passed.length).toBe(chunks.length);
  expect(passed.every((c, i) => c === chunks[i])).toBe(true); // the same views, not copies
  expect(await tap.digest).toEqual(await crc64(bytes));
});

Deno.test("crc64Tap's digest rejects when the source errors, and the reader gets the source's error", async () => {
  const failure = new Error("disk went away");
  const tap = crc64Tap(sourceOf([new Uint8Array(10)], failure).stream);
  await expect(new Response(tap.stream).arrayBuffer()).rejects.toThrow("disk went away");
  await expect(tap.digest).rejects.toBe(failure);
});

Deno.test("cancelling crc64Tap's stream cancels the source with the reason and rejects the digest", async () => {
  const src = sourceOf([new Uint8Array(10), new Uint8Array(10)]);
  const tap = crc64Tap(src.stream);
  const reader = tap.stream.getReader();
  await reader.read();
  const why = new Error("request aborted");
  await reader.cancel(why);
  expect(src.seen.cancelled).toBe(why);
  await expect(tap.digest).rejects.toBe(why);
});
