/**
 * Command line for the local server: `deno task serve --data ./oss-data --port 9000`.
 *
 * Prints the base URL on stdout once listening and serves until SIGINT/SIGTERM.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { serveEmulator, type ServeEmulatorOptions } from "./emulator.ts";
import { FAULT_KINDS, type FaultKind } from "./faults.ts";
import { CorsPolicy } from "./pipeline/cors.ts";
import { DirectoryStore } from "./store/directory.ts";

const USAGE = `Usage: deno task serve [options]

Runs an OSS-compatible server (OSS and S3 API forms, path-style http://HOST:PORT/bucket/key).

Storage
  --data DIR               keep objects in DIR (created if missing; survives restarts). Default: in memory
  --bucket NAME            create bucket NAME at start (repeatable)
  --auto-create-buckets    create a bucket on its first write
Network
  --port N                 port (default 0: any free port)
  --hostname H             interface (default 127.0.0.1)
  --region R               region id (default cn-hangzhou)
Authentication (every request must be signed when a key is set)
  --access-key-id ID       or env OSS_ACCESS_KEY_ID
  --access-key-secret S    or env OSS_ACCESS_KEY_SECRET
  --no-auth                accept unsigned requests even if the env variables are set
  --check-region           refuse signatures whose region is not --region (default: any region)
Browsers (CORS; off by default, like a bucket without a CORS rule)
  --cors-origin ORIGIN     let pages on ORIGIN (e.g. http://127.0.0.1:8080, or *) call the server
                           (repeatable or comma-separated)
  --cors-max-age S         let browsers cache a preflight answer S seconds
Limits and faults
  --max-body-bytes N       largest request body (default 5 GiB)
  --min-part-size N        smallest non-final multipart part (default 102400, as on OSS)
  --latency MS             delay before every request
  --bandwidth BYTES        cap per response / request body, bytes per second (k, m, g suffixes allowed)
  --error-rate R           probability in [0, 1] of an injected fault per request
  --error-kinds K,K        among ${FAULT_KINDS.join(", ")} (default all)
  --seed N                 PRNG seed for faults (default 1)
  --help                   show this help`;

/** Parsed command line. */
export interface CliOptions extends ServeEmulatorOptions {
  /** Data directory, when objects are kept on disk. */
  data?: string;
  /** Whether `--help` was given. */
  help?: boolean;
}

function number(
  flag: string,
  value: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]i?b?)?$/i.exec(value.trim());
  const scale: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const n = m ? Number(m[1]) * (m[2] ? scale[m[2][0].toLowerCase()] : 1) : NaN;
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = opts;
  if (!(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
    throw new ConfigError(
      `${flag}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/**
 * Parses command line arguments into server options (credentials fall back to `env`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseArgs } from "./cli.ts";
 * const opts = parseArgs(["--data", "./oss-data", "--port", "9000", "--latency", "20"], {});
 * expect([opts.data, opts.port, opts.faults]).toEqual(["./oss-data", 9000, { latencyMs: 20 }]);
 * ```
 */
export function parseArgs(args: string[], env: Record<string, string | undefined>): CliOptions {
  const opts: CliOptions = {};
  const faults: NonNullable<ServeEmulatorOptions["faults"]> & Record<string, unknown> = {};
  let keyId = env.OSS_ACCESS_KEY_ID, secret = env.OSS_ACCESS_KEY_SECRET, auth = true;
  const corsOrigins: string[] = [];
  let corsMaxAge: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (arg.startsWith("--") && eq > 0) return arg.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`${flag}: expected a value`);
      return v;
    };
    switch (flag) {
      case "--help":
      case "-h":
        opts.help = true;
        break;
      case "--data":
        opts.data = value();
        break;
      case "--bucket":
        (opts.buckets ??= []).push(value());
        break;
      case "--auto-create-buckets":
        opts.autoCreateBuckets = true;
        break;
      case "--port":
        opts.port = number(flag, value(), { max: 65535 });
        break;
      case "--hostname":
        opts.hostname = value();
        break;
      case "--region":
        opts.region = value().replace(/^oss-/, "");
        break;
      case "--access-key-id":
        keyId = value();
        break;
      case "--access-key-secret":
        secret = value();
        break;
      case "--no-auth":
        auth = false;
        break;
      case "--check-region":
        opts.checkRegion = true;
        break;
      case "--no-check-region": // the default; accepted for scripts written when checking was
        opts.checkRegion = false;
        break;
      case "--cors-origin":
        corsOrigins.push(...value().split(",").map((o) => o.trim()).filter((o) => o !== ""));
        break;
      case "--cors-max-age":
        corsMaxAge = number(flag, value());
        break;
      case "--max-body-bytes":
        opts.maxBodyBytes = number(flag, value(), { min: 1 });
        break;
      case "--min-part-size":
        opts.minPartSize = number(flag, value());
        break;
      case "--latency":
        faults.latencyMs = number(flag, value(), { integer: false });
        break;
      case "--bandwidth":
        faults.bandwidthBytesPerSec = number(flag, value(), { min: 1 });
        break;
      case "--error-rate":
        faults.errorRate = number(flag, value(), { max: 1, integer: false });
        break;
      case "--error-kinds":
        faults.errorKinds = value().split(",").map((k) => k.trim()) as FaultKind[];
        for (const k of faults.errorKinds) {
          if (!FAULT_KINDS.includes(k)) {
            throw new ConfigError(
              `--error-kinds: expected a comma-separated list of ${FAULT_KINDS.join(", ")}, got "${k}"`,
            );
          }
        }
        break;
      case "--seed":
        faults.seed = number(flag, value(), { max: 2 ** 32 - 1 });
        break;
      default:
        throw new ConfigError(`unknown option "${arg}" (see --help)`);
    }
  }
  if (auth && (keyId || secret)) {
    if (!keyId || !secret) {
      throw new ConfigError(
        "credentials: both --access-key-id and --access-key-secret (or OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET) are needed",
      );
    }
    opts.credentials = [{ accessKeyId: keyId, accessKeySecret: secret }];
  }
  if (Object.keys(faults).length > 0) opts.faults = faults;
  if (corsOrigins.length > 0) {
    opts.cors = { origins: corsOrigins.includes("*") ? "*" : corsOrigins, maxAgeSeconds: corsMaxAge };
    try {
      new CorsPolicy(opts.cors);
    } catch (err) {
      throw new ConfigError(`--cors-origin: ${(err as Error).message}`);
    }
  } else if (corsMaxAge !== undefined) {
    throw new ConfigError("--cors-max-age: expected --cors-origin too (CORS is off without an origin)");
  }
  return opts;
}

/**
 * Runs the server from command line arguments until SIGINT/SIGTERM; returns the process exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(Deno.args));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseArgs(args, Deno.env.toObject());
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const store = opts.data ? new DirectoryStore(opts.data) : undefined;
  const server = await serveEmulator({ ...opts, store });
  const auth = opts.credentials
    ? `signed requests only (key ${opts.credentials[0].accessKeyId})`
    : "unsigned allowed";
  const cors = opts.cors ? [opts.cors.origins].flat().join(", ") : "off";
  console.log(`ossflow emulator listening on ${server.url}`);
  const region = opts.region ?? "cn-hangzhou";
  console.log(`  storage: ${opts.data ?? "memory"}; region: ${region}; auth: ${auth}; cors: ${cors}`);
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => resolve());
  });
  await stopped;
  await server.close();
  await store?.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
