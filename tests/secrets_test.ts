// Secrets never leak: with a recognisable AccessKeySecret and SecurityToken, run representative scenarios of
// the other suites (client operations that succeed and fail, retries under injected faults, datasets with two
// prefetch workers and debug logging and an audit of every request, checkpoints, config and credential-file
// errors) and capture every log line, audit record, error (message, stack, cause chain), the
// String/JSON.stringify/Deno.inspect of every object in play, and every message to and from the prefetch
// workers. Neither canary may appear anywhere.
//
// By protocol, two places carry the security token and are allowed to: a presigned URL the user explicitly
// asked for (`x-oss-security-token` / `X-Amz-Security-Token` is part of the URL OSS and S3 define), and the
// `x-oss-security-token` header of a signed request handed to a prefetch worker (the worker sends that request;
// the token must travel with it, exactly as it travels to the server). The secret itself appears in neither:
// workers get signed requests, never the key. Both exceptions are checked precisely, not skipped.
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import { chainCredentials, envCredentials, SafeCredentials, staticCredentials } from "../src/credentials.ts";
import { fileCredentials, loadCredentialFile, parseCredentialFile } from "../src/credential_file.ts";
import { loadConfig, parseConfig } from "../src/config.ts";
import { auditedFetch, AuditLog, type AuditRecord, Logger, type LogRecord } from "../src/log.ts";
import { presignOss4 } from "../src/signer/oss4.ts";
import { presignS3v4 } from "../src/signer/s3v4.ts";
import type { RetryEvent } from "../src/retry.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const SECRET = "SECRET-ossflow-canary-7f3a";
const TOKEN = "TOKEN-ossflow-canary-9c1e";
const WRONG_SECRET = "SECRET-ossflow-canary-wrong-41d0";
const CANARIES = [SECRET, TOKEN, WRONG_SECRET];
const KEY_ID = "LTAIcanaryKeyId";
const REGION = "cn-hangzhou";
const BUCKET = "secrets";
const CREDS = { accessKeyId: KEY_ID, accessKeySecret: SECRET, securityToken: TOKEN };

/** Everything observed, as text, labelled by where it came from. */
class Capture {
  readonly texts: { where: string; text: string }[] = [];
  readonly logs: LogRecord[] = [];
  readonly audits: AuditRecord[] = [];
  readonly workerMessages: { dir: "to" | "from"; text: string }[] = [];
  #seen = new WeakSet<object>();

  add(where: string, text: string): void {
    this.texts.push({ where, text });
  }

  /** String(), JSON.stringify and Deno.inspect (deep, hidden properties and getters included) of `value`. */
  object(where: string, value: unknown): void {
    const tryAdd = (how: string, f: () => string) => {
      try {
        this.add(`${where} ${how}`, f());
      } catch (e) {
        this.error(`${where} ${how} threw`, e);
      }
    };
    tryAdd("String", () => String(value));
    tryAdd("JSON", () => JSON.stringify(value, jsonReplacer) ?? "undefined");
    tryAdd(
      "inspect",
      () => Deno.inspect(value, { depth: 10, showHidden: true, getters: true, colors: false }),
    );
    if (value instanceof Error) this.error(where, value);
  }

  /** Message, stack, inspect and the whole cause chain (and AggregateError members) of an error. */
  error(where: string, e: unknown, depth = 0): void {
    if (depth > 8 || e === null || e === undefined) return;
    if (typeof e !== "object") return this.add(`${where} (thrown ${typeof e})`, String(e));
    if (this.#seen.has(e)) return;
    this.#seen.add(e);
    const err = e as Error & { errors?: unknown[] };
    this.add(`${where} message`, String(err.message));
    this.add(`${where} stack`, String(err.stack));
    this.add(`${where} String`, String(err));
    this.add(`${where} inspect`, Deno.inspect(err, { depth: 10, showHidden: true, colors: false }));
    try {
      this.add(`${where} JSON`, JSON.stringify(err, jsonReplacer) ?? "");
    } catch { /* circular: inspect above covers it */ }
    this.error(`${where} cause`, err.cause, depth + 1);
    for (const [i, x] of (err.errors ?? []).entries()) this.error(`${where} errors[${i}]`, x, depth + 1);
  }

  /** Fails naming every place a canary appeared. */
  assertClean(): void {
    const leaks: string[] = [];
    const scan = (where: string, text: string) => {
      for (const c of CANARIES) {
        if (text.includes(c)) leaks.push(`${where}: contains ${c}: ${excerpt(text, c)}`);
      }
    };
    for (const { where, text } of this.texts) scan(where, text);
    for (const r of this.logs) scan(`log record ${r.msg}`, JSON.stringify(r));
    for (const r of this.audits) scan("audit record", JSON.stringify(r));
    for (const m of this.workerMessages) scan(`worker message ${m.dir}`, m.text);
    if (leaks.length) {
      throw new Error(
        `${leaks.length} leak(s):\n${leaks.filter((l) => !l.includes(" stack: ")).slice(0, 60).join("\n")}`,
      );
    }
  }
}

function excerpt(text: string, needle: string): string {
  const at = text.indexOf(needle);
  return JSON.stringify(text.slice(Math.max(0, at - 80), at + needle.length + 40));
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${new TextDecoder("latin1").decode(v)})`;
  if (ArrayBuffer.isView(v)) return `bytes(${new TextDecoder("latin1").decode(v as Uint8Array)})`;
  return v;
}

/**
 * Replaces the global Worker with a subclass that records every message both ways, serialised at once (buffers
 * are transferred right after). The token may appear only as the `x-oss-security-token` header of a "get".
 */
function spyOnWorkers(cap: Capture): () => void {
  const Original = globalThis.Worker;
  const record = (dir: "to" | "from", msg: unknown) => {
    const m = structuredClone(msg) as { type?: string; req?: { headers: [string, string][] } };
    if (dir === "to" && m?.type === "get" && m.req) {
      for (const h of m.req.headers) {
        if (h[0].toLowerCase() === "x-oss-security-token" || h[0].toLowerCase() === "x-amz-security-token") {
          // By protocol (see the top of this file): exactly the token, in exactly this header.
          if (h[1] !== TOKEN) throw new Error(`worker get carried an unexpected security token header`);
          h[1] = "<token by protocol>";
        }
      }
    }
    cap.workerMessages.push({ dir, text: JSON.stringify(m, jsonReplacer) });
  };
  class SpyWorker extends Original {
    constructor(url: string | URL, opts?: WorkerOptions) {
      super(url, opts);
      this.addEventListener("message", (ev) => record("from", (ev as MessageEvent).data));
    }
    override postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
      record("to", message);
      // deno-lint-ignore no-explicit-any
      super.postMessage(message, transfer as any);
    }
  }
  globalThis.Worker = SpyWorker;
  return () => {
    globalThis.Worker = Original;
  };
}

async function expectRejects(
  cap: Capture,
  where: string,
  p: Promise<unknown> | (() => unknown),
): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    cap.error(where, e);
    return e as Error;
  }
  throw new Error(`${where}: expected a failure`);
}

/** Captures the result or the error of `p`, whichever it is. */
async function observe(cap: Capture, where: string, p: Promise<unknown>): Promise<void> {
  try {
    cap.object(`${where} result`, await p);
  } catch (e) {
    cap.error(where, e);
  }
}

Deno.test("the AccessKeySecret and SecurityToken never appear in logs, audit records, errors, inspected objects or worker messages", async () => {
  const cap = new Capture();
  const dir = await Deno.makeTempDir();
  const logPath = `${dir}/ossflow.log`, auditPath = `${dir}/audit.log`;
  const restoreWorker = spyOnWorkers(cap);
  const server = await serveEmulator({
    port: 0,
    hostname: "127.0.0.1",
    credentials: [{ accessKeyId: KEY_ID, accessKeySecret: SECRET }],
    buckets: [BUCKET],
    region: REGION,
  });
  // Reads through this one fail 30 % of the time (503, resets, truncated bodies): the retry path.
  const faulty = await serveEmulator({
    port: 0,
    hostname: "127.0.0.1",
    credentials: [{ accessKeyId: KEY_ID, accessKeySecret: SECRET }],
    buckets: [BUCKET],
    region: REGION,
    faults: { errorRate: 0.3, seed: 7, match: (method) => method === "GET" },
  });
  const logger = new Logger({ level: "debug", path: logPath, sink: (r) => cap.logs.push(r) });
  const audit = new AuditLog({ thresholdMs: 0, path: auditPath, sink: (r) => cap.audits.push(r) });
  const retries: RetryEvent[] = [];
  try {
    // --- client operations, succeeding and failing -------------------------------------------------------------
    const provider = staticCredentials(CREDS);
    const client = new OssClient({
      endpoint: server.url,
      region: REGION,
      credentials: provider,
      fetch: auditedFetch(audit),
      retry: { minDelayMs: 1, maxDelayMs: 5, onRetry: (e) => retries.push(e) },
    });
    cap.object("client", client);
    cap.object("static provider", provider);
    for (let i = 0; i < 6; i++) await client.put(BUCKET, `train/${i}.bin`, `object ${i} `.repeat(50 + i));
    await client.head(BUCKET, "train/0.bin").then((m) => cap.object("head result", m));
    await client.get(BUCKET, "train/1.bin", { range: { start: 0, end: 9 } }).then(async (r) => {
      cap.object("get result", { ...r, body: undefined });
      await r.body.cancel();
    });
    cap.object("list", await Array.fromAsync(client.list(BUCKET, { prefix: "train/" })));
    const up = await client.initiateMultipart(BUCKET, "mp.bin");
    const part = await client.uploadPart(BUCKET, "mp.bin", up, 1, new Uint8Array(1000));
    cap.object("part", part);
    await client.completeMultipart(BUCKET, "mp.bin", up, [part]);
    await client.delete(BUCKET, "mp.bin");

    await expectRejects(cap, "NoSuchKey", client.get(BUCKET, "missing.bin"));
    await expectRejects(cap, "NoSuchKey HEAD", client.head(BUCKET, "missing.bin"));
    await expectRejects(cap, "NoSuchBucket", client.put("nobucket", "k", "x"));
    const wrong = new OssClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: KEY_ID, accessKeySecret: WRONG_SECRET, securityToken: TOKEN },
      retry: { maxAttempts: 1 },
    });
    cap.object("wrong client", wrong);
    const sigErr = await expectRejects(cap, "SignatureDoesNotMatch", wrong.get(BUCKET, "train/0.bin"));
    expect(sigErr.message).toContain("SignatureDoesNotMatch");
    await expectRejects(cap, "SignatureDoesNotMatch s3v4", () =>
      new OssClient({
        endpoint: server.url,
        region: REGION,
        signatureVersion: "s3v4",
        credentials: { accessKeyId: KEY_ID, accessKeySecret: WRONG_SECRET, securityToken: TOKEN },
        retry: { maxAttempts: 1 },
      }).put(BUCKET, "x.bin", "x"));
    const unreachable = new OssClient({
      endpoint: "http://127.0.0.1:9",
      region: REGION,
      credentials: CREDS,
      retry: { maxAttempts: 2, minDelayMs: 1, maxDelayMs: 2, onRetry: (e) => retries.push(e) },
    });
    await expectRejects(cap, "network error", unreachable.get(BUCKET, "train/0.bin"));
    const faultyClient = new OssClient({
      endpoint: faulty.url,
      region: REGION,
      credentials: CREDS,
      retry: { maxAttempts: 8, minDelayMs: 1, maxDelayMs: 5, onRetry: (e) => retries.push(e) },
    });
    for (let i = 0; i < 6; i++) await faultyClient.put(BUCKET, `f/${i}.bin`, new Uint8Array(20_000).fill(i));
    for (let i = 0; i < 6; i++) {
      await faultyClient.getBytes(BUCKET, `f/${i}.bin`).catch((e) => cap.error("faulty getBytes", e));
      await faultyClient.get(BUCKET, `f/${i}.bin`).then((r) => new Response(r.body).arrayBuffer())
        .catch((e) => cap.error("faulty get", e));
    }
    expect(retries.length).toBeGreaterThan(0);
    cap.object("retry events", retries);
    for (const e of retries) cap.object("retry event", e);

    // --- presigned URLs: the token is part of the URL by protocol, the secret never ------------------------------
    const url = new URL(`${server.url}/${BUCKET}/train/0.bin`);
    const signed = await presignOss4({ method: "GET", url, bucket: BUCKET, key: "train/0.bin" }, {
      credentials: CREDS,
      region: REGION,
      expires: 60,
    });
    expect(signed.searchParams.get("x-oss-security-token")).toBe(TOKEN);
    expect(signed.href).not.toContain(SECRET);
    const signedS3 = await presignS3v4({ method: "GET", url, bucket: BUCKET, key: "train/0.bin" }, {
      credentials: CREDS,
      region: REGION,
      expires: 60,
    });
    expect(signedS3.href).not.toContain(SECRET);
    const expired = await presignOss4({ method: "GET", url, bucket: BUCKET, key: "train/0.bin" }, {
      credentials: CREDS,
      region: REGION,
      expires: 1,
      date: new Date(Date.now() - 120_000),
    });
    const res = await fetch(expired);
    const body = await res.text();
    expect(res.status).toBe(403);
    cap.add("expired presign error body", body);

    // --- datasets: two prefetch workers, debug logging, an audit of every request ------------------------------
    const config = {
      logLevel: 0,
      logPath,
      auditPath,
      datasetConfig: { prefetchWorker: 2, prefetchConcurrency: 4 },
    };
    const dsOpts = {
      endpoint: server.url,
      region: REGION,
      credentials: CREDS,
      config,
      auditSink: (r: AuditRecord) => cap.audits.push(r),
      auditThresholdMs: 0,
      retry: { minDelayMs: 1, maxDelayMs: 5 },
    };
    const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, dsOpts);
    let n = 0;
    for await (const item of ds) {
      n++;
      cap.object("data object", item);
      logger.debug("item", { key: item.key, item, size: item.size });
    }
    expect(n).toBe(6);
    cap.object("iterable dataset", ds);
    // A dataset that fails in a worker (a manifest naming a missing object), with a logger sink.
    const manifest = `${dir}/m.txt`;
    await Deno.writeTextFile(manifest, "train/0.bin a\nmissing.bin b\n");
    const failing = OssIterableDataset.fromManifestFile(manifest, "keylabel", `oss://${BUCKET}/`, {
      ...dsOpts,
      logger,
      retry: { maxAttempts: 1 },
    });
    const dsErr = await expectRejects(cap, "dataset NoSuchKey", Array.fromAsync(failing));
    logger.error("dataset failed", { error: dsErr, dataset: failing });
    // A transform module that throws in the worker, skipped and logged.
    const transformUrl = `data:application/javascript,${
      encodeURIComponent("export default (item) => { throw new Error('bad item ' + item.key); }")
    }`;
    const skipping = OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, {
      ...dsOpts,
      logger,
      transform: transformUrl,
      onTransformError: "skip",
    });
    expect((await Array.fromAsync(skipping)).length).toBe(0);
    // A map dataset through a file credential provider.
    const credPath = `${dir}/credentials.json`;
    await Deno.writeTextFile(
      credPath,
      JSON.stringify({ AccessKeyId: KEY_ID, AccessKeySecret: SECRET, SecurityToken: TOKEN }),
    );
    const map = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, {
      endpoint: server.url,
      region: REGION,
      credPath,
      logger,
      prefetchWorker: 2,
      auditSink: (r) => cap.audits.push(r),
      auditThresholdMs: 0,
    });
    cap.object("map dataset", map);
    cap.object("map get", await map.get(2));
    cap.object("map getMany", await map.getMany([0, 5]));
    cap.object("map pass", await Array.fromAsync(map));
    await expectRejects(cap, "map get out of range", () => map.get(99));

    // --- checkpoints -------------------------------------------------------------------------------------------
    const cp = new OssCheckpoint({
      endpoint: server.url,
      region: REGION,
      credentials: CREDS,
      config: { auditPath, checkpointConfig: { uploadConcurrency: 2, prefetchConcurrency: 2 } },
      partSize: 100 * 1024,
    });
    cap.object("checkpoint", cp);
    const w = cp.writer(`oss://${BUCKET}/ckpt/model.bin`);
    cap.object("checkpoint writer", w);
    const writer = w.getWriter();
    await writer.write(new Uint8Array(350 * 1024).fill(7));
    await writer.close();
    const r = cp.reader(`oss://${BUCKET}/ckpt/model.bin`);
    cap.object("checkpoint reader", r);
    expect((await new Response(r).arrayBuffer()).byteLength).toBe(350 * 1024);
    const aborted = cp.writer(`oss://${BUCKET}/ckpt/aborted.bin`).getWriter();
    await aborted.write(new Uint8Array(250 * 1024));
    await aborted.abort(new Error("training crashed"));
    await expectRejects(
      cap,
      "checkpoint reader NoSuchKey",
      new Response(cp.reader(`oss://${BUCKET}/ckpt/none`)).arrayBuffer(),
    );
    const badCp = new OssCheckpoint({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: KEY_ID, accessKeySecret: WRONG_SECRET, securityToken: TOKEN },
      retry: { maxAttempts: 1 },
    });
    cap.object("bad checkpoint", badCp);
    await expectRejects(cap, "checkpoint SignatureDoesNotMatch", async () => {
      const bw = badCp.writer(`oss://${BUCKET}/ckpt/denied.bin`).getWriter();
      await bw.write(new Uint8Array(10));
      await bw.close();
    });

    // --- credential providers and config errors ----------------------------------------------------------------
    const file = fileCredentials(credPath);
    cap.object("file provider", file);
    cap.object("file credentials", await file.getCredentials());
    const loaded = await loadCredentialFile(credPath);
    cap.object("loaded credentials", loaded);
    cap.object("safe credentials", new SafeCredentials(CREDS));
    const env = envCredentials({
      OSS_ACCESS_KEY_ID: KEY_ID,
      OSS_ACCESS_KEY_SECRET: SECRET,
      OSS_SESSION_TOKEN: TOKEN,
    });
    cap.object("env provider", env);
    cap.object("env credentials", await env.getCredentials());
    await expectRejects(
      cap,
      "env without id",
      envCredentials({ OSS_ACCESS_KEY_SECRET: SECRET, OSS_SESSION_TOKEN: TOKEN }).getCredentials(),
    );
    const badFiles: [string, string][] = [
      [
        "trailing comma",
        `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": "${SECRET}", "SecurityToken": "${TOKEN}",}`,
      ],
      ["secret not a string", `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": ["${SECRET}"]}`],
      ["id missing", `{"AccessKeySecret": "${SECRET}", "SecurityToken": "${TOKEN}"}`],
      [
        "token a number",
        `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": "${SECRET}", "SecurityToken": {"v": "${TOKEN}"}}`,
      ],
      [
        "expired",
        `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": "${SECRET}", "SecurityToken": "${TOKEN}", "Expiration": "2001-01-01T00:00:00Z"}`,
      ],
      [
        "bad expiration",
        `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": "${SECRET}", "Expiration": "${TOKEN}"}`,
      ],
      ["secret in the wrong key", `{"AccessKeyId": "${SECRET}", "AccessKeySecret": ""}`],
      ["unterminated", `{"AccessKeyId": "${KEY_ID}", "AccessKeySecret": "${SECRET}`],
    ];
    for (const [name, text] of badFiles) {
      const path = `${dir}/${name.replaceAll(" ", "_")}.json`;
      await Deno.writeTextFile(path, text);
      await observe(cap, `credential file ${name}`, loadCredentialFile(path));
      await expectRejects(cap, `file provider ${name}`, fileCredentials(path).getCredentials());
      try {
        cap.object(`parsed ${name}`, parseCredentialFile(JSON.parse(text), path));
      } catch (e) {
        cap.error(`parseCredentialFile ${name}`, e);
      }
      await expectRejects(
        cap,
        `dataset credPath ${name}`,
        Array.fromAsync(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, {
          endpoint: server.url,
          region: REGION,
          credPath: path,
          logger,
        })),
      );
    }
    const chain = chainCredentials(
      envCredentials({ OSS_ACCESS_KEY_SECRET: SECRET }),
      fileCredentials(`${dir}/expired.json`),
    );
    cap.object("chain provider", chain);
    await expectRejects(cap, "chain", chain.getCredentials());
    // A config.json with credentials pasted into it by mistake: unknown keys are warned about, never quoted.
    const warnings: string[] = [];
    const pasted = { AccessKeySecret: SECRET, SecurityToken: TOKEN, datasetConfig: { token: TOKEN } };
    cap.object(
      "parsed pasted config",
      parseConfig(pasted, "config.json", { warn: (m: string) => warnings.push(m) }),
    );
    for (const m of warnings) cap.add("config warning", m);
    await expectRejects(
      cap,
      "config with a secret value in a bad place",
      () => parseConfig({ logPath: [SECRET] }, "config.json"),
    );
    // Policy: config.json is not a secret store, so its errors quote the offending value (that is what makes them
    // useful); the credential file is, so its errors never quote a long opaque value. Hence no case here of a
    // secret typed into, say, logLevel.
    const cfgPath = `${dir}/config.json`;
    await Deno.writeTextFile(cfgPath, `{"logLevel": 0, "AccessKeySecret": "${SECRET}",}`);
    await expectRejects(cap, "loadConfig syntax error", loadConfig(cfgPath));

    // Users log the objects they hold; the logger must keep them safe too.
    logger.info("state", { client, provider, file, env, cp, map, credentials: CREDS, url: signed });
    logger.error("config", { config: pasted });
    cap.object("logger", logger);
    cap.object("audit", audit);
  } finally {
    restoreWorker();
    await server.close();
    await faulty.close();
  }
  await logger.flush();
  await audit.flush();
  for (const path of [logPath, auditPath]) {
    cap.add(
      `file ${path}`,
      await Deno.readTextFile(path).catch(() => ""),
    );
  }
  await Deno.remove(dir, { recursive: true });

  // The run must have exercised what it claims to.
  expect(cap.audits.length).toBeGreaterThan(20);
  expect(cap.logs.length).toBeGreaterThan(5);
  expect(cap.workerMessages.filter((m) => m.dir === "to" && m.text.includes('"type":"get"')).length)
    .toBeGreaterThan(6);
  expect(cap.workerMessages.some((m) => m.text.includes("<token by protocol>"))).toBe(true);
  expect(cap.workerMessages.some((m) => m.dir === "from" && m.text.includes('"type":"error"'))).toBe(true);
  console.log(
    `secrets scan: ${cap.texts.length} texts, ${cap.logs.length} log records, ${cap.audits.length} audit records, ` +
      `${cap.workerMessages.length} worker messages, ${retries.length} retries`,
  );
  cap.assertClean();
});

Deno.test("the secrets capture detects a planted leak in each channel (the scan is not vacuous)", async (t) => {
  const planted: [string, (c: Capture) => void][] = [
    ["inspect of a hidden property", (c) => {
      const o = {};
      Object.defineProperty(o, "k", { value: SECRET, enumerable: false });
      c.object("o", o);
    }],
    [
      "a cause two levels down",
      (c) => c.error("e", new Error("a", { cause: new Error("b", { cause: TOKEN }) })),
    ],
    ["a log record field", (c) => c.logs.push({ time: "", level: "info", msg: "m", f: [SECRET] })],
    [
      "an audit record",
      (c) =>
        c.audits.push({ time: "", method: "GET", bucket: "b", key: TOKEN, status: 200, bytes: 0, ms: 1 }),
    ],
    ["a worker message", (c) => c.workerMessages.push({ dir: "from", text: JSON.stringify({ m: SECRET }) })],
  ];
  for (const [name, plant] of planted) {
    await t.step(name, () => {
      const c = new Capture();
      plant(c);
      expect(() => c.assertClean()).toThrow(/leak/);
    });
  }
});
