/**
 * A levelled logger and the audit log of the OSS connector docs: requests slower than 100 ms are recorded as
 * `{time, method, bucket, key, status, bytes, ms}` JSON lines at `auditPath`, or handed to a sink function where
 * there is no file system. Secrets never reach a line: known secret-bearing fields, query parameters and header
 * values are masked, and so is every string registered with {@linkcode redact}'s `secrets`.
 *
 * @module
 */
import { appendTextFile } from "./fs.ts";

/** Level names in the order of the config file's `logLevel` (0 debug … 3 error). */
export const LOG_LEVELS: readonly LogLevelName[] = ["debug", "info", "warn", "error"];
/**
 * A level name.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Logger, type LogLevelName } from "./log.ts";
 * const level: LogLevelName = new Logger({ level: 2 }).level;
 * expect(level).toEqual("warn");
 * ```
 */
export type LogLevelName = "debug" | "info" | "warn" | "error";

/**
 * One log line before formatting.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Logger, type LogRecord } from "./log.ts";
 * const records: LogRecord[] = [];
 * new Logger({ sink: (r) => records.push(r) }).warn("slow listing", { bucket: "b" });
 * expect([records[0].level, records[0].msg, records[0].bucket]).toEqual(["warn", "slow listing", "b"]);
 * ```
 */
export interface LogRecord {
  /** ISO time. */
  time: string;
  /** Severity. */
  level: LogLevelName;
  /** Message (already redacted). */
  msg: string;
  /** Extra fields (already redacted). */
  [field: string]: unknown;
}

/** Where {@linkcode Logger} and {@linkcode AuditLog} write: a file path, a function, or both. */
export interface LogDestination<T> {
  /** Append JSON lines to this file (Deno, Node, Bun). */
  path?: string;
  /** Receive each record; the only destination where there is no file system. */
  sink?: (record: T) => void;
  /** Strings to mask wherever they appear (e.g. an AccessKeySecret). */
  secrets?: Iterable<string>;
}

const SECRET_FIELD = /secret|token|password|authorization|signature|credential/i;
const SECRET_QUERY =
  /\b(x-oss-signature|x-oss-security-token|x-oss-credential|x-amz-signature|x-amz-security-token|x-amz-credential|signature|ossaccesskeyid|security-token|accesskeysecret)=[^&\s"',]+/gi;
const SECRET_AUTH = /\b(Signature|Credential)=[^,&\s"']+/g;
const SECRET_JSON = /("(?:AccessKeySecret|SecurityToken|accessKeySecret|securityToken)"\s*:\s*")[^"]*"/g;
const MASK = "***";

/**
 * Masks secrets in a string: signatures, credentials and tokens in query strings and `Authorization` values,
 * secret fields of credential JSON, and every string in `secrets`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { redact } from "./log.ts";
 * expect(redact("GET /k?x-oss-signature=abc&a=1")).toEqual("GET /k?x-oss-signature=***&a=1");
 * ```
 */
export function redact(text: string, secrets?: Iterable<string>): string {
  let out = text.replace(SECRET_QUERY, `$1=${MASK}`).replace(SECRET_AUTH, `$1=${MASK}`)
    .replace(SECRET_JSON, `$1${MASK}"`);
  if (secrets) { for (const s of secrets) if (s.length >= 4) out = out.split(s).join(MASK); }
  return out;
}

/** Request headers whose values are secret, or single-use proof of a secret. */
const SECRET_HEADERS = ["authorization", "x-oss-security-token", "x-amz-security-token"];

/**
 * The values of a request's secret headers (`Authorization`, the security token), and the signature alone, for
 * {@linkcode redact}'s `secrets`: an error page that echoes the request must not carry them further.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { redact, secretHeaderValues } from "./log.ts";
 * const headers = new Headers({ "x-oss-security-token": "STS.t0ken-value", "range": "bytes=0-9" });
 * expect(redact("echo: STS.t0ken-value bytes=0-9", secretHeaderValues(headers))).toEqual("echo: *** bytes=0-9");
 * ```
 */
export function secretHeaderValues(headers: Headers | [string, string][]): string[] {
  const h = headers instanceof Headers ? headers : new Headers(headers);
  const out: string[] = [];
  for (const name of SECRET_HEADERS) {
    const v = h.get(name);
    if (v) out.push(v);
  }
  const signature = /Signature=([0-9a-f]+)/.exec(h.get("authorization") ?? "")?.[1];
  if (signature) out.push(signature);
  return out;
}

function redactValue(value: unknown, secrets: Iterable<string> | undefined, depth = 0): unknown {
  if (typeof value === "string") return redact(value, secrets);
  if (value instanceof Error) return redact(`${value.name}: ${value.message}`, secrets);
  if (value instanceof Headers) return redactValue(Object.fromEntries(value), secrets, depth);
  if (value instanceof URL) return redact(value.href, secrets);
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && v !== undefined ? MASK : redactValue(v, secrets, depth + 1);
  }
  return out;
}

/** Appends text to a file without `node:` imports; serialised so lines keep their order. */
class LineFile {
  #path: string;
  #chain: Promise<void> = Promise.resolve();
  #lines: string[] = [];
  #error: unknown;

  constructor(path: string) {
    this.#path = path;
  }

  write(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > 1) return; // a write is already scheduled and will take this line
    this.#chain = this.#chain.then(async () => {
      const text = this.#lines.join("\n") + "\n";
      this.#lines = [];
      try {
        await appendTextFile(this.#path, text);
      } catch (e) {
        this.#error ??= e;
      }
    });
  }

  async flush(): Promise<void> {
    await this.#chain;
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
  }
}

/**
 * A levelled logger writing JSON lines (`{time, level, msg, ...fields}`) to a file and/or a sink, secrets masked.
 * Levels below `level` are dropped before any formatting.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Logger } from "./log.ts";
 * const lines: unknown[] = [];
 * const log = new Logger({ level: "info", sink: (r) => lines.push(r) });
 * log.debug("dropped");
 * log.info("listing", { bucket: "b", token: "never shown" });
 * expect(lines.length).toEqual(1);
 * ```
 */
export class Logger {
  /** The lowest level written. */
  readonly level: LogLevelName;
  #min: number;
  #file?: LineFile;
  #sink?: (record: LogRecord) => void;
  #secrets?: string[];

  /** `level` takes a name or the config file's number (0 debug … 3 error); default "info". */
  constructor(opts: LogDestination<LogRecord> & { level?: LogLevelName | number } = {}) {
    const lv = opts.level ?? "info";
    const min = typeof lv === "number" ? lv : LOG_LEVELS.indexOf(lv);
    if (!Number.isInteger(min) || min < 0 || min > 3) {
      throw new RangeError(`Logger: level must be 0..3 or one of ${LOG_LEVELS.join(", ")}, got ${lv}`);
    }
    this.#min = min;
    this.level = LOG_LEVELS[min];
    if (opts.path) this.#file = new LineFile(opts.path);
    this.#sink = opts.sink;
    this.#secrets = opts.secrets ? [...opts.secrets] : undefined;
  }

  /** Whether records go anywhere (a file or a sink); without one every record is dropped. */
  get hasDestination(): boolean {
    return this.#file !== undefined || this.#sink !== undefined;
  }

  /** Whether a record at `level` would be written. */
  enabled(level: LogLevelName): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min && (this.#file !== undefined || this.#sink !== undefined);
  }

  /** Writes one record at `level`. */
  log(level: LogLevelName, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const rec = {
      ...(fields ? redactValue(fields, this.#secrets) as Record<string, unknown> : {}),
      time: new Date().toISOString(),
      level,
      msg: redact(msg, this.#secrets),
    } as LogRecord;
    this.#sink?.(rec);
    this.#file?.write(JSON.stringify(rec));
  }

  /** Writes a debug record. */
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }
  /** Writes an info record. */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  /** Writes a warning. */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  /** Writes an error record. */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }

  /** Resolves when every line so far is on disk; rejects with the first write error. */
  flush(): Promise<void> {
    return this.#file?.flush() ?? Promise.resolve();
  }
}

/**
 * One audited request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { AuditLog, type AuditRecord } from "./log.ts";
 * const kept: AuditRecord[] = [];
 * const audit = new AuditLog({ sink: (r) => kept.push(r) });
 * audit.record({ method: "GET", bucket: "b", key: "k", status: 200, bytes: 10, ms: 250 });
 * expect([kept[0].key, kept[0].ms]).toEqual(["k", 250]);
 * ```
 */
export interface AuditRecord {
  /** ISO time the request started. */
  time: string;
  /** HTTP method. */
  method: string;
  /** Bucket, "" for service-level requests. */
  bucket: string;
  /** Object key, "" for bucket-level requests. */
  key: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  /** Body bytes received (or sent, for uploads). */
  bytes: number;
  /** Duration from sending to the end of the response body, in milliseconds. */
  ms: number;
}

/**
 * The audit log: keeps requests that took longer than `thresholdMs` (default 100, as the OSS connector does).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { AuditLog } from "./log.ts";
 * const slow: unknown[] = [];
 * const audit = new AuditLog({ sink: (r) => slow.push(r) });
 * audit.record({ method: "GET", bucket: "b", key: "k", status: 200, bytes: 10, ms: 250 });
 * audit.record({ method: "GET", bucket: "b", key: "k2", status: 200, bytes: 10, ms: 5 }); // fast: not kept
 * expect(slow.length).toEqual(1);
 * ```
 */
export class AuditLog {
  /** Requests slower than this many ms are kept. */
  readonly thresholdMs: number;
  #file?: LineFile;
  #sink?: (record: AuditRecord) => void;
  #secrets?: string[];
  #count = 0;

  /** An audit log writing to `opts.path` and/or `opts.sink`, keeping requests slower than `thresholdMs` (default 100 ms). */
  constructor(opts: LogDestination<AuditRecord> & { thresholdMs?: number } = {}) {
    this.thresholdMs = opts.thresholdMs ?? 100;
    if (!(this.thresholdMs >= 0)) {
      throw new RangeError(`AuditLog: thresholdMs must be >= 0, got ${opts.thresholdMs}`);
    }
    if (opts.path) this.#file = new LineFile(opts.path);
    this.#sink = opts.sink;
    this.#secrets = opts.secrets ? [...opts.secrets] : undefined;
  }

  /** Number of records kept so far. */
  get count(): number {
    return this.#count;
  }

  /** Keeps the request when it was slower than the threshold; returns whether it was kept. */
  record(r: Omit<AuditRecord, "time"> & { time?: string }): boolean {
    if (!(r.ms > this.thresholdMs)) return false;
    this.#count++;
    const rec: AuditRecord = {
      time: r.time ?? new Date(Date.now() - r.ms).toISOString(),
      method: r.method,
      bucket: redact(r.bucket, this.#secrets),
      key: redact(r.key, this.#secrets),
      status: r.status,
      bytes: r.bytes,
      ms: Math.round(r.ms * 10) / 10,
    };
    this.#sink?.(rec);
    this.#file?.write(JSON.stringify(rec));
    return true;
  }

  /** Resolves when every record so far is on disk; rejects with the first write error. */
  flush(): Promise<void> {
    return this.#file?.flush() ?? Promise.resolve();
  }
}

const IP_OR_LOCAL = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

/**
 * Splits a request URL into bucket and key: path style (`http://127.0.0.1:9000/bucket/key`, used for IPs and
 * `localhost`, or when `pathStyle` is true) or virtual-hosted (`https://bucket.oss-cn-hangzhou.aliyuncs.com/key`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { bucketAndKey } from "./log.ts";
 * expect(bucketAndKey(new URL("http://127.0.0.1:9000/b/dir/a%20b.bin"))).toEqual({ bucket: "b", key: "dir/a b.bin" });
 * ```
 */
export function bucketAndKey(url: URL, pathStyle?: boolean): { bucket: string; key: string } {
  const path = url.pathname.slice(1);
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (pathStyle ?? IP_OR_LOCAL.test(url.hostname)) {
    const slash = path.indexOf("/");
    return slash < 0
      ? { bucket: dec(path), key: "" }
      : { bucket: dec(path.slice(0, slash)), key: dec(path.slice(slash + 1)) };
  }
  const dot = url.hostname.indexOf(".");
  const labels = url.hostname.split(".").length;
  return { bucket: labels > 3 && dot > 0 ? url.hostname.slice(0, dot) : "", key: dec(path) };
}

/**
 * Wraps a `fetch` so every request is timed to the end of its response body and handed to `audit` (which keeps
 * the slow ones). The wrapper adds one counting stage to each body; URLs (which may carry presigned signatures)
 * are never recorded, only method, bucket and key.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { AuditLog, auditedFetch } from "./log.ts";
 * const audit = new AuditLog({ sink: (r) => console.warn(r.method, r.key, r.ms) });
 * const f = auditedFetch(audit); // pass as OssClientOptions.fetch
 * expect(typeof f).toEqual("function");
 * ```
 */
export function auditedFetch(
  audit: AuditLog,
  opts: { fetch?: typeof fetch; pathStyle?: boolean } = {},
): typeof fetch {
  const inner = opts.fetch ?? globalThis.fetch;
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const t0 = performance.now();
    const req = input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input));
    const method = (init?.method ?? req?.method ?? "GET").toUpperCase();
    const sent = init?.body instanceof Uint8Array ? init.body.byteLength : 0;
    const done = (status: number, bytes: number) => {
      const ms = performance.now() - t0;
      if (ms > audit.thresholdMs) {
        audit.record({ method, ...bucketAndKey(url, opts.pathStyle), status, bytes, ms });
      }
    };
    let res: Response;
    try {
      res = await inner(input, init);
    } catch (e) {
      done(0, sent);
      throw e;
    }
    if (!res.body) {
      done(res.status, sent);
      return res;
    }
    let received = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        received += chunk.byteLength;
        ctl.enqueue(chunk);
      },
      flush() {
        done(res.status, received + sent);
      },
    });
    return new Response(res.body.pipeThrough(counter), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}
