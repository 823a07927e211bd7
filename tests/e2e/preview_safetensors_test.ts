// The preview page in headless Chromium with model files: a .safetensors file and a sharded set's index show
// as tensor tables (name, dtype, shape, bytes; a file column for the set). Saves
// tests/e2e/out/preview-safetensors.png (gitignored; a CI artifact).
import { expect } from "expect";
import { OssClient } from "../../src/client.ts";
import { saveSafetensors } from "../../src/safetensors/writer.ts";
import { createPreviewApp, serveEmulator } from "../../src/server/mod.ts";
import { openBrowser } from "./browser.ts";
import { CHROMIUM, needs } from "../needs.ts";

const CREDS = { accessKeyId: "LTAI5tPreviewST", accessKeySecret: "preview-st-secret" };
const TOKEN = "e2e-safetensors-token";

Deno.test(needs(CHROMIUM, {
  name: "the preview page shows a safetensors file and a sharded set as tensor tables",
  fn: async () => {
    const store = await serveEmulator({ buckets: ["models"], credentials: [CREDS] });
    const client = new OssClient({ endpoint: store.url, region: "cn-hangzhou", credentials: CREDS });
    const layer = (n: number) => ({ dtype: "BF16" as const, shape: [64, n], data: new Uint16Array(64 * n) });
    await saveSafetensors("oss://models/zoo/bert.safetensors", {
      "embeddings.word.weight": { dtype: "F32", shape: [300, 64], data: new Float32Array(300 * 64) },
      "encoder.0.attn.qkv.weight": layer(192),
      "<img src=x onerror=alert(1)>": { dtype: "U8", shape: [2], data: new Uint8Array(2) },
    }, { client, metadata: { format: "pt" } });
    await saveSafetensors(
      "oss://models/zoo/llm/model.safetensors",
      new Map(Array.from({ length: 6 }, (_, i) => [`layers.${i}.mlp.weight`, layer(32)])),
      { client, maxShardBytes: 9000 },
    );
    const app = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      createPreviewApp({
        client,
        bucket: "models",
        prefixes: ["zoo/"],
        token: TOKEN,
        bundle: { url: "/none.js" },
      })
        .fetch,
    );
    try {
      await using session = await openBrowser({ viewport: { width: 1100, height: 700 } });
      const { page } = session;
      await page.goto(`http://127.0.0.1:${app.addr.port}/#token=${TOKEN}&prefix=zoo/`);
      await page.waitForSelector("body[data-state=done]", { state: "attached", timeout: 30_000 });
      const tables = await page.$$eval(".tensors", (boxes) =>
        boxes.map((b) => ({
          summary: b.querySelector("p")?.textContent,
          head: [...b.querySelectorAll("th")].map((th) => th.textContent),
          rows: [...b.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent)),
        })));
      // bert.safetensors, the set's index and its three shards: five tables.
      expect(tables.length).toBe(5);
      const index = tables.find((t) => t.head.includes("file"))!;
      expect(index.summary).toBe("6 tensors, 24.0 KiB in 3 shards");
      expect(index.rows[0]).toEqual([
        "layers.0.mlp.weight",
        "BF16",
        "[64, 32]",
        "4.0 KiB",
        "model-00001-of-00003.safetensors",
      ]);
      const bert = tables.find((t) => t.rows.length === 3)!;
      expect(bert.summary).toBe("3 tensors, 99.0 KiB");
      expect(bert.head).toEqual(["name", "dtype", "shape", "bytes"]);
      // Names are shown as text, never as markup.
      expect(bert.rows.map((r) => r[0])).toEqual([
        "embeddings.word.weight",
        "encoder.0.attn.qkv.weight",
        "<img src=x onerror=alert(1)>",
      ]);
      expect(await page.$$("#grid img")).toEqual([]);
      await session.screenshot("preview-safetensors.png");
      expect(session.errors).toEqual([]);
    } finally {
      await app.shutdown();
      await store.close();
    }
  },
}));
