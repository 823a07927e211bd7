/**
 * `config.json` as OSS Connector for AI/ML documents it, validated with `zod/mini` (the full zod API made the
 * browser bundle 628 KiB instead of 188), with the documented defaults:
 *
 * ```json
 * {
 *   "logLevel": 1,
 *   "logPath": "/var/log/oss-connector/connector.log",
 *   "auditPath": "/var/log/oss-connector/audit.log",
 *   "datasetConfig": { "prefetchConcurrency": 24, "prefetchWorker": 2 },
 *   "checkpointConfig": { "prefetchConcurrency": 24, "prefetchWorker": 4, "uploadConcurrency": 64 }
 * }
 * ```
 *
 * `logLevel` is 0 debug, 1 info, 2 warn or 3 error, or one of those names (`"info"`).
 * `datasetConfig.enableFastList` (false) lists a dataset's prefix as `listConcurrency` (16) key ranges at once;
 * `datasetConfig.listWorker` (1) is accepted as documented and has no effect (the listing needs no worker of its
 * own: its cost is round trips, not CPU). Unknown keys are ignored with a warning (a typo should not pass silently).
 * `logPath` and `auditPath` stay undefined unless set: the connector's defaults under `/var/log` are not
 * written to by a library that was not asked to.
 *
 * The credential file's parser lives in `credential_file.ts` and is re-exported here.
 *
 * @module
 */

import * as z from "zod/mini";
import { ConfigError } from "./errors.ts";
import { parseJsonText, readTextFile } from "./fs.ts";

export { loadCredentialFile, parseCredentialFile } from "./credential_file.ts";

/** The names `config.json` may give `logLevel` instead of its number: index = level. */
const LOG_LEVEL_NAMES = ["debug", "info", "warn", "error"] as const;
const LOG_LEVEL_EXPECTED = 'expected an integer from 0 to 3 or one of "debug", "info", "warn", "error"';

/**
 * Log levels of `config.json`: 0 debug, 1 info, 2 warn, 3 error (`logLevel` also takes the names, e.g.
 * `"info"`, and is read as the number).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type LogLevel, parseConfig } from "./config.ts";
 * const level: LogLevel = parseConfig({ logLevel: 2 }, "config.json").logLevel;
 * expect(level).toEqual(2);
 * ```
 */
export type LogLevel = 0 | 1 | 2 | 3;

/**
 * `datasetConfig` of `config.json`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type DatasetConfig, defaultConfig } from "./config.ts";
 * const dataset: DatasetConfig = defaultConfig().datasetConfig;
 * expect([dataset.prefetchConcurrency, dataset.prefetchWorker]).toEqual([24, 2]);
 * ```
 */
export interface DatasetConfig {
  /** Requests in flight while prefetching dataset items. Default 24. */
  prefetchConcurrency: number;
  /** Workers (the connector: vCPUs) prefetching dataset items; 0 prefetches inline. Default 2. */
  prefetchWorker: number;
  /** List a dataset's prefix as several key ranges at once (`listFast`). Default false. */
  enableFastList: boolean;
  /** Listing requests in flight with `enableFastList`. Default 16. */
  listConcurrency: number;
  /** The connector's FastList workers: accepted, no effect. Default 1. */
  listWorker: number;
}

/**
 * `checkpointConfig` of `config.json`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type CheckpointConfig, parseConfig } from "./config.ts";
 * const config = parseConfig({ checkpointConfig: { uploadConcurrency: 8 } }, "config.json");
 * const ckpt: CheckpointConfig = config.checkpointConfig;
 * expect([ckpt.uploadConcurrency, ckpt.prefetchConcurrency]).toEqual([8, 24]);
 * ```
 */
export interface CheckpointConfig {
  /** Ranged reads in flight while reading a checkpoint. Default 24. */
  prefetchConcurrency: number;
  /** Workers (the connector: vCPUs) reading checkpoints. Default 4. */
  prefetchWorker: number;
  /** Parts uploaded at once while writing a checkpoint. Default 64. */
  uploadConcurrency: number;
}

/**
 * A validated `config.json` with defaults filled in.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { defaultConfig, type OssflowConfig } from "./config.ts";
 * const config: OssflowConfig = defaultConfig();
 * expect(config.datasetConfig.prefetchConcurrency).toEqual(24);
 * ```
 */
export interface OssflowConfig {
  /** 0 debug, 1 info, 2 warn, 3 error (the file may say `"debug"`, `"info"`, `"warn"`, `"error"`). Default 1. */
  logLevel: LogLevel;
  /** Log file; undefined when not configured. */
  logPath?: string;
  /** Audit log file; undefined when not configured. */
  auditPath?: string;
  /** Dataset settings. */
  datasetConfig: DatasetConfig;
  /** Checkpoint settings. */
  checkpointConfig: CheckpointConfig;
}

function int(min: number, max: number | undefined, fallback: number) {
  const expected = max === undefined
    ? `expected an integer >= ${min}`
    : `expected an integer from ${min} to ${max}`;
  const bounds = max === undefined ? [z.gte(min)] : [z.gte(min), z.lte(max)];
  return z._default(z.int({ error: expected }).check(...bounds), fallback);
}

const path = z.optional(
  z.string({ error: "expected a file path (a non-empty string)" }).check(z.minLength(1)),
);

const datasetSchema = z.object({
  prefetchConcurrency: int(1, undefined, 24),
  prefetchWorker: int(0, undefined, 2),
  enableFastList: z._default(z.boolean({ error: "expected true or false" }), false),
  listConcurrency: int(1, undefined, 16),
  listWorker: int(0, undefined, 1),
}, { error: "expected an object" });

const checkpointSchema = z.object({
  prefetchConcurrency: int(1, undefined, 24),
  prefetchWorker: int(0, undefined, 4),
  uploadConcurrency: int(1, undefined, 64),
}, { error: "expected an object" });

/**
 * The zod schema of `config.json` (unknown keys are stripped). Prefer {@link parseConfig}, whose errors
 * name the file and the JSON path.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { configSchema } from "./config.ts";
 * expect(configSchema.parse({ logLevel: 2 }).checkpointConfig.uploadConcurrency).toEqual(64);
 * ```
 */
export const configSchema: z.ZodMiniType<OssflowConfig, unknown> = z.object({
  logLevel: z._default(
    z.pipe(
      z.custom<number | (typeof LOG_LEVEL_NAMES)[number]>(
        (v) =>
          (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 3) ||
          LOG_LEVEL_NAMES.includes(v as (typeof LOG_LEVEL_NAMES)[number]),
        { error: LOG_LEVEL_EXPECTED },
      ),
      z.transform((v: number | (typeof LOG_LEVEL_NAMES)[number]) =>
        (typeof v === "number" ? v : LOG_LEVEL_NAMES.indexOf(v)) as LogLevel
      ),
    ),
    1,
  ),
  logPath: path,
  auditPath: path,
  datasetConfig: z.prefault(datasetSchema, {}),
  checkpointConfig: z.prefault(checkpointSchema, {}),
}, { error: "expected a JSON object" });

const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": ["logLevel", "logPath", "auditPath", "datasetConfig", "checkpointConfig"],
  datasetConfig: ["prefetchConcurrency", "prefetchWorker", "enableFastList", "listConcurrency", "listWorker"],
  checkpointConfig: ["prefetchConcurrency", "prefetchWorker", "uploadConcurrency"],
};

/**
 * The configuration used when there is no `config.json`: every documented default.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { defaultConfig } from "./config.ts";
 * expect(defaultConfig().checkpointConfig).toEqual({ prefetchConcurrency: 24, prefetchWorker: 4, uploadConcurrency: 64 });
 * ```
 */
export function defaultConfig(): OssflowConfig {
  return configSchema.parse({});
}

/**
 * Options of {@link parseConfig} and {@link loadConfig}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseConfig, type ParseConfigOptions } from "./config.ts";
 * const warnings: string[] = [];
 * const opts: ParseConfigOptions = { warn: (m) => warnings.push(m) };
 * parseConfig({ logLevl: 1 }, "config.json", opts);
 * expect(warnings).toEqual(["config.json: logLevl: unknown key, ignored (did you mean logLevel?)"]);
 * ```
 */
export interface ParseConfigOptions {
  /** Receives one message per unknown key. Default `console.warn`; pass `() => {}` to silence. */
  warn?: (message: string) => void;
}

/** `datasetConfig.prefetchConcurrency`, `items[2]`, `["odd key"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v = json;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** A short description of a JSON value for "got …". */
function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v)}`;
  return String(v);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

function unknownKeys(json: unknown): { path: string; suggestion?: string }[] {
  const out: { path: string; suggestion?: string }[] = [];
  for (const [section, known] of Object.entries(KNOWN_KEYS)) {
    const obj = section === "" ? json : valueAt(json, [section]);
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) continue;
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const suggestion = known.find((k) =>
        k.toLowerCase() === key.toLowerCase() || editDistance(k.toLowerCase(), key.toLowerCase()) <= 2
      );
      out.push({ path: formatPath(section === "" ? [key] : [section, key]), suggestion });
    }
  }
  return out;
}

/**
 * Validates a parsed `config.json` and fills in the defaults.
 *
 * @param json The parsed JSON (`undefined` gives the defaults).
 * @param source The file name, for messages.
 * @throws {ConfigError} listing every problem as `<source>: <json.path>: expected …, got …`.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ datasetConfig: { prefetchConcurrency: 64 } }, "config.json");
 * expect(config.datasetConfig).toEqual({ prefetchConcurrency: 64, prefetchWorker: 2, enableFastList: false, listConcurrency: 16, listWorker: 1 });
 * expect(() => parseConfig({ datasetConfig: { prefetchConcurrency: -1 } }, "config.json"))
 *   .toThrow("config.json: datasetConfig.prefetchConcurrency: expected an integer >= 1, got -1");
 * ```
 */
export function parseConfig(json: unknown, source: string, opts: ParseConfigOptions = {}): OssflowConfig {
  const result = configSchema.safeParse(json === undefined ? {} : json);
  if (!result.success) {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const issue of result.error.issues) {
      const at = formatPath(issue.path);
      if (seen.has(at)) continue; // zod may report one value twice (e.g. not an integer and too big)
      seen.add(at);
      problems.push(
        `${at === "" ? "" : `${at}: `}${issue.message}, got ${describe(valueAt(json, issue.path))}`,
      );
    }
    const body = problems.length === 1
      ? problems[0]
      : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
    throw new ConfigError(`${source}: ${body}`, { cause: result.error });
  }
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  for (const { path, suggestion } of unknownKeys(json)) {
    warn(`${source}: ${path}: unknown key, ignored${suggestion ? ` (did you mean ${suggestion}?)` : ""}`);
  }
  return result.data;
}

/**
 * Reads, parses and validates a `config.json` file (the connector's default location is
 * `/etc/oss-connector/config.json`).
 *
 * @throws {ConfigError} naming the file: unreadable, invalid JSON (with line and column), or invalid values
 *   (with the JSON path).
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { loadConfig } from "./config.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({ logLevel: 0, checkpointConfig: { uploadConcurrency: 8 } }));
 * const config = await loadConfig(path);
 * expect([config.logLevel, config.checkpointConfig.uploadConcurrency]).toEqual([0, 8]);
 * ```
 */
export async function loadConfig(path: string, opts: ParseConfigOptions = {}): Promise<OssflowConfig> {
  if (typeof path !== "string" || path === "") {
    throw new ConfigError(`loadConfig: expected the path of a config.json file, got ${describe(path)}`);
  }
  return parseConfig(parseJsonText(await readTextFile(path), path), path, opts);
}
