/**
 * Scenario 5a: signatures per second of four request signers, in one process, interleaved over repetitions.
 * Each call signs a fresh GET of `bench/train/0012345.bin` at the current time, as a client does per request:
 *
 * - ossflow `signOss4` (OSS4-HMAC-SHA256 headers; hash-wasm SHA-256/HMAC, signing key cached per day),
 * - ossflow `signS3v4` (AWS SigV4 through its `@smithy/signature-v4` adapter),
 * - ali-oss `signUtils.authorizationV4` (what `authorizationV4: true` calls; node:crypto), given the
 *   `x-oss-date` / `x-oss-content-sha256` headers its client sets per request,
 * - `@smithy/signature-v4` alone (`SignatureV4.sign` with the SDK's Node `Sha256`), as the AWS SDK signs.
 *
 * Prints one JSON line: `{ "<signer>": [signatures/s per repetition], ... }`.
 *
 *   deno run -A bench/signing.ts --ms 400 --reps 3
 *
 * @module
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@smithy/core/checksum";
import signUtils from "ali-oss/lib/common/signUtils.js";
import { signOss4 } from "../src/signer/oss4.ts";
import { signS3v4 } from "../src/signer/s3v4.ts";
import { BUCKET, CREDS, REGION } from "./common.ts";

const KEY = "train/0012345.bin";
const HOST = "127.0.0.1:9000";

function isoBasic(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const smithy = new SignatureV4({
  credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.accessKeySecret },
  region: REGION,
  service: "s3",
  sha256: Sha256,
  uriEscapePath: false,
});

/** Each signer returns the Authorization value (so that nothing is optimised away). */
export const SIGNERS: Record<string, () => Promise<string> | string> = {
  "ossflow OSS4": async () => {
    const headers = new Headers();
    await signOss4({
      method: "GET",
      url: new URL(`http://${HOST}/${BUCKET}/${KEY}`),
      headers,
      bucket: BUCKET,
      key: KEY,
    }, {
      credentials: CREDS,
      region: REGION,
    });
    return headers.get("authorization")!;
  },
  "ossflow SigV4": async () => {
    const headers = new Headers();
    await signS3v4({ method: "GET", url: new URL(`http://${HOST}/${BUCKET}/${KEY}`), headers }, {
      credentials: CREDS,
      region: REGION,
    });
    return headers.get("authorization")!;
  },
  "ali-oss V4": () => {
    const headers = { "x-oss-date": isoBasic(new Date()), "x-oss-content-sha256": "UNSIGNED-PAYLOAD" };
    return signUtils.authorizationV4(
      CREDS.accessKeyId,
      CREDS.accessKeySecret,
      REGION,
      "GET",
      { headers, queries: {} },
      BUCKET,
      KEY,
      undefined,
    );
  },
  "@smithy/signature-v4": async () => {
    const signed = await smithy.sign({
      method: "GET",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: 9000,
      path: `/${BUCKET}/${KEY}`,
      query: {},
      headers: { host: HOST, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    return signed.headers["authorization"];
  },
};

/** Calls `fn` for about `ms` milliseconds; returns calls per second. */
async function rate(fn: () => Promise<string> | string, ms: number): Promise<number> {
  let n = 0, sink = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    for (let i = 0; i < 64; i++) sink += (await fn()).length;
    n += 64;
    now = performance.now();
  }
  if (sink === 0) throw new Error("no signatures");
  return n / ((now - t0) / 1000);
}

if (import.meta.main) {
  const arg = (name: string, d: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : d;
  };
  const ms = arg("ms", 400), reps = arg("reps", 3);
  const out: Record<string, number[]> = {};
  for (const fn of Object.values(SIGNERS)) await rate(fn, Math.min(ms, 200)); // warm-up (JIT)
  for (let r = 0; r < reps; r++) {
    const names = Object.keys(SIGNERS);
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]; // rotate the order between repetitions
      (out[name] ??= []).push(await rate(SIGNERS[name], ms));
    }
  }
  console.log(JSON.stringify(out));
}
