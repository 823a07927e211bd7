// The preview app (src/server/preview/app.ts) served over real HTTP on 127.0.0.1, in front of the local server with
// signature checks on: listing, previews, presigned URLs, the bearer token, CORS, and no secrets in answers.
import { expect } from "expect";
import { encode } from "fast-png";
import { OssClient } from "../src/client.ts";
import { createPreviewApp, type PreviewAppOptions, type RunningEmulator } from "../src/server/mod.ts";
import { bytesOf, clientFor, CREDS, expectBytes, startServer } from "./client_fixtures.ts";

const TOKEN = "preview-t0ken_ABC.123";
const UI = "https://ui.example.com";
const LONG_TEXT = "0123456789".repeat(30); // 300 bytes
const ROWS = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: i, label: `cat ${i}` })).join("\n") +
  "\n";

function png(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed + (i >> 4)) & 0xff;
  return encode({ width, height, data, channels: 3 });
}

const IMAGE = png(8, 6, 7);

interface Fixture {
  store: RunningEmulator;
  client: OssClient;
  url: string;
  get(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
}

async function seed(client: OssClient): Promise<void> {
  await client.put("bkt", "data/notes.txt", LONG_TEXT, { contentType: "text/plain" });
  await client.put("bkt", "data/short.txt", "héllo");
  await client.put("bkt", "data/rows.jsonl", ROWS);
  await client.put("bkt", "data/img/cat.png", IMAGE); // stored as application/octet-stream: judged by extension
  await client.put("bkt", "data/img/typed", IMAGE, { contentType: "image/png" }); // judged by content type
  await client.put("bkt", "data/blob.bin", bytesOf(1000, 3));
  await client.put("bkt", "data/empty.txt", "");
  await client.put("bkt", "private/secret.txt", "not for you");
}

async function withApp(
  fn: (f: Fixture) => Promise<void>,
  extra: Partial<PreviewAppOptions> = {},
): Promise<void> {
  const store = await startServer();
  const client = clientFor(store, "oss4");
  await seed(client);
  const app = createPreviewApp({
    client,
    bucket: "bkt",
    prefixes: ["data/"],
    token: TOKEN,
    corsOrigins: [UI],
    previewBytes: 100,
    maxPresignExpires: 600,
    ...extra,
  } as PreviewAppOptions);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const get = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return fetch(url + path, { ...init, headers });
  };
  try {
    await fn({ store, client, url, get });
  } finally {
    await server.shutdown();
    await store.close();
  }
}

async function json(res: Response, status = 200): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(`${res.status} ${text}`).toBe(`${status} ${text}`);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return JSON.parse(text);
}

Deno.test("list answers one page of the prefix with keys, sizes, etags and a cursor", async () => {
  await withApp(async ({ client, get }) => {
    const expected = [];
    for await (const o of client.list("bkt", { prefix: "data/" })) expected.push(o);
    const all = await json(await get("/api/list?prefix=data/"));
    expect(all.bucket).toBe("bkt");
    expect(all.nextCursor).toBeUndefined();
    expect(all.objects).toEqual(
      expected.map((o) => ({
        key: o.key,
        size: o.size,
        etag: o.etag,
        lastModified: o.lastModified.toISOString(),
      })),
    );

    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ prefix: "data/", limit: "3" });
      if (cursor) q.set("cursor", cursor);
      const page = await json(await get(`/api/list?${q}`));
      const objects = page.objects as { key: string }[];
      expect(objects.length).toBeLessThanOrEqual(3);
      keys.push(...objects.map((o) => o.key));
      cursor = page.nextCursor as string | undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(keys).toEqual(expected.map((o) => o.key));

    const dirs = await json(await get("/api/list?prefix=data/&delimiter=/"));
    expect(dirs.commonPrefixes).toEqual(["data/img/"]);
    // No prefix: the first allowed one.
    expect((await json(await get("/api/list"))).prefix).toBe("data/");
  });
});

Deno.test("list refuses prefixes outside the allowed ones", async () => {
  await withApp(async ({ get }) => {
    for (const prefix of ["", "private/", "dat", "Data/"]) {
      const body = await json(await get(`/api/list?prefix=${encodeURIComponent(prefix)}`), 403);
      expect(body.error).toMatchObject({ code: "PrefixNotAllowed" });
    }
    const bad = await json(await get("/api/list?prefix=data/&limit=5000"), 400);
    expect((bad.error as { message: string }).message).toBe(
      'query parameter limit: expected an integer from 1 to 1000, got "5000"',
    );
    expect((await json(await get("/api/list?prefix=data/../private/"), 400)).error).toMatchObject({
      code: "BadRequest",
    });
  });
});

Deno.test("preview truncates text and JSON lines to the limit and says so", async () => {
  await withApp(async ({ get }) => {
    const notes = await json(await get("/api/preview?key=data/notes.txt"));
    expect(notes).toMatchObject({ key: "data/notes.txt", size: 300, kind: "text", truncated: true });
    expect(notes.text).toBe(LONG_TEXT.slice(0, 100));
    expect(notes.contentType).toBe("text/plain");

    const short = await json(await get("/api/preview?key=data/short.txt"));
    expect(short).toMatchObject({ size: 6, kind: "text", truncated: false, text: "héllo" });

    const rows = await json(await get("/api/preview?key=data/rows.jsonl"));
    expect(rows).toMatchObject({ kind: "jsonl", truncated: true, size: ROWS.length });
    const lines = ROWS.slice(0, 100).split("\n").slice(0, -1);
    expect(rows.records).toEqual(lines.map((l) => JSON.parse(l)));
    expect(rows.text).toBe(lines.join("\n") + "\n");

    const empty = await json(await get("/api/preview?key=data/empty.txt"));
    expect(empty).toMatchObject({ size: 0, kind: "text", truncated: false, text: "" });
  });
});

Deno.test("preview cuts text on a whole UTF-8 character", async () => {
  await withApp(async ({ client, get }) => {
    await client.put("bkt", "data/utf8.txt", "é".repeat(80)); // 160 bytes; byte 100 is inside a character
    const body = await json(await get("/api/preview?key=data/utf8.txt"));
    expect(body).toMatchObject({ truncated: true, text: "é".repeat(50) });
  });
});

Deno.test("preview serves images as-is with their content type", async () => {
  await withApp(async ({ client, get }) => {
    for (const key of ["data/img/cat.png", "data/img/typed"]) {
      const res = await get(`/api/preview?key=${key}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("content-security-policy")).toContain("sandbox");
      expectBytes(new Uint8Array(await res.arrayBuffer()), IMAGE, key);
    }
    // Larger than the preview limit: the rest is streamed.
    const big = png(64, 64, 3);
    await client.put("bkt", "data/img/big.png", big);
    const res = await get("/api/preview?key=data/img/big.png");
    expect(res.headers.get("content-type")).toBe("image/png");
    expectBytes(new Uint8Array(await res.arrayBuffer()), big, "big.png");
  });
});

Deno.test("preview refuses an image above maxImageBytes and points to presign", async () => {
  await withApp(async ({ get }) => {
    const body = await json(await get("/api/preview?key=data/img/cat.png"), 413);
    expect(body.error).toMatchObject({ code: "ImageTooLarge" });
  }, { maxImageBytes: 10 });
});

Deno.test("preview shows binary objects as a hex head", async () => {
  await withApp(async ({ get }) => {
    const body = await json(await get("/api/preview?key=data/blob.bin"));
    const head = Array.from(bytesOf(1000, 3).subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join(
      " ",
    );
    expect(body).toMatchObject({ kind: "binary", size: 1000, truncated: true, hex: head });
  }, { hexBytes: 16 });
});

Deno.test("preview of a missing key is a 404, of a key outside the prefixes a 403", async () => {
  await withApp(async ({ get }) => {
    expect((await json(await get("/api/preview?key=data/nope"), 404)).error).toEqual({
      code: "NoSuchKey",
      message: 'no object "data/nope"',
    });
    expect((await json(await get("/api/preview?key=private/secret.txt"), 403)).error).toMatchObject({
      code: "PrefixNotAllowed",
    });
    expect((await json(await get("/api/preview"), 400)).error).toMatchObject({ code: "BadRequest" });
  });
});

Deno.test("presign hands out a URL that fetches the object without credentials", async () => {
  await withApp(async ({ store, get }) => {
    const body = await json(await get("/api/presign?key=data/img/cat.png&expires=60"));
    expect(body.expires).toBe(60);
    const url = body.url as string;
    expect(url.startsWith(`${store.url}/bkt/data/img/cat.png?`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expectBytes(new Uint8Array(await res.arrayBuffer()), IMAGE, "presigned GET");

    // Several keys at once, in order; a lifetime above the cap is cut to it.
    const many = await json(await get("/api/presign?key=data/short.txt&key=data/notes.txt&expires=999999"));
    expect(many.expires).toBe(600);
    const items = many.items as { key: string; url: string }[];
    expect(items.map((i) => i.key)).toEqual(["data/short.txt", "data/notes.txt"]);
    expect(await (await fetch(items[1].url)).text()).toBe(LONG_TEXT);
    expect(Date.parse(many.expiresAt as string) - Date.now()).toBeLessThanOrEqual(600_000);

    expect((await json(await get("/api/presign?key=private/secret.txt"), 403)).error).toMatchObject({
      code: "PrefixNotAllowed",
    });
    expect((await json(await get("/api/presign?key=data/short.txt&expires=0"), 400)).error).toMatchObject({
      code: "BadRequest",
    });
  });
});

Deno.test("a presigned URL from the preview API is accepted by the local server for the lifetime asked", async () => {
  // Expiry itself is proved below by URLs signed in the past: a 1-second lifetime raced the clock.
  await withApp(async ({ get }) => {
    const body = await json(await get("/api/presign?key=data/short.txt&expires=60"));
    const url = new URL(body.url as string);
    expect(url.searchParams.get("x-oss-expires")).toBe("60");
    const res = await fetch(url);
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });
});

Deno.test("presigned URLs signed in the past are refused (oss4 and s3v4)", async () => {
  await withApp(async ({ store }) => {
    for (const mode of ["oss4", "s3v4"] as const) {
      const client = clientFor(store, mode);
      const date = new Date(Date.now() - 3600_000);
      const url = await client.presignUrl("bkt", "data/short.txt", { expires: 60, date });
      const res = await fetch(url);
      expect(`${mode} ${res.status}`).toBe(`${mode} 403`);
      expect(await res.text()).toContain("AccessDenied");
    }
  });
});

Deno.test("a request without the token or with a wrong one is refused with 401", async () => {
  await withApp(async ({ get }) => {
    for (
      const path of ["/api/list?prefix=data/", "/api/preview?key=data/short.txt", "/api/presign?key=data/a"]
    ) {
      const none = await get(path, { token: null });
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="ossflow-preview"');
      expect((await json(none, 401)).error).toMatchObject({ code: "Unauthorized" });

      const wrong = await get(path, { token: "not-the-token" });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
      await wrong.body?.cancel();

      for (const authorization of [`Basic ${btoa("a:b")}`, "Bearer", `Bearer ${TOKEN} extra`]) {
        const odd = await get(path, { headers: { authorization } });
        expect(`${authorization}: ${odd.status}`).toBe(`${authorization}: 401`);
        expect(odd.headers.get("www-authenticate")).toContain("Bearer");
        await odd.body?.cancel();
      }
    }
    // The token is never taken from the query string.
    expect((await get(`/api/list?token=${TOKEN}`, { token: null })).status).toBe(401);
  });
});

Deno.test("verifyToken decides instead of a fixed token", async () => {
  const seen: string[] = [];
  await withApp(async ({ get }) => {
    expect((await get("/api/list", { token: "good-1" })).status).toBe(200);
    expect((await get("/api/list", { token: "bad-1" })).status).toBe(401);
    expect(seen).toEqual(["good-1", "bad-1"]);
  }, {
    token: undefined,
    verifyToken: (t) => {
      seen.push(t);
      return Promise.resolve(t.startsWith("good-"));
    },
  });
});

Deno.test("CORS preflights are answered for configured origins only", async () => {
  await withApp(async ({ get }) => {
    const preflight = (origin: string) =>
      get("/api/list", {
        method: "OPTIONS",
        token: null,
        headers: {
          origin,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(UI);
    expect(ok.headers.get("access-control-allow-headers")).toBe("authorization");
    expect(ok.headers.get("access-control-allow-methods")).toContain("GET");
    await ok.body?.cancel();

    const other = await preflight("https://evil.example.com");
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect((await json(other, 403)).error).toMatchObject({ code: "CorsRefused" });

    const real = await get("/api/list?prefix=data/", { headers: { origin: UI } });
    expect(real.headers.get("access-control-allow-origin")).toBe(UI);
    await real.body?.cancel();
    // A refusal is readable by the allowed page too (so it can ask for the token again).
    const refused = await get("/api/list", { token: null, headers: { origin: UI } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(UI);
    await refused.body?.cancel();
    const foreign = await get("/api/list?prefix=data/", { headers: { origin: "https://evil.example.com" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    await foreign.body?.cancel();
  });
});

Deno.test("answers never carry the store's secret or the token, even when the store refuses the app", async () => {
  const store = await startServer();
  try {
    const wrong = new OssClient({
      endpoint: store.url,
      region: "cn-hangzhou",
      credentials: { accessKeyId: CREDS.accessKeyId, accessKeySecret: "wrong-secret-value-42" },
      retry: { maxAttempts: 1 },
    });
    const reported: unknown[] = [];
    const app = createPreviewApp({
      client: wrong,
      bucket: "bkt",
      prefixes: ["data/"],
      token: TOKEN,
      onError: (e) => reported.push(e),
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const texts: string[] = [];
    for (
      const path of ["/api/list?prefix=data/", "/api/preview?key=data/a.txt", "/api/presign?key=data/a.txt"]
    ) {
      const res = await app.request(path, { headers: auth });
      const text = await res.text();
      texts.push(`${res.status} ${text}`);
      for (const secret of ["wrong-secret-value-42", CREDS.accessKeySecret, TOKEN]) {
        expect(text.includes(secret)).toBe(false);
      }
    }
    expect(texts[0]).toMatch(/^502 .*SignatureDoesNotMatch.*check the app's credentials/);
    expect(texts[1]).toMatch(/^502 /);
    // Presigning is local: the URL is made, but the store will refuse it.
    expect(texts[2]).toMatch(/^200 /);
    const page = await (await app.request("/")).text();
    expect(page.includes(TOKEN) || page.includes(CREDS.accessKeyId)).toBe(false);
  } finally {
    await store.close();
  }
});

Deno.test("the page and its script are served without the token, with a strict CSP", async () => {
  await withApp(async ({ store, get }) => {
    const res = await get("/", { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`connect-src 'self' ${store.url}`);
    const html = await res.text();
    expect(html).toContain('data-bundle="./ossflow.js"');
    expect(html).toContain('<script type="module" src="app.js"></script>');
    const script = await get("/app.js", { token: null });
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("OssMapDataset.fromUrls");
    const api404 = await get("/api/nothing");
    expect((await json(api404, 404)).error).toMatchObject({ code: "NotFound" });
  });
});

Deno.test("the bundle is served from a directory, or imported from a URL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ossflow.js`, "export const x = 1;\n");
    const dirUrl = new URL(`file://${dir}/`);
    await withApp(async ({ get }) => {
      const res = await get("/ossflow.js", { token: null });
      expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(await res.text()).toBe("export const x = 1;\n");
      await Deno.writeTextFile(`${dir}/ossflow.js.map`, "{}");
      const map = await get("/ossflow.js.map", { token: null });
      expect(map.headers.get("content-type")).toBe("application/json");
      expect(await map.text()).toBe("{}");
      expect((await get("/other.js", { token: null })).status).toBe(404);
      const missing = await get("/prefetch_worker.js", { token: null });
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain("deno task build");
    }, { bundle: { dir: dirUrl } });
    await withApp(async ({ get }) => {
      const res = await get("/", { token: null });
      expect(res.headers.get("content-security-policy")).toContain(
        "script-src 'self' https://cdn.example.com",
      );
      expect(await res.text()).toContain('data-bundle="https://cdn.example.com/ossflow.js"');
      expect((await get("/ossflow.js", { token: null })).status).toBe(404);
    }, { bundle: { url: "https://cdn.example.com/ossflow.js" } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle.dir takes a path, absolute or relative to the current directory, as well as a file: URL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/my dist`);
    await Deno.writeTextFile(`${dir}/my dist/ossflow.js`, "export const fromPath = 1;\n");
    const served = async (bundleDir: string) => {
      let text = "";
      await withApp(async ({ get }) => {
        text = await (await get("/ossflow.js", { token: null })).text();
      }, { bundle: { dir: bundleDir } });
      return text;
    };
    expect(await served(`${dir}/my dist`)).toBe("export const fromPath = 1;\n");
    expect(await served(`${dir}/my dist/`)).toBe("export const fromPath = 1;\n");
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      expect(await served("my dist")).toBe("export const fromPath = 1;\n");
      expect(await served("./my dist/")).toBe("export const fromPath = 1;\n");
    } finally {
      Deno.chdir(cwd);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad options are refused at creation, naming the option", () => {
  const base = {
    client: { endpoint: "http://127.0.0.1:1" },
    bucket: "bkt",
    prefixes: ["data/"],
    token: TOKEN,
  };
  const cases: [Partial<PreviewAppOptions> & Record<string, unknown>, string][] = [
    [{ bucket: "" }, 'createPreviewApp: bucket: expected a bucket name without "/", got ""'],
    [{ prefixes: [] }, "createPreviewApp: prefixes: expected a non-empty array"],
    [{ token: undefined }, "createPreviewApp: token: expected either token or verifyToken"],
    [{ verifyToken: () => true }, "createPreviewApp: token: expected either token or verifyToken"],
    [{ token: "has space" }, "createPreviewApp: token: expected a bearer token"],
    [{ corsOrigins: ["https://ui.example.com/"] }, "createPreviewApp: corsOrigins[0]: expected an origin"],
    [
      { maxPresignExpires: 0 },
      "createPreviewApp: maxPresignExpires: expected an integer from 1 to 604800, got 0",
    ],
    [
      { presignExpires: 1000 },
      "createPreviewApp: presignExpires: expected an integer from 1 to 900, got 1000",
    ],
    [
      { bundle: { dir: "ftp://x/" } },
      "createPreviewApp: bundle.dir: expected a directory: a path, or a file: or http(s): URL",
    ],
  ];
  for (const [extra, message] of cases) {
    expect(() => createPreviewApp({ ...base, ...extra } as PreviewAppOptions)).toThrow(message);
  }
  // A bad token's value is never echoed.
  expect(() => createPreviewApp({ ...base, token: "secret value" })).not.toThrow(/secret value/);
  expect(() => createPreviewApp({ ...base, token: "secret value" })).toThrow(TypeError);
});

/** A shard written by GNU tar from `files` (path → bytes), members in the order given. */
async function gnuTar(files: [string, Uint8Array | string][]): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-preview-tar-" });
  try {
    for (const [name, data] of files) {
      await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeFile(
        `${dir}/${name}`,
        typeof data === "string" ? new TextEncoder().encode(data) : data,
      );
    }
    const out = await new Deno.Command("tar", {
      args: ["--format=gnu", "-cf", "-", "-C", dir, ...files.map(([name]) => name)],
      stdout: "piped",
    }).output();
    expect(out.code).toBe(0);
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a tar shard (written by GNU tar) is previewed as its first samples: images inline, text as text", async () => {
  await withApp(async ({ client, get }) => {
    const shard = await gnuTar([
      ["0001.png", IMAGE],
      ["0001.cls", "3"],
      ["0001.json", '{"caption":"a cat"}'],
      ["0002.png", IMAGE],
      ["0002.cls", "5"],
      ["README", "no sample key"],
    ]);
    await client.put("bkt", "data/shards/shard-000000.tar", shard);
    const body = await json(await get("/api/preview?key=data/shards/shard-000000.tar"));
    expect(body).toMatchObject({
      kind: "tar",
      key: "data/shards/shard-000000.tar",
      others: ["README"],
      truncated: false,
    });
    const samples = body.samples as {
      key: string;
      members: { ext: string; image?: string; text?: string }[];
    }[];
    expect(samples.map((s) => [s.key, s.members.map((m) => m.ext)])).toEqual([
      ["0001", ["png", "cls", "json"]],
      ["0002", ["png", "cls"]],
    ]);
    const image = samples[0].members[0].image!;
    expect(image.startsWith("data:image/png;base64,")).toBe(true);
    expectBytes(Uint8Array.from(atob(image.split(",")[1]), (c) => c.charCodeAt(0)), IMAGE, "inline image");
    expect([samples[0].members[1].text, samples[0].members[2].text]).toEqual(["3", '{"caption":"a cat"}']);
  });
});

Deno.test("a long tar shard shows its first 8 samples from the head; a corrupt one is a 422 naming the byte", async () => {
  await withApp(async ({ client, get }) => {
    const files: [string, Uint8Array][] = [];
    for (let i = 0; i < 100; i++) files.push([`${String(i).padStart(4, "0")}.bin`, bytesOf(40_000, i)]);
    await client.put("bkt", "data/shards/long.tar", await gnuTar(files));
    const long = await json(await get("/api/preview?key=data/shards/long.tar"));
    expect([(long.samples as unknown[]).length, long.truncated]).toEqual([8, true]);
    const bad = await gnuTar([["0001.txt", "hello"]]);
    bad[148] ^= 1; // the first header's checksum
    await client.put("bkt", "data/shards/bad.tar", bad);
    const err = await json(await get("/api/preview?key=data/shards/bad.tar"), 422);
    expect(err).toMatchObject({ code: "TarError", offset: 0 });
  });
});
