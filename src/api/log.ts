/**
 * Logging and audit plumbing: the {@linkcode Logger} every component reports to, the {@linkcode AuditLog} of
 * requests (JSON lines, secrets redacted), {@linkcode auditedFetch} that records each request, and
 * {@linkcode redact}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { redact } from "./log.ts";
 *
 * expect(redact("secret=abc123 and more", ["abc123"])).not.toContain("abc123");
 * ```
 *
 * @module
 */
export {
  auditedFetch,
  AuditLog,
  type AuditRecord,
  type LogDestination,
  Logger,
  type LogLevelName,
  type LogRecord,
  redact,
} from "../log.ts";
