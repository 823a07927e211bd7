/**
 * The demo's command line: flags (and their `OSS_*` environment fallbacks) into {@linkcode DemoOptions}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../../src/errors.ts";

/** What one demo run does. */
export interface DemoOptions {
  /** Remote endpoint; undefined: start the local server. */
  endpoint?: string;
  /** Where the endpoint came from (`--endpoint` or `OSS_ENDPOINT`), for the banner. */
  endpointSource?: string;
  /** Signing region; default from the endpoint (local server: cn-hangzhou). */
  region?: string;
  /** Bucket to write into. */
  bucket: string;
  /** Key prefix of everything the demo writes, ends with "/". */
  prefix: string;
  /** `oss4` (default) or `s3v4`. */
  signatureVersion: "oss4" | "s3v4";
  /** Force path-style or virtual-hosted URLs; default: path style for IPs and localhost. */
  pathStyle?: boolean;
  /** A credential file (`AccessKeyId`, `AccessKeySecret`, …) instead of the environment / default file. */
  credPath?: string;
  /** Number of generated PNG images. */
  images: number;
  /** Side of each image in pixels. */
  imageSize: number;
  /** Checkpoint size in MiB. */
  checkpointMiB: number;
  /** Prefetch Web Workers of the dataset (0: inline). */
  workers: number;
  /** Requests in flight (uploads, dataset prefetch, checkpoint parts). */
  concurrency: number;
  /** Show progress bars (only ever drawn on a TTY). */
  progress: boolean;
  /** Leave the demo's objects on a remote bucket instead of deleting them. */
  keep: boolean;
}

/** `--help` text. */
export const USAGE = `ossflow demo: a dataset and a checkpoint, end to end

Usage: deno task demo [options]

With no options, starts the local OSS-compatible server (in memory, in a worker thread), writes a generated
dataset of PNG images and a JSON-lines manifest to it, streams the dataset through OssIterableDataset
(manifest source, 2 prefetch Web Workers, a transform decoding each PNG and computing its mean pixel),
saves a safetensors-like checkpoint with OssCheckpoint (multipart upload), reads it back (parallel
ranged GETs), verifies every byte, and prints a summary. Nothing to configure; nothing left behind.

Against a real OSS bucket or an S3-compatible store instead:
  OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... deno task demo \\
    --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket --prefix tmp/ossflow-demo/

Target:
  --endpoint URL          OSS or S3-compatible endpoint (env OSS_ENDPOINT); omitted: the local server
  --region NAME           signing region, e.g. cn-hangzhou (env OSS_REGION); default: from the endpoint
  --bucket NAME           bucket to write into (env OSS_BUCKET); required with --endpoint
  --prefix PREFIX         key prefix for everything written (default "ossflow-demo/")
  --signature-version V   oss4 (default) or s3v4 (AWS SigV4, for S3-compatible stores)
  --path-style            path-style URLs (endpoint/bucket/key), e.g. for MinIO
  --cred-path FILE        JSON credential file {"AccessKeyId", "AccessKeySecret", "SecurityToken"?,
                          "Expiration"?}; default: OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET /
                          OSS_SESSION_TOKEN, then ~/.alibabacloud/credentials
  --keep                  leave the demo's objects in a remote bucket (default: delete them at the end)

Sizes:
  --images N              generated PNG images (default 300)
  --image-size PX         width and height of each image (default 64)
  --checkpoint-mib N      checkpoint size in MiB (default 32)
  --workers N             dataset prefetch Web Workers, 0 = inline (default 2)
  --concurrency N         requests in flight (default 16)
  --no-progress           no progress bars (they are drawn only when stderr is a terminal anyway)
  -h, --help              this text

Rates: MB = 10^6 bytes.`;

/** Positive integer flag. */
function integer(flag: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Parses the demo's arguments; `env` supplies `OSS_ENDPOINT`, `OSS_REGION` and `OSS_BUCKET` when the flags
 * don't. Returns `"help"` for `--help`.
 *
 * @throws {ConfigError} naming the flag and what it expects.
 * @example
 * ```ts
 * import { parseDemoArgs } from "./args.ts";
 * const o = parseDemoArgs(["--images", "20"], {});
 * console.log(o !== "help" && o.images); // 20
 * ```
 */
export function parseDemoArgs(args: string[], env: Record<string, string | undefined>): DemoOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        endpoint: { type: "string" },
        region: { type: "string" },
        bucket: { type: "string" },
        prefix: { type: "string" },
        "signature-version": { type: "string" },
        "path-style": { type: "boolean" },
        "cred-path": { type: "string" },
        keep: { type: "boolean" },
        images: { type: "string" },
        "image-size": { type: "string" },
        "checkpoint-mib": { type: "string" },
        workers: { type: "string" },
        concurrency: { type: "string" },
        "no-progress": { type: "boolean" },
      },
    }));
  } catch (e) {
    // node:util's messages name the flag: "Unknown option '--x'", "Option '--images <value>' argument missing"
    throw new ConfigError(`${(e as Error).message} (see --help)`);
  }
  if (values.help) return "help";

  const endpoint = values.endpoint ?? (env.OSS_ENDPOINT || undefined);
  const sig = values["signature-version"] ?? "oss4";
  if (sig !== "oss4" && sig !== "s3v4") {
    throw new ConfigError(`--signature-version: expected "oss4" or "s3v4", got ${JSON.stringify(sig)}`);
  }
  const bucket = values.bucket ?? (env.OSS_BUCKET || undefined);
  if (endpoint !== undefined && bucket === undefined) {
    throw new ConfigError(
      "--bucket: required with --endpoint (or set OSS_BUCKET): the demo writes its objects there",
    );
  }
  if (bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      `--bucket: expected a bucket name (3-63 lowercase letters, digits, "-" or "."), got ${
        JSON.stringify(bucket)
      }`,
    );
  }
  let prefix = values.prefix ?? "ossflow-demo/";
  if (prefix.startsWith("/")) {
    throw new ConfigError(
      `--prefix: expected a key prefix without a leading "/", got ${JSON.stringify(prefix)}`,
    );
  }
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  if (endpoint !== undefined && prefix === "") {
    throw new ConfigError('--prefix: expected a non-empty prefix with --endpoint (e.g. "tmp/ossflow-demo/")');
  }
  if (endpoint === undefined && values["cred-path"] !== undefined) {
    throw new ConfigError("--cred-path: only used with --endpoint (the local server has its own key)");
  }

  return {
    endpoint,
    endpointSource: values.endpoint !== undefined ? "--endpoint" : endpoint ? "OSS_ENDPOINT" : undefined,
    region: values.region ?? (env.OSS_REGION || undefined),
    bucket: bucket ?? "ossflow-demo",
    prefix,
    signatureVersion: sig,
    pathStyle: values["path-style"] ? true : undefined,
    credPath: values["cred-path"],
    images: integer("images", values.images, 300, 1, 100_000),
    imageSize: integer("image-size", values["image-size"], 64, 8, 1024),
    checkpointMiB: integer("checkpoint-mib", values["checkpoint-mib"], 32, 1, 4096),
    workers: integer("workers", values.workers, 2, 0, 16),
    concurrency: integer("concurrency", values.concurrency, 16, 1, 256),
    progress: !values["no-progress"],
    keep: values.keep ?? false,
  };
}
