// fileRangeStream: the byte ranges checkpoint parts are read from, read again on a retry. A consumer (fetch)
// may cancel the stream while a read is in flight: the late read must not be reported as the file's failure,
// which would fail the part instead of letting it be retried.
import { expect } from "expect";
import { fileRangeStream } from "../src/file_range.ts";

Deno.test("fileRangeStream cancelled while a read is in flight reports no error and closes the file", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array(1 << 20).fill(7));
  const errors: unknown[] = [];
  for (let i = 0; i < 20; i++) {
    const reader = fileRangeStream(path, 0, 1 << 20, { chunkSize: 65536, onError: (e) => errors.push(e) })
      .getReader();
    if (i % 2) await reader.read(); // the file open already, or not yet
    await new Promise((resolve) => setTimeout(resolve, 0)); // one turn: the stream has started
    const pending = reader.read(); // a pull in flight: opening the file, or reading it
    await reader.cancel(new Error("request reset"));
    expect((await pending).done).toBe(true);
  }
  await new Promise((resolve) => setTimeout(resolve, 0)); // the last read in flight lands
  expect(errors).toEqual([]);
  await Deno.remove(path);
});

Deno.test("fileRangeStream reads its range in chunks, and a file shorter than the range errors naming where it ended", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "0123456789");
  const chunks: string[] = [];
  for await (const c of fileRangeStream(path, 1, 8, { chunkSize: 3 })) {
    chunks.push(new TextDecoder().decode(c));
  }
  expect(chunks).toEqual(["123", "456", "7"]);
  const errors: unknown[] = [];
  const short = fileRangeStream(path, 6, 14, { chunkSize: 4, onError: (e) => errors.push(e) });
  await expect(new Response(short).text()).rejects.toThrow('file "' + path + '" ended at byte 10');
  expect(errors.length).toBe(1);
  await Deno.remove(path);
});
