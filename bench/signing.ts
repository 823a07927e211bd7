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
 * Each repetition gives every signer `--ms` in turns of 25 ms, the order rotating between turns (see
 * {@linkcode signingRates}). Prints one JSON line: `{ "<signer>": [signatures/s per repetition], ... }`.
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

/** Calls `fn` for about `ms` milliseconds; returns the calls made and the time they took. */
async function burst(fn: () => Promise<string> | string, ms: number): Promise<{ n: number; ms: number }> {
  let n = 0, sink = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    for (let i = 0; i < 64; i++) sink += (await fn()).length;
    n += 64;
    now = performance.now();
  }
  if (sink === 0) throw new Error("no signatures");
  return { n, ms: now - t0 };
}

/** Length of one signer's turn within a repetition: short, so that a slow second of the machine hits all alike. */
const SLICE_MS = 25;

/**
 * Signatures per second of each signer, one figure per repetition. A repetition gives each signer `ms` in turns
 * of {@linkcode SLICE_MS}, the signers taking turns in rotating order: the machine's slow spells (seconds long
 * on a shared 2-core VM, halving one signer's 400 ms window and not the next one's) then fall on every signer.
 */
export async function signingRates(ms: number, reps: number): Promise<Record<string, number[]>> {
  const names = Object.keys(SIGNERS);
  for (const name of names) await burst(SIGNERS[name], Math.min(ms, 200)); // warm-up (JIT)
  const out: Record<string, number[]> = {};
  const turns = Math.max(1, Math.round(ms / SLICE_MS));
  for (let r = 0; r < reps; r++) {
    const total = Object.fromEntries(names.map((n) => [n, { n: 0, ms: 0 }]));
    for (let t = 0; t < turns; t++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + t + r) % names.length]; // rotate the order between turns
        const b = await burst(SIGNERS[name], SLICE_MS);
        total[name].n += b.n;
        total[name].ms += b.ms;
      }
    }
    for (const name of names) (out[name] ??= []).push(total[name].n / (total[name].ms / 1000));
  }
  return out;
}

if (import.meta.main) {
  const arg = (name: string, d: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : d;
  };
  console.log(JSON.stringify(await signingRates(arg("ms", 400), arg("reps", 3))));
}
