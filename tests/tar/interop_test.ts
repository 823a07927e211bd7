// Independent writers and readers of tar: shards made by GNU tar and Python's tarfile (PAX and GNU long names,
// paths over 100 bytes) are read byte-exact by fromShards, fromTar and the index; shards written by ossflow are
// listed and extracted byte-exact by GNU tar and Python's tarfile, and their index points at the right bytes.
import { expect } from "expect";
import { OssIterableDataset } from "../../src/dataset/iterable.ts";
import { OssMapDataset } from "../../src/dataset/map.ts";
import { buildTarIndex } from "../../src/dataset/tar_source.ts";
import { ShardWriter } from "../../src/dataset/tar_write.ts";
import {
  access,
  assertSameMembers,
  b64,
  BUCKET,
  clientFor,
  dsOpts,
  gnuTar,
  LONG_DIR,
  membersOf,
  python,
  pythonList,
  pythonTar,
  run,
  sampleFiles,
  startServer,
} from "./tar_fixture.ts";

const SAMPLES = 40;

function shardFiles(s: number): Map<string, Uint8Array> {
  const all = new Map<string, Uint8Array>();
  for (let i = 0; i < SAMPLES; i++) for (const [k, v] of sampleFiles(s, i)) all.set(k, v);
  return all;
}

const WRITERS = [
  ["GNU tar --format=gnu", (f: Map<string, Uint8Array>) => gnuTar(f, "gnu")],
  ["GNU tar --format=pax", (f: Map<string, Uint8Array>) => gnuTar(f, "pax")],
  ["Python tarfile PAX_FORMAT", (f: Map<string, Uint8Array>) => pythonTar(f, "PAX_FORMAT")],
  ["Python tarfile GNU_FORMAT", (f: Map<string, Uint8Array>) => pythonTar(f, "GNU_FORMAT")],
] as const;

for (const [name, write] of WRITERS) {
  Deno.test(`shards written by ${name} with paths over 100 bytes are read byte-exact as samples, by member and by index`, async () => {
    const server = await startServer();
    try {
      const client = clientFor(server);
      const expected = new Map<string, Uint8Array>();
      for (let s = 0; s < 3; s++) {
        const files = shardFiles(s);
        for (const [k, v] of files) expected.set(k, v);
        await client.put(BUCKET, `ext/shard-${s}.tar`, await write(files));
      }
      expect([...expected.keys()].some((k) => new TextEncoder().encode(k).length > 100)).toBe(true);

      const ds = OssIterableDataset.fromShards(`oss://${BUCKET}/ext/shard-{0..2}.tar`, access(server));
      assertSameMembers(await membersOf(ds), expected);

      const shard0 = shardFiles(0);
      const streamed = new Map<string, Uint8Array>();
      for await (const m of OssIterableDataset.fromTar(`oss://${BUCKET}/ext/shard-0.tar`, dsOpts(server))) {
        streamed.set(m.key, await m.bytes());
      }
      assertSameMembers(streamed, shard0);

      const index = await buildTarIndex(`oss://${BUCKET}/ext/shard-0.tar`, undefined, { client });
      expect(index.entries.map((e) => e.name)).toEqual([...shard0.keys()]);
      const map = await OssMapDataset.fromTar(`oss://${BUCKET}/ext/shard-0.tar`, undefined, dsOpts(server));
      const byIndex = new Map<string, Uint8Array>();
      for (let i = map.length - 1; i >= 0; i--) {
        const m = await map.get(i);
        byIndex.set(m.key, await m.bytes());
      }
      assertSameMembers(byIndex, shard0);
    } finally {
      await server.close();
    }
  });
}

Deno.test("shards written by ShardWriter are listed and extracted byte-exact by GNU tar and Python tarfile, and their index points at each member's bytes", async () => {
  const server = await startServer();
  try {
    const client = clientFor(server);
    const writer = new ShardWriter(`oss://${BUCKET}/out/shard-%06d.tar`, { ...access(server), maxCount: 30 });
    const expected = new Map<string, Uint8Array>();
    for (let i = 0; i < 70; i++) {
      const files = sampleFiles(9, i);
      const key = [...files.keys()][0].replace(/\.jpg$/, "");
      const members: Record<string, Uint8Array> = {};
      for (const [k, v] of files) members[k.slice(key.length + 1)] = v;
      await writer.write({ key, members });
      for (const [k, v] of files) expected.set(k, v);
    }
    const shards = await writer.close();
    expect(shards.map((s) => [s.uri, s.samples])).toEqual([
      [`oss://${BUCKET}/out/shard-000000.tar`, 30],
      [`oss://${BUCKET}/out/shard-000001.tar`, 30],
      [`oss://${BUCKET}/out/shard-000002.tar`, 10],
    ]);
    const gnu = new Map<string, Uint8Array>();
    const py = new Map<string, Uint8Array>();
    for (const s of shards) {
      const key = s.uri.slice(`oss://${BUCKET}/`.length);
      const tar = (await client.getBytes(BUCKET, key)).bytes;
      // GNU tar lists and extracts it.
      const listed = new TextDecoder().decode(await run("tar", ["-tf", "-"], tar)).trim().split("\n");
      const dir = await Deno.makeTempDir();
      try {
        await run("tar", ["-xf", "-", "-C", dir], tar);
        for (const name of listed) gnu.set(name, await Deno.readFile(`${dir}/${name}`));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      // Python's tarfile reads it.
      for (const [name, data] of await pythonList(tar)) {
        py.set(
          name,
          Uint8Array.from(atob(data), (c) => c.charCodeAt(0)),
        );
      }
      // The index beside it: Python slices the archive at each entry's offset and size.
      const idx = new TextDecoder().decode((await client.getBytes(BUCKET, `${key}.idx`)).bytes);
      const checked = await python(
        `
import base64, json, sys
inp = json.load(sys.stdin)
tar = base64.b64decode(inp["tar"])
lines = inp["idx"].splitlines()
head = json.loads(lines[0])
assert head["size"] == len(tar), (head["size"], len(tar))
print(json.dumps([[e["name"], base64.b64encode(tar[e["offset"]:e["offset"] + e["size"]]).decode()] for e in map(json.loads, lines[1:])]))
`,
        { tar: b64(tar), idx },
      );
      const sliced: [string, string][] = JSON.parse(new TextDecoder().decode(checked));
      expect(sliced.length).toEqual(s.members);
      for (const [name, data] of sliced) expect([name, data]).toEqual([name, b64(expected.get(name)!)]);
    }
    assertSameMembers(gnu, expected);
    assertSameMembers(py, expected);
    expect([...expected.keys()].every((k) => k.startsWith(LONG_DIR))).toBe(true);
  } finally {
    await server.close();
  }
});
