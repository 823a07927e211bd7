// Runs the smoke test in a command-line runtime (Deno, Node, Bun). The one argument is JSON: the bundle's URL
// and the smoke test's settings. Prints one line `SMOKE_RESULT {...}` and exits 0 when every step passed.
import { smoke } from "./smoke.mjs";

const g = /** @type {any} */ (globalThis);
const args = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const { bundle, ...cfg } = JSON.parse(args[0]);
const lib = await import(bundle);
const result = await smoke(lib, cfg);
console.log(`SMOKE_RESULT ${JSON.stringify(result)}`);
// Exit explicitly: a runtime may keep an idle keep-alive socket or worker alive for a while.
const code = result.ok ? 0 : 1;
if (g.Deno) g.Deno.exit(code);
else g.process.exit(code);
