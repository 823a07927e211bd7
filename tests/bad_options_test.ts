// Options that used to be accepted (or failed with a raw error): each now fails at once with a ConfigError
// naming the option and what was expected.
import { expect } from "expect";
import { parseCredentialFile } from "../src/credential_file.ts";
import { resolveDatasetOptions } from "../src/dataset/options.ts";
import { ConfigError } from "../src/errors.ts";
import { createEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";

const DATASET = { endpoint: "http://127.0.0.1:9", region: "cn-hangzhou" };

Deno.test("dataset options: shuffle that is not a boolean or an object, a negative auditThresholdMs", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { shuffle: "yes" },
      /dataset option shuffle: expected true, false or \{ seed, bufferSize, blockSize \}, got "yes"/,
    ],
    [{ shuffle: 1 }, /dataset option shuffle: .* got 1/],
    [
      { auditThresholdMs: -1 },
      /dataset option auditThresholdMs: expected a number of milliseconds >= 0, got -1/,
    ],
    [{ auditThresholdMs: "100" }, /auditThresholdMs: .* got "100"/],
    [{ auditThresholdMs: -1, auditSink: () => {} }, /auditThresholdMs: .* got -1/],
  ];
  for (const [opts, message] of cases) {
    const err = await resolveDatasetOptions({ ...DATASET, ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
  }
  // The good forms still pass.
  for (const shuffle of [true, false, { seed: 3 }]) {
    await resolveDatasetOptions({ ...DATASET, shuffle, auditThresholdMs: 0 });
  }
});

Deno.test("serveEmulator and createEmulator name the bad option: sizes, credentials, buckets, region, hostname, port", async () => {
  const secret = "never-shown-secret";
  const cases: [ServeEmulatorOptions, RegExp][] = [
    [{ minPartSize: -1 }, /serveEmulator: minPartSize: expected an integer >= 0, got -1/],
    [{ maxBodyBytes: 0 }, /serveEmulator: maxBodyBytes: expected an integer >= 1, got 0/],
    [{ maxHeaderBytes: 1.5 }, /serveEmulator: maxHeaderBytes: expected an integer >= 1, got 1.5/],
    [
      { credentials: [{ accessKeyId: "id", accessKeySecret: "" }] },
      /credentials\[0\]\.accessKeySecret: expected a non-empty string/,
    ],
    [
      { credentials: [{ accessKeyId: "", accessKeySecret: secret }] },
      /credentials\[0\]\.accessKeyId: expected a non-empty string/,
    ],
    [
      { buckets: ["ok-bucket", "BAD"] },
      /serveEmulator: buckets\[1\]: "BAD" is not a valid bucket name: expected 3-63/,
    ],
    [{ region: "" }, /serveEmulator: region: expected a region id such as "cn-hangzhou", got ""/],
    [
      { hostname: "not a host" },
      /serveEmulator: hostname: expected an interface address or host name .* got "not a host"/,
    ],
    [{ port: 70000 }, /serveEmulator: port: expected an integer from 0 to 65535, got 70000/],
  ];
  for (const [opts, message] of cases) {
    const err = await serveEmulator(opts).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(secret);
  }
  expect(() => createEmulator({ buckets: ["BAD"] })).toThrow(/createEmulator: buckets\[0\]: "BAD"/);
  // Good values of the same options start.
  const s = await serveEmulator({
    minPartSize: 0,
    maxBodyBytes: 1,
    hostname: "localhost",
    buckets: ["ok-bucket"],
  });
  await s.close();
});

Deno.test("a credential file's Expiration that is not a real date (2030-02-30) is refused, not rolled over", () => {
  const file = (Expiration: string) => ({ AccessKeyId: "id", AccessKeySecret: "secret", Expiration });
  for (
    const bad of [
      "2030-02-30T00:00:00Z",
      "2030-13-01T00:00:00Z",
      "2030-01-01T24:00:00Z",
      "2030-01-01T10:60:00Z",
    ]
  ) {
    expect(() => parseCredentialFile(file(bad), "creds.json")).toThrow(
      new RegExp(`creds\\.json: Expiration: expected an ISO 8601 time with a zone, .* got "${bad}"`),
    );
  }
  expect(parseCredentialFile(file("2028-02-29T23:59:59Z"), "creds.json").expiration?.toISOString())
    .toBe("2028-02-29T23:59:59.000Z");
  expect(parseCredentialFile(file("2030-01-01T10:00+08:00"), "creds.json").expiration?.toISOString())
    .toBe("2030-01-01T02:00:00.000Z");
});
