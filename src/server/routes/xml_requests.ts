/**
 * Parsing of the XML request bodies the server accepts: CompleteMultipartUpload and
 * DeleteMultipleObjects. Malformed bodies become `MalformedXML`.
 *
 * @module
 */
import { parseXml } from "../../xml.ts";
import { EmulatorError } from "../error.ts";
import { readSmallBody } from "../http/request_body.ts";
import type { CompletePart } from "../store/types.ts";

const MAX_XML_BYTES = 2 * 1024 * 1024;

function malformed(why: string): EmulatorError {
  return new EmulatorError(
    "MalformedXML",
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}.`,
  );
}

/** The body's root element `root` (the client's parser, `@rgrove/parse-xml`); anything else is MalformedXML. */
async function parse(req: Request, root: string, repeated: string): Promise<Record<string, unknown>> {
  const text = await readSmallBody(req, MAX_XML_BYTES, () => malformed("the body is larger than 2 MiB"));
  try {
    return parseXml(text, root, new Set([repeated]));
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : String(err));
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/**
 * The parts listed in a CompleteMultipartUpload body.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseCompleteBody } from "./xml_requests.ts";
 * const body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>";
 * expect(await parseCompleteBody(new Request("http://h/", { method: "POST", body }))).toEqual([{ partNumber: 1, etag: "\"e\"" }]);
 * ```
 */
export async function parseCompleteBody(req: Request): Promise<CompletePart[]> {
  const root = await parse(req, "CompleteMultipartUpload", "Part");
  const parts = (root.Part ?? []) as unknown[];
  return parts.map((p, i) => {
    const part = record(p);
    const num = String(part?.PartNumber ?? "").trim();
    const etag = part?.ETag;
    if (!/^\d{1,5}$/.test(num) || typeof etag !== "string") {
      throw malformed(`<Part> #${i + 1} needs a <PartNumber> (1-10000) and an <ETag>`);
    }
    return { partNumber: Number(num), etag: etag.trim() };
  });
}

/**
 * The keys and quiet flag of a DeleteMultipleObjects body.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseDeleteBody } from "./xml_requests.ts";
 * const body = "<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>";
 * expect(await parseDeleteBody(new Request("http://h/", { method: "POST", body }))).toEqual({ quiet: true, keys: ["a"] });
 * ```
 */
export async function parseDeleteBody(req: Request): Promise<{ quiet: boolean; keys: string[] }> {
  const root = await parse(req, "Delete", "Object");
  const objects = (root.Object ?? []) as unknown[];
  const keys = objects.map((o, i) => {
    const key = record(o)?.Key;
    if (typeof key !== "string") throw malformed(`<Object> #${i + 1} needs a <Key>`);
    return key;
  });
  if (keys.length === 0) throw malformed("no <Object> to delete");
  if (keys.length > 1000) throw malformed("at most 1000 objects can be deleted at once");
  return { quiet: String(root.Quiet ?? "false").trim().toLowerCase() === "true", keys };
}
