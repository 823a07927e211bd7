/**
 * Input checks shared by the OSS and S3 signers. Every message names the option and what was expected; none
 * ever contains a secret or a token.
 *
 * @module
 */

import type { Credentials } from "../credentials.ts";
import { ConfigError } from "../errors.ts";
import { formatIsoBasic } from "./encoding.ts";

/** The longest lifetime of a presigned URL, in seconds (7 days), for both OSS and S3. */
export const MAX_PRESIGN_EXPIRES = 604800;

/**
 * A short, safe description of a rejected value for an error message (strings quoted and cut at 64 chars).
 * Never pass a secret here.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { describeInput } from "./inputs.ts";
 * expect([describeInput("x"), describeInput(3)]).toEqual(["\"x\"", "number"]);
 * ```
 */
export function describeInput(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  }
  if (value instanceof Date) return "an invalid Date";
  return value === null ? "null" : typeof value;
}

/**
 * Checks credentials, region and signing time, and returns the time as `yyyymmddTHHMMSSZ` and `yyyymmdd`.
 * Throws {@link ConfigError} naming the bad option.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkSigningInputs } from "./inputs.ts";
 * const { longDate, shortDate } = checkSigningInputs(
 *   { accessKeyId: "ak", accessKeySecret: "sk" },
 *   "cn-hangzhou",
 *   new Date(Date.UTC(2023, 11, 16, 16, 20, 57)),
 * );
 * expect([longDate, shortDate]).toEqual(["20231216T162057Z", "20231216"]);
 * ```
 */
export function checkSigningInputs(credentials: Credentials, region: string, date: Date | undefined): {
  longDate: string;
  shortDate: string;
} {
  if (typeof credentials !== "object" || credentials === null) {
    throw new ConfigError(
      `credentials: expected { accessKeyId, accessKeySecret }, got ${describeInput(credentials)}`,
    );
  }
  const { accessKeyId, accessKeySecret, securityToken } = credentials;
  if (typeof accessKeyId !== "string" || accessKeyId === "" || /[\s/,]/.test(accessKeyId)) {
    throw new ConfigError(
      `credentials.accessKeyId: expected a non-empty string without "/", "," or spaces, got ${
        describeInput(accessKeyId)
      }`,
    );
  }
  if (typeof accessKeySecret !== "string" || accessKeySecret === "") {
    throw new ConfigError(
      `credentials.accessKeySecret (for ${accessKeyId}): expected a non-empty string, got ${
        accessKeySecret === "" ? "an empty string" : typeof accessKeySecret
      }`,
    );
  }
  if (securityToken !== undefined && typeof securityToken !== "string") {
    throw new ConfigError(
      `credentials.securityToken (for ${accessKeyId}): expected a string, got ${typeof securityToken}`,
    );
  }
  if (typeof region !== "string" || region === "" || /[\s/]/.test(region)) {
    throw new ConfigError(`region: expected a region id such as "cn-hangzhou", got ${describeInput(region)}`);
  }
  const when = date ?? new Date();
  const longDate = when instanceof Date ? formatIsoBasic(when) : undefined;
  if (longDate === undefined) {
    throw new ConfigError(`date: expected a valid Date between years 0 and 9999, got ${describeInput(date)}`);
  }
  return { longDate, shortDate: longDate.slice(0, 8) };
}

/**
 * Checks a presign lifetime: whole seconds from 1 to {@link MAX_PRESIGN_EXPIRES}.
 * Throws {@link ConfigError} naming `expires`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkExpires } from "./inputs.ts";
 * checkExpires(900); // fine
 * expect(() => checkExpires(604801)).toThrow("expires: expected a whole number of seconds from 1 to 604800");
 * ```
 */
export function checkExpires(expires: number): void {
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES) {
    throw new ConfigError(
      `expires: expected a whole number of seconds from 1 to ${MAX_PRESIGN_EXPIRES} (7 days), got ${
        typeof expires === "number" ? expires : describeInput(expires)
      }`,
    );
  }
}
