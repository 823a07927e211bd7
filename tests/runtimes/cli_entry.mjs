// Runs the smoke test in a command-line runtime (Deno, Node, Bun). The one argument is JSON: the bundle's URL
// and the smoke test's settings. Prints one line `SMOKE_RESULT {...}` and exits 0 when every step passed and
// the runtime printed no warning.
import { smoke } from "./smoke.mjs";

const g = /** @type {any} */ (globalThis);
const args = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const { bundle, ...cfg } = JSON.parse(args[0]);
// A runtime warning is a failure: Node's `MaxListenersExceededWarning: Possible EventTarget memory leak` showed
// listeners piling up on a pass's signal, one per request in flight.
const warnings = [];
g.process?.on?.("warning", (w) => warnings.push(`${w.name}: ${w.message}`));
const lib = await import(bundle);
const result = await smoke(lib, cfg);
await new Promise((resolve) => setTimeout(resolve, 10)); // warnings are emitted on a later tick
if (warnings.length > 0) {
  result.ok = false;
  result.steps.push({ name: "no runtime warnings", ok: false, ms: 0, error: warnings.join("\n") });
}
console.log(`SMOKE_RESULT ${JSON.stringify(result)}`);
// Exit explicitly: a runtime may keep an idle keep-alive socket or worker alive for a while.
const code = result.ok ? 0 : 1;
if (g.Deno) g.Deno.exit(code);
else g.process.exit(code);
