/**
 * Access credentials and where they come from: a static pair, the environment (`OSS_ACCESS_KEY_ID`,
 * `OSS_ACCESS_KEY_SECRET`, `OSS_SESSION_TOKEN`), the JSON credential file of OSS Connector for AI/ML
 * (re-read before its `Expiration`, in `credential_file.ts`), or a chain of these.
 *
 * Every provider returns {@link SafeCredentials}: the secret and the token are non-enumerable and redacted
 * in `JSON.stringify`, `String()`, `Deno.inspect`/`console.log` and Node's `util.inspect`. No error message
 * ever contains a secret or a token.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/**
 * An access key pair, optionally with an STS security token and its expiry.
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
 * import { expect } from "expect";
 * import type { CredentialsProvider } from "./credentials.ts";
 * const provider: CredentialsProvider = {
 *   name: "vault",
 *   getCredentials: () => Promise.resolve({ accessKeyId: "id", accessKeySecret: "secret" }),
 * };
 * expect((await provider.getCredentials()).accessKeyId).toEqual("id");
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
 * import { expect } from "expect";
 * import { SafeCredentials } from "./credentials.ts";
 * const creds = new SafeCredentials({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * expect(JSON.parse(JSON.stringify(creds))).toEqual({ accessKeyId: "LTAI5tExample", accessKeySecret: "[redacted]" });
 * expect(creds.accessKeySecret === "s3cr3t").toBe(true);
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
   * Checks and copies `init`, hiding the secret and the token.
   *
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

  static {
    // The console hooks of Deno (`Deno.inspect`) and Node (`util.inspect`) print the redacted form. Defined here
    // rather than as methods: a declaration file generated from this file alone cannot name a method keyed
    // by `Symbol.for(...)` (the npm package's .d.ts files are made so).
    for (const hook of [Symbol.for("Deno.customInspect"), Symbol.for("nodejs.util.inspect.custom")]) {
      Object.defineProperty(this.prototype, hook, {
        value(this: SafeCredentials): string {
          return this.toString();
        },
      });
    }
  }
}

/** How a value is named in error messages (`an object`, `a number`, `null`). @internal */
export function describeType(v: unknown): string {
  if (v === null || v === undefined) return String(v);
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
 * import { expect } from "expect";
 * import { staticCredentials } from "./credentials.ts";
 * const provider = staticCredentials({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * expect(String(await provider.getCredentials())).not.toContain("s3cr3t");
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
 * import { expect } from "expect";
 * import { envCredentials } from "./credentials.ts";
 * const provider = envCredentials({ OSS_ACCESS_KEY_ID: "LTAI5tExample", OSS_ACCESS_KEY_SECRET: "s3cr3t" });
 * expect((await provider.getCredentials()).accessKeyId).toEqual("LTAI5tExample");
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
 * import { expect } from "expect";
 * import { chainCredentials, envCredentials, staticCredentials } from "./credentials.ts";
 * const provider = chainCredentials(
 *   envCredentials({}), // nothing set: skipped
 *   staticCredentials({ accessKeyId: "fallback", accessKeySecret: "s3cr3t" }),
 * );
 * expect((await provider.getCredentials()).accessKeyId).toEqual("fallback");
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
 * Checks what a provider's `getCredentials()` resolved with before it is signed with: a custom provider may
 * return `null`, forget a field or give an `expiration` that is not a Date.
 *
 * @throws {ConfigError} naming the provider (its `name`, else "the credentials provider") and what was wrong.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkProvidedCredentials } from "./credentials.ts";
 * const provider = { name: "vault", getCredentials: () => Promise.resolve(null as never) };
 * const got = await provider.getCredentials();
 * expect(() => checkProvidedCredentials(got, provider))
 *   .toThrow('credentials provider "vault": getCredentials() resolved with null');
 * ```
 */
export function checkProvidedCredentials(c: unknown, provider: CredentialsProvider): Credentials {
  const source = `credentials provider ${
    provider.name === undefined ? "(unnamed)" : JSON.stringify(provider.name)
  }`;
  if (c === null || typeof c !== "object") {
    throw new ConfigError(
      `${source}: getCredentials() resolved with ${
        describeType(c)
      }; expected { accessKeyId, accessKeySecret }`,
    );
  }
  checkCredentials(c as Credentials, `${source}: getCredentials()`);
  return c as Credentials;
}

/**
 * The provider for a `credentials` option: a provider is returned as it is, a key pair is wrapped in
 * {@link staticCredentials}.
 *
 * @throws {ConfigError} when the value is neither.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { toCredentialsProvider } from "./credentials.ts";
 * const provider = toCredentialsProvider({ accessKeyId: "LTAI5tExample", accessKeySecret: "s3cr3t" });
 * expect((await provider.getCredentials()).accessKeyId).toEqual("LTAI5tExample");
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
