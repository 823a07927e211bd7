/**
 * Credentials from the JSON credential file of the OSS connector docs (`AccessKeyId`, `AccessKeySecret`,
 * optional `SecurityToken` and `Expiration`), re-read before they expire, and the default lookup chain
 * (environment, then that file).
 *
 * @module
 */
import {
  chainCredentials,
  type Credentials,
  type CredentialsProvider,
  describeType,
  envCredentials,
  SafeCredentials,
} from "./credentials.ts";
import { ConfigError } from "./errors.ts";
import { parseJsonText, readTextFile } from "./fs.ts";

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Validates the JSON credential file of OSS Connector for AI/ML:
 * `{"AccessKeyId": "…", "AccessKeySecret": "…", "SecurityToken": "…", "Expiration": "2024-08-02T15:04:05Z"}`.
 * `SecurityToken` and `Expiration` are optional (an empty string or null counts as absent); other keys are
 * ignored. Expired credentials are returned as they are: the caller decides (see {@link fileCredentials}).
 *
 * @param json The parsed JSON.
 * @param source The file name, for messages.
 * @throws {ConfigError} like `creds.json: AccessKeySecret: expected a non-empty string, got a number` (never
 *   quoting a value of AccessKeyId, AccessKeySecret or SecurityToken).
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseCredentialFile } from "./credential_file.ts";
 * const creds = parseCredentialFile(
 *   { AccessKeyId: "STS.example", AccessKeySecret: "s3cr3t", SecurityToken: "t0ken", Expiration: "2030-01-01T00:00:00Z" },
 *   "/root/.alibabacloud/credentials",
 * );
 * expect(creds.expiration?.toISOString()).toEqual("2030-01-01T00:00:00.000Z");
 * ```
 */
export function parseCredentialFile(json: unknown, source: string): SafeCredentials {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError(
      `${source}: expected a JSON object with AccessKeyId and AccessKeySecret, got ${describeType(json)}`,
    );
  }
  const obj = json as Record<string, unknown>;
  const required = (field: string): string => {
    const v = obj[field];
    if (typeof v === "string" && v.trim() !== "") return v;
    let got = v === undefined ? "it is missing" : typeof v === "string" ? "an empty string" : describeType(v);
    if (v === undefined) {
      const near = Object.keys(obj).find((k) => k.replace(/[_-]/g, "").toLowerCase() === field.toLowerCase());
      if (near) got += ` (found "${near}"; the names are case-sensitive: ${field})`;
    }
    throw new ConfigError(`${source}: ${field}: expected a non-empty string, got ${got}`);
  };
  const optional = (field: string): string | undefined => {
    const v = obj[field];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v === "string") return v;
    throw new ConfigError(`${source}: ${field}: expected a string or nothing, got ${describeType(v)}`);
  };
  const accessKeyId = required("AccessKeyId");
  const accessKeySecret = required("AccessKeySecret");
  const securityToken = optional("SecurityToken");
  const exp = optional("Expiration");
  let expiration: Date | undefined;
  if (exp !== undefined) {
    expiration = new Date(exp);
    if (!ISO_TIME.test(exp) || Number.isNaN(expiration.getTime()) || !isCalendarDate(exp)) {
      throw new ConfigError(
        `${source}: Expiration: expected an ISO 8601 time with a zone, like "2024-08-02T15:04:05Z", got ` +
          shownExpiration(exp),
      );
    }
  }
  return new SafeCredentials({ accessKeyId, accessKeySecret, securityToken, expiration }, source);
}

/**
 * Whether the date and time fields of an ISO 8601 time exist (`Date` rolls 2030-02-30 over to March 2 and 25:00
 * to the next day instead of refusing them).
 */
function isCalendarDate(iso: string): boolean {
  const fields = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(iso);
  if (!fields) return false;
  const [y, m, d, hh, mm, ss] = fields.slice(1).map((f) => Number(f ?? 0));
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d && hh < 24 &&
    mm < 60 && ss < 60;
}

/**
 * A bad Expiration as it may appear in a message. Values are shown only when they look like a time or are too
 * short to be a key: a long opaque string is likely a secret or token written into the wrong field.
 */
function shownExpiration(exp: string): string {
  if (exp.length <= 16 || /^[\d\-:.tz+ ]{1,40}$/i.test(exp)) return JSON.stringify(exp);
  return `a string of ${exp.length} characters that is not a time (not quoted: it may be a secret)`;
}

/**
 * Reads and validates a credential file (see {@link parseCredentialFile}).
 *
 * @throws {ConfigError} naming the file: unreadable, invalid JSON (line and column), missing or wrong fields.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { loadCredentialFile } from "./credential_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, JSON.stringify({ AccessKeyId: "LTAI5tExample", AccessKeySecret: "s3cr3t" }));
 * expect((await loadCredentialFile(path)).accessKeyId).toEqual("LTAI5tExample");
 * ```
 */
export async function loadCredentialFile(path: string): Promise<SafeCredentials> {
  return parseCredentialFile(parseJsonText(await readTextFile(path), path), path);
}

/**
 * Options of {@link fileCredentials}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { fileCredentials, type FileCredentialsOptions } from "./credential_file.ts";
 * const opts: FileCredentialsOptions = { refreshWindowMs: 60_000, rereadIntervalMs: 5_000 };
 * const provider = fileCredentials("/etc/oss/credentials.json", opts); // read on first use
 * expect(provider.name).toEqual("file /etc/oss/credentials.json");
 * ```
 */
export interface FileCredentialsOptions {
  /** Re-read the file when the cached credentials expire within this many ms. Default 300_000 (5 min). */
  refreshWindowMs?: number;
  /**
   * Inside the refresh window, re-read at most this often while the cached credentials still work, so that a
   * file that is not updated yet is not read on every request. Default 10_000.
   */
  rereadIntervalMs?: number;
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * Credentials from the JSON credential file of OSS Connector for AI/ML (default location
 * `~/.alibabacloud/credentials`). The file is read on first use and cached; when the cached credentials have
 * an `Expiration` within `refreshWindowMs`, the file is read again (whoever rotates the STS token is expected
 * to rewrite it before then). A file without `Expiration` is read once.
 *
 * While the cached credentials still work, a failed re-read (a file caught mid-rewrite) keeps them; once they
 * have expired, the error is thrown, and a re-read file that is itself expired is an error naming the file.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { fileCredentials } from "./credential_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, JSON.stringify({ AccessKeyId: "LTAI5tExample", AccessKeySecret: "s3cr3t" }));
 * const provider = fileCredentials(path);
 * expect((await provider.getCredentials()).accessKeyId).toEqual("LTAI5tExample");
 * ```
 */
export function fileCredentials(path: string, opts: FileCredentialsOptions = {}): CredentialsProvider {
  if (typeof path !== "string" || path === "") {
    throw new ConfigError(
      `fileCredentials: expected the path of a credential file, got ${describeType(path)}`,
    );
  }
  const refreshWindowMs = opts.refreshWindowMs ?? 300_000;
  const rereadIntervalMs = opts.rereadIntervalMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let cached: SafeCredentials | undefined;
  let lastReadAt = -Infinity;
  let reading: Promise<SafeCredentials> | undefined;

  const works = (c: SafeCredentials | undefined, t: number): boolean =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() > t);

  const reread = (t: number): Promise<SafeCredentials> => {
    reading ??= (async () => {
      try {
        let fresh: SafeCredentials;
        try {
          fresh = await loadCredentialFile(path);
        } catch (err) {
          if (works(cached, now())) return cached!;
          throw err;
        } finally {
          lastReadAt = t;
        }
        if (!works(fresh, now())) {
          if (works(cached, now())) return cached!;
          throw new ConfigError(
            `${path}: the credentials expired at ${fresh.expiration!.toISOString()} (file read at ` +
              `${new Date(now()).toISOString()}); update the file with new credentials before its Expiration`,
          );
        }
        cached = fresh;
        return fresh;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  return {
    name: `file ${path}`,
    async getCredentials(signal?: AbortSignal): Promise<Credentials> {
      signal?.throwIfAborted();
      const t = now();
      if (cached !== undefined) {
        const exp = cached.expiration?.getTime();
        if (exp === undefined || exp - t > refreshWindowMs) return cached;
        if (exp > t && t - lastReadAt < rereadIntervalMs) return cached;
      }
      const creds = await reread(t);
      signal?.throwIfAborted();
      return creds;
    },
  };
}

/**
 * Options of {@link defaultCredentials}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { defaultCredentials, type DefaultCredentialsOptions } from "./credential_file.ts";
 * const env = { OSS_ACCESS_KEY_ID: "id", OSS_ACCESS_KEY_SECRET: "secret" };
 * const opts: DefaultCredentialsOptions = { env, credPath: "/etc/oss/credentials.json" }; // env first, then the file
 * expect((await defaultCredentials(opts).getCredentials()).accessKeyId).toEqual("id");
 * ```
 */
export interface DefaultCredentialsOptions {
  /** Credential file to fall back to. Default `$HOME/.alibabacloud/credentials` when HOME is known. */
  credPath?: string;
  /** Environment to read instead of the process environment. */
  env?: Record<string, string | undefined>;
  /** Options for the file provider. */
  file?: FileCredentialsOptions;
}

/**
 * The usual lookup: the environment first, then the credential file (`credPath`, or
 * `$HOME/.alibabacloud/credentials`, the location the OSS connector docs use).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { defaultCredentials } from "./credential_file.ts";
 * const provider = defaultCredentials({ env: { OSS_ACCESS_KEY_ID: "id", OSS_ACCESS_KEY_SECRET: "secret" } });
 * expect((await provider.getCredentials()).accessKeyId).toEqual("id");
 * ```
 */
export function defaultCredentials(opts: DefaultCredentialsOptions = {}): CredentialsProvider {
  const providers = [envCredentials(opts.env)];
  let path = opts.credPath;
  if (path === undefined) {
    const home = opts.env ? opts.env.HOME : homeDir();
    if (home) path = `${home.replace(/\/+$/, "")}/.alibabacloud/credentials`;
  }
  if (path !== undefined) providers.push(fileCredentials(path, opts.file));
  return chainCredentials(...providers);
}

function homeDir(): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    return g.Deno ? g.Deno.env.get("HOME") : g.process?.env?.HOME;
  } catch {
    return undefined; // no --allow-env: no default file
  }
}
