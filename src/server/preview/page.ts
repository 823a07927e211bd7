/**
 * The preview app's page (`GET /`) and its script (`GET /app.js`): no framework, no inline script. The page
 * asks for the bearer token (or takes it from the URL fragment `#token=…`, then removes it from the address
 * bar), lists a prefix through `/api/list` (pages of the app's `listLimit`), and shows a grid: images are
 * fetched straight from the store by presigned URL through the library's browser bundle
 * (`OssMapDataset.fromUrls`, each on its own, so that a failure names its own object), other objects through
 * `/api/preview` (truncated text, JSON lines, hex). When the store refuses the page by CORS (a no-cors fetch of
 * the same URL gets an answer where the CORS fetch got none), a notice says so once, with the rule to add.
 *
 * @module
 */
import { TENSOR_TABLE_CSS, TENSOR_TABLE_SCRIPT } from "./safetensors.ts";

/** What the page needs to know; nothing secret. */
export interface PreviewPageOptions {
  /** Page title. */
  title: string;
  /** URL of the browser bundle (`dist/ossflow.js`), relative to the page or absolute. */
  bundleUrl: string;
  /** Origins the page may fetch from besides its own (the store's, for presigned URLs). */
  connectOrigins?: string[];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function originOf(url: string): string | undefined {
  const u = URL.parse(url);
  return u && (u.protocol === "https:" || u.protocol === "http:") ? u.origin : undefined;
}

/**
 * The Content-Security-Policy of the page: scripts from the app (and the bundle's origin), images from the app
 * and object URLs, fetches to the app and the store.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { pageCsp } from "./page.ts";
 * const csp = pageCsp({ title: "t", bundleUrl: "./ossflow.js", connectOrigins: ["http://127.0.0.1:9000"] });
 * expect(csp.includes("connect-src 'self' http://127.0.0.1:9000")).toBe(true);
 * ```
 */
export function pageCsp(opts: PreviewPageOptions): string {
  const bundle = originOf(opts.bundleUrl);
  const scripts = ["'self'", ...(bundle ? [bundle] : [])].join(" ");
  const connect = ["'self'", ...(opts.connectOrigins ?? []), ...(bundle ? [bundle] : [])].join(" ");
  return [
    "default-src 'none'",
    `script-src ${scripts}`,
    `worker-src ${scripts} blob:`,
    `connect-src ${connect}`,
    "img-src 'self' blob: data:",
    "style-src 'unsafe-inline'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The HTML of the page.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { previewPageHtml } from "./page.ts";
 * const html = previewPageHtml({ title: "Dataset <preview>", bundleUrl: "./ossflow.js" });
 * expect(html.includes("Dataset &#60;preview&#62;")).toBe(true);
 * ```
 */
export function previewPageHtml(opts: PreviewPageOptions): string {
  const title = escapeHtml(opts.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${PAGE_CSS}</style>
</head>
<body data-bundle="${escapeHtml(opts.bundleUrl)}" data-state="idle">
<header>
<h1>${title}</h1>
<form id="controls">
<label>Token <input id="token" type="password" autocomplete="off" spellcheck="false" required></label>
<label>Prefix <input id="prefix" list="prefixes" spellcheck="false"></label>
<datalist id="prefixes"></datalist>
<button type="submit">Show</button>
</form>
<p id="status" role="status">Enter the token to list the dataset.</p>
</header>
<section id="notice" role="alert" hidden></section>
<main id="grid"></main>
<p><button id="more" type="button" hidden>Load more</button></p>
<script type="module" src="app.js"></script>
</body>
</html>
`;
}

const PAGE_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { padding: 12px 20px; background: #1d2330; color: #fff; }
h1 { font-size: 18px; margin: 0 0 8px; }
form { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; }
input { font: inherit; padding: 3px 6px; }
#prefix { width: 22em; }
#status { margin: 8px 0 0; color: #c8cedb; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; padding: 16px 20px; }
figure { margin: 0; background: #fff; border-radius: 6px; box-shadow: 0 1px 3px #0002; overflow: hidden; }
.thumb { height: 150px; display: flex; align-items: center; justify-content: center; background: #e9ecf2; }
.thumb img { max-width: 100%; max-height: 100%; image-rendering: pixelated; }
.tar { overflow: auto; max-height: 100%; font-size: 11px; text-align: left; }
.tar div { display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.tar img { max-height: 32px; }
.tar pre { margin: 0; }
.thumb pre { margin: 0; padding: 6px; width: 100%; height: 100%; box-sizing: border-box; overflow: hidden;
  font: 11px/1.3 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; background: #fff; }
.thumb pre.hex { word-break: normal; }
.thumb .note { color: #8a93a6; margin: 0; padding: 8px; max-height: 100%; box-sizing: border-box; overflow: auto;
  overflow-wrap: anywhere; font-size: 12px; }
.failed .thumb { align-items: flex-start; }
.failed .thumb .note { color: #8b1c1c; }
#notice { margin: 16px 20px 0; padding: 12px 16px; background: #fff4d6; border: 1px solid #e8c36a; border-radius: 6px; }
#notice h2 { font-size: 15px; margin: 0 0 6px; }
#notice p { margin: 6px 0; }
#notice pre { margin: 6px 0; padding: 8px; background: #fff; overflow: auto; font: 12px/1.35 ui-monospace, monospace; }
figcaption { padding: 6px 8px; display: flex; justify-content: space-between; gap: 6px; font-size: 12px; }
figcaption .key { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
figcaption .size { color: #6b7385; white-space: nowrap; }
.failed .thumb { background: #fbe9e9; }
#more { margin: 0 20px 20px; }
${TENSOR_TABLE_CSS}`;

/**
 * The page's script (an ES module, served at `/app.js`). Plain JavaScript: it runs in the browser as-is.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { PREVIEW_PAGE_SCRIPT } from "./page.ts";
 * expect(PREVIEW_PAGE_SCRIPT.includes("OssMapDataset.fromUrls")).toBe(true);
 * ```
 */
export const PREVIEW_PAGE_SCRIPT: string = `// ossflow preview page
const TOKEN_KEY = "ossflow-preview-token";
const PRESIGN_BATCH = 100;
const IMAGE_CONCURRENCY = 6;
const $ = (id) => document.getElementById(id);
const body = document.body;
const grid = $("grid");
const statusLine = $("status");
const more = $("more");
const tokenInput = $("token");
const prefixInput = $("prefix");
const prefixList = $("prefixes");
const objectUrls = [];
let token = "";
let prefix = "";
let cursor;
let bundle;
let pageSize = 100; // the app's listLimit, from /api/config
let corsCheck; // once: whether the store refuses this page by CORS

class AuthError extends Error {}

function setStatus(text) {
  statusLine.textContent = text;
}

function formatSize(n) {
  if (n < 0) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
}

const IMAGE_EXT = /\\.(png|jpe?g|gif|webp|avif|bmp|ico|svg)$/i;
const TYPES = { jpg: "image/jpeg", jpeg: "image/jpeg", svg: "image/svg+xml", ico: "image/x-icon" };
function imageType(key) {
  const m = IMAGE_EXT.exec(key);
  return m ? TYPES[m[1].toLowerCase()] ?? "image/" + m[1].toLowerCase() : "";
}

async function api(path, params) {
  const url = new URL(path, location.href);
  for (const [name, value] of params) url.searchParams.append(name, value);
  const res = await fetch(url, { headers: { authorization: "Bearer " + token } });
  if (res.status === 401) throw new AuthError("the token was refused");
  if (!res.ok) {
    let message = "HTTP " + res.status;
    try {
      message = (await res.json()).error.message;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(message);
  }
  return res;
}

function addCard(object) {
  const figure = document.createElement("figure");
  const thumb = document.createElement("div");
  thumb.className = "thumb";
  const caption = document.createElement("figcaption");
  const key = document.createElement("span");
  key.className = "key";
  key.textContent = object.key.slice(prefix.lastIndexOf("/") + 1) || object.key;
  key.title = object.key;
  const size = document.createElement("span");
  size.className = "size";
  size.textContent = formatSize(object.size);
  caption.append(key, size);
  figure.append(thumb, caption);
  grid.append(figure);
  return { key: object.key, figure, thumb, done: false };
}

function note(card, text, failed) {
  const p = document.createElement("p");
  p.className = "note";
  p.textContent = text;
  card.thumb.replaceChildren(p);
  card.figure.classList.toggle("failed", Boolean(failed));
  card.done = true;
}

function showImage(card, blob) {
  const url = URL.createObjectURL(blob);
  objectUrls.push(url);
  const img = new Image();
  img.alt = card.key;
  card.done = true;
  return new Promise((resolve) => {
    img.onload = () => {
      card.thumb.replaceChildren(img);
      resolve();
    };
    img.onerror = () => {
      note(card, "not a displayable image", true);
      resolve();
    };
    img.src = url;
  });
}

function showTarSamples(card, p) {
  const box = document.createElement("div");
  box.className = "tar";
  for (const sample of p.samples) {
    const row = document.createElement("div");
    row.append(Object.assign(document.createElement("b"), { textContent: sample.key }));
    for (const m of sample.members) {
      if (m.image) {
        const img = Object.assign(document.createElement("img"), { src: m.image, alt: sample.key + "." + m.ext });
        img.title = m.ext + ", " + m.size + " bytes";
        row.append(img);
      } else {
        const pre = document.createElement("pre");
        pre.textContent = "." + m.ext + ": " + (m.text ?? m.hex ?? "");
        row.append(pre);
      }
    }
    box.append(row);
  }
  const more = p.truncated ? ", more follow" : "";
  box.title = "tar shard: first " + p.samples.length + " samples" + more;
  card.thumb.replaceChildren(box);
  card.done = true;
}

function showPreview(card, p) {
  if (p.kind === "safetensors") return showTensorTable(card, p);
  if (p.kind === "tar") return showTarSamples(card, p);
  const pre = document.createElement("pre");
  if (p.kind === "binary") {
    pre.className = "hex";
    pre.textContent = p.hex + (p.truncated ? " …" : "");
  } else if (p.kind === "jsonl") {
    pre.textContent = p.records.map((r) => JSON.stringify(r)).join("\\n");
  } else {
    pre.textContent = p.text + (p.truncated ? "…" : "");
  }
  pre.title = p.kind + (p.truncated ? " (truncated)" : "") + ", " + (p.contentType ?? "no content type");
  card.thumb.replaceChildren(pre);
  card.done = true;
}

function corsNotice(store) {
  const origin = location.origin;
  const h = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
  const rule = [
    "<CORSRule>",
    "  <AllowedOrigin>" + origin + "</AllowedOrigin>",
    "  <AllowedMethod>GET</AllowedMethod>",
    "  <AllowedMethod>HEAD</AllowedMethod>",
    "  <AllowedHeader>*</AllowedHeader>",
    "  <ExposeHeader>ETag</ExposeHeader>",
    "  <ExposeHeader>x-oss-hash-crc64ecma</ExposeHeader>",
    "  <ExposeHeader>x-oss-request-id</ExposeHeader>",
    "  <MaxAgeSeconds>600</MaxAgeSeconds>",
    "</CORSRule>",
  ].join("\\n");
  const notice = $("notice");
  notice.replaceChildren(
    h("h2", "Images are blocked: the bucket has no CORS rule for this page"),
    h(
      "p",
      "The page fetches images straight from the bucket (" + store + ") by presigned URL, and the bucket's " +
        "answers do not allow this page's origin (" + origin + "), so the browser withholds them. Previews " +
        "that come through this app still load. Add this rule to the bucket (OSS console: Bucket > Permissions " +
        "> Cross-Origin Resource Sharing, or PutBucketCors), then reload:",
    ),
    h("pre", rule),
    h("p", "The local server: start it with --cors-origin " + origin + ", or serveEmulator({ cors: { origins: [" +
      JSON.stringify(origin) + "] } })."),
  );
  notice.hidden = false;
}

/**
 * Whether a failed fetch of url was CORS: a no-cors fetch of the same URL gets an (opaque) answer where the
 * CORS fetch got none, so the store is there but refuses this page. Asked once; the notice is shown once.
 */
function corsBlocked(url) {
  corsCheck ??= fetch(url, { mode: "no-cors", cache: "no-store" }).then(
    () => (corsNotice(new URL(url).origin), true),
    () => false,
  );
  return corsCheck;
}

/** Each image is fetched on its own, so one failure names its own object and the others still load. */
async function loadImage(ds, index, card, url) {
  if (!(corsCheck && (await corsCheck))) {
    try {
      const item = await ds.get(index);
      await showImage(card, new Blob([await item.bytes()], { type: imageType(card.key) }));
      return;
    } catch (err) {
      if (!(err?.code === "NetworkError" && (await corsBlocked(url)))) {
        note(card, "Failed: " + (err?.message ?? String(err)), true);
        return;
      }
    }
  }
  note(card, card.key + ": blocked by CORS (the bucket has no rule for this page: see above)", true);
}

async function loadImages(cards) {
  if (cards.length === 0) return;
  bundle ??= import(body.dataset.bundle);
  const { OssMapDataset } = await bundle;
  for (let i = 0; i < cards.length; i += PRESIGN_BATCH) {
    const batch = cards.slice(i, i + PRESIGN_BATCH);
    const params = batch.map((c) => ["key", c.key]);
    const { items } = await (await api("api/presign", params)).json();
    const urls = items.map((item) => item.url);
    const ds = await OssMapDataset.fromUrls(urls);
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const j = next++;
        await loadImage(ds, j, batch[j], urls[j]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(IMAGE_CONCURRENCY, batch.length) }, worker));
  }
}

async function loadPreviews(cards) {
  let next = 0;
  const worker = async () => {
    while (next < cards.length) {
      const card = cards[next++];
      try {
        const res = await api("api/preview", [["key", card.key]]);
        if ((res.headers.get("content-type") ?? "").startsWith("image/")) await showImage(card, await res.blob());
        else showPreview(card, await res.json());
      } catch (err) {
        if (err instanceof AuthError) throw err;
        note(card, "failed: " + err.message, true);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, cards.length) }, worker));
}

async function loadPage() {
  body.dataset.state = "loading";
  setStatus("Listing " + prefix + " …");
  const params = [["prefix", prefix], ["limit", String(pageSize)]];
  if (cursor) params.push(["cursor", cursor]);
  const page = await (await api("api/list", params)).json();
  cursor = page.nextCursor;
  more.hidden = !cursor;
  const cards = page.objects.map(addCard);
  setStatus("Loading " + cards.length + " previews …");
  await Promise.all([
    loadImages(cards.filter((c) => imageType(c.key))),
    loadPreviews(cards.filter((c) => !imageType(c.key))),
  ]);
  const failed = grid.querySelectorAll(".failed").length;
  setStatus(
    grid.children.length + " objects under " + (prefix || "the bucket") + (cursor ? ", more to load" : "") +
      (failed ? ", " + failed + " failed" : ""),
  );
  body.dataset.state = "done";
}

async function run(task) {
  try {
    await task();
  } catch (err) {
    body.dataset.state = "error";
    if (err instanceof AuthError) {
      sessionStorage.removeItem(TOKEN_KEY);
      tokenInput.focus();
    }
    setStatus("Error: " + err.message);
  }
}

async function start() {
  token = tokenInput.value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  const config = await (await api("api/config", [])).json();
  pageSize = config.listLimit ?? pageSize;
  prefixList.replaceChildren(...config.prefixes.map((p) => Object.assign(document.createElement("option"), { value: p })));
  if (!prefixInput.value) prefixInput.value = config.prefixes[0];
  prefix = prefixInput.value;
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  grid.replaceChildren();
  cursor = undefined;
  await loadPage();
}

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  run(start);
});
more.addEventListener("click", () => run(loadPage));

const fragment = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);
prefixInput.value = fragment.get("prefix") ?? query.get("prefix") ?? "";
if (fragment.has("token")) {
  tokenInput.value = fragment.get("token");
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
} else {
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
}
if (tokenInput.value) run(start);
${TENSOR_TABLE_SCRIPT}`;
