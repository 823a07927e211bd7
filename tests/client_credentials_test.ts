// How OssClient uses its credentials provider over real HTTP: what a bad provider answer gives, keys rotated in
// the middle of a session, and an intermediary that echoes the request (token and signature) in its error page.
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import type { Credentials, CredentialsProvider } from "../src/credentials.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { ConfigError, OssError } from "../src/errors.ts";
import { createEmulator } from "../src/server/emulator.ts";
import { MemoryStore } from "../src/server/store/memory.ts";

const OLD = { accessKeyId: "LTAIoldkey", accessKeySecret: "old-secret-0123456789" };
const NEW = { accessKeyId: "LTAInewkey", accessKeySecret: "new-secret-0123456789" };

Deno.test("a provider answering null, undefined or a bad expiration gives a ConfigError naming the provider", async () => {
  const answers: [unknown, RegExp][] = [
    [null, /credentials provider "vault": getCredentials\(\) resolved with null; expected \{ accessKeyId/],
    [undefined, /credentials provider "vault": getCredentials\(\) resolved with undefined/],
    [
      { ...OLD, expiration: "soon" },
      /"vault": getCredentials\(\): expiration: expected a valid Date, got a string/,
    ],
    [{ accessKeyId: "id" }, /"vault": getCredentials\(\): accessKeySecret: expected a non-empty string/],
  ];
  for (const [answer, message] of answers) {
    const provider = { name: "vault", getCredentials: () => Promise.resolve(answer as Credentials) };
    const client = new OssClient({
      endpoint: "http://127.0.0.1:9",
      region: "cn-hangzhou",
      credentials: provider,
    });
    const err = await client.head("b", "k").catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(OLD.accessKeySecret);
  }
  const unnamed = { getCredentials: () => Promise.resolve(null as unknown as Credentials) };
  const client = new OssClient({
    endpoint: "http://127.0.0.1:9",
    region: "cn-hangzhou",
    credentials: unnamed,
  });
  await expect(client.head("b", "k")).rejects.toThrow(/credentials provider \(unnamed\): getCredentials\(\)/);
});

Deno.test("keys rotated mid-session: a 403 InvalidAccessKeyId re-signs with the provider's new keys", async () => {
  const store = new MemoryStore();
  await store.createBucket("bkt");
  // One listener, two servers over one store: before the rotation only OLD is valid, after it only NEW.
  let app = createEmulator({ store, credentials: [OLD], region: "cn-hangzhou" });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => app.fetch(req));
  try {
    let current: Credentials = OLD;
    let asked = 0;
    const provider: CredentialsProvider = {
      name: "rotating",
      getCredentials: () => (asked++, Promise.resolve(current)),
    };
    const client = new OssClient({
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      region: "cn-hangzhou",
      credentials: provider,
      retry: { maxAttempts: 3, minDelayMs: 1, maxDelayMs: 5 },
    });
    await client.put("bkt", "a.txt", "before");
    expect(asked).toBe(1); // cached since
    app = createEmulator({ store, credentials: [NEW], region: "cn-hangzhou" });
    current = NEW;
    // Signed with the cached OLD keys, refused, signed again with NEW: the caller sees success.
    await client.put("bkt", "a.txt", "after");
    expect(asked).toBe(2);
    expect(new TextDecoder().decode((await client.getBytes("bkt", "a.txt")).bytes)).toBe("after");
    // Keys that are still refused after a fresh look are an error, not a loop.
    app = createEmulator({ store, credentials: [OLD], region: "cn-hangzhou" });
    const err = await client.head("bkt", "a.txt").catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err.status).toBe(403);
  } finally {
    await server.shutdown();
  }
});

Deno.test("an intermediary's 403 page echoing the request never carries the token or signature into OssError", async () => {
  // A proxy that answers text/plain with the request's headers, as some gateways' debug pages do (the
  // credential-bearing ones first, so that they fall within the 200 characters an OssError quotes).
  const echo = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const first = (name: string) => name.endsWith("token") ? 0 : name === "authorization" ? 1 : 2;
    const headers = [...req.headers].sort(([a], [b]) => first(a) - first(b));
    const lines = headers.map(([k, v]) => `${k}: ${v}`).join("\n");
    return new Response(`Forbidden by gateway.\n${lines}`, {
      status: 403,
      headers: { "content-type": "text/plain" },
    });
  });
  try {
    const token = "STS.CAISechoedTokenValue0123456789";
    for (const signatureVersion of ["oss4", "s3v4"] as const) {
      const client = new OssClient({
        endpoint: `http://127.0.0.1:${echo.addr.port}`,
        region: "cn-hangzhou",
        signatureVersion,
        credentials: { ...OLD, securityToken: token },
      });
      const err = await client.head("bkt", "k").catch((e) => e) as OssError;
      const get = await client.getBytes("bkt", "k").catch((e) => e) as OssError;
      for (const e of [err, get]) {
        expect(e).toBeInstanceOf(OssError);
        expect(e.status).toBe(403);
        expect(e.message).not.toContain(token);
        expect(e.message).not.toContain(token.slice(0, 20));
        expect(e.message).not.toMatch(/Signature=[0-9a-f]{16}/);
      }
      expect(get.message).toContain("Forbidden by gateway"); // the page is still quoted, minus the secrets
      // The same request sent from a prefetch worker, signed by the client.
      const items = OssIterableDataset.fromObjects(["oss://bkt/k"], { client, prefetchWorker: 1 });
      const fromWorker = await Array.fromAsync(items).catch((e) => e) as OssError;
      expect(fromWorker.status).toBe(403);
      expect(fromWorker.message).toContain("Forbidden by gateway");
      expect(fromWorker.message).not.toContain(token.slice(0, 20));
      expect(fromWorker.message).not.toMatch(/Signature=[0-9a-f]{16}/);
    }
  } finally {
    await echo.shutdown();
  }
});
