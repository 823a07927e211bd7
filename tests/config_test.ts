import { expect } from "expect";
import { ConfigError } from "../src/errors.ts";
import { resolveDatasetOptions } from "../src/dataset/options.ts";
import { configSchema, defaultConfig, loadConfig, type OssflowConfig, parseConfig } from "../src/config.ts";
import {
  appendTextFile,
  openFileStream,
  parseJsonText,
  readFile,
  readJsonFile,
  readTextFile,
  writeTextFile,
} from "../src/fs.ts";

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

const quiet = { warn: () => {} };

const DOCUMENTED_DEFAULTS: OssflowConfig = {
  logLevel: 1,
  datasetConfig: {
    prefetchConcurrency: 24,
    prefetchWorker: 2,
    enableFastList: false,
    listConcurrency: 16,
    listWorker: 1,
  },
  checkpointConfig: { prefetchConcurrency: 24, prefetchWorker: 4, uploadConcurrency: 64 },
};

Deno.test("an empty config gets every default of the OSS connector docs", () => {
  expect(parseConfig({}, "config.json")).toEqual(DOCUMENTED_DEFAULTS);
  expect(parseConfig(undefined, "config.json")).toEqual(DOCUMENTED_DEFAULTS);
  expect(defaultConfig()).toEqual(DOCUMENTED_DEFAULTS);
  expect(configSchema.parse({ datasetConfig: {} })).toEqual(DOCUMENTED_DEFAULTS);
});

Deno.test("the documented example config.json parses to its own values", () => {
  const example = {
    logLevel: 1,
    logPath: "/var/log/oss-connector/connector.log",
    auditPath: "/var/log/oss-connector/audit.log",
    datasetConfig: { prefetchConcurrency: 24, prefetchWorker: 2 },
    checkpointConfig: { prefetchConcurrency: 24, prefetchWorker: 4, uploadConcurrency: 64 },
  };
  expect(parseConfig(example, "config.json")).toEqual({
    ...DOCUMENTED_DEFAULTS,
    logPath: "/var/log/oss-connector/connector.log",
    auditPath: "/var/log/oss-connector/audit.log",
  });
});

Deno.test("partial sections keep the defaults of the keys they leave out", () => {
  const config = parseConfig(
    {
      logLevel: 3,
      datasetConfig: { prefetchWorker: 0, enableFastList: true },
      checkpointConfig: { uploadConcurrency: 8 },
    },
    "config.json",
  );
  expect(config.logLevel).toBe(3);
  expect(config.datasetConfig).toEqual({
    ...DOCUMENTED_DEFAULTS.datasetConfig,
    prefetchWorker: 0,
    enableFastList: true,
  });
  expect(config.checkpointConfig).toEqual({ ...DOCUMENTED_DEFAULTS.checkpointConfig, uploadConcurrency: 8 });
});

Deno.test("unknown keys are ignored with one warning each, suggesting the near documented key", () => {
  const warnings: string[] = [];
  const config = parseConfig(
    { logLevl: 2, extra: true, datasetConfig: { prefetchConcurency: 3 }, checkpointConfig: { "odd key": 1 } },
    "/etc/oss-connector/config.json",
    { warn: (m) => warnings.push(m) },
  );
  expect(config).toEqual(DOCUMENTED_DEFAULTS);
  expect(warnings).toEqual([
    "/etc/oss-connector/config.json: logLevl: unknown key, ignored (did you mean logLevel?)",
    "/etc/oss-connector/config.json: extra: unknown key, ignored",
    "/etc/oss-connector/config.json: datasetConfig.prefetchConcurency: unknown key, ignored (did you mean prefetchConcurrency?)",
    '/etc/oss-connector/config.json: checkpointConfig["odd key"]: unknown key, ignored',
  ]);
  expect("logLevl" in config).toBe(false);
});

Deno.test("logLevel takes the names debug, info, warn, error as well as 0-3, read as the number", async () => {
  for (const [name, level] of [["debug", 0], ["info", 1], ["warn", 2], ["error", 3]] as const) {
    expect(parseConfig({ logLevel: name }, "config.json").logLevel).toBe(level);
    expect(parseConfig({ logLevel: level }, "config.json").logLevel).toBe(level);
  }
  // A config file with a name, through loadConfig and a dataset's logger: "warn" drops info records.
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ logLevel: "warn" }));
    expect((await loadConfig(path)).logLevel).toBe(2);
    const resolved = await resolveDatasetOptions({
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "id", accessKeySecret: "secret" },
      configPath: path,
    });
    expect(resolved.logger.level).toBe("warn");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseConfig rejects bad values naming the file, the JSON path, what was expected and what it got", async (t) => {
  const cases: [name: string, json: unknown, message: string][] = [
    [
      "logLevel too high",
      { logLevel: 4 },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got 4',
    ],
    [
      "logLevel negative",
      { logLevel: -1 },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got -1',
    ],
    [
      "logLevel a string",
      { logLevel: "1" },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got the string "1"',
    ],
    [
      "logLevel a fraction",
      { logLevel: 1.5 },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got 1.5',
    ],
    [
      "logLevel an unknown name",
      { logLevel: "verbose" },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got the string "verbose"',
    ],
    [
      "logLevel huge",
      { logLevel: 1e300 },
      'cfg.json: logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got 1e+300',
    ],
    [
      "logPath a number",
      { logPath: 5 },
      "cfg.json: logPath: expected a file path (a non-empty string), got 5",
    ],
    [
      "logPath empty",
      { logPath: "" },
      'cfg.json: logPath: expected a file path (a non-empty string), got the string ""',
    ],
    [
      "auditPath null",
      { auditPath: null },
      "cfg.json: auditPath: expected a file path (a non-empty string), got null",
    ],
    [
      "prefetchConcurrency negative",
      { datasetConfig: { prefetchConcurrency: -1 } },
      "cfg.json: datasetConfig.prefetchConcurrency: expected an integer >= 1, got -1",
    ],
    [
      "prefetchConcurrency zero",
      { datasetConfig: { prefetchConcurrency: 0 } },
      "cfg.json: datasetConfig.prefetchConcurrency: expected an integer >= 1, got 0",
    ],
    [
      "prefetchConcurrency a string",
      { datasetConfig: { prefetchConcurrency: "24" } },
      'cfg.json: datasetConfig.prefetchConcurrency: expected an integer >= 1, got the string "24"',
    ],
    [
      "prefetchWorker negative",
      { datasetConfig: { prefetchWorker: -2 } },
      "cfg.json: datasetConfig.prefetchWorker: expected an integer >= 0, got -2",
    ],
    [
      "enableFastList a string",
      { datasetConfig: { enableFastList: "yes" } },
      'cfg.json: datasetConfig.enableFastList: expected true or false, got the string "yes"',
    ],
    ["datasetConfig a number", { datasetConfig: 5 }, "cfg.json: datasetConfig: expected an object, got 5"],
    [
      "datasetConfig an array",
      { datasetConfig: [] },
      "cfg.json: datasetConfig: expected an object, got an array",
    ],
    [
      "checkpointConfig null",
      { checkpointConfig: null },
      "cfg.json: checkpointConfig: expected an object, got null",
    ],
    [
      "uploadConcurrency a fraction",
      { checkpointConfig: { uploadConcurrency: 2.5 } },
      "cfg.json: checkpointConfig.uploadConcurrency: expected an integer >= 1, got 2.5",
    ],
    [
      "checkpoint prefetchWorker a boolean",
      { checkpointConfig: { prefetchWorker: true } },
      "cfg.json: checkpointConfig.prefetchWorker: expected an integer >= 0, got true",
    ],
    ["root an array", [], "cfg.json: expected a JSON object, got an array"],
    ["root null", null, "cfg.json: expected a JSON object, got null"],
    ["root a string", "logLevel=1", 'cfg.json: expected a JSON object, got the string "logLevel=1"'],
  ];
  for (const [name, json, message] of cases) {
    await t.step(name, () => {
      const err = thrown(() => parseConfig(json, "cfg.json", quiet));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(message);
    });
  }
});

Deno.test("parseConfig lists every problem when there are several", () => {
  const err = thrown(() =>
    parseConfig({
      logLevel: 9,
      datasetConfig: { prefetchConcurrency: 0 },
      checkpointConfig: { uploadConcurrency: "x" },
    }, "c.json")
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toBe(
    "c.json: 3 problems:\n" +
      '  - logLevel: expected an integer from 0 to 3 or one of "debug", "info", "warn", "error", got 9\n' +
      "  - datasetConfig.prefetchConcurrency: expected an integer >= 1, got 0\n" +
      '  - checkpointConfig.uploadConcurrency: expected an integer >= 1, got the string "x"',
  );
});

async function tempFile(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("loadConfig reads and validates a file, ignoring a UTF-8 byte order mark", async () => {
  const path = await tempFile('\ufeff{"logLevel": 2, "datasetConfig": {"prefetchConcurrency": 8}}');
  try {
    const config = await loadConfig(path, quiet);
    expect(config.logLevel).toBe(2);
    expect(config.datasetConfig.prefetchConcurrency).toBe(8);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("loadConfig errors name the file for unreadable, invalid and wrong-valued files", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [name: string, text: string | null, expected: string][] = [
      ["missing file", null, "no such file or directory"],
      [
        "trailing comma",
        '{\n  "logLevel": 1,\n}',
        "invalid JSON at line 3, column 1: expected a property name in double quotes",
      ],
      [
        "missing comma",
        '{\n  "logLevel": 1\n  "logPath": "x"\n}',
        "invalid JSON at line 3, column 3: expected ',' or '}' after a property",
      ],
      [
        "single quotes",
        "{'logLevel': 1}",
        "invalid JSON at line 1, column 2: expected a property name in double quotes",
      ],
      ["unterminated string", '{"logPath": "/var/log', "unexpected end of input"],
      ["empty file", "", "invalid JSON: unexpected end of input"],
      ["comment", '{\n  // level\n  "logLevel": 1\n}', "invalid JSON at line 2, column 3"],
      ["bare word value", '{"logLevel": one}', "invalid JSON at line 1, column 14: expected a value"],
      [
        "content after the object",
        '{"logLevel": 1} {}',
        "line 1, column 17: unexpected content after the JSON value",
      ],
      [
        "wrong value",
        '{"checkpointConfig": {"uploadConcurrency": 0}}',
        "checkpointConfig.uploadConcurrency: expected an integer >= 1, got 0",
      ],
    ];
    for (const [name, text, expected] of cases) {
      await t.step(name, async () => {
        const path = `${dir}/${name.replaceAll(" ", "_")}.json`;
        if (text !== null) await Deno.writeTextFile(path, text);
        const err = await rejected(loadConfig(path, quiet));
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.message).toContain(path);
        expect(err.message).toContain(expected);
      });
    }
    await t.step("a directory", async () => {
      const err = await rejected(loadConfig(dir, quiet));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(dir);
      expect(err.message).toMatch(/directory/);
    });
    await t.step("an empty path", async () => {
      const err = await rejected(loadConfig("", quiet));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain('got the string ""');
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseJsonText reports line and column of syntax errors without quoting the text", async (t) => {
  const cases: [text: string, expected: string][] = [
    ['{"a": 1,\n "b": [1, 2,]}', "line 2, column 13: expected a value"],
    ['{"a" 1}', "line 1, column 6: expected ':' after a property name"],
    ['["a"\n"b"]', "line 2, column 1: expected ',' or ']' after an array element"],
    ['{"a": "tab\there"}', "line 1, column 11: control character in a string (escape it, e.g. \\n)"],
    ['{"a": "\\x"}', "line 1, column 8: invalid escape in a string"],
    ['{"a": "\\u12G4"}', "line 1, column 8: invalid \\u escape in a string"],
    ['{"a": 01}', "line 1, column 7: invalid number"],
    ['{"a": -}', "line 1, column 7: invalid number"],
    ['{"a": tru}', "line 1, column 10: invalid literal (expected true)"],
    ['{"a": tr', "line 1, column 9: unexpected end of input"],
    ["{\"a\": 'x'}", "line 1, column 7: strings must use double quotes"],
    ['{"a": nul }', "line 1, column 10: invalid literal (expected null)"],
    ["{\r\n  'x': 1}", "line 2, column 3: expected a property name in double quotes"],
  ];
  for (const [text, expected] of cases) {
    await t.step(JSON.stringify(text), () => {
      const err = thrown(() => parseJsonText(text, "in.json"));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(`in.json: invalid JSON at ${expected}`);
    });
  }
});

Deno.test("fs helpers read, write, append and stream files and name the file on failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.txt`;
    await writeTextFile(path, "héllo\n");
    await appendTextFile(path, "wörld\n");
    expect(await readTextFile(path)).toBe("héllo\nwörld\n");
    expect(new TextDecoder().decode(await readFile(path))).toBe("héllo\nwörld\n");
    expect(await new Response(await openFileStream(path)).text()).toBe("héllo\nwörld\n");
    await writeTextFile(`${dir}/b.json`, '{"k": [1, "two"]}');
    expect(await readJsonFile(`${dir}/b.json`)).toEqual({ k: [1, "two"] });
    for (const read of [readTextFile, readFile, openFileStream]) {
      const err = await rejected(read(`${dir}/nope`));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(`cannot read "${dir}/nope": no such file or directory`);
    }
    const err = await rejected(writeTextFile(`${dir}/missing-dir/x.txt`, "x"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`cannot write "${dir}/missing-dir/x.txt"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
