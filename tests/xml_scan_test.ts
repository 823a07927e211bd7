/**
 * The fast scan of plain XML (src/xml_scan.ts) against the general parser (`parseXmlStrict`): whatever the scan
 * accepts, the parser accepts and reads the same; what the parser refuses, the scan never accepts. Random
 * documents mix the plain subset with what leaves it (attributes, comments, CDATA, character references,
 * self-closing tags, carriage returns, forbidden characters), and are corrupted at random. The scan must also
 * take the documents the local server really sends, or the fast path is lost without a failing test.
 */
import { expect } from "expect";
import { scanSimpleXml } from "../src/xml_scan.ts";
import { parseListObjectsV2, parseXmlStrict } from "../src/xml.ts";
import { OssClient } from "../src/client.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { mulberry32 as rng } from "../src/server/faults.ts";

const NAMES = ["Contents", "Key", "Size", "ETag", "Part", "N", "a.b", "x-y", "_u", "ns:q"];
const TEXTS = [
  "plain",
  " spaced ",
  "a &amp; b",
  "&lt;tag&gt;",
  "&quot;q&quot; &apos;",
  "é 中 😀",
  "\n  ",
  "tab\there",
  ">",
  "",
];
/** Texts that leave the plain subset (or are not well-formed). */
const ODD_TEXTS = [
  "&#38;",
  "&#x41;",
  "&bogus;",
  "& alone",
  "a\r\nb",
  "x]]>y",
  "\u0001",
  "\uD83D",
];
function textOf(r: () => number): string {
  return r() < 0.02 ? ODD_TEXTS[Math.floor(r() * ODD_TEXTS.length)] : TEXTS[Math.floor(r() * TEXTS.length)];
}
const ODD = [
  "<!-- c -->",
  "<![CDATA[<x>]]>",
  "<?pi x?>",
  "<Empty/>",
  '<At a="1">v</At>',
  "<At a='1'></At>",
  "< Key>",
  '<q a="1">v</q a="1">',
  "<1x>v</1x>",
];

function element(r: () => number, depth: number): string {
  const name = NAMES[Math.floor(r() * NAMES.length)];
  const parts: string[] = [];
  const n = depth > 2 ? 0 : Math.floor(r() * 4);
  if (n === 0) parts.push(textOf(r));
  for (let i = 0; i < n; i++) {
    if (r() < 0.3) parts.push(r() < 0.5 ? "\n  " : textOf(r));
    parts.push(r() < 0.02 ? ODD[Math.floor(r() * ODD.length)] : element(r, depth + 1));
  }
  return `<${name}>${parts.join("")}</${name}>`;
}

function documentOf(r: () => number): string {
  const decl = [
    "",
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    "<?xml version='1.0'?>",
    '\uFEFF<?xml version="1.0" standalone="yes"?>',
    '<?xml encoding="UTF-8"?>',
    "  \n",
  ][Math.floor(r() * 6)];
  let doc = `${decl}<Root>${
    Array.from({ length: 1 + Math.floor(r() * 4) }, () => element(r, 0)).join("")
  }</Root>`;
  if (r() < 0.1) doc += r() < 0.5 ? "\n" : "<Root></Root>";
  const corrupt = r();
  if (corrupt < 0.15) doc = doc.slice(0, Math.floor(r() * doc.length)); // truncated
  else if (corrupt < 0.25) {
    const i = Math.floor(r() * doc.length); // a character dropped
    doc = doc.slice(0, i) + doc.slice(i + 1);
  } else if (corrupt < 0.3) doc = doc.replace("</Key>", "</Size>");
  return doc;
}

/** The general parser's reading, or "refused". */
function strict(doc: string, repeated: Set<string>): unknown {
  try {
    return parseXmlStrict(doc, "Root", repeated);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return "refused";
  }
}

Deno.test("whatever the plain-XML scan accepts, the general parser accepts and reads the same (20,000 random documents)", () => {
  const repeated = new Set(["Contents", "Part"]);
  let scanned = 0, refused = 0;
  for (let seed = 1; seed <= 20_000; seed++) {
    const doc = documentOf(rng(seed));
    const fast = scanSimpleXml(doc, "Root", repeated);
    const slow = strict(doc, repeated);
    if (slow === "refused") refused++;
    if (fast === undefined) continue;
    scanned++;
    if (slow === "refused") {
      throw new Error(`seed ${seed}: the scan accepted a document the parser refuses: ${doc}`);
    }
    expect({ seed, node: fast }).toEqual({ seed, node: slow });
  }
  // Both kinds are well represented, or the comparison proves little.
  expect(scanned).toBeGreaterThan(4_000);
  expect(refused).toBeGreaterThan(4_000);
});

Deno.test("the scan gives up on another root, so that the parser's error names it", () => {
  expect(scanSimpleXml("<Error><Code>x</Code></Error>", "Root", new Set())).toBeUndefined();
  expect(scanSimpleXml("<Root></Root>", "Root", new Set())).toEqual({});
  expect(scanSimpleXml("<Root>only text</Root>", "Root", new Set())).toEqual({});
});

Deno.test("the local server's listings and multipart documents take the fast path, and read as the parser reads them", async () => {
  const server = await serveEmulator({ buckets: ["bk1"] });
  try {
    const client = new OssClient({
      endpoint: server.url,
      region: "cn-hangzhou",
      credentials: { accessKeyId: "id", accessKeySecret: "secret" },
    });
    const keys = ["a & b.txt", "c<d>.bin", "quote\"'.x", "sp ace/é.txt", "plain/0001.bin"];
    for (const key of keys) await client.put("bk1", key, key);
    for (const encodingType of [undefined, "url"]) {
      const query = new URLSearchParams({ "list-type": "2", "max-keys": "3" });
      if (encodingType) query.set("encoding-type", encodingType);
      // The raw document, as the client receives it.
      const url = new URL(`/bk1/?${query}`, server.url);
      const xml = await (await fetch(url)).text();
      const fast = scanSimpleXml(xml, "ListBucketResult", new Set(["Contents", "CommonPrefixes"]));
      expect(fast).toBeDefined();
      expect(fast).toEqual(parseXmlStrict(xml, "ListBucketResult"));
      expect(parseListObjectsV2(xml).objects.length).toBe(3);
    }
    const listed: string[] = [];
    for await (const o of client.list("bk1")) listed.push(o.key);
    expect(listed.sort()).toEqual([...keys].sort());
  } finally {
    await server.close();
  }
});
