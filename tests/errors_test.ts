// One error family: every error class ossflow exports — at any entry point of deno.json `exports` or from any
// module under src/ — extends OssflowError and reports its own class name. The classes are found by walking the
// modules' exports, so a new error class that forgets the base (or its name) fails here.
import { expect } from "expect";
import { OssflowError } from "../src/errors.ts";

const ROOT = new URL("../", import.meta.url);

/** How to build one instance of each error class (constructors differ); a class missing here fails the walk. */
const SAMPLES: Record<string, (cls: new (...args: never[]) => Error) => Error> = {
  OssflowError: (C) => new (C as unknown as new (m: string) => Error)("something failed"),
  OssError: (C) =>
    new (C as unknown as new (i: object) => Error)({ code: "NoSuchKey", status: 404, message: "gone" }),
  ConfigError: (C) => new (C as unknown as new (m: string) => Error)("region: expected a string"),
  IntegrityError: (C) => new (C as unknown as new (m: string) => Error)("CRC-64 mismatch"),
  SafetensorsError: (C) =>
    new (C as unknown as new (m: string, i: object) => Error)("bad header", {
      file: "oss://b/m.safetensors",
    }),
  ManifestError: (C) =>
    new (C as unknown as new (s: string, n: number, m: string) => Error)("train.jsonl", 3, "expected JSON"),
  LineTooLongError: (C) => new (C as unknown as new (n: number, l: number) => Error)(3, 1024),
  TransformError: (C) =>
    new (C as unknown as new (i: object, c: unknown) => Error)(
      { key: "k", uri: "oss://b/k" },
      new Error("bad image"),
    ),
  TarError: (C) =>
    new (C as unknown as new (u: string, o: number, m: string) => Error)("oss://b/s.tar", 512, "truncated"),
  SampleError: (C) =>
    new (C as unknown as new (s: string, k: string, m: string) => Error)("oss://b/s.tar", "0001", "no dot"),
  ShortBody: (C) =>
    new (C as unknown as new (m: string) => Error)("the body has 3 bytes, Content-Length says 5"),
  SignatureVerificationError: (C) =>
    new (C as unknown as new (c: string, m: string) => Error)("AccessDenied", "Request has expired"),
  EmulatorError: (C) => new (C as unknown as new (c: string, m: string) => Error)("NoSuchKey", "gone"),
  PreviewApiError: (C) =>
    new (C as unknown as new (s: number, c: string, m: string) => Error)(400, "BadRequest", "bad limit"),
};

function isErrorClass(value: unknown): value is new (...args: never[]) => Error {
  return typeof value === "function" && (value === Error || value.prototype instanceof Error);
}

/** The entry points of deno.json `exports` and every module under src/ (the CLI only runs when it is main). */
async function modulePaths(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const paths = new Set<string>(Object.values(config.exports as Record<string, string>));
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) paths.add(`./${path}`);
    }
  };
  await walk("src");
  return [...paths].sort();
}

async function exportedErrorClasses(): Promise<Map<new (...args: never[]) => Error, string>> {
  const found = new Map<new (...args: never[]) => Error, string>();
  for (const path of await modulePaths()) {
    const mod = await import(new URL(path, ROOT).href);
    for (const [name, value] of Object.entries(mod)) {
      if (isErrorClass(value) && !found.has(value)) found.set(value, `${name} (${path})`);
    }
  }
  return found;
}

Deno.test("every exported error class extends OssflowError and is named after its class", async () => {
  const classes = await exportedErrorClasses();
  const names = [...classes.keys()].map((c) => c.name).sort();
  // The walk must see the whole family, not an empty or partial list.
  expect(names).toEqual(Object.keys(SAMPLES).sort());
  for (const [cls, where] of classes) {
    const make = SAMPLES[cls.name];
    expect([where, typeof make]).toEqual([where, "function"]);
    const err = make(cls);
    expect([where, err instanceof cls, err instanceof OssflowError, err instanceof Error])
      .toEqual([where, true, true, true]);
    expect([where, err.name]).toEqual([where, cls.name]);
    expect(String(err).startsWith(`${cls.name}: `)).toBe(true);
  }
});

Deno.test("the root export carries OssflowError and the error classes a user catches", async () => {
  const root = await import(new URL("mod.ts", ROOT).href);
  for (const name of ["OssflowError", "OssError", "ConfigError", "IntegrityError", "ManifestError"]) {
    expect([name, isErrorClass(root[name])]).toEqual([name, true]);
  }
  const err = new root.TransformError({ key: "k", uri: "oss://b/k" }, new Error("bad"));
  expect(err).toBeInstanceOf(root.OssflowError);
});
