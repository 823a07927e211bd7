/**
 * Shared setup of the tar shard tests: sample members of varied sizes and long paths, GNU tar and Python
 * `tarfile` as independent writers and readers, and a digest of what a shard dataset delivered.
 */
import { bytesOf } from "../dataset_fixture.ts";
import type { ShardSample } from "../../src/dataset/shard_samples.ts";

import { CREDS, REGION, type Server } from "../dataset_fixture.ts";
export { BUCKET, clientFor, CREDS, dsOpts, REGION, type Server, startServer } from "../dataset_fixture.ts";

/** Access options for the test server (for shard datasets and writers). */
export function access(server: Server): { endpoint: string; region: string; credentials: typeof CREDS } {
  return { endpoint: server.url, region: REGION, credentials: CREDS };
}

/** A directory name that makes member paths longer than ustar's 100-byte name field. */
export const LONG_DIR = `deep/${"d".repeat(60)}/${"e".repeat(50)}`;

/** The members of sample `i` of shard `s`: a binary `jpg` of 0–20 KiB, a `cls` and a `json`. */
export function sampleFiles(s: number, i: number, dir = LONG_DIR): Map<string, Uint8Array> {
  const key = `${dir}/s${s}-${String(i).padStart(4, "0")}`;
  const enc = new TextEncoder();
  return new Map([
    [`${key}.jpg`, bytesOf(s * 10_000 + i, (i * 1237) % (20 * 1024))],
    [`${key}.cls`, enc.encode(String(i % 10))],
    [`${key}.json`, enc.encode(JSON.stringify({ shard: s, i }))],
  ]);
}

/** Writes files into a fresh temporary directory; returns it. */
export async function writeTree(files: Map<string, Uint8Array>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-tar-" });
  for (const [name, bytes] of files) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, bytes);
  }
  return dir;
}

/** Runs a command; returns stdout, throwing with stderr when it fails. */
export async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const p = new Deno.Command(cmd, { args, stdin: stdin ? "piped" : "null", stdout: "piped", stderr: "piped" })
    .spawn();
  if (stdin) {
    const w = p.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await p.output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

/** A tar archive of `files` made by GNU tar in `format` (`gnu`, `pax`, `ustar`), members in the given order. */
export async function gnuTar(files: Map<string, Uint8Array>, format: "gnu" | "pax"): Promise<Uint8Array> {
  const dir = await writeTree(files);
  try {
    return await run("tar", [`--format=${format}`, "-cf", "-", "-C", dir, "--no-recursion", ...files.keys()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Python's `tarfile` (the machine's /usr/bin/python3), run with a script reading JSON on stdin. */
export async function python(script: string, input: unknown): Promise<Uint8Array> {
  return await run("/usr/bin/python3", ["-c", script], new TextEncoder().encode(JSON.stringify(input)));
}

/** A tar archive of `files` made by Python's `tarfile` in `format` (`PAX_FORMAT`, `GNU_FORMAT`). */
export async function pythonTar(files: Map<string, Uint8Array>, format: "PAX_FORMAT" | "GNU_FORMAT") {
  const script = `
import base64, io, json, sys, tarfile
files = json.load(sys.stdin)
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.${format}) as tf:
    for name, b64 in files:
        data = base64.b64decode(b64)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 1700000000
        tf.addfile(info, io.BytesIO(data))
sys.stdout.buffer.write(out.getvalue())
`;
  return await python(script, [...files].map(([n, b]) => [n, btoa(String.fromCharCode(...b))]));
}

/** Every member Python's `tarfile` reads from `tar`: name → base64 of its bytes, in archive order. */
export async function pythonList(tar: Uint8Array): Promise<[string, string][]> {
  const script = `
import base64, io, json, sys, tarfile
data = sys.stdin.buffer.read()
with tarfile.open(fileobj=io.BytesIO(data)) as tf:
    print(json.dumps([[m.name, base64.b64encode(tf.extractfile(m).read()).decode()] for m in tf.getmembers() if m.isfile()]))
`;
  const p = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(tar);
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error(`python tarfile: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Base64 of bytes (for comparing with Python's answers). */
export function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Member path → bytes of everything the samples hold (each sample's members under `key.ext`). */
export async function membersOf(samples: AsyncIterable<ShardSample>): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  for await (const s of samples) {
    for (const [ext, m] of Object.entries(s.members)) {
      const name = `${s.key}.${ext}`;
      if (got.has(name)) throw new Error(`${name} delivered twice`);
      if (m.key !== name) throw new Error(`member ${m.key} filed under ${name}`);
      got.set(name, await m.bytes());
    }
  }
  return got;
}

/** Throws unless `got` holds exactly the members of `expected`, byte-exact. */
export function assertSameMembers(got: Map<string, Uint8Array>, expected: Map<string, Uint8Array>): void {
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  const wrong = [...expected].filter(([k, b]) => got.has(k) && b64(got.get(k)!) !== b64(b)).map(([k]) => k);
  if (missing.length || extra.length || wrong.length) {
    throw new Error(
      `members differ: missing ${missing.length} ${
        JSON.stringify(missing.slice(0, 3))
      }, unexpected ${extra.length} ${JSON.stringify(extra.slice(0, 3))}, wrong bytes ${wrong.length} ${
        JSON.stringify(wrong.slice(0, 3))
      }`,
    );
  }
}
