import { expect } from "expect";
import { ConfigError } from "../src/errors.ts";
import {
  chainCredentials,
  type Credentials,
  type CredentialsProvider,
  envCredentials,
  SafeCredentials,
  staticCredentials,
  toCredentialsProvider,
} from "../src/credentials.ts";
import {
  defaultCredentials,
  fileCredentials,
  loadCredentialFile,
  parseCredentialFile,
} from "../src/credential_file.ts";
import { parseCredentialFile as parseCredentialFileFromConfig } from "../src/config.ts";

const SECRET = "Sup3rS3cretValue-do-not-log";
const TOKEN = "STS.T0kenValue-do-not-log";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection, the promise resolved");
}

/** The error message and every cause's message, so that a secret cannot hide in a cause either. */
function allText(err: unknown): string {
  const parts: string[] = [];
  let e = err as { message?: string; cause?: unknown; errors?: unknown[]; stack?: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    parts.push(String(e.message), String(e.stack));
    for (const inner of e.errors ?? []) parts.push(allText(inner));
    e = e.cause as typeof e;
  }
  return parts.join("\n");
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(TOKEN);
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
}

Deno.test("SafeCredentials redacts the secret and token in JSON, String, Deno.inspect and Node inspect", () => {
  const creds = new SafeCredentials({
    accessKeyId: "STS.id",
    accessKeySecret: SECRET,
    securityToken: TOKEN,
    expiration: new Date("2030-01-01T00:00:00Z"),
  });
  expect(creds.accessKeySecret).toBe(SECRET);
  expect(creds.securityToken).toBe(TOKEN);
  const views = [
    JSON.stringify(creds),
    JSON.stringify({ nested: { creds } }),
    String(creds),
    `${creds}`,
    Deno.inspect(creds),
    Deno.inspect({ nested: [creds] }, { depth: 10 }),
    Deno.inspect(creds, { showHidden: true }),
    (creds as unknown as Record<symbol, () => string>)[Symbol.for("nodejs.util.inspect.custom")](),
    Object.keys(creds).join(","),
    JSON.stringify(Object.entries(creds)),
    JSON.stringify(structuredClone(creds)),
  ];
  for (const view of views) expectNoSecret(view);
  expect(JSON.parse(JSON.stringify(creds))).toEqual({
    accessKeyId: "STS.id",
    accessKeySecret: "[redacted]",
    securityToken: "[redacted]",
    expiration: "2030-01-01T00:00:00.000Z",
  });
  expect(String(creds)).toBe(
    'Credentials { accessKeyId: "STS.id", accessKeySecret: [redacted], securityToken: [redacted], ' +
      "expiration: 2030-01-01T00:00:00.000Z }",
  );
  expect(Deno.inspect(creds)).toBe(String(creds));
  expect(Object.isFrozen(creds)).toBe(true);
});

Deno.test("SafeCredentials is assignable to Credentials and copies by construction", () => {
  const creds: Credentials = new SafeCredentials({ accessKeyId: "id", accessKeySecret: SECRET });
  const copy = new SafeCredentials(creds);
  expect(copy.accessKeySecret).toBe(SECRET);
  expect(copy.securityToken).toBeUndefined();
  expect("securityToken" in copy).toBe(false);
});

Deno.test("staticCredentials returns safe credentials and rejects an incomplete pair at once", async () => {
  const provider = staticCredentials({ accessKeyId: "id", accessKeySecret: SECRET });
  const creds = await provider.getCredentials();
  expect(creds).toBeInstanceOf(SafeCredentials);
  expect(creds.accessKeySecret).toBe(SECRET);
  expect(await provider.getCredentials()).toBe(creds);
  const err = thrown(() => staticCredentials({ accessKeyId: "id", accessKeySecret: "" }));
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toBe(
    "static credentials: accessKeySecret: expected a non-empty string, got an empty string",
  );
  const err2 = thrown(() =>
    staticCredentials({ accessKeyId: 7, accessKeySecret: SECRET } as unknown as Credentials)
  );
  expect(err2.message).toBe("static credentials: accessKeyId: expected a non-empty string, got a number");
});

Deno.test("envCredentials reads OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and OSS_SESSION_TOKEN", async () => {
  const env: Record<string, string | undefined> = {
    OSS_ACCESS_KEY_ID: "LTAIenv",
    OSS_ACCESS_KEY_SECRET: SECRET,
    OSS_SESSION_TOKEN: TOKEN,
  };
  const provider = envCredentials(env);
  const creds = await provider.getCredentials();
  expect([creds.accessKeyId, creds.accessKeySecret, creds.securityToken]).toEqual(["LTAIenv", SECRET, TOKEN]);
  expect(await provider.getCredentials()).toBe(creds); // unchanged environment: same object
  env.OSS_SESSION_TOKEN = "";
  const rotated = await provider.getCredentials();
  expect(rotated.securityToken).toBeUndefined(); // empty counts as unset
  expect(rotated).not.toBe(creds);
});

Deno.test("envCredentials names the unset variables", async (t) => {
  const cases: [Record<string, string | undefined>, string][] = [
    [{}, "environment: OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET are not set"],
    [{ OSS_ACCESS_KEY_ID: "id" }, "environment: OSS_ACCESS_KEY_SECRET is not set"],
    [
      { OSS_ACCESS_KEY_SECRET: SECRET, OSS_SESSION_TOKEN: TOKEN },
      "environment: OSS_ACCESS_KEY_ID is not set",
    ],
    [{ OSS_ACCESS_KEY_ID: "", OSS_ACCESS_KEY_SECRET: SECRET }, "environment: OSS_ACCESS_KEY_ID is not set"],
  ];
  for (const [env, expected] of cases) {
    await t.step(JSON.stringify(Object.keys(env)), async () => {
      const err = await rejected(envCredentials(env).getCredentials());
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(expected);
      expectNoSecret(allText(err));
    });
  }
});

Deno.test("envCredentials without a record reads the process environment", async () => {
  const names = ["OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"];
  const saved = names.map((n) => Deno.env.get(n));
  try {
    Deno.env.set("OSS_ACCESS_KEY_ID", "LTAIprocess");
    Deno.env.set("OSS_ACCESS_KEY_SECRET", SECRET);
    Deno.env.delete("OSS_SESSION_TOKEN");
    const creds = await envCredentials().getCredentials();
    expect(creds.accessKeyId).toBe("LTAIprocess");
    expect(creds.accessKeySecret).toBe(SECRET);
  } finally {
    names.forEach((n, i) => saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!));
  }
});

Deno.test("parseCredentialFile reads the connector's credential file format", () => {
  const creds = parseCredentialFile({
    AccessKeyId: "STS.L4aB",
    AccessKeySecret: SECRET,
    SecurityToken: TOKEN,
    Expiration: "2024-08-02T15:04:05Z",
  }, "/root/.alibabacloud/credentials");
  expect(creds.accessKeyId).toBe("STS.L4aB");
  expect(creds.accessKeySecret).toBe(SECRET);
  expect(creds.securityToken).toBe(TOKEN);
  expect(creds.expiration).toEqual(new Date("2024-08-02T15:04:05Z"));
  const plain = parseCredentialFile(
    { AccessKeyId: "LTAI", AccessKeySecret: SECRET, SecurityToken: "", Expiration: null, Note: "ignored" },
    "creds",
  );
  expect(plain.securityToken).toBeUndefined();
  expect(plain.expiration).toBeUndefined();
  expect(
    parseCredentialFile(
      { AccessKeyId: "a", AccessKeySecret: "b", Expiration: "2030-01-01T08:00:00+08:00" },
      "c",
    )
      .expiration?.toISOString(),
  ).toBe("2030-01-01T00:00:00.000Z");
  expect(parseCredentialFileFromConfig).toBe(parseCredentialFile);
});

Deno.test("parseCredentialFile rejects bad files naming the file and field, never quoting a secret", async (t) => {
  const src = "/root/.alibabacloud/credentials";
  const cases: [name: string, json: unknown, expected: string][] = [
    [
      "an array",
      [SECRET],
      `${src}: expected a JSON object with AccessKeyId and AccessKeySecret, got an array`,
    ],
    ["null", null, `${src}: expected a JSON object with AccessKeyId and AccessKeySecret, got null`],
    ["a string", SECRET, `${src}: expected a JSON object with AccessKeyId and AccessKeySecret, got a string`],
    [
      "missing AccessKeyId",
      { AccessKeySecret: SECRET },
      `${src}: AccessKeyId: expected a non-empty string, got it is missing`,
    ],
    [
      "missing AccessKeySecret",
      { AccessKeyId: "id" },
      `${src}: AccessKeySecret: expected a non-empty string, got it is missing`,
    ],
    [
      "empty AccessKeySecret",
      { AccessKeyId: "id", AccessKeySecret: "  " },
      "AccessKeySecret: expected a non-empty string, got an empty string",
    ],
    [
      "numeric AccessKeySecret",
      { AccessKeyId: "id", AccessKeySecret: 12345 },
      "AccessKeySecret: expected a non-empty string, got a number",
    ],
    [
      "object AccessKeyId",
      { AccessKeyId: { v: SECRET }, AccessKeySecret: SECRET },
      "AccessKeyId: expected a non-empty string, got an object",
    ],
    [
      "camelCase keys",
      { accessKeyId: "id", accessKeySecret: SECRET },
      `AccessKeyId: expected a non-empty string, got it is missing (found "accessKeyId"; the names are case-sensitive: AccessKeyId)`,
    ],
    [
      "snake_case key",
      { AccessKeyId: "id", access_key_secret: SECRET },
      `AccessKeySecret: expected a non-empty string, got it is missing (found "access_key_secret"`,
    ],
    [
      "numeric SecurityToken",
      { AccessKeyId: "id", AccessKeySecret: SECRET, SecurityToken: 5 },
      "SecurityToken: expected a string or nothing, got a number",
    ],
    [
      "numeric Expiration",
      { AccessKeyId: "id", AccessKeySecret: SECRET, Expiration: 1722611045 },
      "Expiration: expected a string or nothing, got a number",
    ],
    [
      "Expiration not a time",
      { AccessKeyId: "id", AccessKeySecret: SECRET, Expiration: "tomorrow" },
      'Expiration: expected an ISO 8601 time with a zone, like "2024-08-02T15:04:05Z", got "tomorrow"',
    ],
    [
      "Expiration a date only",
      { AccessKeyId: "id", AccessKeySecret: SECRET, Expiration: "2024-08-02" },
      'got "2024-08-02"',
    ],
    ["Expiration without a zone", {
      AccessKeyId: "id",
      AccessKeySecret: SECRET,
      Expiration: "2024-08-02T15:04:05",
    }, "with a zone"],
    ["Expiration out of range", {
      AccessKeyId: "id",
      AccessKeySecret: SECRET,
      Expiration: "2024-13-45T25:61:00Z",
    }, 'got "2024-13-45T25:61:00Z"'],
  ];
  for (const [name, json, expected] of cases) {
    await t.step(name, () => {
      const err = thrown(() => parseCredentialFile(json, src));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(src);
      expect(err.message).toContain(expected);
      expectNoSecret(allText(err));
    });
  }
});

Deno.test("loadCredentialFile names the file when it is missing, a directory or not JSON, never quoting a secret", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [name: string, text: string | null, expected: string][] = [
      ["missing", null, "no such file or directory"],
      ["empty", "", "invalid JSON: unexpected end of input"],
      [
        "unquoted secret",
        `{"AccessKeyId": "id", "AccessKeySecret": ${SECRET}}`,
        "invalid JSON at line 1, column 42: expected a value",
      ],
      [
        "secret in single quotes",
        `{"AccessKeyId": "id",\n "AccessKeySecret": '${SECRET}'}`,
        "line 2, column 21: strings must use double quotes",
      ],
      [
        "missing closing brace",
        `{"AccessKeyId": "id", "AccessKeySecret": "${SECRET}"`,
        "unexpected end of input",
      ],
      [
        "ini format",
        `[default]\naccess_key_id = id\naccess_key_secret = ${SECRET}\n`,
        "invalid JSON at line 1, column 2: expected a value",
      ],
      [
        "token with a raw newline",
        `{"AccessKeyId": "id", "AccessKeySecret": "s", "SecurityToken": "${TOKEN}\n"}`,
        "control character in a string",
      ],
      [
        "wrong field type",
        `{"AccessKeyId": "id", "AccessKeySecret": true}`,
        "AccessKeySecret: expected a non-empty string, got a boolean",
      ],
    ];
    for (const [name, text, expected] of cases) {
      await t.step(name, async () => {
        const path = `${dir}/${name.replaceAll(" ", "_")}`;
        if (text !== null) await writeJson(path, text);
        const err = await rejected(loadCredentialFile(path));
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.message).toContain(path);
        expect(err.message).toContain(expected);
        expectNoSecret(allText(err));
      });
    }
    await t.step("a directory", async () => {
      const err = await rejected(loadCredentialFile(dir));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(`"${dir}"`);
      expect(err.message).toMatch(/directory/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileCredentials caches the file while its Expiration is far away", async () => {
  const path = await Deno.makeTempFile();
  try {
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET, Expiration: inAnHour });
    const provider = fileCredentials(path);
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await writeJson(path, { AccessKeyId: "B", AccessKeySecret: SECRET, Expiration: inAnHour });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    expect(provider.name).toBe(`file ${path}`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials re-reads the file once the clock enters the refresh window before Expiration", async () => {
  const path = await Deno.makeTempFile();
  try {
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const provider = fileCredentials(path, {
      refreshWindowMs: 300_000,
      rereadIntervalMs: 10_000,
      now: () => clock,
    });
    await writeJson(path, {
      AccessKeyId: "A",
      AccessKeySecret: SECRET,
      SecurityToken: TOKEN,
      Expiration: "2030-01-01T01:00:00Z",
    });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await writeJson(path, {
      AccessKeyId: "B",
      AccessKeySecret: SECRET,
      SecurityToken: TOKEN,
      Expiration: "2030-01-01T02:00:00Z",
    });
    clock = Date.parse("2030-01-01T00:54:59Z"); // 5 min 1 s before A expires: outside the window
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    clock = Date.parse("2030-01-01T00:56:00Z"); // 4 min before: inside the window
    const b = await provider.getCredentials();
    expect(b.accessKeyId).toBe("B");
    expect(b.expiration?.toISOString()).toBe("2030-01-01T02:00:00.000Z");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials re-reads a file whose Expiration is near, in real time", async () => {
  const path = await Deno.makeTempFile();
  try {
    const soon = () => new Date(Date.now() + 120_000).toISOString(); // inside the default 5 min window
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET, Expiration: soon() });
    const provider = fileCredentials(path, { rereadIntervalMs: 0 });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await writeJson(path, { AccessKeyId: "B", AccessKeySecret: SECRET, Expiration: soon() });
    expect((await provider.getCredentials()).accessKeyId).toBe("B");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials re-reads inside the window at most once per rereadIntervalMs", async () => {
  const path = await Deno.makeTempFile();
  try {
    let clock = Date.parse("2030-01-01T00:58:00Z");
    const exp = "2030-01-01T01:00:00Z";
    const provider = fileCredentials(path, { rereadIntervalMs: 10_000, now: () => clock });
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET, Expiration: exp });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await writeJson(path, { AccessKeyId: "B", AccessKeySecret: SECRET, Expiration: exp });
    clock += 5_000;
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    clock += 6_000;
    expect((await provider.getCredentials()).accessKeyId).toBe("B");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials fails naming the file when the re-read file has already expired", async () => {
  const path = await Deno.makeTempFile();
  try {
    let clock = Date.parse("2030-01-01T00:58:00Z");
    const provider = fileCredentials(path, { now: () => clock });
    await writeJson(path, {
      AccessKeyId: "A",
      AccessKeySecret: SECRET,
      SecurityToken: TOKEN,
      Expiration: "2030-01-01T01:00:00Z",
    });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    clock = Date.parse("2030-01-01T01:00:01Z"); // expired, and nobody rewrote the file
    const err = await rejected(provider.getCredentials());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `${path}: the credentials expired at 2030-01-01T01:00:00.000Z (file read at 2030-01-01T01:00:01.000Z); ` +
        "update the file with new credentials before its Expiration",
    );
    expectNoSecret(allText(err));
    // Once the file is rewritten, the provider recovers.
    await writeJson(path, { AccessKeyId: "B", AccessKeySecret: SECRET, Expiration: "2030-01-01T02:00:00Z" });
    expect((await provider.getCredentials()).accessKeyId).toBe("B");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials rejects a file that is expired on first read", async () => {
  const path = await Deno.makeTempFile();
  try {
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET, Expiration: "2020-01-01T00:00:00Z" });
    const err = await rejected(fileCredentials(path).getCredentials());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`${path}: the credentials expired at 2020-01-01T00:00:00.000Z`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials keeps working credentials when a re-read catches the file mid-rewrite", async () => {
  const path = await Deno.makeTempFile();
  try {
    let clock = Date.parse("2030-01-01T00:58:00Z");
    const provider = fileCredentials(path, { rereadIntervalMs: 0, now: () => clock });
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET, Expiration: "2030-01-01T01:00:00Z" });
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await writeJson(path, `{"AccessKeyId": "B", "AccessKey`); // half-written
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    await Deno.remove(path); // briefly gone
    expect((await provider.getCredentials()).accessKeyId).toBe("A");
    clock = Date.parse("2030-01-01T01:00:00Z"); // now A has expired: the read error surfaces
    const err = await rejected(provider.getCredentials());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`cannot read "${path}": no such file or directory`);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("fileCredentials without Expiration reads the file once", async () => {
  const path = await Deno.makeTempFile();
  try {
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET });
    const provider = fileCredentials(path, { rereadIntervalMs: 0 });
    const a = await provider.getCredentials();
    await Deno.remove(path);
    expect(await provider.getCredentials()).toBe(a);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("fileCredentials shares one read among concurrent callers", async () => {
  const path = await Deno.makeTempFile();
  try {
    await writeJson(path, { AccessKeyId: "A", AccessKeySecret: SECRET });
    const provider = fileCredentials(path);
    const all = await Promise.all(Array.from({ length: 20 }, () => provider.getCredentials()));
    expect(new Set(all).size).toBe(1);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("fileCredentials honours an aborted signal and rejects an empty path", async () => {
  const provider = fileCredentials("/nonexistent/credentials");
  const err = await rejected(provider.getCredentials(AbortSignal.abort()));
  expect(err.name).toBe("AbortError");
  const bad = thrown(() => fileCredentials(""));
  expect(bad).toBeInstanceOf(ConfigError);
  expect(bad.message).toContain("expected the path of a credential file");
});

function failing(name: string, message: string, calls: string[]): CredentialsProvider {
  return {
    name,
    getCredentials: () => {
      calls.push(name);
      return Promise.reject(new ConfigError(message));
    },
  };
}

function succeeding(name: string, id: string, calls: string[]): CredentialsProvider {
  return {
    name,
    getCredentials: () => {
      calls.push(name);
      return Promise.resolve(new SafeCredentials({ accessKeyId: id, accessKeySecret: SECRET }));
    },
  };
}

Deno.test("chainCredentials returns the first provider that succeeds, in order", async () => {
  const calls: string[] = [];
  const chain = chainCredentials(
    failing("p1", "nothing here", calls),
    succeeding("p2", "second", calls),
    succeeding("p3", "third", calls),
  );
  expect((await chain.getCredentials()).accessKeyId).toBe("second");
  expect(calls).toEqual(["p1", "p2"]);
});

Deno.test("chainCredentials asks the provider that worked first next time and rescans when it fails", async () => {
  const calls: string[] = [];
  let p2Works = true;
  const p2: CredentialsProvider = {
    name: "p2",
    getCredentials: () => {
      calls.push("p2");
      return p2Works
        ? Promise.resolve(new SafeCredentials({ accessKeyId: "second", accessKeySecret: SECRET }))
        : Promise.reject(new ConfigError("p2 broke"));
    },
  };
  const chain = chainCredentials(failing("p1", "no", calls), p2, succeeding("p3", "third", calls));
  await chain.getCredentials();
  await chain.getCredentials();
  expect(calls).toEqual(["p1", "p2", "p2"]);
  p2Works = false;
  calls.length = 0;
  expect((await chain.getCredentials()).accessKeyId).toBe("third");
  expect(calls).toEqual(["p2", "p1", "p2", "p3"]);
});

Deno.test("chainCredentials reports every provider's failure in order, without secrets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const credPath = `${dir}/credentials`;
    await writeJson(credPath, `{"AccessKeyId": "id", "AccessKeySecret": ${SECRET}}`);
    const chain = chainCredentials(
      envCredentials({ OSS_ACCESS_KEY_SECRET: SECRET }),
      fileCredentials(credPath),
      {
        getCredentials: () => Promise.reject(new Error("custom provider offline")),
      },
    );
    const err = await rejected(chain.getCredentials());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      "no credentials: every provider failed:\n" +
        "  1. environment: OSS_ACCESS_KEY_ID is not set (expected OSS_ACCESS_KEY_ID and " +
        "OSS_ACCESS_KEY_SECRET, optionally OSS_SESSION_TOKEN)\n" +
        `  2. ${credPath}: invalid JSON at line 1, column 42: expected a value\n` +
        "  3. provider 3: custom provider offline",
    );
    expect((err.cause as AggregateError).errors.length).toBe(3);
    expectNoSecret(allText(err));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chainCredentials stops at an abort instead of trying the next provider", async () => {
  const calls: string[] = [];
  const controller = new AbortController();
  const aborting: CredentialsProvider = {
    name: "slow",
    getCredentials: () => {
      calls.push("slow");
      controller.abort();
      return Promise.reject(controller.signal.reason);
    },
  };
  const chain = chainCredentials(aborting, succeeding("next", "n", calls));
  const err = await rejected(chain.getCredentials(controller.signal));
  expect(err.name).toBe("AbortError");
  expect(calls).toEqual(["slow"]);
});

Deno.test("chainCredentials rejects an empty chain and non-providers", () => {
  const err = thrown(() => chainCredentials());
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain("expected at least one credentials provider");
  const err2 = thrown(() => chainCredentials({} as CredentialsProvider));
  expect(err2).toBeInstanceOf(ConfigError);
  expect(err2.message).toContain("provider 1: expected an object with getCredentials()");
});

Deno.test("toCredentialsProvider wraps a key pair and passes providers through", async () => {
  const provider = envCredentials({});
  expect(toCredentialsProvider(provider)).toBe(provider);
  const wrapped = toCredentialsProvider({ accessKeyId: "id", accessKeySecret: SECRET });
  expect((await wrapped.getCredentials()).accessKeySecret).toBe(SECRET);
  for (const bad of [null, "LTAI:secret", 42]) {
    const err = thrown(() => toCredentialsProvider(bad as unknown as Credentials));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("expected { accessKeyId, accessKeySecret } or a provider");
  }
  const partial = thrown(() => toCredentialsProvider({ accessKeyId: "id" } as Credentials));
  expect(partial.message).toBe(
    "static credentials: accessKeySecret: expected a non-empty string, got it is missing",
  );
});

Deno.test("defaultCredentials tries the environment, then the credential file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.alibabacloud`);
    await writeJson(`${dir}/.alibabacloud/credentials`, {
      AccessKeyId: "from-file",
      AccessKeySecret: SECRET,
    });
    expect((await defaultCredentials({ env: { HOME: dir } }).getCredentials()).accessKeyId).toBe("from-file");
    const env = { HOME: dir, OSS_ACCESS_KEY_ID: "from-env", OSS_ACCESS_KEY_SECRET: SECRET };
    expect((await defaultCredentials({ env }).getCredentials()).accessKeyId).toBe("from-env");
    const err = await rejected(defaultCredentials({ env: {}, credPath: `${dir}/none` }).getCredentials());
    expect(err.message).toContain(`  2. cannot read "${dir}/none": no such file or directory`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
