/**
 * The one options resolver of datasets and checkpoints: how `{ endpoint, region, credentials | credPath,
 * config | configPath, client, signatureVersion, pathStyle, retry }` become the configuration, credentials,
 * logger, audit log and client they use. Internal: `DatasetOptions` and `OssCheckpointOptions` document the
 * options to users.
 *
 * @module
 */
import { OssClient } from "./client.ts";
import type { OssflowConfig } from "./config.ts";
import type { DatasetOptions } from "./dataset/options.ts";
import { type Credentials, type CredentialsProvider, toCredentialsProvider } from "./credentials.ts";
import { defaultCredentials, fileCredentials } from "./credential_file.ts";
import { type Endpoint, parseEndpoint } from "./endpoint.ts";
import { ConfigError } from "./errors.ts";
import { auditedFetch, AuditLog, Logger } from "./log.ts";

/**
 * The options datasets and checkpoints share to reach a store, as `DatasetOptions` documents them
 * (`OssCheckpointOptions` has the same fields but the logger and audit sink).
 */
export type AccessOptions = Pick<
  DatasetOptions,
  | "endpoint"
  | "region"
  | "credentials"
  | "credPath"
  | "config"
  | "configPath"
  | "client"
  | "signatureVersion"
  | "pathStyle"
  | "retry"
  | "logger"
  | "auditSink"
  | "auditThresholdMs"
>;

/** What {@linkcode resolveAccess} makes of the options. */
export interface Access {
  /** The configuration, checked, when one was given. */
  config?: OssflowConfig;
  /** The logger. */
  logger: Logger;
  /** The audit log, when the config names an `auditPath` or an `auditSink` was given. */
  audit?: AuditLog;
}

/**
 * Checks what can be checked without I/O: `opts` is an object, and neither `config` and `configPath` nor
 * `credentials` and `credPath` are both given. `what` starts each message (`dataset options`, `OssCheckpoint`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkAccessOptions } from "./access.ts";
 * expect(() => checkAccessOptions("dataset options", { config: {}, configPath: "c.json" }))
 *   .toThrow("dataset options: pass config or configPath, not both");
 * ```
 */
export function checkAccessOptions(what: string, opts: unknown): asserts opts is AccessOptions {
  if (opts === null || typeof opts !== "object") {
    throw new ConfigError(`${what}: expected an object, got ${opts === null ? "null" : typeof opts}`);
  }
  const o = opts as AccessOptions;
  if (o.config !== undefined && o.configPath !== undefined) {
    throw new ConfigError(`${what}: pass config or configPath, not both`);
  }
  if (o.credentials !== undefined && o.credPath !== undefined) {
    throw new ConfigError(`${what}: pass credentials or credPath, not both`);
  }
}

/**
 * Reads and checks the configuration (`configPath`, once per call) and makes the logger and the audit log.
 * `config.ts` (and zod with it) is imported only when a configuration is given: a process without one stays lean.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveAccess } from "./access.ts";
 * const access = await resolveAccess({ config: { logLevel: 3, datasetConfig: { prefetchConcurrency: 4 } } });
 * expect(access.config?.datasetConfig.prefetchConcurrency).toBe(4);
 * expect(access.audit).toBeUndefined();
 * ```
 */
export async function resolveAccess(opts: AccessOptions): Promise<Access> {
  const config = opts.configPath !== undefined
    ? await (await import("./config.ts")).loadConfig(opts.configPath)
    : opts.config !== undefined
    ? (await import("./config.ts")).parseConfig(opts.config, "config")
    : undefined;
  const logger = opts.logger ?? new Logger({ level: config?.logLevel ?? 1, path: config?.logPath });
  const audit = config?.auditPath !== undefined || opts.auditSink !== undefined
    ? new AuditLog({ path: config?.auditPath, sink: opts.auditSink, thresholdMs: opts.auditThresholdMs })
    : undefined;
  return { config, logger, audit };
}

/**
 * The credentials of a client made from the options: `credentials`, else the file at `credPath`, else the
 * environment then `~/.alibabacloud/credentials`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { accessCredentials } from "./access.ts";
 * const provider = accessCredentials({ credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
 * expect((await provider.getCredentials()).accessKeyId).toBe("id");
 * ```
 */
export function accessCredentials(opts: AccessOptions): CredentialsProvider {
  return opts.credentials !== undefined
    ? toCredentialsProvider(opts.credentials)
    : opts.credPath !== undefined
    ? fileCredentials(opts.credPath)
    : defaultCredentials();
}

/**
 * The endpoint of the options (or `given`), with `pathStyle` applied when set.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { accessEndpoint } from "./access.ts";
 * expect(accessEndpoint({ pathStyle: true }, "https://oss-cn-hangzhou.aliyuncs.com").pathStyle).toBe(true);
 * ```
 */
export function accessEndpoint(opts: AccessOptions, given: string | Endpoint): Endpoint {
  return parseEndpoint(given, opts.pathStyle === undefined ? {} : { pathStyle: opts.pathStyle });
}

/**
 * A client made from the options: `endpoint`, `region`, `credentials`, `signatureVersion` (or the one given),
 * `retry`, and the audit log wrapped around its `fetch`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { accessClient, accessCredentials, accessEndpoint } from "./access.ts";
 * const opts = { region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "secret" } };
 * const client = accessClient(opts, accessEndpoint(opts, "http://127.0.0.1:9000"), accessCredentials(opts));
 * expect(client.region).toBe("cn-hangzhou");
 * ```
 */
export function accessClient(
  opts: AccessOptions,
  endpoint: Endpoint,
  credentials: Credentials | CredentialsProvider | undefined,
  access: { audit?: AuditLog } = {},
  signatureVersion: "oss4" | "s3v4" | undefined = opts.signatureVersion,
): OssClient {
  return new OssClient({
    endpoint,
    region: opts.region,
    credentials,
    signatureVersion,
    retry: opts.retry,
    fetch: access.audit ? auditedFetch(access.audit, { pathStyle: endpoint.pathStyle }) : undefined,
  });
}
