// The bench's `fetch-checked` client (bench/peers/fetch_checked.ts) stands for "the fetch loop with ossflow's
// checks": it must read what the bare loop reads, and refuse what ossflow refuses. Against the real local
// server, with a proxy in front of it that corrupts bodies in transit (keeping the server's headers).
import { expect } from "expect";
import { serveEmulator } from "../src/server/emulator.ts";
import { OssClient } from "../src/client.ts";
import { BUCKET, CREDS, PREFIX, REGION, SERVER_BASE, type Settings } from "../bench/common.ts";
import bare from "../bench/peers/fetch.ts";
import checked from "../bench/peers/fetch_checked.ts";
import { startCorruptingProxy } from "./corrupting_proxy.ts";

const GETS = (req: Request) => req.method === "GET" && !new URL(req.url).searchParams.has("list-type");

Deno.test("the fetch-checked bench client reads every object, and refuses a body corrupted in transit that the bare loop takes", async () => {
  const server = await serveEmulator(SERVER_BASE);
  const proxy = startCorruptingProxy(server.url, { response: () => false });
  try {
    const client = new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS });
    for (let i = 0; i < 5; i++) {
      await client.put(BUCKET, `${PREFIX.small}${i}`, new Uint8Array(1000 + i).fill(i + 1));
    }
    const settings = {} as Settings;
    const loop = await bare(proxy.url, settings);
    const check = await checked(proxy.url, settings);
    expect(await check.readPrefix(PREFIX.small, 2)).toEqual({ objects: 5, bytes: 5010 });

    let left = 1;
    proxy.rules = { response: (req) => GETS(req) && left-- > 0 };
    await expect(check.readPrefix(PREFIX.small, 2)).rejects.toThrow(/CRC-64 \d+, the server says \d+/);
    expect(proxy.corrupted.responses).toBe(1);

    left = 1; // the bare loop takes the same corruption without a word: the check is what the row adds
    expect(await loop.readPrefix(PREFIX.small, 2)).toEqual({ objects: 5, bytes: 5010 });
    expect(proxy.corrupted.responses).toBe(2);
  } finally {
    await proxy.close();
    await server.close();
  }
});
