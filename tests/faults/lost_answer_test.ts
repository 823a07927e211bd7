// Requests that take effect on the server but whose answer never reaches the client (the body is cut):
// - InitiateMultipartUpload: the client's retry creates a second upload; the writer learns of the retry and,
//   when it finishes, aborts the other upload of its key (it never learned that upload's id).
// - CompleteMultipartUpload whose retry fails too: the object was replaced, and the writer confirms it by its
//   size and CRC-64 instead of rejecting a save that happened.
// Not covered: an Initiate that reaches the server only after the writer has finished (a server slower than
// the client's timeout) still leaves an upload behind; a lifecycle rule for incomplete uploads is the backstop.
import { expect } from "expect";
import { OssCheckpoint } from "../../src/checkpoint/mod.ts";
import { OssClient } from "../../src/client.ts";
import type { FaultOptions } from "../../src/server/faults.ts";
import {
  BUCKET,
  CREDS,
  KiB,
  MiB,
  randomBytes,
  REGION,
  RETRY,
  SPIKE_MS,
  startCheckpointServer,
  TIMEOUT_MS,
  writeChunked,
} from "./fault_fixture.ts";

const CASES: [string, FaultOptions][] = [
  ["is truncated", { errorRate: 1, errorKinds: ["truncate"] }],
];

for (const [what, faults] of CASES) {
  Deno.test({
    name: `a checkpoint whose InitiateMultipartUpload answer ${what} leaves no upload behind`,

    async fn() {
      const server = await startCheckpointServer();
      try {
        const client = new OssClient({
          endpoint: server.url,
          region: REGION,
          credentials: CREDS,
          timeoutMs: TIMEOUT_MS,
          retry: RETRY,
        });
        let first = true;
        server.faults.update({
          ...faults,
          match: (_m, _k, op) => op === "InitiateMultipartUpload" && first && !(first = false),
        });
        const checkpoint = new OssCheckpoint({ client, partSize: 128 * KiB, uploadConcurrency: 4 });
        await writeChunked(checkpoint.writer(`oss://${BUCKET}/orphan.bin`), randomBytes(MiB, 1));
        expect(server.stats.byOperation.InitiateMultipartUpload).toBe(2);
        await new Promise((r) => setTimeout(r, SPIKE_MS)); // the late initiate lands
        expect(await client.listUploads(BUCKET)).toEqual([]);
      } finally {
        await server.close();
      }
    },
  });
}

Deno.test({
  name:
    "a save whose CompleteMultipartUpload took effect but whose answer and retry were lost does not reject",

  async fn() {
    const server = await startCheckpointServer();
    try {
      const client = new OssClient({
        endpoint: server.url,
        region: REGION,
        credentials: CREDS,
        retry: { ...RETRY, maxAttempts: 2 },
      });
      let completes = 0;
      const checkpoint = new OssCheckpoint({ client, partSize: 128 * KiB, uploadConcurrency: 4 });
      const data = randomBytes(MiB, 2);
      // Both answers are cut: the first after the object was stored, the retry's (NoSuchUpload) too.
      server.faults.update({
        errorRate: 1,
        errorKinds: ["truncate"],
        match: (_m, _k, op) => op === "CompleteMultipartUpload" && completes++ < 2,
      });
      const error = await writeChunked(checkpoint.writer(`oss://${BUCKET}/complete.bin`), data).then(
        () => undefined,
        (e) => e,
      );
      server.faults.update({ errorRate: 0 });
      expect((await client.head(BUCKET, "complete.bin")).size).toBe(data.length);
      expect(error).toBeUndefined();
    } finally {
      await server.close();
    }
  },
});
