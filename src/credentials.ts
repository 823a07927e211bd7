/**
 * Access credentials and where they come from: a static pair, the environment (`OSS_ACCESS_KEY_ID`,
 * `OSS_ACCESS_KEY_SECRET`, `OSS_SESSION_TOKEN`), the JSON credential file of OSS Connector for AI/ML
 * (re-read before its `Expiration`), or a chain of these.
 *
 * Every provider returns {@link SafeCredentials}: the secret and the token are non-enumerable and redacted
 * in `JSON.stringify`, `String()`, `Deno.inspect`/`console.log` and Node's `util.inspect`. No error message
 * ever contains a secret or a token.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { parseJsonText, readTextFile } from "./fs.ts";

/**
 * An access key pair, optionally with an STS security token and its expiry.
 *
 * @example
 * ```ts
 * import type { Credentials } from "./credentials.ts";
 * const creds: Credentials = { accessKeyId: "LTAI5tExample", accessKeySecret: "example-secret" };
 * console.log(creds.accessKeyId);
 * ```
 */
export interface Credentials {
  /** AccessKey ID (not secret; shown in logs and errors). */
  accessKeyId: string;
  /** AccessKey secret: never logged. */
  accessKeySecret: string;
  /** STS security token for temporary credentials: never logged. */
  securityToken?: string;
  /** When temporary credentials stop working. */
  expiration?: Date;
}

/**
 * Something that hands out credentials, possibly fetching or refreshing them.
 *
 * @example
 * ```ts
 * import type { CredentialsProvider } from "./credentials.ts";
 * const provider: CredentialsProvider = {
 *   name: "vault",
 *   getCredentials: () => Promise.resolve({ accessKeyId: "id", accessKeySecret: "secret" }),
 * };
 * console.log((await provider.getCredentials()).accessKeyId);
 * ```
 */
export interface CredentialsProvider {
  /** Resolves the credentials to sign the next request with. */
  getCredentials(signal?: AbortSignal): Promise<Credentials>;
  /** What this provider reads, for error messages (e.g. `file /root/.alibabacloud/credentials`). */
  readonly name?: string;
}

const REDACTED = "[redacted]";

/**
 * Credentials that are safe to log: `accessKeySecret` and `securityToken` are non-enumerable properties, and
 * `toJSON`, `toString`, `Deno.inspect` and Node's `util.inspect` show them as `[redacted]`.
 *
 * Being non-enumerable, the secret does not survive `{ ...creds }` or `structuredClone(creds)`; copy with
 * `new SafeCredentials(creds)` instead. Instances are frozen.
 *
 * @example
 * ```ts
 * import { SafeCredentials } from "./credentials.ts";
 * const creds = new SafeCredentials({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * console.log(JSON.stringify(creds)); // {"accessKeyId":"LTAI5tExample","accessKeySecret":"[redacted]"}
 * console.log(creds.accessKeySecret === "s3cr3t"); // true
 * ```
 */
export class SafeCredentials implements Credentials {
  // `declare`: no class-field initialisers; the constructor defines each property with its own attributes.
  /** AccessKey ID. */
  declare readonly accessKeyId: string;
  /** AccessKey secret (non-enumerable). */
  declare readonly accessKeySecret: string;
  /** STS security token (non-enumerable), when the credentials are temporary. */
  declare readonly securityToken?: string;
  /** When the credentials expire, if they do. */
  declare readonly expiration?: Date;

  /**
   * @param init The key pair; validated (non-empty strings, a valid Date).
   * @param source What the credentials came from, for error messages.
   */
  constructor(init: Credentials, source = "credentials") {
    checkCredentials(init, source);
    Object.defineProperty(this, "accessKeyId", { value: init.accessKeyId, enumerable: true });
    Object.defineProperty(this, "accessKeySecret", { value: init.accessKeySecret, enumerable: false });
    if (init.securityToken !== undefined && init.securityToken !== "") {
      Object.defineProperty(this, "securityToken", { value: init.securityToken, enumerable: false });
    }
    if (init.expiration !== undefined) {
      Object.defineProperty(this, "expiration", {
        value: new Date(init.expiration.getTime()),
        enumerable: true,
      });
    }
    Object.freeze(this);
  }

  /** A JSON view with the secret and token replaced by `[redacted]`. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = { accessKeyId: this.accessKeyId, accessKeySecret: REDACTED };
    if (this.securityToken !== undefined) out.securityToken = REDACTED;
    if (this.expiration !== undefined) out.expiration = this.expiration.toISOString();
    return out;
  }

  /** `Credentials { accessKeyId: "…", accessKeySecret: [redacted], … }` */
  toString(): string {
    const parts = [`accessKeyId: ${JSON.stringify(this.accessKeyId)}`, `accessKeySecret: ${REDACTED}`];
    if (this.securityToken !== undefined) parts.push(`securityToken: ${REDACTED}`);
    if (this.expiration !== undefined) parts.push(`expiration: ${this.expiration.toISOString()}`);
    return `Credentials { ${parts.join(", ")} }`;
  }

  /** Deno's `console.log` / `Deno.inspect` hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Node's `console.log` / `util.inspect` hook. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a Date";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function checkCredentials(c: Credentials, source: string): void {
  if (c === null || typeof c !== "object") {
    throw new ConfigError(`${source}: expected { accessKeyId, accessKeySecret }, got ${describeType(c)}`);
  }
  for (const field of ["accessKeyId", "accessKeySecret"] as const) {
    const v = (c as unknown as Record<string, unknown>)[field];
    if (typeof v !== "string" || v.trim() === "") {
      const got = v === undefined
        ? "it is missing"
        : typeof v === "string"
        ? "an empty string"
        : describeType(v);
      throw new ConfigError(`${source}: ${field}: expected a non-empty string, got ${got}`);
    }
  }
  if (c.securityToken !== undefined && typeof c.securityToken !== "string") {
    throw new ConfigError(
      `${source}: securityToken: expected a string, got ${describeType(c.securityToken)}`,
    );
  }
  if (
    c.expiration !== undefined && !(c.expiration instanceof Date && !Number.isNaN(c.expiration.getTime()))
  ) {
    throw new ConfigError(`${source}: expiration: expected a valid Date, got ${describeType(c.expiration)}`);
  }
}

function toSafe(c: Credentials, source: string): SafeCredentials {
  return c instanceof SafeCredentials ? c : new SafeCredentials(c, source);
}

/**
 * A provider that always returns the same credentials.
 *
 * @throws {ConfigError} at once when the pair is incomplete.
 * @example
 * ```ts
 * import { staticCredentials } from "./credentials.ts";
 * const provider = staticCredentials({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * console.log(String(await provider.getCredentials()));
 * ```
 */
export function staticCredentials(c: Credentials): CredentialsProvider {
  const creds = toSafe(c, "static credentials");
  return {
    name: "static credentials",
    getCredentials: (signal?: AbortSignal) => {
      signal?.throwIfAborted();
      return Promise.resolve(creds);
    },
  };
}

/** The environment variables read by {@link envCredentials}. */
export const ENV_ACCESS_KEY_ID = "OSS_ACCESS_KEY_ID";
/** @see {@link ENV_ACCESS_KEY_ID} */
export const ENV_ACCESS_KEY_SECRET = "OSS_ACCESS_KEY_SECRET";
/** @see {@link ENV_ACCESS_KEY_ID} */
export const ENV_SESSION_TOKEN = "OSS_SESSION_TOKEN";

type EnvReader = (name: string) => string | undefined;

function runtimeEnv(): EnvReader {
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  if (g.Deno?.env) {
    return (name) => {
      try {
        return g.Deno!.env.get(name);
      } catch (err) {
        throw new ConfigError(
          `environment: cannot read ${name}: permission denied (run Deno with ` +
            `--allow-env=${ENV_ACCESS_KEY_ID},${ENV_ACCESS_KEY_SECRET},${ENV_SESSION_TOKEN})`,
          { cause: err },
        );
      }
    };
  }
  if (g.process?.env) return (name) => g.process!.env![name];
  return () => {
    throw new ConfigError(
      `environment: this runtime has no environment variables (no Deno.env or process.env)`,
    );
  };
}

/**
 * Credentials from `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` and optionally `OSS_SESSION_TOKEN` (the names
 * the OSS SDKs use). Read on every call, so a changed environment is picked up; empty values count as unset.
 *
 * @param env Variables to read instead of the process environment (tests, or a runtime's own env object).
 * @example
 * ```ts
 * import { envCredentials } from "./credentials.ts";
 * const provider = envCredentials({ OSS_ACCESS_KEY_ID: "LTAI5tExample", OSS_ACCESS_KEY_SECRET: "s3cr3t" });
 * console.log((await provider.getCredentials()).accessKeyId); // "LTAI5tExample"
 * ```
 */
export function envCredentials(env?: Record<string, string | undefined>): CredentialsProvider {
  const read: EnvReader = env ? (name) => env[name] : runtimeEnv();
  let last: SafeCredentials | undefined;
  return {
    name: "environment",
    getCredentials(signal?: AbortSignal): Promise<Credentials> {
      try {
        signal?.throwIfAborted();
        const id = read(ENV_ACCESS_KEY_ID) || undefined;
        const secret = read(ENV_ACCESS_KEY_SECRET) || undefined;
        const token = read(ENV_SESSION_TOKEN) || undefined;
        const missing = [id ? "" : ENV_ACCESS_KEY_ID, secret ? "" : ENV_ACCESS_KEY_SECRET].filter(Boolean);
        if (missing.length > 0) {
          throw new ConfigError(
            `environment: ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set ` +
              `(expected ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET}, optionally ${ENV_SESSION_TOKEN})`,
          );
        }
        if (
          last === undefined || last.accessKeyId !== id || last.accessKeySecret !== secret ||
          last.securityToken !== token
        ) {
          last = new SafeCredentials(
            { accessKeyId: id!, accessKeySecret: secret!, securityToken: token },
            "environment",
          );
        }
        return Promise.resolve(last);
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

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
 * import { parseCredentialFile } from "./credentials.ts";
 * const creds = parseCredentialFile(
 *   { AccessKeyId: "STS.example", AccessKeySecret: "s3cr3t", SecurityToken: "t0ken", Expiration: "2030-01-01T00:00:00Z" },
 *   "/root/.alibabacloud/credentials",
 * );
 * console.log(creds.expiration?.toISOString()); // "2030-01-01T00:00:00.000Z"
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
    if (!ISO_TIME.test(exp) || Number.isNaN(expiration.getTime())) {
      throw new ConfigError(
        `${source}: Expiration: expected an ISO 8601 time with a zone, like "2024-08-02T15:04:05Z", got ` +
          JSON.stringify(exp.length > 40 ? exp.slice(0, 40) + "…" : exp),
      );
    }
  }
  return new SafeCredentials({ accessKeyId, accessKeySecret, securityToken, expiration }, source);
}

/**
 * Reads and validates a credential file (see {@link parseCredentialFile}).
 *
 * @throws {ConfigError} naming the file: unreadable, invalid JSON (line and column), missing or wrong fields.
 * @example
 * ```ts
 * import { loadCredentialFile } from "./credentials.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, JSON.stringify({ AccessKeyId: "LTAI5tExample", AccessKeySecret: "s3cr3t" }));
 * console.log((await loadCredentialFile(path)).accessKeyId); // "LTAI5tExample"
 * ```
 */
export async function loadCredentialFile(path: string): Promise<SafeCredentials> {
  return parseCredentialFile(parseJsonText(await readTextFile(path), path), path);
}

/** Options of {@link fileCredentials}. */
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
 * import { fileCredentials } from "./credentials.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, JSON.stringify({ AccessKeyId: "LTAI5tExample", AccessKeySecret: "s3cr3t" }));
 * const provider = fileCredentials(path);
 * console.log((await provider.getCredentials()).accessKeyId); // "LTAI5tExample"
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

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (signal?.aborted ?? false) ||
    (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"));
}

/**
 * Tries providers in order and returns the credentials of the first that succeeds. The provider that
 * succeeded is asked first next time; if it fails later, the whole chain is tried again from the start.
 *
 * @throws {ConfigError} when no provider succeeds, listing each provider and why it failed.
 * @example
 * ```ts
 * import { chainCredentials, envCredentials, staticCredentials } from "./credentials.ts";
 * const provider = chainCredentials(
 *   envCredentials({}), // nothing set: skipped
 *   staticCredentials({ accessKeyId: "fallback", accessKeySecret: "s3cr3t" }),
 * );
 * console.log((await provider.getCredentials()).accessKeyId); // "fallback"
 * ```
 */
export function chainCredentials(...providers: CredentialsProvider[]): CredentialsProvider {
  if (providers.length === 0) {
    throw new ConfigError("chainCredentials: expected at least one credentials provider, got none");
  }
  providers.forEach((p, i) => {
    if (p === null || typeof p !== "object" || typeof p.getCredentials !== "function") {
      throw new ConfigError(
        `chainCredentials: provider ${i + 1}: expected an object with getCredentials(), got ${
          describeType(p)
        }`,
      );
    }
  });
  let preferred = -1;
  const label = (p: CredentialsProvider, i: number) => p.name ?? `provider ${i + 1}`;
  return {
    name: `chain (${providers.map(label).join(", ")})`,
    async getCredentials(signal?: AbortSignal): Promise<Credentials> {
      if (preferred >= 0) {
        try {
          return await providers[preferred].getCredentials(signal);
        } catch (err) {
          if (isAbort(err, signal)) throw err;
          preferred = -1;
        }
      }
      const failures: unknown[] = [];
      for (let i = 0; i < providers.length; i++) {
        try {
          const creds = await providers[i].getCredentials(signal);
          preferred = i;
          return creds;
        } catch (err) {
          if (isAbort(err, signal)) throw err;
          failures.push(err);
        }
      }
      const lines = failures.map((err, i) => {
        const msg = err instanceof Error ? err.message : String(err);
        // Our providers' messages already name their input ("environment: …", "<path>: …").
        const name = providers[i].name;
        const named = name !== undefined &&
          (msg.includes(name) || (name.startsWith("file ") && msg.includes(name.slice(5))));
        return `  ${i + 1}. ${named ? "" : `${label(providers[i], i)}: `}${msg}`;
      });
      throw new ConfigError(`no credentials: every provider failed:\n${lines.join("\n")}`, {
        cause: new AggregateError(failures, "every credentials provider failed"),
      });
    },
  };
}

/**
 * The provider for a `credentials` option: a provider is returned as it is, a key pair is wrapped in
 * {@link staticCredentials}.
 *
 * @throws {ConfigError} when the value is neither.
 * @example
 * ```ts
 * import { toCredentialsProvider } from "./credentials.ts";
 * const provider = toCredentialsProvider({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * console.log((await provider.getCredentials()).accessKeyId);
 * ```
 */
export function toCredentialsProvider(c: Credentials | CredentialsProvider): CredentialsProvider {
  if (c !== null && typeof c === "object") {
    if (typeof (c as CredentialsProvider).getCredentials === "function") return c as CredentialsProvider;
    if ("accessKeyId" in c || "accessKeySecret" in c) return staticCredentials(c as Credentials);
  }
  throw new ConfigError(
    `credentials: expected { accessKeyId, accessKeySecret } or a provider with getCredentials(), got ${
      describeType(c)
    }`,
  );
}

/** Options of {@link defaultCredentials}. */
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
 * import { defaultCredentials } from "./credentials.ts";
 * const provider = defaultCredentials({ env: { OSS_ACCESS_KEY_ID: "id", OSS_ACCESS_KEY_SECRET: "secret" } });
 * console.log((await provider.getCredentials()).accessKeyId); // "id"
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
