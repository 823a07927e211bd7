/**
 * The one server process of `deno task bench`: the ossflow emulator (memory store, OSS4 and SigV4 signatures
 * verified, no reset proxy) with `--latency` ms before every request and every request and response body
 * capped at `--bandwidth-mib` MiB/s. HTTP/1.1 sends one request at a time per connection, so the cap is a
 * per-connection cap. Seeds the data sets of the scenarios asked for, prints `{"url", "seededMs"}` as one
 * JSON line and runs until its stdin closes (so it never outlives the bench).
 *
 *   deno run -A bench/server.ts --latency 15 --bandwidth-mib 100 --seed small/:10000:16384 ...
 *
 * @module
 */
import { serveEmulator } from "../src/server/emulator.ts";
import { BUCKET, MiB, seededKey, SERVER_BASE } from "./common.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const latencyMs = Number(flag("latency") ?? 15);
const bandwidthMiB = Number(flag("bandwidth-mib") ?? 100);
const server = await serveEmulator({
  ...SERVER_BASE,
  connectionProxy: false, // no reset faults here: serve directly
  faults: { latencyMs, bandwidthBytesPerSec: bandwidthMiB * MiB },
});

const t0 = performance.now();
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] !== "--seed") continue;
  const [prefix, count, size] = Deno.args[i + 1].split(":");
  const body = new Uint8Array(Number(size));
  for (let j = 0; j < body.length; j += 65536) crypto.getRandomValues(body.subarray(j, j + 65536));
  for (let j = 0; j < Number(count); j++) await server.store.put(BUCKET, seededKey(prefix, j), body);
}
console.log(JSON.stringify({ url: server.url, seededMs: Math.round(performance.now() - t0) }));

// Until the bench closes our stdin (or dies).
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
await server.close();
Deno.exit(0);
