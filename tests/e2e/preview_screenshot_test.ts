// The preview page in headless Chromium: the local server (signature checks on) holds a few real PNG images and
// some text; the preview app serves the page and the browser bundle (dist/, built by `deno task build` first);
// the page fetches the images straight from the local server by presigned URL through OssMapDataset.fromUrls.
// With a CORS rule every thumbnail shows (tests/e2e/out/preview.png); without one, each image tile says why its
// own object failed, a notice gives the rule to add, and the text previews still load
// (tests/e2e/out/preview-no-cors.png). Screenshots are gitignored; CI keeps them as artifacts.
import { expect } from "expect";
import { packTar } from "modern-tar";
import { encode } from "fast-png";
import { OssClient } from "../../src/client.ts";
import { createPreviewApp, serveEmulator } from "../../src/server/mod.ts";
import { openBrowser } from "./browser.ts";
import { CHROMIUM, needs } from "../needs.ts";

const CREDS = { accessKeyId: "LTAI5tPreviewE2E", accessKeySecret: "preview-e2e-secret" };
const TOKEN = "e2e-preview-token";
const IMAGES = 12;
const SIZE = 96;

/** An RGB test card: a hue gradient, rings and a checker corner, different for each `n`. */
function testCard(n: number): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 3);
  const hue = (n * 360) / IMAGES;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const r = Math.hypot(x - SIZE / 2, y - SIZE / 2);
      const ring = Math.floor(r / (6 + (n % 4) * 2)) % 2 === 0;
      const checker = x < 24 && y < 24 && ((x >> 3) + (y >> 3)) % 2 === 0;
      const [red, green, blue] = hsl((hue + (x + y) * 0.8) % 360, 0.75, ring ? 0.55 : 0.35);
      const i = (y * SIZE + x) * 3;
      data[i] = checker ? 255 : red;
      data[i + 1] = checker ? 255 : green;
      data[i + 2] = checker ? 255 : blue;
    }
  }
  return encode({ width: SIZE, height: SIZE, data, channels: 3 });
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const k = (m: number) => (m + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (m: number) => l - a * Math.max(-1, Math.min(k(m) - 3, 9 - k(m), 1));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/** Builds dist/ (about 1-2 s) every time: a bundle left from older sources would test stale code. */
async function ensureBundle(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "build"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno task build failed:\n${new TextDecoder().decode(out.stderr)}`);
}

Deno.test(needs(CHROMIUM, {
  name: "the preview page shows real thumbnails fetched by presigned URL from the local server",
  fn: async () => {
    await ensureBundle();
    // The app listens first: the local server's CORS rule needs the page's origin.
    let handler: (req: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 });
    const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => handler(req));
    const appUrl = `http://127.0.0.1:${app.addr.port}`;
    const store = await serveEmulator({
      buckets: ["datasets"],
      credentials: [CREDS],
      cors: { origins: [appUrl] },
    });
    try {
      const client = new OssClient({ endpoint: store.url, region: "cn-hangzhou", credentials: CREDS });
      for (let n = 0; n < IMAGES; n++) {
        await client.put("datasets", `pets/img_${String(n).padStart(2, "0")}.png`, testCard(n));
      }
      const rows = Array.from(
        { length: 30 },
        (_, i) => JSON.stringify({ image: `img_${i}.png`, label: i % 3 }),
      );
      await client.put("datasets", "pets/labels.jsonl", rows.join("\n") + "\n");
      await client.put("datasets", "pets/README.txt", "Generated test cards for the ossflow preview page.\n");
      await client.put("datasets", "pets/weights.bin", crypto.getRandomValues(new Uint8Array(512)));
      // A WebDataset shard (written by modern-tar): its tile shows its samples, images inline.
      const members = [0, 1].flatMap((n) => [
        { header: { name: `s${n}.png`, size: testCard(n).length }, body: testCard(n) },
        { header: { name: `s${n}.cls`, size: 1 }, body: String(n) },
      ]);
      await client.put("datasets", "pets/shard-000000.tar", await packTar(members));
      await client.put("datasets", "private/secret.txt", "not shown");
      handler = createPreviewApp({
        client,
        bucket: "datasets",
        prefixes: ["pets/"],
        token: TOKEN,
        title: "ossflow preview — pets/",
      }).fetch;

      await using session = await openBrowser({ viewport: { width: 1100, height: 720 } });
      const { page } = session;
      const storeRequests: string[] = [];
      page.on("request", (r) => {
        if (r.url().startsWith(store.url)) storeRequests.push(r.url());
      });
      await page.goto(`${appUrl}/#token=${TOKEN}&prefix=pets/`);
      const state = await page.waitForSelector("body[data-state=done], body[data-state=error]", {
        state: "attached",
        timeout: 30_000,
      }).then(
        () => page.getAttribute("body", "data-state"),
        (err) => `timeout (${err.message.split("\n")[0]})`,
      );
      if (state !== "done") {
        await session.screenshot("preview-failed.png");
        const status = await page.textContent("#status");
        throw new Error(`page state ${state}; status: ${status}; errors: ${session.errors.join(" | ")}`);
      }

      // The token left the address bar; every image was fetched from the store by a presigned URL.
      expect(page.url()).toBe(`${appUrl}/#prefix=pets%2F`);
      const images = await page.$$eval(
        "#grid img",
        (imgs) => imgs.map((i) => ({ alt: i.getAttribute("alt"), w: i.naturalWidth, h: i.naturalHeight })),
      );
      expect(images.length).toBe(IMAGES + 2); // the shard's two images, inline
      for (const img of images) expect(img).toMatchObject({ w: SIZE, h: SIZE });
      expect(images.filter((i) => i.alt?.startsWith("s")).map((i) => i.alt)).toEqual(["s0.png", "s1.png"]);
      expect(storeRequests.length).toBe(IMAGES);
      for (const url of storeRequests) expect(url).toContain("x-oss-signature=");
      const texts = await page.$$eval("#grid pre", (pres) => pres.map((p) => p.textContent ?? ""));
      expect(texts.length).toBe(5); // README, labels, weights, and the shard's two .cls members
      expect(texts.filter((t) => t.startsWith(".cls"))).toEqual([".cls: 0", ".cls: 1"]);
      expect(texts.some((t) => t.includes('"label":2'))).toBe(true);
      expect(await page.textContent("#status")).toBe("16 objects under pets/");
      expect(session.errors).toEqual([]);
      const path = await session.screenshot("preview.png");
      console.log(`screenshot: ${path}`);
    } finally {
      await store.close();
      await app.shutdown();
    }
  },
}));

Deno.test(needs(CHROMIUM, {
  name:
    "without a CORS rule each image tile names its own object, one notice gives the rule, text tiles load",
  fn: async () => {
    await ensureBundle();
    let handler: (req: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 });
    const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => handler(req));
    const appUrl = `http://127.0.0.1:${app.addr.port}`;
    const store = await serveEmulator({ buckets: ["datasets"], credentials: [CREDS] }); // no CORS rule
    try {
      const client = new OssClient({ endpoint: store.url, credentials: CREDS });
      const images = Array.from({ length: 10 }, (_, n) => `pets/img_${String(n).padStart(2, "0")}.png`);
      for (const [n, key] of images.entries()) await client.put("datasets", key, testCard(n));
      await client.put("datasets", "pets/README.txt", "Generated test cards for the ossflow preview page.\n");
      await client.put("datasets", "pets/labels.jsonl", '{"image":"img_00.png","label":0}\n');
      await client.put("datasets", "pets/weights.bin", crypto.getRandomValues(new Uint8Array(64)));
      handler = createPreviewApp({
        client,
        bucket: "datasets",
        prefixes: ["pets/"],
        token: TOKEN,
        title: "ossflow preview — no CORS rule",
        listLimit: 10,
      }).fetch;

      await using session = await openBrowser({ viewport: { width: 1100, height: 720 } });
      const { page } = session;
      const listLimits: string[] = [];
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (u.pathname === "/api/list") listLimits.push(u.searchParams.get("limit") ?? "");
      });
      const settle = async () => {
        await page.waitForSelector("body[data-state=done], body[data-state=error]", { state: "attached" });
        expect(await page.getAttribute("body", "data-state")).toBe("done");
      };
      await page.goto(`${appUrl}/#token=${TOKEN}&prefix=pets/`);
      await settle();
      // The app's listLimit is the page size: 10 of 13 objects, and a button for the rest.
      expect(await page.locator("#grid figure").count()).toBe(10);
      expect(await page.isVisible("#more")).toBe(true);
      await page.click("#more");
      await page.waitForFunction(() =>
        (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document
          .querySelectorAll("#grid figure").length === 13
      );
      await settle();
      expect(listLimits).toEqual(["10", "10"]);

      // One notice, naming the page's origin in the rule to add.
      expect(await page.locator("#notice").count()).toBe(1);
      expect(await page.isVisible("#notice")).toBe(true);
      const notice = await page.textContent("#notice") ?? "";
      expect(notice).toContain("no CORS rule for this page");
      expect(notice).toContain(`<AllowedOrigin>${appUrl}</AllowedOrigin>`);
      expect(notice).toContain(`--cors-origin ${appUrl}`);

      // Each image tile names its own object; every note fits its tile (wrapped, not clipped).
      const tiles = await page.$$eval("#grid figure", (figs) =>
        figs.map((f) => {
          const note = f.querySelector(".note") as
            | {
              textContent: string | null;
              scrollHeight: number;
              clientHeight: number;
              scrollWidth: number;
              clientWidth: number;
            }
            | null;
          return {
            key: f.querySelector(".key")?.getAttribute("title") ?? "",
            failed: f.classList.contains("failed"),
            note: note?.textContent ?? "",
            fits: note === null ||
              (note.scrollHeight <= note.clientHeight + 1 && note.scrollWidth <= note.clientWidth + 1),
            text: f.querySelector("pre")?.textContent ?? "",
          };
        }));
      for (const key of images) {
        const tile = tiles.find((t) => t.key === key);
        expect(tile).toMatchObject({ failed: true, fits: true });
        expect(tile!.note).toBe(`${key}: blocked by CORS (the bucket has no rule for this page: see above)`);
      }
      // The previews that come through the app still load.
      expect(tiles.filter((t) => !t.failed).map((t) => t.key).sort()).toEqual([
        "pets/README.txt",
        "pets/labels.jsonl",
        "pets/weights.bin",
      ]);
      expect(tiles.find((t) => t.key === "pets/README.txt")!.text).toContain("Generated test cards");
      expect(await page.textContent("#status")).toBe("13 objects under pets/, 10 failed");
      // The browser logs each refused fetch; nothing else went wrong.
      const other = session.errors.filter((e) =>
        !/CORS policy|Failed to load resource|net::ERR_FAILED/.test(e)
      );
      expect(other).toEqual([]);
      const path = await session.screenshot("preview-no-cors.png");
      console.log(`screenshot: ${path}`);
    } finally {
      await store.close();
      await app.shutdown();
    }
  },
}));

Deno.test(needs(CHROMIUM, {
  name: "with a CORS rule, an object that keeps failing fails only its own tile, naming it; the others load",
  fn: async () => {
    await ensureBundle();
    let handler: (req: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 });
    const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => handler(req));
    const appUrl = `http://127.0.0.1:${app.addr.port}`;
    const failing = "pets/img_02.png";
    const store = await serveEmulator({
      buckets: ["datasets"],
      credentials: [CREDS],
      cors: { origins: [appUrl] },
      // Every GET of one object is answered 503 SlowDown: its fetch fails for good after the retries.
      faults: {
        errorRate: 1,
        errorKinds: ["slowdown"],
        match: (method, key) => method === "GET" && key === failing,
      },
    });
    try {
      const client = new OssClient({ endpoint: store.url, credentials: CREDS });
      const images = Array.from({ length: 5 }, (_, n) => `pets/img_${String(n).padStart(2, "0")}.png`);
      for (const [n, key] of images.entries()) await client.put("datasets", key, testCard(n));
      handler = createPreviewApp({ client, bucket: "datasets", prefixes: ["pets/"], token: TOKEN }).fetch;
      await using session = await openBrowser({ viewport: { width: 1100, height: 500 } });
      const { page } = session;
      await page.goto(`${appUrl}/#token=${TOKEN}&prefix=pets/`);
      await page.waitForSelector("body[data-state=done]", { state: "attached" });
      expect(await page.locator("#grid img").count()).toBe(4);
      const failed = await page.$$eval(".failed", (figs) =>
        figs.map((f) => ({
          key: f.querySelector(".key")?.getAttribute("title"),
          note: f.querySelector(".note")?.textContent ?? "",
        })));
      expect(failed.length).toBe(1);
      expect(failed[0].key).toBe(failing);
      expect(failed[0].note).toContain(`Failed: SlowDown (HTTP 503) on GET datasets/${failing}`);
      expect(await page.isHidden("#notice")).toBe(true); // not a CORS problem
      expect(await page.textContent("#status")).toBe("5 objects under pets/, 1 failed");
    } finally {
      await store.close();
      await app.shutdown();
    }
  },
}));
