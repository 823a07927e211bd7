/**
 * `deno task demo`: ossflow end to end in a few seconds, with nothing configured. Starts the local
 * OSS-compatible server, writes a generated PNG dataset and its manifest, streams it through
 * `OssIterableDataset` (transform in 2 prefetch Web Workers), saves and reloads a checkpoint with
 * `OssCheckpoint`, and prints progress and a summary. `--endpoint` and credentials run the same against real
 * OSS or an S3-compatible store; `--help` tells more.
 *
 * @module
 */
import { parseDemoArgs, USAGE } from "./demo/args.ts";
import { runDemo } from "./demo/run.ts";

if (import.meta.main) {
  let options;
  try {
    options = parseDemoArgs(Deno.args, Deno.env.toObject());
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    await runDemo(options, (line) => console.log(line));
  } catch (e) {
    const err = e as Error;
    console.error(`demo failed: ${err?.name ?? "Error"}: ${err?.message ?? String(e)}`);
    Deno.exit(1);
  }
}
