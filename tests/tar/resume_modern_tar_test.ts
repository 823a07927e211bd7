// Resumable shard and tar passes over archives written by modern-tar (an independent writer): stopped anywhere
// (mid-shard, inside the shuffle buffer) and resumed from `state()`, a pass over tar shards or one streamed tar
// archive is one uninterrupted pass, same order, through 10 % injected faults too.
import { expect } from "expect";
import { packTar } from "modern-tar";
import { OssIterableDataset } from "../../mod.ts";
import type { ShardSample } from "../../src/api/shards.ts";
import type { DatasetOptions } from "../../src/dataset/options.ts";
import { mulberry32 } from "../../src/server/faults.ts";
import { BUCKET, clientFor, dsOpts, settled, startServer } from "../dataset_fixture.ts";

const SHARDS = 5, PER_SHARD = 7;

for (const faulty of [false, true]) {
  Deno.test(`a shard or tar pass stopped anywhere and resumed from its state is one uninterrupted pass${faulty ? " (10 % faults)" : ""}`, async () => {
    const server = await startServer();
    try {
      const client = clientFor(server);
      const all: { header: { name: string; size: number }; body: string }[] = [];
      for (let s = 0; s < SHARDS; s++) {
        const members = [];
        for (let i = 0; i < PER_SHARD; i++) {
          const key = `s${s}_${String(i).padStart(2, "0")}`;
          const text = `sample ${key} `.repeat(1 + ((s * 7 + i) % 5));
          members.push({ header: { name: `${key}.txt`, size: text.length }, body: text });
          members.push({ header: { name: `${key}.cls`, size: 1 }, body: String(i % 3) });
        }
        all.push(...members);
        await client.put(BUCKET, `shards/shard-${String(s).padStart(6, "0")}.tar`, await packTar(members));
      }
      await client.put(BUCKET, "whole.tar", await packTar(all));
      const pattern = `oss://${BUCKET}/shards/shard-{000000..${String(SHARDS - 1).padStart(6, "0")}}.tar`;
      const read = async (s: ShardSample) =>
        `${s.key}:${await s.members.txt.text()}:${await s.members.cls.text()}`;
      const kinds: [string, (o: DatasetOptions<string>) => OssIterableDataset<string>][] = [
        ["shards", (o) => OssIterableDataset.fromShards(pattern, { ...dsOpts(server, o), transform: read })],
        [
          "tar",
          (o) =>
            OssIterableDataset.fromTar(`oss://${BUCKET}/whole.tar`, {
              ...dsOpts(server, o),
              transform: async (m) => `${m.key}:${await m.text()}`,
            }),
        ],
      ];
      const rand = mulberry32(faulty ? 17 : 3);
      let checks = 0;
      for (const [kind, make] of kinds) {
        for (const opts of [{}, { shuffle: { seed: 8, bufferSize: 4 }, worldSize: 2, rank: 1 }]) {
          const whole = await Array.fromAsync(make(opts).iterate({ epoch: 2 }));
          for (const k of [1, 3, 1 + Math.floor(rand() * (whole.length - 1)), whole.length]) {
            const ds = make(opts);
            const before: string[] = [];
            for await (const item of ds.iterate({ epoch: 2 })) if (before.push(item) === k) break;
            const state = JSON.parse(JSON.stringify(ds.state()));
            expect([state.kind, state.position]).toEqual([kind === "tar" ? "tar-stream" : "shards", k]);
            await settled(server);
            if (faulty) server.faults.update({ errorRate: 0.1, seed: checks + 1 });
            const after = await Array.fromAsync(make(opts).iterate({ resumeFrom: state }));
            server.faults.update({ errorRate: 0 });
            expect({ kind, opts, k, items: [...before, ...after] }).toEqual({ kind, opts, k, items: whole });
            checks++;
          }
        }
      }
      console.log(
        `[resume] ${checks} shard and tar stop-and-resume checks${faulty ? " under 10 % faults" : ""}`,
      );
    } finally {
      await server.close();
    }
  });
}
