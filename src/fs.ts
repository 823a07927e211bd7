/**
 * Runtime-neutral access to local files and JSON, without `node:` imports: Deno through `globalThis.Deno`,
 * Node.js and Bun through `process.getBuiltinModule("node:fs/promises")`. A runtime with neither (a browser,
 * a worker without file access) gets a {@link ConfigError} that says so.
 *
 * Every error names the file and what went wrong, and is a {@link ConfigError} whose `cause` is the
 * runtime's own error.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** The subset of the Deno namespace used here, typed locally so the module type-checks on any runtime. */
export interface DenoFs {
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  writeTextFile(path: string, data: string, options?: { append?: boolean }): Promise<void>;
  open(path: string, options?: { read?: boolean }): Promise<{
    readable: ReadableStream<Uint8Array>;
    seek(offset: number, whence: number): Promise<number>;
    read(into: Uint8Array): Promise<number | null>;
    close(): void;
  }>;
  stat(path: string): Promise<{ size: number; isFile: boolean; mtime: Date | null }>;
}

/** The subset of `node:fs/promises` used here. */
export interface NodeFsPromises {
  readFile(path: string, encoding?: string): Promise<string | Uint8Array>;
  writeFile(path: string, data: string, encoding: string): Promise<void>;
  appendFile(path: string, data: string, encoding: string): Promise<void>;
  open(path: string, flags: string): Promise<{
    close(): Promise<void>;
    read(into: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  }>;
  stat(path: string): Promise<{ size: number; isFile(): boolean; mtimeMs: number }>;
}

/** The file API of the runtime: Deno's namespace, or Node.js/Bun's `node:fs/promises`. */
export type Runtime = { kind: "deno"; fs: DenoFs } | { kind: "node"; fs: NodeFsPromises };

/**
 * The runtime's file API, or a {@link ConfigError} saying this runtime has none (for `action` on `path`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { runtime } from "./fs.ts";
 * expect(runtime("read", "config.json").kind).toEqual("deno");
 * ```
 */
export function runtime(action: string, path: string): Runtime {
  const g = globalThis as {
    Deno?: DenoFs;
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  if (g.Deno && typeof g.Deno.readTextFile === "function") return { kind: "deno", fs: g.Deno };
  const nodeFs = g.process?.getBuiltinModule?.("node:fs/promises") as NodeFsPromises | undefined;
  if (nodeFs && typeof nodeFs.readFile === "function") return { kind: "node", fs: nodeFs };
  throw new ConfigError(
    `cannot ${action} "${path}": this runtime has no file system (expected Deno, or Node.js/Bun with ` +
      `process.getBuiltinModule); pass the contents instead of a path`,
  );
}

/**
 * Turns a runtime file error into a ConfigError naming the file and a short reason.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { fileError } from "./fs.ts";
 * const err = fileError("read", "/no/such", new Deno.errors.NotFound("x"));
 * expect(err.message).toEqual('cannot read "/no/such": no such file or directory');
 * ```
 */
export function fileError(action: string, path: string, err: unknown): ConfigError {
  const e = err as { name?: string; code?: string; message?: string };
  const id = e?.code ?? e?.name ?? "";
  let reason: string;
  if (id === "NotFound" || id === "ENOENT") reason = "no such file or directory";
  else if (id === "PermissionDenied" || id === "NotCapable" || id === "EACCES" || id === "EPERM") {
    reason = id === "NotCapable"
      ? "permission denied (run Deno with --allow-read / --allow-write for this path)"
      : "permission denied";
  } else if (id === "IsADirectory" || id === "EISDIR") reason = "is a directory, expected a file";
  else if (id === "NotADirectory" || id === "ENOTDIR") reason = "a parent of the path is not a directory";
  else reason = e?.message ? String(e.message) : String(err);
  return new ConfigError(`cannot ${action} "${path}": ${reason}`, { cause: err });
}

/**
 * Reads a UTF-8 text file.
 *
 * @throws {ConfigError} naming the file when it is missing, unreadable, or the runtime has no file system.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readTextFile, writeTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, "hello");
 * expect(await readTextFile(path)).toEqual("hello");
 * ```
 */
export async function readTextFile(path: string): Promise<string> {
  const rt = runtime("read", path);
  try {
    if (rt.kind === "deno") return await rt.fs.readTextFile(path);
    return await rt.fs.readFile(path, "utf8") as string;
  } catch (err) {
    throw fileError("read", path, err);
  }
}

/**
 * Reads a file as bytes.
 *
 * @throws {ConfigError} naming the file when it is missing, unreadable, or the runtime has no file system.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readFile, writeTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, "abc");
 * expect((await readFile(path)).length).toEqual(3);
 * ```
 */
export async function readFile(path: string): Promise<Uint8Array> {
  const rt = runtime("read", path);
  try {
    if (rt.kind === "deno") return await rt.fs.readFile(path);
    const buf = await rt.fs.readFile(path) as Uint8Array;
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw fileError("read", path, err);
  }
}

/**
 * Opens a file as a byte stream (for large local files such as manifests, read without loading them whole).
 *
 * @throws {ConfigError} naming the file when it cannot be opened.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { openFileStream, writeTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, "line 1\nline 2\n");
 * const text = await new Response(await openFileStream(path)).text();
 * expect(text.split("\n").length).toEqual(3);
 * ```
 */
export async function openFileStream(path: string): Promise<ReadableStream<Uint8Array>> {
  const rt = runtime("read", path);
  try {
    if (rt.kind === "deno") return (await rt.fs.open(path, { read: true })).readable;
    // Open first so that a missing file fails here, not on the first read.
    await (await rt.fs.open(path, "r")).close();
    const g = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
    const nodeFs = g.process!.getBuiltinModule!("node:fs") as {
      createReadStream(path: string): unknown;
    };
    const nodeStream = g.process!.getBuiltinModule!("node:stream") as {
      Readable: { toWeb(stream: unknown): ReadableStream<Uint8Array> };
    };
    return nodeStream.Readable.toWeb(nodeFs.createReadStream(path));
  } catch (err) {
    throw fileError("read", path, err);
  }
}

/**
 * Writes a UTF-8 text file, replacing it.
 *
 * @throws {ConfigError} naming the file when it cannot be written.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { writeTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, '{"logLevel": 2}');
 * expect(await Deno.readTextFile(path)).toEqual('{"logLevel": 2}');
 * ```
 */
export async function writeTextFile(path: string, data: string): Promise<void> {
  const rt = runtime("write", path);
  try {
    if (rt.kind === "deno") await rt.fs.writeTextFile(path, data);
    else await rt.fs.writeFile(path, data, "utf8");
  } catch (err) {
    throw fileError("write", path, err);
  }
}

/**
 * Appends UTF-8 text to a file, creating it when missing (log and audit files).
 *
 * @throws {ConfigError} naming the file when it cannot be written.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { appendTextFile, readTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await appendTextFile(path, "a\n");
 * await appendTextFile(path, "b\n");
 * expect(await readTextFile(path)).toEqual("a\nb\n");
 * ```
 */
export async function appendTextFile(path: string, data: string): Promise<void> {
  const rt = runtime("append to", path);
  try {
    if (rt.kind === "deno") await rt.fs.writeTextFile(path, data, { append: true });
    else await rt.fs.appendFile(path, data, "utf8");
  } catch (err) {
    throw fileError("append to", path, err);
  }
}

/**
 * Parses JSON text and, on a syntax error, throws a ConfigError with the source name, line and column.
 *
 * The message never quotes the text around the error (unlike `JSON.parse`'s own message), so a malformed
 * credential file cannot leak its secret into a log. A leading UTF-8 byte order mark is ignored.
 *
 * @param text The JSON text.
 * @param source What the text is, for messages (usually the file path).
 * @throws {ConfigError} like `creds.json: invalid JSON at line 3, column 18: expected ',' or '}' after a property`.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseJsonText } from "./fs.ts";
 * expect(parseJsonText('{"logLevel": 1}', "config.json")).toEqual({ logLevel: 1 });
 * expect(() => parseJsonText('{"logLevel": 1,}', "config.json")).toThrow("config.json: invalid JSON at line 1, column 16");
 * ```
 */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const found = locateJsonError(body);
    const offset = found?.offset ?? body.length;
    const before = body.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    const reason = found?.reason ?? "not valid JSON";
    const where = body.trim() === "" ? "" : ` at line ${line}, column ${column}`;
    // The cause is a fresh error: JSON.parse's own message quotes the input, which may hold a secret.
    throw new ConfigError(`${source}: invalid JSON${where}: ${reason}`, {
      cause: new SyntaxError(`${(err as Error).name ?? "SyntaxError"} at offset ${offset}`),
    });
  }
}

/**
 * Reads and parses a JSON file; errors name the file (and for syntax errors the line and column).
 *
 * @throws {ConfigError} when the file cannot be read or is not valid JSON.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { readJsonFile, writeTextFile } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, '{"a": [1, 2]}');
 * expect(await readJsonFile(path)).toEqual({ a: [ 1, 2 ] });
 * ```
 */
export async function readJsonFile(path: string): Promise<unknown> {
  return parseJsonText(await readTextFile(path), path);
}

/**
 * Finds the first JSON syntax error: a small recursive-descent scanner that reports where and what, in its
 * own words, never quoting the input. Only runs after `JSON.parse` has already failed.
 */
function locateJsonError(s: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Fail {
    constructor(readonly offset: number, readonly reason: string) {}
  }
  const fail = (reason: string, at = i): never => {
    throw new Fail(at, at >= s.length ? "unexpected end of input" : reason);
  };
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (s[i + k] !== word[k]) fail(`invalid literal (expected ${word})`, i + k);
    }
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    while (true) {
      if (i >= s.length) fail("unterminated string");
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("control character in a string (escape it, e.g. \\n)");
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) fail("invalid \\u escape in a string");
          i += 6;
        } else if (e !== undefined && `"\\/bfnrt`.includes(e)) i += 2;
        else fail("invalid escape in a string");
      } else i++;
    }
  };
  const number = () => {
    const start = i;
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
    if (!m) fail("invalid number");
    i += m![0].length;
    if (i < s.length && /[0-9A-Za-z.+\-]/.test(s[i])) fail("invalid number", start);
  };
  const value = (depth: number) => {
    if (depth > 512) fail("nesting too deep");
    ws();
    const c = s[i];
    if (c === "{") {
      i++;
      ws();
      if (s[i] === "}") {
        i++;
        return;
      }
      while (true) {
        ws();
        if (s[i] !== '"') fail("expected a property name in double quotes");
        string();
        ws();
        if (s[i] !== ":") fail("expected ':' after a property name");
        i++;
        value(depth + 1);
        ws();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === "}") {
          i++;
          return;
        }
        fail("expected ',' or '}' after a property");
      }
    } else if (c === "[") {
      i++;
      ws();
      if (s[i] === "]") {
        i++;
        return;
      }
      while (true) {
        value(depth + 1);
        ws();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === "]") {
          i++;
          return;
        }
        fail("expected ',' or ']' after an array element");
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else fail(c === "'" ? "strings must use double quotes" : "expected a value");
  };
  try {
    value(0);
    ws();
    if (i < s.length) fail("unexpected content after the JSON value");
    return undefined;
  } catch (e) {
    if (e instanceof Fail) return { offset: e.offset, reason: e.reason };
    throw e;
  }
}
