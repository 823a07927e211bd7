// Independent checks with Python and numpy (tests/safetensors_check.py, written from the format's
// specification): every file ossflow writes passes its checker, and files it writes read back byte for byte.
import { expect } from "expect";
import { OssSafetensors } from "../src/safetensors/reader.ts";
import { saveSafetensors } from "../src/safetensors/writer.ts";
import type { Tensor } from "../src/safetensors/dtypes.ts";
import { BUCKET, bytesView, everyDtype, KiB, makeTensor, setup } from "./safetensors_fixture.ts";

const PYTHON = "/usr/bin/python3";
const CHECKER = new URL("./safetensors_check.py", import.meta.url).pathname;

interface Checked {
  dtype: string;
  shape: number[];
  sha256: string;
  first?: unknown[];
}

async function python(args: string[]): Promise<unknown> {
  const out = await new Deno.Command(PYTHON, { args: [CHECKER, ...args], stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`safetensors_check.py ${args[0]} failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const copy = new Uint8Array(bytes); // digest wants an ArrayBuffer-backed view
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", copy));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first four values of a tensor as the checker prints them (numpy's view of the same bytes). */
function firstValues(t: Tensor): unknown[] {
  if (t.dtype === "C64") {
    const f = new Float32Array(new Uint8Array(bytesView(t.data)).buffer);
    return Array.from({ length: Math.min(4, f.length / 2) }, (_, i) => [f[2 * i], f[2 * i + 1]]);
  }
  return Array.from(t.data as ArrayLike<number | bigint>).slice(0, 4).map((v) =>
    typeof v === "bigint" ? String(v) : v
  );
}

/** Checks that `got` has exactly the tensors the checker reported, byte for byte and value for value. */
async function expectSame(got: Map<string, Tensor>, checked: Record<string, Checked>): Promise<void> {
  expect([...got.keys()].sort()).toEqual(Object.keys(checked).sort());
  for (const [name, t] of got) {
    const c = checked[name];
    expect({ name, dtype: t.dtype, shape: t.shape, sha256: await sha256(bytesView(t.data)) })
      .toEqual({ name, dtype: c.dtype, shape: c.shape, sha256: c.sha256 });
    if (c.first !== undefined) expect({ name, first: firstValues(t) }).toEqual({ name, first: c.first });
  }
}

async function download(t: Awaited<ReturnType<typeof setup>>, key: string, dir: string): Promise<string> {
  const path = `${dir}/${key.replaceAll("/", "_")}`;
  await Deno.writeFile(path, (await t.client.getBytes(BUCKET, key)).bytes);
  return path;
}

Deno.test("every file ossflow writes passes a checker written from the specification", async () => {
  await using t = await setup();
  await using dir = await tempDir();
  const tensors = everyDtype();
  await saveSafetensors(`oss://${BUCKET}/one/model.safetensors`, tensors, {
    ...t.opts,
    metadata: { format: "pt" },
  });
  const file = await download(t, "one/model.safetensors", dir.path);
  const report = (await python(["validate", file]) as Record<
    string,
    { metadata: unknown; tensors: Record<string, Checked> }
  >)[file];
  expect(report.metadata).toEqual({ format: "pt" });
  await expectSame(tensors, report.tensors);

  // A sharded set, and a distributed one of three ranks: the index agrees with the shards.
  await saveSafetensors(`oss://${BUCKET}/sharded/model.safetensors`, tensors, {
    ...t.opts,
    maxShardBytes: 64,
  });
  const rankTensors = (r: number) =>
    new Map(
      Array.from(
        { length: 3 },
        (_, i) => [`r${r}.${i}`, makeTensor(i === 1 ? "BF16" : "F32", [64 + r], r * 10 + i)],
      ),
    );
  await Promise.all(
    [0, 1, 2].map((rank) =>
      saveSafetensors(`oss://${BUCKET}/dist/model.safetensors`, rankTensors(rank), {
        ...t.opts,
        rank,
        worldSize: 3,
        maxShardBytes: KiB / 2,
        pollIntervalMs: 20,
      })
    ),
  );
  for (const prefix of ["sharded/", "dist/"]) {
    const shards: string[] = [];
    for await (const o of t.client.list(BUCKET, { prefix })) {
      if (o.key.endsWith(".safetensors")) shards.push(await download(t, o.key, dir.path));
    }
    expect(shards.length).toBeGreaterThan(2);
    const index = await download(t, `${prefix}model.safetensors.index.json`, dir.path);
    // The checker matches weight_map entries to shard file names: give the shards their own names.
    const named = await Promise.all(shards.map(async (p) => {
      const name = `${dir.path}/${prefix.slice(0, -1)}-files/${p.slice(p.lastIndexOf("_") + 1)}`;
      await Deno.mkdir(name.slice(0, name.lastIndexOf("/")), { recursive: true });
      await Deno.rename(p, name);
      return name;
    }));
    const summary = await python(["validate-index", index, ...named]) as { tensors: number };
    expect(summary.tensors).toBe(prefix === "dist/" ? 9 : tensors.size);
  }
});

Deno.test("files of an independent writer (unpadded, unaligned, any order) read byte for byte", async () => {
  await using t = await setup();
  await using dir = await tempDir();
  const written = await python(["write", dir.path]) as Record<string, { tensors: Record<string, Checked> }>;
  for (const file of Object.keys(written)) {
    await t.client.put(BUCKET, `py/${file}`, await Deno.readFile(`${dir.path}/${file}`));
  }
  await t.client.put(
    BUCKET,
    "py/set/py.safetensors.index.json",
    await Deno.readFile(`${dir.path}/set/py.safetensors.index.json`),
  );

  const single = await OssSafetensors.open(`oss://${BUCKET}/py/python.safetensors`, t.opts);
  expect(single.metadata).toEqual({ writer: "python" });
  const checked = written["python.safetensors"].tensors;
  await expectSame(await single.getMany(Object.keys(checked)), checked);
  await expectSame(await single.loadAll(), checked);

  const set = await OssSafetensors.open(`oss://${BUCKET}/py/set/py.safetensors.index.json`, t.opts);
  const both = {
    ...written["set/py-00001-of-00002.safetensors"].tensors,
    ...written["set/py-00002-of-00002.safetensors"].tensors,
  };
  await expectSame(await set.getMany(Object.keys(both).reverse()), both);
  await expectSame(await set.loadAll(), both);
  await expectSame(await set.loadAll(), checked); // the same tensors as the single file
});

async function tempDir() {
  const path = await Deno.makeTempDir({ prefix: "ossflow-safetensors-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}
