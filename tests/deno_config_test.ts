/**
 * The split of the import map: deno.json (the library and the demo; what `deno task` installs before any
 * task, so what a first `deno task demo` downloads) and deno.dev.json (the same plus the test, benchmark and
 * build packages, with its own lock). The dev config must not drift from the root one, and the root lock
 * must hold nothing the root import map does not reach.
 */
import { expect } from "expect";

const ROOT = new URL("../", import.meta.url);

interface Lock {
  specifiers: Record<string, string>;
  npm: Record<string, { dependencies?: string[]; optionalDependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
}

async function json<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, ROOT))) as T;
}

/** `npm:name@1.2.3` (or `npm:/name@1.2.3/`) → `npm:name@1.2.3`. */
function packageOf(target: string): string | undefined {
  return /^npm:\/?((?:@[^/]+\/)?[^/@]+@[^/]+)/.exec(target)?.[1].replace(/^/, "npm:");
}

/** The lock's packages that its workspace dependencies reach, following each package's dependencies. */
function reachable(lock: Lock): Set<string> {
  const keyOf = (dep: string): string => {
    const aliased = dep.indexOf("@npm:"); // "alias@npm:name@1.2.3"
    if (aliased > 0) return dep.slice(aliased + "@npm:".length);
    if (dep.lastIndexOf("@") > 0) return dep;
    const found = Object.keys(lock.npm).filter((k) => k.startsWith(`${dep}@`));
    if (found.length !== 1) throw new Error(`lock: "${dep}" matches ${found.length} packages`);
    return found[0];
  };
  const seen = new Set<string>();
  const todo = (lock.workspace?.dependencies ?? []).map((spec) => {
    const name = /^npm:((?:@[^/]+\/)?[^/@]+)@/.exec(spec)![1];
    return `${name}@${lock.specifiers[spec]}`;
  });
  while (todo.length > 0) {
    const key = todo.pop()!;
    if (seen.has(key)) continue;
    const entry = lock.npm[key];
    if (!entry) throw new Error(`lock: ${key} is referenced but not locked`);
    seen.add(key);
    for (const dep of [...entry.dependencies ?? [], ...entry.optionalDependencies ?? []]) {
      todo.push(keyOf(dep));
    }
  }
  return seen;
}

Deno.test("deno.dev.json maps every import of deno.json to the same target and keeps its own lock", async () => {
  const root = await json<{ imports: Record<string, string> }>("deno.json");
  const dev = await json<{ imports: Record<string, string>; lock: string }>("deno.dev.json");
  const shared = Object.fromEntries(Object.keys(root.imports).map((k) => [k, dev.imports[k]]));
  expect(shared).toEqual(root.imports);
  // Without a lock of its own it would write the test packages into deno.lock, which `deno task` installs.
  expect(dev.lock).toBe("./deno.dev.lock");
});

Deno.test("deno.lock holds the packages of deno.json's import map and their dependencies, nothing more", async () => {
  const root = await json<{ imports: Record<string, string> }>("deno.json");
  const lock = await json<Lock>("deno.lock");
  const wanted = new Set(Object.values(root.imports).map(packageOf).filter((p) => p !== undefined));
  expect(new Set(lock.workspace?.dependencies)).toEqual(wanted);
  expect(new Set(Object.keys(lock.specifiers))).toEqual(wanted);
  expect([...reachable(lock)].sort()).toEqual(Object.keys(lock.npm).sort());
});

Deno.test("deno.dev.lock holds every package of deno.dev.json's import map and only what they reach", async () => {
  const dev = await json<{ imports: Record<string, string> }>("deno.dev.json");
  const lock = await json<Lock>("deno.dev.lock");
  const wanted = new Set(Object.values(dev.imports).map(packageOf).filter((p) => p !== undefined));
  expect(new Set(lock.workspace?.dependencies)).toEqual(wanted);
  expect([...reachable(lock)].sort()).toEqual(Object.keys(lock.npm).sort());
});
