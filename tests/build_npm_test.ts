/**
 * tools/build_npm.ts's parts: the package.json made from deno.json (an export for each of deno.json's, whatever
 * they are), relative `.ts` specifiers turned into `.js` (and nothing else), and declarations emitted once.
 * The package as a whole is tested by npm_package_test.ts.
 */
import { expect } from "expect";
import { jsSpecifiers, packageJson, transpile } from "../tools/build_npm.ts";

Deno.test("package.json: an exports entry, with types, for every deno.json export, and the pinned dependencies", () => {
  const pkg = packageJson(
    {
      name: "@ossflow/ossflow",
      version: "1.2.3",
      license: "Apache-2.0",
      exports: { ".": "./mod.ts", "./server": "./src/server/mod.ts", "./crc64": "./src/crc64.ts" },
    },
    new Map([["zod", "4.6.7"], ["hono", "4.13.19"]]),
  );
  expect(pkg).toMatchObject({
    name: "@ossflow/ossflow",
    version: "1.2.3",
    license: "Apache-2.0",
    type: "module",
    main: "./mod.js",
    types: "./mod.d.ts",
    sideEffects: false,
    engines: { node: expect.stringMatching(/^>=\d+/) },
    dependencies: { hono: "4.13.19", zod: "4.6.7" },
  });
  expect(pkg.exports).toEqual({
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./server": { types: "./src/server/mod.d.ts", default: "./src/server/mod.js" },
    "./crc64": { types: "./src/crc64.d.ts", default: "./src/crc64.js" },
    "./workers/prefetch_worker.js": "./workers/prefetch_worker.js",
    "./package.json": "./package.json",
  });
  expect(Object.keys(pkg.dependencies as object)).toEqual(["hono", "zod"]);
});

Deno.test("package.json: a deno.json export that is not a .ts module is refused, naming it", () => {
  expect(() => packageJson({ name: "x", version: "1.0.0", exports: { "./data": "./data.json" } }, new Map()))
    .toThrow('expected a .ts module, got "./data.json"');
});

Deno.test("relative .ts module specifiers and module-relative URLs become .js; nothing else changes", () => {
  const source = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b/b.ts";`,
    `export { c } from "./c.ts";`,
    `export * from './d.ts';`,
    `import { Hono } from "hono";`,
    `import data from "./data.json" with { type: "json" };`,
    `const e = () => import("./e.ts");`,
    `let f: typeof import("./f.ts").F;`,
    `const worker = new Worker(new URL("../../workers/w.ts", import.meta.url), { type: "module" });`,
    `const dist = new URL("../../dist/", import.meta.url);`,
    `const elsewhere = new URL("./g.ts", "https://example.com/");`,
    `const text = "./h.ts";`,
    `/** import { i } from "./i.ts"; */`,
    `const dynamic = (u: string) => import(u);`,
  ].join("\n");
  expect(jsSpecifiers(source, "x.ts").split("\n")).toEqual([
    `import { a } from "./a.js";`,
    `import type { B } from "../b/b.js";`,
    `export { c } from "./c.js";`,
    `export * from './d.js';`,
    `import { Hono } from "hono";`,
    `import data from "./data.json" with { type: "json" };`,
    `const e = () => import("./e.js");`,
    `let f: typeof import("./f.js").F;`,
    `const worker = new Worker(new URL("../../workers/w.js", import.meta.url), { type: "module" });`,
    `const dist = new URL("../../dist/", import.meta.url);`,
    `const elsewhere = new URL("./g.ts", "https://example.com/");`,
    `const text = "./h.ts";`,
    `/** import { i } from "./i.ts"; */`,
    `const dynamic = (u: string) => import(u);`,
  ]);
});

Deno.test("transpile: .js without helpers and .d.ts with each member declared once (Symbol.asyncIterator too)", () => {
  const dir = "/virtual/src/";
  const out = transpile(
    new Map([
      [
        `${dir}list.ts`,
        `import { step } from "./step.ts";
/** Counts to n. */
export class Count implements AsyncIterable<number> {
  #n: number;
  constructor(n: number) {
    this.#n = n;
  }
  /** One pass. */
  async *[Symbol.asyncIterator](): AsyncIterator<number> {
    for (let i = 0; i < this.#n; i = step(i)) yield i;
  }
}
export const load = (url: string): Promise<unknown> => import(url);
`,
      ],
      [`${dir}step.ts`, `export function step(i: number): number {\n  return i + 1;\n}\n`],
    ]),
  );
  expect([...out.keys()].sort()).toEqual([
    `${dir}list.d.ts`,
    `${dir}list.js`,
    `${dir}step.d.ts`,
    `${dir}step.js`,
  ]);
  const js = out.get(`${dir}list.js`)!;
  expect(js).toContain(`import { step } from "./step.js";`);
  expect(js).toContain("import(url)");
  expect(js).not.toContain("__rewriteRelativeImportExtension");
  const dts = out.get(`${dir}list.d.ts`)!;
  expect(dts.match(/\[Symbol\.asyncIterator\]/g)?.length).toBe(1);
  expect(dts).toContain("[Symbol.asyncIterator](): AsyncIterator<number>;");
  expect(dts).toContain("/** Counts to n. */");
  expect(dts).toContain("export declare const load: (url: string) => Promise<unknown>;");
});

Deno.test("transpile: an export whose type TypeScript cannot take from its own file fails the build, naming it", () => {
  expect(() => transpile(new Map([["/virtual/bad.ts", `export const size = [1, 2].length;\n`]])))
    .toThrow(/\/virtual\/bad\.ts:1:14: .*explicit type annotation/);
});
