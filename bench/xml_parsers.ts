/**
 * The two XML parsers the library once carried, on the documents it parses: `@rgrove/parse-xml` (the client's)
 * and `fast-xml-parser` (the emulator's, validating as the emulator did; also without validation), each turning the text into the same plain object
 * (repeated elements as arrays, text untrimmed, attributes ignored).
 *
 * - client: a ListObjectsV2 page of 1000 keys (what a dataset pass parses per page),
 * - emulator: a CompleteMultipartUpload body of 10,000 parts and a Delete body of 1000 keys.
 *
 * Prints one JSON line per document: parses per second of each parser, best of the repetitions.
 *
 *   deno run -A --config deno.dev.json bench/xml_parsers.ts [--quick]
 *
 * @module
 */
import { XMLParser } from "fast-xml-parser";
import { parseXml } from "../src/xml.ts";

const quick = Deno.args.includes("--quick");
const MS = quick ? 150 : 1000;
const REPS = quick ? 2 : 5;

function listPage(n: number): string {
  const contents = Array.from(
    { length: n },
    (_, i) =>
      `<Contents><Key>train/${String(i).padStart(7, "0")}.jpg</Key>` +
      `<LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"5B3C1A2E0563E1B002CC607C6689${
        String(i).padStart(4, "0")
      }"</ETag><Size>${1000 + i}</Size><StorageClass>Standard</StorageClass></Contents>`,
  ).join("");
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>data</Name><Prefix>train/</Prefix>` +
    `<MaxKeys>1000</MaxKeys><KeyCount>${n}</KeyCount><IsTruncated>true</IsTruncated>` +
    `<NextContinuationToken>abc</NextContinuationToken>${contents}</ListBucketResult>`;
}

function completeBody(n: number): string {
  const parts = Array.from(
    { length: n },
    (_, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"3858F62230AC3C915F300C664312C11F"</ETag></Part>`,
  ).join("");
  return `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
}

function deleteBody(n: number): string {
  const objects = Array.from({ length: n }, (_, i) => `<Object><Key>logs/${i} a&amp;b.txt</Key></Object>`);
  return `<Delete><Quiet>true</Quiet>${objects.join("")}</Delete>`;
}

const fxp = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (name) => ["Contents", "CommonPrefixes", "Part", "Upload", "Object"].includes(name),
});

const DOCS: { name: string; root: string; text: string; count: (o: Record<string, unknown>) => number }[] = [
  {
    name: "client: ListObjectsV2, 1000 keys",
    root: "ListBucketResult",
    text: listPage(1000),
    count: (o) => (o.Contents as unknown[]).length,
  },
  {
    name: "emulator: CompleteMultipartUpload, 10000 parts",
    root: "CompleteMultipartUpload",
    text: completeBody(10_000),
    count: (o) => (o.Part as unknown[]).length,
  },
  {
    name: "emulator: Delete, 1000 keys",
    root: "Delete",
    text: deleteBody(1000),
    count: (o) => (o.Object as unknown[]).length,
  },
];

const REPEATED = new Set(["Contents", "CommonPrefixes", "Part", "Upload", "Object"]);
const PARSERS: Record<string, (text: string, root: string) => Record<string, unknown>> = {
  "@rgrove/parse-xml": (text, root) => parseXml(text, root, REPEATED),
  "fast-xml-parser": (text, root) => fxp.parse(text, true)[root],
  "fast-xml-parser, not validating": (text, root) => fxp.parse(text, false)[root],
};

function rate(parse: () => unknown): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < MS) {
    parse();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

for (const doc of DOCS) {
  const results: Record<string, number> = {};
  for (const [name, parse] of Object.entries(PARSERS)) {
    const n = doc.count(parse(doc.text, doc.root));
    if (n !== doc.count(PARSERS["@rgrove/parse-xml"](doc.text, doc.root))) throw new Error(`${name}: ${n}`);
  }
  for (let r = 0; r < REPS; r++) {
    for (const [name, parse] of Object.entries(PARSERS)) {
      results[name] = Math.max(results[name] ?? 0, rate(() => parse(doc.text, doc.root)));
    }
  }
  const out = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v)]));
  console.log(JSON.stringify({ document: doc.name, bytes: doc.text.length, parsesPerSecond: out }));
}
