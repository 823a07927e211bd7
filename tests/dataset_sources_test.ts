import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import { OssIterableDataset } from "../src/dataset/iterable.ts";
import type { DataObject } from "../src/dataset/item.ts";
import { OssMapDataset } from "../src/dataset/map.ts";
import type { DatasetOptions } from "../src/dataset/options.ts";
import { Logger } from "../src/log.ts";
import {
  assertSameObjects,
  BUCKET,
  clientFor,
  collect,
  CREDS,
  dsOpts,
  keyOf,
  REGION,
  seed,
  type Server,
  startServer,
} from "./dataset_fixture.ts";

const N = 60;
const labelOf = (i: number) => `class${i % 7}`;

/** Builds a dataset of either kind from one of the constructors. */
type Build = (kind: "iterable" | "map", opts: DatasetOptions) => Promise<AsyncIterable<DataObject>>;

async function withServer(fn: (server: Server, expected: Map<string, Uint8Array>) => Promise<void>) {
  const server = await startServer();
  try {
    const expected = await seed(server, N, "train/");
    await seed(server, 5, "other/"); // must not show up in prefix datasets
    await fn(server, expected);
  } finally {
    await server.close();
  }
}

function builders(server: Server, manifestDir: string): Record<string, Build> {
  const uris = Array.from({ length: N }, (_, i) => `oss://${BUCKET}/${keyOf("train/", i)}`);
  const client = clientFor(server);
  return {
    "fromPrefix": (kind, o) =>
      kind === "iterable"
        ? Promise.resolve(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, o))
        : OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, o),
    "fromObjects": (kind, o) =>
      kind === "iterable"
        ? Promise.resolve(OssIterableDataset.fromObjects(uris, o))
        : OssMapDataset.fromObjects(uris, o),
    "fromManifestFile (JSON lines on OSS)": async (kind, o) => {
      const lines = uris.map((u, i) => JSON.stringify({ data: { source: u, label: labelOf(i) } }));
      await client.put(BUCKET, "manifests/train.jsonl", lines.join("\n") + "\n");
      const m = `oss://${BUCKET}/manifests/train.jsonl`;
      return kind === "iterable"
        ? OssIterableDataset.fromManifestFile(m, undefined, undefined, o)
        : await OssMapDataset.fromManifestFile(m, undefined, undefined, o);
    },
    "fromManifestFile (index file, local, relative to a base URI; options form)": async (kind, o) => {
      const path = `${manifestDir}/index.txt`;
      const entries = Array.from({ length: N }, (_, i) => `${keyOf("", i)}:${labelOf(i)}`);
      await Deno.writeTextFile(
        path,
        entries.slice(0, 30).join(",") + "\n" + entries.slice(30).join(",") + "\n",
      );
      const base = `oss://${BUCKET}/train/`;
      return kind === "iterable"
        ? OssIterableDataset.fromManifestFile(path, { ...o, parser: "index", baseUri: base })
        : await OssMapDataset.fromManifestFile(path, { ...o, parser: "index", baseUri: base });
    },
    "fromManifestFile (key<TAB>label lines, custom parser; positional form)": async (kind, o) => {
      const path = `${manifestDir}/keys.tsv`;
      await Deno.writeTextFile(
        path,
        Array.from({ length: N }, (_, i) => `/${BUCKET}/${keyOf("train/", i)}\t${labelOf(i)}`).join("\n"),
      );
      const parser = (line: string) => {
        const [p, label] = line.split("\t");
        return { path: p, label };
      };
      return kind === "iterable"
        ? OssIterableDataset.fromManifestFile(path, parser, undefined, o)
        : await OssMapDataset.fromManifestFile(path, parser, undefined, o);
    },
  };
}

for (const mode of ["inline", "workers"] as const) {
  Deno.test(`every constructor × both datasets yields exactly the expected keys and bytes (${mode} prefetch)`, async (t) => {
    const dir = await Deno.makeTempDir();
    try {
      await withServer(async (server, expected) => {
        for (const [name, build] of Object.entries(builders(server, dir))) {
          for (const kind of ["iterable", "map"] as const) {
            await t.step(`${kind} ${name}`, async () => {
              const ds = await build(
                kind,
                dsOpts(server, { prefetchWorker: mode === "workers" ? 2 : 0, prefetchConcurrency: 8 }),
              );
              const labels = new Map<string, string>();
              const got = await collect((async function* () {
                for await (const item of ds) {
                  labels.set(item.key, item.label);
                  expect(item.size).toBe(expected.get(item.key)?.byteLength);
                  expect(item.uri).toBe(`oss://${BUCKET}/${item.key}`);
                  yield item;
                }
              })());
              assertSameObjects(got, expected);
              if (name.startsWith("fromManifestFile")) {
                for (const [k, l] of labels) expect(l).toBe(labelOf(Number(k.slice(6, 11))));
              }
              if (kind === "map") expect((ds as OssMapDataset).length).toBe(N);
            });
          }
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a manifest served over http(s) is read as a stream", async () => {
  await withServer(async (server, expected) => {
    const text = Array.from({ length: N }, (_, i) => `${keyOf("train/", i)} ${labelOf(i)}`).join("\n");
    const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => new Response(text));
    try {
      const url = `http://127.0.0.1:${http.addr.port}/manifest.txt`;
      const ds = OssIterableDataset.fromManifestFile(url, undefined, `oss://${BUCKET}/`, dsOpts(server));
      assertSameObjects(await collect(ds), expected);
    } finally {
      await http.shutdown();
    }
  });
});

Deno.test("getMany keeps the asked order when later requests finish first", async () => {
  await withServer(async (server, expected) => {
    const asked = [9, 4, 17, 2, 30, 11];
    const slow = new Set(asked.slice(0, 2).map((i) => keyOf("train/", i)));
    const finished: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const key = decodeURIComponent(new URL(String(input)).pathname.split("/").slice(2).join("/"));
      if ((init?.method ?? "GET") === "GET" && key !== "") finished.push(key);
      return res;
    };
    const client = new OssClient({
      endpoint: server.url,
      region: REGION,
      credentials: CREDS,
      fetch: recording,
    });
    const ds = await OssMapDataset.fromPrefix(`oss://${BUCKET}/train/`, { client, prefetchConcurrency: 6 });
    // The first two keys asked are answered last: the server holds them until the other four have finished.
    server.faults.update({ latencyMs: 800, match: (_m, key, op) => op === "GetObject" && slow.has(key) });
    const batch = await ds.getMany(asked);
    expect(new Set(finished.slice(0, 4))).toEqual(new Set(asked.slice(2).map((i) => keyOf("train/", i))));
    expect(batch.map((b) => b.key)).toEqual(asked.map((i) => keyOf("train/", i)));
    for (const b of batch) expect(await b.bytes()).toEqual(expected.get(b.key));
  });
});

Deno.test("fromManifestFile takes { client } (or any dataset option) second, as fromPrefix does", async () => {
  await withServer(async (server, expected) => {
    const client = clientFor(server);
    const lines = Array.from({ length: N }, (_, i) => `${keyOf("train/", i)}\t${labelOf(i)}`);
    await client.put(BUCKET, "manifests/keys.tsv", lines.join("\n"));
    const m = `oss://${BUCKET}/manifests/keys.tsv`;
    const base = `oss://${BUCKET}/`;
    assertSameObjects(
      await collect(OssIterableDataset.fromManifestFile(m, { client, baseUri: base })),
      expected,
    );
    const map = await OssMapDataset.fromManifestFile(m, { client, baseUri: base, parser: "keylabel" });
    expect([map.length, map.ref(3).label]).toEqual([N, labelOf(3)]);
    // The positional form still works; a second argument of another type is named in the error.
    const positional = OssIterableDataset.fromManifestFile(m, "keylabel", base, { client });
    assertSameObjects(await collect(positional), expected);
    expect(() => OssIterableDataset.fromManifestFile(m, 42 as unknown as "jsonl")).toThrow(
      "fromManifestFile: the second argument must be options, a format name or a parser function, got 42",
    );
    expect(() => OssIterableDataset.fromManifestFile(m, { client } as unknown as "jsonl", base)).toThrow(
      "not options followed by more arguments",
    );
  });
});

Deno.test("map dataset get(i) and getMany(indices) return the listed objects' bytes, in the asked order", async () => {
  await withServer(async (server, expected) => {
    const ds = await OssMapDataset.fromPrefix(
      `oss://${BUCKET}/train/`,
      dsOpts(server, { prefetchConcurrency: 4 }),
    );
    const item = await ds.get(7);
    expect(item.key).toBe(keyOf("train/", 7));
    expect(await item.bytes()).toEqual(expected.get(item.key));
    expect(await item.range(10, 20)).toEqual(expected.get(item.key)!.subarray(10, 20));
    const batch = await ds.getMany([5, 3, 5, 59]);
    expect(batch.map((b) => b.key)).toEqual([5, 3, 5, 59].map((i) => keyOf("train/", i)));
    for (const b of batch) expect(await b.bytes()).toEqual(expected.get(b.key));
    await expect(ds.get(60)).rejects.toThrow("get: index must be an integer in [0, 60), got 60");
    await expect(ds.getMany([1, -1])).rejects.toThrow("getMany: index must be an integer in [0, 60), got -1");
  });
});

Deno.test("a missing object fails the pass with an OssError naming its key", async () => {
  await withServer(async (server) => {
    const ds = OssIterableDataset.fromObjects([
      `oss://${BUCKET}/${keyOf("train/", 1)}`,
      `oss://${BUCKET}/nope.bin`,
    ], dsOpts(server));
    const err = await collect(ds).catch((e) => e);
    expect(err.name).toBe("OssError");
    expect(err.status).toBe(404);
    expect(err.key).toBe("nope.bin");
  });
});

Deno.test("a malformed manifest line fails with its line number", async () => {
  await withServer(async (server) => {
    const client = clientFor(server);
    await client.put(
      BUCKET,
      "m.jsonl",
      `{"data":{"source":"oss://${BUCKET}/${keyOf("train/", 0)}"}}\n{"data":{}}\n`,
    );
    const ds = OssIterableDataset.fromManifestFile(
      `oss://${BUCKET}/m.jsonl`,
      "jsonl",
      undefined,
      dsOpts(server),
    );
    await expect(collect(ds)).rejects.toThrow(
      `manifest oss://${BUCKET}/m.jsonl: line 2: expected a JSON object`,
    );
  });
});

Deno.test("an S3-compatible store (signatureVersion s3v4, s3:// URIs) works inline and with prefetch workers", async () => {
  await withServer(async (server, expected) => {
    for (const prefetchWorker of [0, 2]) {
      const ds = OssIterableDataset.fromPrefix(
        `s3://${BUCKET}/train/`,
        dsOpts(server, { signatureVersion: "s3v4", prefetchWorker }),
      );
      const got = await collect((async function* () {
        for await (const item of ds) {
          expect(item.uri.startsWith(`s3://${BUCKET}/train/`)).toBe(true);
          yield item;
        }
      })());
      assertSameObjects(got, expected);
    }
  });
});

Deno.test("where Worker does not exist, a transform module asked to run in prefetch workers runs inline", async () => {
  await withServer(async (server, expected) => {
    const g = globalThis as { Worker?: unknown };
    const saved = g.Worker;
    const dir = await Deno.makeTempDir({ prefix: "ossflow-transform-" });
    delete g.Worker;
    try {
      const transform = new URL(`file://${dir}/size.js`);
      await Deno.writeTextFile(
        transform,
        `export default async (item) => [item.key, (await item.bytes()).length];\n`,
      );
      const ds = OssIterableDataset.fromPrefix<[string, number]>(
        `oss://${BUCKET}/train/`,
        dsOpts<[string, number]>(server, { prefetchWorker: 2, transform }),
      );
      const got = new Map(await Array.fromAsync(ds));
      expect(got).toEqual(new Map([...expected].map(([key, bytes]) => [key, bytes.length])));
    } finally {
      g.Worker = saved;
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("where Worker does not exist, prefetchWorker falls back to inline prefetch and says so in the log", async () => {
  await withServer(async (server, expected) => {
    const g = globalThis as { Worker?: unknown };
    const saved = g.Worker;
    const warnings: string[] = [];
    delete g.Worker;
    try {
      const logger = new Logger({ level: "warn", sink: (r) => warnings.push(r.msg) });
      const ds = OssIterableDataset.fromPrefix(
        `oss://${BUCKET}/train/`,
        dsOpts(server, { prefetchWorker: 4, logger }),
      );
      assertSameObjects(await collect(ds), expected);
      expect(warnings).toEqual(["prefetch workers unavailable, prefetching inline"]);
    } finally {
      g.Worker = saved;
    }
  });
});

Deno.test("a prefix that matches nothing is warned of once per dataset, through the logger or on the console", async () => {
  await withServer(async (server) => {
    const records: { level: string; msg: string }[] = [];
    const logger = new Logger({ level: "info", sink: (r) => records.push(r) });
    const empty = `oss://${BUCKET}/tarin/`; // a typo of train/
    const ds = OssIterableDataset.fromPrefix(empty, dsOpts(server, { logger }));
    expect(await Array.fromAsync(ds)).toEqual([]);
    expect(await Array.fromAsync(ds)).toEqual([]);
    const warned = records.filter((r) => r.level === "warn").map((r) => r.msg);
    expect(warned).toEqual([
      `${empty} matched no objects: check the bucket and the prefix (a pass yields nothing)`,
    ]);

    const printed: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => printed.push(args.join(" "));
    try {
      const quiet = OssIterableDataset.fromPrefix(empty, dsOpts(server));
      await Array.fromAsync(quiet);
      await Array.fromAsync(quiet);
      await OssMapDataset.fromPrefix(empty, dsOpts(server));
      // A prefix with objects says nothing.
      await Array.fromAsync(OssIterableDataset.fromPrefix(`oss://${BUCKET}/train/`, dsOpts(server)));
    } finally {
      console.warn = original;
    }
    expect(printed).toEqual([
      `ossflow: ${empty} matched no objects: check the bucket and the prefix (a pass yields nothing)`,
      `ossflow: ${empty} matched no objects: check the bucket and the prefix (a pass yields nothing)`,
    ]);
  });
});
