// Safetensors through seeded faults at 10 %: loads (headers, coalesced ranges, whole files) are byte-exact or
// fail loudly, and a distributed save whose rank is killed midway (SIGKILL of its process) commits nothing:
// the previous checkpoint loads as it was and there is no index for the new one.
import { expect } from "expect";
import { OssClient } from "../../src/client.ts";
import { OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { SafetensorsError } from "../../src/errors.ts";
import type { Tensor } from "../../src/safetensors/dtypes.ts";
import { OssSafetensors } from "../../src/safetensors/reader.ts";
import { saveSafetensors } from "../../src/safetensors/writer.ts";
import type { FaultKind } from "../../src/server/faults.ts";
import { makeTensor, sameTensor } from "../safetensors_fixture.ts";
import {
  BUCKET,
  clearFaults,
  CREDS,
  faultsOf,
  KiB,
  REGION,
  report,
  RETRY,
  RetryCounter,
  seedWithFaults,
  startCheckpointServer,
} from "./fault_fixture.ts";
import { rankTensors } from "./safetensors_tensors.ts";

const RATE = 0.1;
const KINDS: FaultKind[] = ["slowdown", "reset", "truncate"];
const URI = `oss://${BUCKET}/run/model.safetensors`;

function checkpointFor(url: string, retries: RetryCounter, maxAttempts: number): OssCheckpoint {
  const retry = { ...RETRY, maxAttempts, onRetry: retries.onRetry };
  const client = new OssClient({ endpoint: url, region: REGION, credentials: CREDS, retry });
  return new OssCheckpoint({
    client,
    partSize: 128 * KiB,
    uploadConcurrency: 4,
    prefetchConcurrency: 4,
    retry,
  });
}

/** 40 tensors of 1 KiB to 200 KiB and mixed dtypes: some share ranges, some span several parts. */
function model(): Map<string, Tensor> {
  const dtypes = ["F32", "BF16", "I64", "U8", "F16"] as const;
  return new Map(Array.from({ length: 40 }, (_, i) => {
    const dtype = dtypes[i % dtypes.length];
    const bytes = i % 7 === 0 ? 200 * KiB : (1 + (i * 13) % 40) * KiB;
    const per = dtype === "I64" ? 8 : dtype === "F32" ? 4 : dtype === "U8" ? 1 : 2;
    return [`block.${i}`, makeTensor(dtype, [bytes / per], i + 1)];
  }));
}

for (const [k, kind] of KINDS.entries()) {
  Deno.test(`safetensors loads are byte-exact through 10 % ${kind} faults, or fail loudly with few retries`, async () => {
    const server = await startCheckpointServer();
    try {
      const tensors = model();
      await saveSafetensors(URI, tensors, { checkpoint: checkpointFor(server.url, new RetryCounter(), 2) });
      const names = [...tensors.keys()];
      const retries = new RetryCounter();
      server.faults.update({
        errorRate: RATE,
        errorKinds: [kind],
        seed: seedWithFaults(kind, RATE, 7000 + k),
      });
      server.stats.reset();
      // Generous retries: every load completes, byte for byte.
      const generous = checkpointFor(server.url, retries, RETRY.maxAttempts);
      let loads = 0;
      for (let round = 0; round < 3; round++) {
        const st = await OssSafetensors.open(URI, { checkpoint: generous, maxGap: round * 8 * KiB });
        const some = names.filter((_, i) => (i + round) % 3 === 0);
        const got = await st.getMany(some);
        for (const n of some) {
          expect({ n, same: sameTensor(got.get(n)!, tensors.get(n)!) }).toEqual({ n, same: true });
        }
        const all = await st.loadAll();
        for (const n of names) {
          expect({ n, same: sameTensor(all.get(n)!, tensors.get(n)!) }).toEqual({ n, same: true });
        }
        loads += 2;
      }
      // Two attempts per request: a load either is byte-exact or rejects; it never hands out other bytes.
      const tight = checkpointFor(server.url, retries, 2);
      const outcomes = { exact: 0, failed: 0 };
      for (let round = 0; round < 6; round++) {
        let got: Map<string, Tensor> | undefined;
        try {
          const st = await OssSafetensors.open(URI, { checkpoint: tight });
          got = round % 2 === 0 ? await st.loadAll() : await st.getMany(names.slice(round));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          outcomes.failed++;
          continue;
        }
        for (const [n, t] of got) {
          expect({ n, same: sameTensor(t, tensors.get(n)!) }).toEqual({ n, same: true });
        }
        outcomes.exact++;
      }
      const f = faultsOf(server);
      clearFaults(server);
      report(`safetensors loads, 10% ${kind}`, {
        ...f,
        retries,
        checked: `${loads} generous loads byte-exact; tight loads ${JSON.stringify(outcomes)}`,
      });
      expect(f.faults).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
}

Deno.test("a distributed save whose rank is killed midway through 10 % faults commits nothing", async () => {
  const server = await startCheckpointServer();
  try {
    const client = new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS, retry: RETRY });
    const retries = new RetryCounter();
    const checkpoint = checkpointFor(server.url, retries, RETRY.maxAttempts);
    const all = (seed: number) => new Map([0, 1, 2].flatMap((r) => [...rankTensors(r, seed)]));
    // The previous checkpoint: generation 1, saved without faults.
    await Promise.all(
      [0, 1, 2].map((rank) =>
        saveSafetensors(URI, rankTensors(rank, 1), { checkpoint, rank, worldSize: 3, pollIntervalMs: 20 })
      ),
    );
    const indexBefore = await client.head(BUCKET, "run/model.safetensors.index.json");

    // Rank 2 runs in its own process and is killed when its second part reaches the server.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        new URL("../../deno.dev.json", import.meta.url).pathname,
        new URL("./safetensors_rank.ts", import.meta.url).pathname,
        server.url,
        URI,
        "2",
        "3",
        "2",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let parts = 0;
    server.faults.update({
      errorRate: RATE,
      seed: seedWithFaults("slowdown", RATE, 7100),
      // Lost answers of Initiate/CompleteMultipartUpload are the writer's known gap (lost_answer_test.ts).
      match: (_method, key, op) => {
        if (op === "UploadPart" && key === "run/model-00003-of-00003.gen2.safetensors" && ++parts === 2) {
          child.kill("SIGKILL");
        }
        return op !== "InitiateMultipartUpload" && op !== "CompleteMultipartUpload";
      },
    });
    server.stats.reset();
    const ranks = [0, 1].map((rank) =>
      saveSafetensors(URI, rankTensors(rank, 2), {
        checkpoint,
        rank,
        worldSize: 3,
        pollIntervalMs: 50,
        commitTimeoutMs: 3000,
      }).catch((e) => e)
    );
    const status = await child.status;
    const printed = new TextDecoder().decode(await new Response(child.stdout).bytes());
    const [e0, e1] = await Promise.all(ranks);
    const f = faultsOf(server);
    clearFaults(server);

    expect({ killed: status.signal, printed }).toEqual({ killed: "SIGKILL", printed: "" });
    expect(e0).toBeInstanceOf(SafetensorsError);
    expect(e0.message).toMatch(
      /no record from rank 2 of 3 within 3000 ms \(generation 2\): nothing was committed/,
    );
    expect(e1).toBeInstanceOf(SafetensorsError);
    expect((await client.head(BUCKET, "run/model.safetensors.index.json")).etag).toBe(indexBefore.etag);
    const st = await OssSafetensors.open(URI, { checkpoint });
    expect(st.index?.metadata.ossflow_generation).toBe(1);
    const loaded = await st.loadAll();
    let checked = 0;
    for (const [n, want] of all(1)) {
      expect({ n, same: sameTensor(loaded.get(n)!, want) }).toEqual({ n, same: true });
      checked++;
    }
    report("safetensors distributed save, rank 2 killed, 10% faults", {
      ...f,
      retries,
      checked:
        `${parts} parts of rank 2 reached the server; ${checked} tensors of the previous checkpoint byte-exact`,
    });
    expect(f.faults).toBeGreaterThan(0);
  } finally {
    await server.close();
  }
});
