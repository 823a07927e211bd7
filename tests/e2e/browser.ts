// Headless Chromium for end-to-end tests: Debian's `chromium` package driven by `playwright-core` (which
// downloads no browser of its own). Screenshots go to tests/e2e/out/ (gitignored; kept by CI as artifacts).
//
//   import { openBrowser } from "./browser.ts";
//   import { CHROMIUM, needs } from "../needs.ts";
//   Deno.test(needs(CHROMIUM, { name: "preview page shows thumbnails", fn: async () => {
//     await using session = await openBrowser();
//     await session.page.goto(url);
//     await session.screenshot("preview.png");
//     expect(session.errors).toEqual([]);
//   } }));
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { chromiumPath } from "../needs.ts";

/** Where screenshots are written. */
export const E2E_OUT: URL = new URL("./out/", import.meta.url);

/** Options of {@linkcode openBrowser}. */
export interface OpenBrowserOptions {
  /** The browser executable; default `chromiumPath()` of tests/needs.ts. */
  executablePath?: string;
  /** Page size; default 1280 × 800. */
  viewport?: { width: number; height: number };
  /** Default timeout of page actions, ms; default 30 000. */
  timeoutMs?: number;
}

/** A running headless browser with one page. Close it with `close()` or `await using`. */
export interface BrowserSession extends AsyncDisposable {
  /** The browser. */
  browser: Browser;
  /** The browser context of `page`. */
  context: BrowserContext;
  /** A fresh page. */
  page: Page;
  /** The browser's version, e.g. "156.0.8078.108". */
  version: string;
  /** Uncaught page errors and console errors seen so far, as text. */
  errors: string[];
  /** Saves a full-page PNG screenshot as tests/e2e/out/<name> and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Closes the browser. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium (with `--no-sandbox`: CI runs as root) and opens a page.
 * Throws, saying how to install it, when no Chromium is found.
 */
export async function openBrowser(opts: OpenBrowserOptions = {}): Promise<BrowserSession> {
  const executablePath = opts.executablePath ?? chromiumPath();
  if (!executablePath) {
    throw new Error(
      "no Chromium found: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH",
    );
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
    context.setDefaultTimeout(opts.timeoutMs ?? 30_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console error: ${msg.text()}`);
    });
    const close = () => browser.close();
    return {
      browser,
      context,
      page,
      version: browser.version(),
      errors,
      async screenshot(name: string) {
        if (!/^[\w.-]+\.png$/.test(name)) {
          throw new TypeError(`screenshot: name: expected a file name like "preview.png", got "${name}"`);
        }
        await Deno.mkdir(E2E_OUT, { recursive: true });
        const path = new URL(name, E2E_OUT).pathname;
        await page.screenshot({ path, fullPage: true });
        return path;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
