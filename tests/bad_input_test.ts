// The bad-input corpus: malformed or hostile input through the public entry points (datasets, checkpoints,
// the client) rather than the unit parsers, which their own tests cover. Each case must settle within a few
// seconds with an error of the expected type whose message names the input. Server responses come from a
// small real "bad proxy" (Deno.serve on 127.0.0.1, port 0), never a mocked fetch.
import { expect } from "expect";
import { ConfigError, IntegrityError, OssError } from "../src/errors.ts";
import { OssClient } from "../src/client.ts";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { ManifestError } from "../src/dataset/manifest.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import { openManifest, readManifest } from "../src/dataset/manifest.ts";
import { fileCredentials, loadCredentialFile } from "../src/credential_file.ts";
import { loadConfig } from "../src/config.ts";
import { Logger } from "../src/log.ts";
import { BUCKET, clientFor, CREDS, dsOpts, seed, startServer } from "./dataset_fixture.ts";

const SETTLE_MS = 5000;
const quiet = new Logger({ level: "error", sink: () => {} });

/** Awaits `p`, failing the case if it does not settle within `ms`. */
async function settle<T>(p: Promise<T>, what: string, ms = SETTLE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type ErrorType = abstract new (...args: never[]) => Error;

/** Runs `fn`, expecting it to fail (sync or async, within the time limit) with `type` and every needle. */
async function expectFailure(
  fn: () => unknown,
  type: ErrorType,
  needles: string[],
  what: string,
): Promise<Error> {
  let err: unknown;
  try {
    await settle(Promise.resolve().then(fn), what);
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`${what}: expected ${type.name}, but it succeeded`);
  if (err instanceof Error && err.message.includes("did not settle")) throw err;
  if (!(err instanceof type)) {
    throw new Error(
      `${what}: expected ${type.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
  }
  for (const n of needles) {
    if (!err.message.includes(n)) {
      throw new Error(
        `${what}: message ${JSON.stringify(err.message)} does not contain ${JSON.stringify(n)}`,
      );
    }
  }
  return err;
}

const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) { /* consume */ }
};

// ---------------------------------------------------------------------------------------------------------------
// URIs, endpoints, config and credential files, through the dataset/checkpoint/client entry points
// ---------------------------------------------------------------------------------------------------------------

Deno.test("bad URIs given to datasets, checkpoints and the client fail with a ConfigError naming the URI", async (t) => {
  const server = await startServer();
  try {
    const base = dsOpts(server);
    const cp = new OssCheckpoint({ endpoint: server.url, region: "cn-hangzhou", credentials: CREDS });
    const cases: [name: string, run: () => unknown, needles: string[]][] = [
      ["fromPrefix with an http:// URI", () => drain(OssIterableDataset.fromPrefix("http://b/k/", base)), [
        "http://b/k/",
      ]],
      ["fromPrefix with no scheme", () => drain(OssIterableDataset.fromPrefix("dsbucket/train/", base)), [
        "dsbucket/train/",
      ]],
      [
        "fromPrefix with an uppercase bucket",
        () => drain(OssIterableDataset.fromPrefix("oss://Bad/", base)),
        [
          "oss://Bad/",
        ],
      ],
      ["map fromPrefix with an empty string", () => OssMapDataset.fromPrefix("", base), ['""']],
      [
        "fromObjects with a URI lacking a key",
        () => drain(OssIterableDataset.fromObjects(["oss://dsbucket"], base)),
        [
          "oss://dsbucket",
        ],
      ],
      ["fromObjects with a non-string entry", () =>
        // deno-lint-ignore no-explicit-any
        drain(OssIterableDataset.fromObjects([42 as any], base)), ["got number"]],
      ["checkpoint writer with a bucket-only URI", () => cp.writer("oss://dsbucket"), ["oss://dsbucket"]],
      ["checkpoint reader with an s3 URI with a 2-letter bucket", () => cp.reader("s3://ab/ckpt"), [
        "s3://ab/ckpt",
      ]],
    ];
    for (const [name, run, needles] of cases) {
      await t.step(name, () => expectFailure(run, ConfigError, needles, name).then(() => {}));
    }
  } finally {
    await server.close();
  }
});

Deno.test("bad endpoints and options given to the client or a dataset fail with a ConfigError naming them", async (t) => {
  const cases: [name: string, run: () => unknown, needles: string[]][] = [
    [
      "client endpoint with a path",
      () => new OssClient({ endpoint: "https://oss-cn-hangzhou.aliyuncs.com/b" }),
      [
        "https://oss-cn-hangzhou.aliyuncs.com/b",
      ],
    ],
    ["client endpoint with an ftp scheme", () => new OssClient({ endpoint: "ftp://host.example" }), [
      "ftp://host.example",
    ]],
    ["client endpoint a number", () =>
      // deno-lint-ignore no-explicit-any
      new OssClient({ endpoint: 9000 as any }), ["endpoint", "got number"]],
    ["client endpoint with user:password", () => new OssClient({ endpoint: "http://u:pw@127.0.0.1:9" }), [
      "endpoint",
    ]],
    ["client endpoint with port 0", () => new OssClient({ endpoint: "127.0.0.1:0" }), ["127.0.0.1:0"]],
    ["client signatureVersion unknown", () =>
      // deno-lint-ignore no-explicit-any
      new OssClient({ endpoint: "127.0.0.1:9", signatureVersion: "v2" as any }), ["signatureVersion", "v2"]],
    ["client timeoutMs negative", () => new OssClient({ endpoint: "127.0.0.1:9", timeoutMs: -5 }), [
      "timeoutMs",
      "-5",
    ]],
    [
      "dataset without endpoint or client",
      () => drain(OssIterableDataset.fromPrefix("oss://dsbucket/x/", {})),
      [
        "endpoint",
      ],
    ],
    ["dataset prefetchConcurrency 0", () =>
      drain(OssIterableDataset.fromPrefix("oss://dsbucket/x/", {
        endpoint: "127.0.0.1:9",
        region: "cn-hangzhou",
        credentials: CREDS,
        prefetchConcurrency: 0,
      })), ["prefetchConcurrency", "0"]],
    ["dataset rank >= worldSize", () =>
      drain(OssIterableDataset.fromPrefix("oss://dsbucket/x/", {
        endpoint: "127.0.0.1:9",
        region: "cn-hangzhou",
        credentials: CREDS,
        rank: 2,
        worldSize: 2,
      })), ["rank", "2"]],
    ["dataset prefetchWorkerUrl a number", () =>
      drain(OssIterableDataset.fromPrefix("oss://dsbucket/x/", {
        endpoint: "127.0.0.1:9",
        region: "cn-hangzhou",
        credentials: CREDS,
        // deno-lint-ignore no-explicit-any
        prefetchWorkerUrl: 42 as any,
      })), ["prefetchWorkerUrl", "42"]],
    [
      "checkpoint partSize below the minimum",
      () =>
        new OssCheckpoint({ endpoint: "127.0.0.1:9", credentials: CREDS, partSize: 10 }).writer(
          "oss://b1b/k",
        ),
      [
        "partSize",
        "10",
      ],
    ],
  ];
  for (const [name, run, needles] of cases) {
    await t.step(name, () => expectFailure(run, ConfigError, needles, name).then(() => {}));
  }
});

Deno.test("bad config.json files given to datasets and checkpoints fail with a ConfigError naming file and path", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [name: string, text: string | null, needles: string[]][] = [
      ["missing file", null, ["missing_file.json"]],
      ["not JSON", "logLevel=1", ["not_JSON.json", "invalid JSON"]],
      ["a JSON array", "[1, 2]", ["a_JSON_array.json", "expected a JSON object, got an array"]],
      ["logLevel an unknown name", '{"logLevel": "loud"}', ["logLevel_an_unknown_name.json", "logLevel"]],
      ["prefetchWorker a fraction", '{"datasetConfig": {"prefetchWorker": 1.5}}', [
        "prefetchWorker_a_fraction.json",
        "datasetConfig.prefetchWorker",
      ]],
      ["uploadConcurrency null", '{"checkpointConfig": {"uploadConcurrency": null}}', [
        "uploadConcurrency_null.json",
        "checkpointConfig.uploadConcurrency",
      ]],
      ["a 10 MB file of whitespace and garbage", " ".repeat(10 * 1024 * 1024) + "x", [
        "a_10_MB_file_of_whitespace_and_garbage.json",
        "invalid JSON",
      ]],
    ];
    for (const [name, text, needles] of cases) {
      const path = `${dir}/${name.replaceAll(" ", "_")}.json`;
      if (text !== null) await Deno.writeTextFile(path, text);
      await t.step(`dataset: ${name}`, async () => {
        const opts = { endpoint: "127.0.0.1:9", credentials: CREDS, configPath: path, logger: quiet };
        await expectFailure(
          () => drain(OssIterableDataset.fromPrefix("oss://b1b/x/", opts)),
          ConfigError,
          needles,
          name,
        );
      });
    }
    await t.step("checkpoint: a config whose checkpointConfig is a string", async () => {
      const path = `${dir}/cp.json`;
      await Deno.writeTextFile(path, '{"checkpointConfig": "fast"}');
      const cp = new OssCheckpoint({ endpoint: "127.0.0.1:9", credentials: CREDS, configPath: path });
      await expectFailure(() => cp.writer("oss://b1b/k").getWriter().write(new Uint8Array(1)), ConfigError, [
        path,
        "checkpointConfig",
      ], "checkpoint config");
    });
    await t.step("loadConfig of a path that is a directory", async () => {
      await expectFailure(() => loadConfig(dir), ConfigError, [dir], "directory");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad credential files fail with a ConfigError naming the file and field, through datasets too", async (t) => {
  const dir = await Deno.makeTempDir();
  const server = await startServer();
  try {
    const past = new Date(Date.now() - 3600_000).toISOString();
    const cases: [name: string, text: string | null, needles: string[]][] = [
      ["missing file", null, ["missing_file"]],
      ["empty file", "", ["empty_file"]],
      ["no AccessKeyId", '{"AccessKeySecret": "s"}', ["no_AccessKeyId", "AccessKeyId"]],
      ["no AccessKeySecret", '{"AccessKeyId": "id"}', ["no_AccessKeySecret", "AccessKeySecret"]],
      ["AccessKeyId a number", '{"AccessKeyId": 5, "AccessKeySecret": "s"}', [
        "AccessKeyId_a_number",
        "AccessKeyId",
      ]],
      ["SecurityToken an object", '{"AccessKeyId": "i", "AccessKeySecret": "s", "SecurityToken": {}}', [
        "SecurityToken_an_object",
        "SecurityToken",
      ]],
      ["Expiration not a date", '{"AccessKeyId": "i", "AccessKeySecret": "s", "Expiration": "soon"}', [
        "Expiration_not_a_date",
        "Expiration",
      ]],
      ["expired", `{"AccessKeyId": "i", "AccessKeySecret": "s", "Expiration": "${past}"}`, [
        "expired",
        "Expiration",
      ]],
      ["a JSON string", '"LTAI:secret"', ["a_JSON_string"]],
    ];
    for (const [name, text, needles] of cases) {
      const path = `${dir}/${name.replaceAll(" ", "_")}`;
      if (text !== null) await Deno.writeTextFile(path, text);
      await t.step(`fileCredentials: ${name}`, async () => {
        await expectFailure(() => fileCredentials(path).getCredentials(), ConfigError, needles, name);
      });
    }
    await t.step("a dataset with credPath to an expired file fails before any request", async () => {
      const before = server.stats.requests;
      const opts = {
        endpoint: server.url,
        region: "cn-hangzhou",
        credPath: `${dir}/expired`,
        prefetchWorker: 0,
      };
      await expectFailure(
        () => drain(OssIterableDataset.fromPrefix(`oss://${BUCKET}/x/`, opts)),
        ConfigError,
        [`${dir}/expired`],
        "dataset credPath",
      );
      expect(server.stats.requests).toBe(before);
    });
    await t.step("an unreadable credential file (mode 000) names the file", async () => {
      if (Deno.build.os === "windows" || Deno.uid?.() === 0) return; // root reads anything
      const path = `${dir}/unreadable`;
      await Deno.writeTextFile(path, '{"AccessKeyId": "i", "AccessKeySecret": "s"}');
      await Deno.chmod(path, 0o000);
      await expectFailure(() => loadCredentialFile(path), ConfigError, [path], "unreadable");
    });
    await t.step("a credential file that is a directory names the file", async () => {
      await expectFailure(() => loadCredentialFile(dir), ConfigError, [dir], "directory");
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------------------------

Deno.test("bad manifests fail with a ManifestError naming the manifest and the line", async (t) => {
  const dir = await Deno.makeTempDir();
  const server = await startServer();
  try {
    await seed(server, 1, "m1/");
    const cases: [
      name: string,
      text: string,
      parser: "jsonl" | "index" | "keylabel" | undefined,
      needles: string[],
    ][] = [
      ["bad JSON on line 2", '{"data": {"source": "oss://dsbucket/m1/00000.bin"}}\n{"data": \n', undefined, [
        "line 2",
      ]],
      ["JSON without a source", '{"data": {"label": "cat"}}\n', "jsonl", ["line 1", "source"]],
      ["JSON with a numeric source", '{"data": {"source": 7}}\n', "jsonl", ["line 1"]],
      ["JSON array line", "[1,2,3]\n", "jsonl", ["line 1", "[1,2,3]"]],
      ["index entry without a path", "a.jpg:cat,:dog\n", "index", ["line 1", ":dog"]],
      ["jsonl forced on a key-label manifest", "a.jpg cat\n", "jsonl", ["line 1", "a.jpg cat"]],
      ["invalid UTF-8", "a.jpg cat\n\xff\xfe\n", undefined, []],
      ["a URI with a bad bucket", "oss://Bad_Bucket/a.jpg cat\n", undefined, ["Bad_Bucket"]],
    ];
    for (const [name, text, parser, needles] of cases) {
      const path = `${dir}/${name.replaceAll(" ", "_")}.txt`;
      const bytes = name === "invalid UTF-8"
        ? Uint8Array.from([...new TextEncoder().encode("a.jpg cat\n"), 0xff, 0xfe, 0x0a])
        : new TextEncoder().encode(text);
      await Deno.writeFile(path, bytes);
      await t.step(name, async () => {
        const opts = dsOpts(server);
        const err = await expectFailure(
          () => drain(OssIterableDataset.fromManifestFile(path, parser, `oss://${BUCKET}/`, opts)),
          ManifestError,
          needles,
          name,
        );
        if (err instanceof ManifestError) expect(err.message).toContain(path);
      });
    }
    await t.step(
      "a 10 MB line fails fast with a ManifestError naming the line, not an OOM or a hang",
      async () => {
        const path = `${dir}/huge.txt`;
        await Deno.writeTextFile(
          path,
          "a.jpg cat\nb.jpg dog\n" + "x".repeat(10 * 1024 * 1024) + "\nc.jpg cat\n",
        );
        const t0 = performance.now();
        const e2 = await expectFailure(
          async () => drain(readManifest(await openManifest(path), { source: path })),
          ManifestError,
          [path, "line 3", "longer than"],
          "huge line",
        );
        expect((e2 as ManifestError).lineNumber).toBe(3);
        expect(performance.now() - t0).toBeLessThan(SETTLE_MS);
      },
    );
    await t.step(
      "a 10 MB file without a newline fails the dataset with a ManifestError on line 1",
      async () => {
        const path = `${dir}/one-line.bin`;
        await Deno.writeTextFile(path, "y".repeat(10 * 1024 * 1024));
        await expectFailure(
          () =>
            drain(OssIterableDataset.fromManifestFile(path, undefined, `oss://${BUCKET}/`, dsOpts(server))),
          ManifestError,
          [path, "line 1"],
          "no newline",
        );
      },
    );
    await t.step("a missing manifest object on OSS fails naming the key", async () => {
      await expectFailure(
        () =>
          drain(
            OssIterableDataset.fromManifestFile(
              `oss://${BUCKET}/nope.jsonl`,
              undefined,
              undefined,
              dsOpts(server),
            ),
          ),
        OssError,
        ["NoSuchKey", "nope.jsonl"],
        "missing on OSS",
      );
    });
    await t.step("a manifest naming a missing object fails with NoSuchKey naming that key", async () => {
      const path = `${dir}/missing-object.txt`;
      await Deno.writeTextFile(path, "gone.bin cat\n");
      await expectFailure(
        () =>
          drain(OssIterableDataset.fromManifestFile(path, "keylabel", `oss://${BUCKET}/`, dsOpts(server))),
        OssError,
        ["NoSuchKey", "gone.bin"],
        "missing object",
      );
    });
    await t.step("a manifest with an unsupported scheme names the location", async () => {
      await expectFailure(() => openManifest("ftp://host/m.txt"), ManifestError, ["ftp://host/m.txt"], "ftp");
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Server responses: a real misbehaving HTTP server in front of nothing
// ---------------------------------------------------------------------------------------------------------------

const HTML_502 =
  "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

/**
 * A "bad proxy": the first path segment (the bucket, path-style) picks the misbehaviour.
 */
function startBadProxy(): { url: string; close(): Promise<void>; hits: () => number } {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    hits++;
    const url = new URL(req.url);
    const bucket = url.pathname.split("/")[1];
    await req.body?.cancel();
    switch (bucket) {
      case "html-502":
        return new Response(HTML_502, { status: 502, headers: { "content-type": "text/html" } });
      case "html-403":
        return new Response("<html><body>Access denied by corporate proxy</body></html>", {
          status: 403,
          headers: { "content-type": "text/html" },
        });
      case "html-200-list":
        return new Response("<html><body>Please log in to the Wi-Fi</body></html>", {
          headers: { "content-type": "text/html" },
        });
      case "badxml-error":
        return new Response("<Error><Code>NoSuchKey<Message>unterminated", {
          status: 404,
          headers: { "content-type": "application/xml" },
        });
      case "badxml-list":
        return new Response('<?xml version="1.0"?><ListBucketResult><Contents><Key>a</Key>', {
          headers: { "content-type": "application/xml", "x-oss-request-id": "RID-badxml" },
        });
      case "wrongxml-list":
        return new Response("<Other><Thing>1</Thing></Other>", {
          headers: { "content-type": "application/xml" },
        });
      case "empty-list":
        return new Response("", { headers: { "content-type": "application/xml" } });
      case "plain-500":
        return new Response("upstream connect error or disconnect/reset before headers", { status: 500 });
      case "short-body": {
        // Declares 1000 bytes, sends 10 and ends the connection.
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new Uint8Array(10));
            c.close(); // 990 bytes short of the declared length
          },
        });
        return new Response(stream, { headers: { "content-length": "1000", etag: '"e"' } });
      }
      case "no-etag": {
        if (req.method === "POST" && url.searchParams.has("uploads")) {
          return new Response(
            "<InitiateMultipartUploadResult><Bucket>no-etag</Bucket><Key>k</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>",
            { headers: { "content-type": "application/xml" } },
          );
        }
        if (req.method === "DELETE") return new Response(null, { status: 204 });
        return new Response(null, { status: 200 });
      }
      case "no-uploadid":
        return new Response(
          "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>",
          {
            headers: { "content-type": "application/xml" },
          },
        );
      case "truncated-no-token":
        return new Response(
          "<ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>",
          { headers: { "content-type": "application/xml" } },
        );
      case "bad-range":
        // Asked for a range, answers 206 with a Content-Range of another range.
        return new Response(new Uint8Array(4), {
          status: 206,
          headers: { "content-range": "bytes 100-103/200", etag: '"e"' },
        });
      case "hang":
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          req.signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)));
        });
        return new Response("late");
      default:
        return new Response("?", { status: 400 });
    }
  });
  const addr = server.addr as Deno.NetAddr;
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.shutdown(), hits: () => hits };
}

Deno.test("misbehaving servers and proxies give typed errors naming the request, and nothing hangs", async (t) => {
  const proxy = startBadProxy();
  const client = new OssClient({
    endpoint: proxy.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    timeoutMs: 1000,
    retry: { maxAttempts: 2, minDelayMs: 5, maxDelayMs: 10 },
  });
  const first = async (it: AsyncIterable<unknown>) => {
    for await (const x of it) return x;
  };
  try {
    const cases: [name: string, run: () => unknown, type: ErrorType, needles: string[]][] = [
      ["an nginx 502 HTML page", () => client.get("html-502", "k.bin"), OssError, [
        "BadGateway",
        "html-502/k.bin",
        "proxy",
      ]],
      ["a 403 HTML page from a corporate proxy", () => client.head("html-403", "k.bin"), OssError, [
        "403",
        "html-403/k.bin",
      ]],
      ["an HTML page with status 200 for a listing", () => first(client.list("html-200-list")), SyntaxError, [
        "ListBucketResult",
      ]],
      ["malformed XML in an error response", () => client.get("badxml-error", "k.bin"), OssError, [
        "malformed XML",
        "badxml-error/k.bin",
      ]],
      ["truncated XML in a listing", () => first(client.list("badxml-list")), SyntaxError, [
        "ListBucketResult",
      ]],
      ["XML of another shape in a listing", () => first(client.list("wrongxml-list")), SyntaxError, [
        "ListBucketResult",
      ]],
      ["an empty listing body", () => first(client.list("empty-list")), SyntaxError, ["ListBucketResult"]],
      ["a plain-text 500 from an envoy proxy", () => client.get("plain-500", "k.bin"), OssError, [
        "500",
        "plain-500/k.bin",
      ]],
      ["a body shorter than its Content-Length", () => client.getBytes("short-body", "k.bin"), OssError, [
        "short-body/k.bin",
      ]],
      [
        "an upload part answered without an ETag",
        () => client.uploadPart("no-etag", "k.bin", "U1", 1, new Uint8Array(8)),
        OssError,
        ["ETag", "no-etag/k.bin"],
      ],
      [
        "an InitiateMultipartUpload without an UploadId",
        () => client.initiateMultipart("no-uploadid", "k.bin"),
        SyntaxError,
        ["UploadId"],
      ],
      [
        "a truncated listing without a continuation token (would loop forever)",
        () => Array.fromAsync(client.list("truncated-no-token")),
        SyntaxError,
        ["NextContinuationToken"],
      ],
      [
        "a 206 with the Content-Range of another range",
        () => client.getBytes("bad-range", "k.bin", { range: { start: 0, end: 3 } }),
        IntegrityError,
        [
          "Content-Range",
          "bad-range/k.bin",
        ],
      ],
      ["a server that never answers (timeoutMs 1000)", () => client.get("hang", "k.bin"), OssError, [
        "hang/k.bin",
      ]],
      [
        "a checkpoint whose parts come back without ETags",
        async () => {
          const cp = new OssCheckpoint({ client, partSize: 100 * 1024, uploadConcurrency: 2 });
          const w = cp.writer("oss://no-etag/ckpt.bin").getWriter();
          await w.write(new Uint8Array(300 * 1024));
          await w.close();
        },
        OssError,
        ["ETag", "no-etag"],
      ],
    ];
    for (const [name, run, type, needles] of cases) {
      await t.step(name, () => expectFailure(run, type, needles, name).then(() => {}));
    }
  } finally {
    await proxy.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// API misuse
// ---------------------------------------------------------------------------------------------------------------

Deno.test("API misuse fails with a typed error naming the argument", async (t) => {
  const server = await startServer();
  try {
    await seed(server, 4, "m/");
    const client = clientFor(server);
    const cases: [name: string, run: () => unknown, type: ErrorType, needles: string[]][] = [
      [
        "client.get with a bucket name that is invalid on OSS",
        () => client.get("Bad_Bucket", "k"),
        OssError,
        [
          "Bad_Bucket",
        ],
      ],
      ["client.put with an empty key", () => client.put(BUCKET, "", "x"), TypeError, ["key", '""']],
      ["client.get with a key over 1023 bytes", () => client.get(BUCKET, "k".repeat(1024)), OssError, [
        "InvalidObjectName",
      ]],
      [
        "a negative range start",
        () => client.get(BUCKET, "m/00000.bin", { range: { start: -1, end: 3 } }),
        RangeError,
        [
          "range",
          "-1",
        ],
      ],
      [
        "a range whose end is before its start",
        () => client.get(BUCKET, "m/00000.bin", { range: { start: 10, end: 2 } }),
        RangeError,
        ["range", "10", "2"],
      ],
      [
        "a fractional range",
        () => client.getBytes(BUCKET, "m/00000.bin", { range: { start: 0.5 } }),
        RangeError,
        [
          "0.5",
        ],
      ],
      [
        "DataObject.range with a negative start",
        async () => {
          for await (const item of OssIterableDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))) {
            return await item.range(-5, 2);
          }
        },
        RangeError,
        ["-5"],
      ],
      [
        "map get(i) past the end",
        async () => (await OssMapDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))).get(4),
        RangeError,
        [
          "get",
          "4",
        ],
      ],
      [
        "map get(-1)",
        async () => (await OssMapDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))).get(-1),
        RangeError,
        [
          "-1",
        ],
      ],
      [
        "map get(NaN)",
        async () => (await OssMapDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))).get(NaN),
        RangeError,
        [
          "NaN",
        ],
      ],
      [
        "map getMany with one index out of range",
        async () =>
          (await OssMapDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))).getMany([0, 1, 99]),
        RangeError,
        [
          "getMany",
          "99",
        ],
      ],
      [
        "map setEpoch(-1)",
        async () => (await OssMapDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server))).setEpoch(-1),
        RangeError,
        [
          "setEpoch",
          "-1",
        ],
      ],
      [
        "writing to a checkpoint writer after close",
        async () => {
          const cp = new OssCheckpoint({ client });
          const w = cp.writer(`oss://${BUCKET}/ck/closed.bin`).getWriter();
          await w.write(new Uint8Array(10));
          await w.close();
          await w.write(new Uint8Array(1));
        },
        TypeError,
        [],
      ],
      [
        "a checkpoint write of a non-Uint8Array chunk",
        async () => {
          const cp = new OssCheckpoint({ client });
          const w = cp.writer(`oss://${BUCKET}/ck/str.bin`).getWriter();
          // deno-lint-ignore no-explicit-any
          await w.write("not bytes" as any);
          await w.close();
        },
        TypeError,
        ["Uint8Array"],
      ],
      [
        "reading a missing checkpoint",
        async () => {
          const cp = new OssCheckpoint({ client });
          await new Response(cp.reader(`oss://${BUCKET}/ck/none.bin`)).arrayBuffer();
        },
        OssError,
        ["404", "ck/none.bin"],
      ],
      [
        "put with a body of the wrong type",
        () =>
          // deno-lint-ignore no-explicit-any
          client.put(BUCKET, "x.bin", 12345 as any),
        TypeError,
        ["put", "body", "12345"],
      ],
      [
        "completeMultipart with no parts",
        () => client.completeMultipart(BUCKET, "x.bin", "U", []),
        TypeError,
        [
          "parts",
        ],
      ],
      [
        "uploadPart with part number 0",
        () => client.uploadPart(BUCKET, "x.bin", "U", 0, new Uint8Array(1)),
        RangeError,
        [
          "partNumber",
          "0",
        ],
      ],
    ];
    for (const [name, run, type, needles] of cases) {
      await t.step(name, () => expectFailure(run, type, needles, name).then(() => {}));
    }

    await t.step(
      "concurrent iteration of one iterator serialises or rejects, never duplicates or hangs",
      async () => {
        const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server));
        const it = ds[Symbol.asyncIterator]();
        const results = await settle(
          Promise.allSettled([it.next(), it.next(), it.next(), it.next(), it.next()]),
          "next x5",
        );
        const keys = results.flatMap((r) =>
          r.status === "fulfilled" && !r.value.done ? [r.value.value.key] : []
        );
        expect(new Set(keys).size).toBe(keys.length);
        for (const r of results) {
          if (r.status === "rejected") expect(r.reason).toBeInstanceOf(Error);
        }
        await settle(Promise.resolve(it.return?.()), "return");
      },
    );
    await t.step("two passes of one dataset at once each see every object exactly once", async () => {
      const ds = OssIterableDataset.fromPrefix(`oss://${BUCKET}/m/`, dsOpts(server));
      const keysOf = async () => {
        const keys: string[] = [];
        for await (const item of ds) keys.push(item.key);
        return keys.sort();
      };
      const [a, b] = await settle(Promise.all([keysOf(), keysOf()]), "two passes");
      expect(a).toEqual(b);
      expect(a.length).toBe(4);
    });
    await t.step("an already-aborted signal rejects with its reason before any request", async () => {
      const before = server.stats.requests;
      const reason = new DOMException("stop", "AbortError");
      const opts = dsOpts(server, { signal: AbortSignal.abort(reason) });
      const err = await expectFailure(
        () => drain(OssIterableDataset.fromPrefix(`oss://${BUCKET}/m/`, opts)),
        DOMException,
        [
          "stop",
        ],
        "aborted",
      );
      expect(err).toBe(reason);
      expect(server.stats.requests).toBe(before);
    });
    await t.step("a checkpoint reader of a corrupted object fails with IntegrityError", async () => {
      // The server's CRC64 header is computed over what it stores, so corrupt the client view instead: a
      // checkpoint object overwritten with different bytes mid-read changes its ETag.
      const cp = new OssCheckpoint({ client, partSize: 100 * 1024, prefetchConcurrency: 1 });
      const w = cp.writer(`oss://${BUCKET}/ck/swap.bin`).getWriter();
      await w.write(new Uint8Array(400 * 1024).fill(1));
      await w.close();
      const reader = cp.reader(`oss://${BUCKET}/ck/swap.bin`).getReader();
      await reader.read();
      await client.put(BUCKET, "ck/swap.bin", new Uint8Array(400 * 1024).fill(2));
      const err = await settle(
        (async () => {
          try {
            while (!(await reader.read()).done) { /* drain */ }
          } catch (e) {
            return e;
          }
        })(),
        "swap",
      );
      // Either the object changed under the reader (412 PreconditionFailed / IntegrityError), or the reader had
      // already fetched every range: both are fine, silently mixing versions is not.
      if (err !== undefined) {
        expect(err instanceof IntegrityError || err instanceof OssError).toBe(true);
        expect((err as Error).message).toContain("swap.bin");
      }
    });
  } finally {
    await server.close();
  }
});
