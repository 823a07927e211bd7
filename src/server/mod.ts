/**
 * The OSS-compatible local server: {@linkcode createEmulator} (a Hono app), {@linkcode serveEmulator}
 * (listening on 127.0.0.1) and its fault injection (the object stores behind it are `./server/store`); and the dataset preview app
 * ({@linkcode createPreviewApp}): list a prefix, preview objects, hand out presigned URLs to a browser page.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { serveEmulator } from "./mod.ts";
 * const server = await serveEmulator({ buckets: ["data"], faults: { latencyMs: 5 } });
 * const put = await fetch(`${server.url}/data/hello.txt`, { method: "PUT", body: "hi" });
 * await put.body?.cancel();
 * expect(put.headers.get("x-oss-hash-crc64ecma") !== null).toBe(true);
 * await server.close();
 * ```
 *
 * @module
 */
export {
  type CorsOptions,
  createEmulator,
  type EmulatorBindings,
  type EmulatorEnv,
  type EmulatorOptions,
  type RunningEmulator,
  serveEmulator,
  type ServeEmulatorOptions,
  type ServerApp,
} from "./emulator.ts";
export { EmulatorError, type EmulatorErrorInit } from "./error.ts";
export {
  createPreviewApp,
  type ObjectPreview,
  type PreviewAppOptions,
  type PreviewPresigner,
} from "./preview/app.ts";
export { EmulatorStats } from "./stats.ts";
export type { ApiForm } from "./routes/xml_responses.ts";
export {
  FAULT_KINDS,
  FaultInjector,
  type FaultKind,
  type FaultOptions,
  type FaultPlan,
  type LatencySpike,
} from "./faults.ts";
export type { PreviewKind } from "./preview/content.ts";
