// Datasets and checkpoints resolve their shared options in one place (src/access.ts): the same checks, the same
// messages, the same configuration, audit log and client settings.
import { expect } from "expect";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import { ConfigError } from "../src/errors.ts";
import type { AuditRecord } from "../src/log.ts";
import { serveEmulator } from "../src/server/emulator.ts";

const credentials = { accessKeyId: "id", accessKeySecret: "secret" };

async function datasetError(opts: Record<string, unknown>): Promise<unknown> {
  try {
    for await (const _ of OssIterableDataset.fromPrefix("oss://data/x/", opts)) break;
  } catch (err) {
    return err;
  }
  return undefined;
}

function checkpointError(opts: Record<string, unknown>): unknown {
  try {
    new OssCheckpoint(opts);
  } catch (err) {
    return err;
  }
  return undefined;
}

Deno.test("datasets and checkpoints refuse config with configPath, and credentials with credPath, alike", async () => {
  const cases = [
    [{ config: {}, configPath: "c.json" }, "pass config or configPath, not both"],
    [{ credentials, credPath: "creds.json" }, "pass credentials or credPath, not both"],
  ] as const;
  for (const [opts, message] of cases) {
    const base = { endpoint: "http://127.0.0.1:1", region: "cn-hangzhou", ...opts };
    const d = await datasetError(base);
    const c = checkpointError(base);
    expect(d).toBeInstanceOf(ConfigError);
    expect(c).toBeInstanceOf(ConfigError);
    expect((d as Error).message).toBe(`dataset options: ${message}`);
    expect((c as Error).message).toBe(`OssCheckpoint: options: ${message}`);
  }
});

Deno.test("datasets and checkpoints make their clients from the same options: endpoint, region, credentials", async () => {
  const server = await serveEmulator({ buckets: ["data"], credentials: [credentials] });
  try {
    const records: AuditRecord[] = [];
    const opts = { endpoint: server.url, region: "cn-hangzhou", credentials, retry: { maxAttempts: 2 } };
    const checkpoint = new OssCheckpoint(opts);
    await checkpoint.save("oss://data/x/a.bin", new Uint8Array(10));
    const target = await checkpoint.target("oss://data/x/a.bin");
    expect([target.client.region, target.retry]).toEqual(["cn-hangzhou", { maxAttempts: 2 }]);
    const keys: string[] = [];
    const audited = { ...opts, auditSink: (r: AuditRecord) => records.push(r), auditThresholdMs: 0 };
    for await (const item of OssIterableDataset.fromPrefix("oss://data/x/", audited)) keys.push(item.key);
    expect(keys).toEqual(["x/a.bin"]);
    expect(records.some((r) => r.method === "GET")).toBe(true);
    // A wrong secret fails both the same way: the signature is checked, not skipped.
    const wrong = { ...opts, credentials: { ...credentials, accessKeySecret: "wrong" } };
    await expect(new OssCheckpoint(wrong).load("oss://data/x/a.bin")).rejects.toMatchObject({ status: 403 });
    await expect(datasetError(wrong)).resolves.toMatchObject({ status: 403 });
  } finally {
    await server.close();
  }
});
