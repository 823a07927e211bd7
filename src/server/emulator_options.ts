/**
 * Checks of the local server's options, so that a bad one fails at start with a {@linkcode ConfigError} naming the
 * option and what was expected, rather than later with a raw error or not at all.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { validateBucketName } from "./store/types.ts";

function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : v === undefined ? "undefined" : String(v);
}

function integer(where: string, name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(`${where}: ${name}: expected an integer ${range}, got ${shown(v)}`);
  }
}

/**
 * Checks the options every emulator takes (`createEmulator`, `serveEmulator`; `where` names the function).
 *
 * @throws {ConfigError} naming the option (and the bucket or credential entry) and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkEmulatorOptions } from "./emulator_options.ts";
 * expect(() => checkEmulatorOptions("serveEmulator", { buckets: ["BAD"] }))
 *   .toThrow('serveEmulator: buckets[0]: "BAD" is not a valid bucket name');
 * ```
 */
export function checkEmulatorOptions(where: string, opts: {
  buckets?: unknown;
  credentials?: unknown;
  region?: unknown;
  maxBodyBytes?: unknown;
  maxHeaderBytes?: unknown;
  minPartSize?: unknown;
  maxSkewMs?: unknown;
}): void {
  if (opts.buckets !== undefined) {
    if (!Array.isArray(opts.buckets)) {
      throw new ConfigError(
        `${where}: buckets: expected an array of bucket names, got ${shown(opts.buckets)}`,
      );
    }
    opts.buckets.forEach((b, i) => {
      try {
        validateBucketName(b);
      } catch {
        throw new ConfigError(
          `${where}: buckets[${i}]: ${
            shown(b)
          } is not a valid bucket name: expected 3-63 characters of a-z, ` +
            `0-9 and "-", starting and ending with a letter or digit`,
        );
      }
    });
  }
  if (opts.credentials !== undefined) {
    if (!Array.isArray(opts.credentials)) {
      throw new ConfigError(
        `${where}: credentials: expected an array of { accessKeyId, accessKeySecret }, got ${
          shown(opts.credentials)
        }`,
      );
    }
    opts.credentials.forEach((c, i) => {
      for (const field of ["accessKeyId", "accessKeySecret"]) {
        const v = (c as Record<string, unknown> | null)?.[field];
        if (typeof v !== "string" || v.trim() === "") {
          // The value is never shown: it may be a secret.
          throw new ConfigError(`${where}: credentials[${i}].${field}: expected a non-empty string`);
        }
      }
    });
  }
  if (opts.region !== undefined && (typeof opts.region !== "string" || !/^[a-z0-9-]+$/.test(opts.region))) {
    throw new ConfigError(
      `${where}: region: expected a region id such as "cn-hangzhou", got ${shown(opts.region)}`,
    );
  }
  integer(where, "maxBodyBytes", opts.maxBodyBytes, 1);
  integer(where, "maxHeaderBytes", opts.maxHeaderBytes, 1);
  integer(where, "minPartSize", opts.minPartSize, 0);
  integer(where, "maxSkewMs", opts.maxSkewMs, 0);
}

/**
 * Checks where `serveEmulator` listens.
 *
 * @throws {ConfigError} naming `hostname` or `port`.
 * @example
 * ```ts
 * import { checkListenOptions } from "./emulator_options.ts";
 * checkListenOptions("serveEmulator", { hostname: "127.0.0.1", port: 0 }); // fine
 * ```
 */
export function checkListenOptions(where: string, opts: { hostname?: unknown; port?: unknown }): void {
  const h = opts.hostname;
  if (h !== undefined) {
    const host = typeof h === "string" && h.includes(":") ? `[${h}]` : h;
    if (typeof h !== "string" || h === "" || /[\s/?#@]/.test(h) || !URL.canParse(`http://${host}/`)) {
      throw new ConfigError(
        `${where}: hostname: expected an interface address or host name such as "127.0.0.1", "0.0.0.0" or "::1", got ${
          shown(h)
        }`,
      );
    }
  }
  integer(where, "port", opts.port, 0, 65535);
}
