import { expect } from "expect";
import {
  detectManifestFormat,
  indexParser,
  jsonLinesParser,
  keyLabelParser,
  LineSplitStream,
  LineTooLongError,
  ManifestError,
  openManifest,
  readManifest,
} from "../src/dataset/manifest.ts";

const enc = new TextEncoder();
/** A byte stream delivered in awkward chunk sizes, to exercise line and UTF-8 boundaries. */
function chunked(text: string, size = 7): ReadableStream<Uint8Array> {
  const bytes = enc.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

Deno.test("LineSplitStream splits across chunk boundaries and drops \\r of CRLF", async () => {
  const lines = await Array.fromAsync(
    ReadableStream.from(["a\nb", "c\r", "\nd\n\ne"]).pipeThrough(new LineSplitStream()),
  );
  expect(lines).toEqual(["a", "bc", "d", "", "e"]);
});

Deno.test("the JSON-lines format reads data.source and an optional label", async () => {
  const text = [
    '{"data": {"source": "oss://bkt/img/1.jpg", "label": "cat"}}',
    '{"data": {"source": "oss://bkt/img/2.jpg"}}',
    '{"data": {"source": "img/3.jpg"}, "label": 7}',
    "",
  ].join("\n");
  const got = await Array.fromAsync(readManifest(chunked(text)));
  expect(got).toEqual([
    { path: "oss://bkt/img/1.jpg", label: "cat", lineNumber: 1 },
    { path: "oss://bkt/img/2.jpg", label: "", lineNumber: 2 },
    { path: "img/3.jpg", label: "7", lineNumber: 3 },
  ]);
});

Deno.test("the index format reads path:label,path:label with labels after the last colon", async () => {
  const got = await Array.fromAsync(readManifest(chunked("a/1.png:l1,a/2.png:l2,\noss://b/c/3.png:l3\n")));
  expect(got.map((e) => [e.path, e.label, e.lineNumber])).toEqual([
    ["a/1.png", "l1", 1],
    ["a/2.png", "l2", 1],
    ["oss://b/c/3.png", "l3", 2],
  ]);
  expect(indexParser("oss://b/k.png", 1)).toEqual([{ path: "oss://b/k.png", label: "" }]);
});

Deno.test("the key-label format splits at a tab, else at the last space, and allows no label", async () => {
  const got = await Array.fromAsync(
    readManifest(chunked("Img/001.png label1\nImg/my file.png\tlabel 2\nImg/003.png\n")),
  );
  expect(got.map((e) => [e.path, e.label])).toEqual([
    ["Img/001.png", "label1"],
    ["Img/my file.png", "label 2"],
    ["Img/003.png", ""],
  ]);
  expect(keyLabelParser("  k  ", 1)).toEqual({ path: "k", label: "" });
});

Deno.test("format detection picks jsonl, index or keylabel from the first line", () => {
  expect(detectManifestFormat('{"data":{"source":"oss://b/k"}}')).toBe("jsonl");
  expect(detectManifestFormat("a.jpg:cat,b.jpg:dog")).toBe("index");
  expect(detectManifestFormat("a.jpg:cat, b.jpg:dog")).toBe("index");
  expect(detectManifestFormat("a.jpg:cat")).toBe("index");
  expect(detectManifestFormat("a.jpg\tcat")).toBe("keylabel");
  expect(detectManifestFormat("oss://b/a.jpg")).toBe("keylabel");
});

Deno.test("a malformed JSON line fails with a ManifestError naming the manifest and the line number", async () => {
  const text = '{"data": {"source": "oss://b/1"}}\n\n{"data": {"src": "oss://b/2"}}\n';
  const err = await Array.fromAsync(readManifest(chunked(text), { source: "train.jsonl" })).catch((e) => e);
  expect(err).toBeInstanceOf(ManifestError);
  expect(err.lineNumber).toBe(3);
  expect(err.message).toMatch(/^manifest train\.jsonl: line 3: expected a JSON object like/);
  const bad = await Array.fromAsync(readManifest(chunked('{"data": {"source": "oss://b/1"}}\n{oops\n')))
    .catch((e) => e);
  expect(bad.message).toMatch(/line 2: .*got invalid JSON "\{oops"/);
});

Deno.test("a custom parser is used as given and its errors carry the line number", async () => {
  const parser = (line: string, n: number) => {
    if (line === "boom") throw new Error("bad row");
    return { path: `k${n}`, label: line.toUpperCase() };
  };
  expect(await Array.fromAsync(readManifest(chunked("a\nb\n"), { parser }))).toEqual([
    { path: "k1", label: "A", lineNumber: 1 },
    { path: "k2", label: "B", lineNumber: 2 },
  ]);
  const err = await Array.fromAsync(readManifest(chunked("a\nboom\n"), { parser, source: "m" })).catch((e) =>
    e
  );
  expect(err.message).toBe("manifest m: line 2: bad row");
});

Deno.test("a format can be forced by name, and an unknown name is rejected", async () => {
  const got = await Array.fromAsync(readManifest(chunked("a:b c\n"), { parser: "keylabel" }));
  expect(got).toEqual([{ path: "a:b", label: "c", lineNumber: 1 }]);
  // deno-lint-ignore no-explicit-any
  await expect(Array.fromAsync(readManifest(chunked("x\n"), { parser: "csv" as any }))).rejects.toThrow(
    /unknown format "csv"/,
  );
});

Deno.test("jsonLinesParser accepts a top-level source", () => {
  expect(jsonLinesParser('{"source": "oss://b/k", "label": "x"}', 1)).toEqual({
    path: "oss://b/k",
    label: "x",
  });
});

Deno.test("a large local manifest streams: 200,000 lines read one by one from a file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(`img/${i}.png\t${i % 10}`);
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    let n = 0, last = "";
    for await (const e of readManifest(await openManifest(path), { source: path })) {
      n++;
      last = e.path;
    }
    expect(n).toBe(200_000);
    expect(last).toBe("img/199999.png");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a manifest is read from a file:// URL and from an http URL", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "a.png cat\n");
  try {
    const fromFile = await Array.fromAsync(readManifest(await openManifest(new URL(`file://${path}`).href)));
    expect(fromFile[0].path).toBe("a.png");
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      (req) =>
        new URL(req.url).pathname === "/m.txt"
          ? new Response("x.png:dog,y.png:cat\n")
          : new Response("no", { status: 404 }),
    );
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const fromHttp = await Array.fromAsync(readManifest(await openManifest(`${base}/m.txt`)));
      expect(fromHttp.map((e) => e.label)).toEqual(["dog", "cat"]);
      await expect(openManifest(`${base}/missing`)).rejects.toThrow(
        /manifest http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404/,
      );
    } finally {
      await server.shutdown();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a missing local manifest fails naming the path", async () => {
  await expect(openManifest("/nonexistent/manifest.txt")).rejects.toThrow(/\/nonexistent\/manifest\.txt/);
});

Deno.test("LineSplitStream enforces maxLineLength (a CRLF's \\r not counted) and names the offending line", async () => {
  const split = (chunks: string[]) =>
    Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new LineSplitStream({ maxLineLength: 4 })));
  expect(await split(["abcd\r", "\nefgh\r\n", "ij"])).toEqual(["abcd", "efgh", "ij"]);
  const err = await split(["ok\nabc", "de", "fgh\n"]).catch((e) => e);
  expect(err).toBeInstanceOf(LineTooLongError);
  expect([err.lineNumber, err.limit]).toEqual([2, 4]);
  const last = await split(["a\nb\nabcdefgh"]).catch((e) => e);
  expect(last.lineNumber).toBe(3);
});
