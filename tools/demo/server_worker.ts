/**
 * Runs the local server (`serveEmulator`) in a Web Worker, so that the server's work (signature checks,
 * CRC-64, storage) gets its own thread instead of sharing the demo's: the rates printed are then the client's.
 *
 * Protocol: `{ type: "start", options }` → `{ type: "ready", url }` or `{ type: "error", message }`;
 * `{ type: "close" }` → `{ type: "closed" }`.
 *
 * @module
 */
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../../src/server/emulator.ts";

/** Main thread → server worker. */
export type ServerRequest = { type: "start"; options: ServeEmulatorOptions } | { type: "close" };
/** Server worker → main thread. */
export type ServerReply = { type: "ready"; url: string } | { type: "error"; message: string } | {
  type: "closed";
};

interface WorkerScope {
  onmessage: ((ev: MessageEvent<ServerRequest>) => void) | null;
  postMessage(message: ServerReply): void;
}

const scope = globalThis as unknown as WorkerScope;
let server: RunningEmulator | undefined;

scope.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    if (msg.type === "start") {
      server = await serveEmulator(msg.options);
      scope.postMessage({ type: "ready", url: server.url });
    } else if (msg.type === "close") {
      await server?.close();
      scope.postMessage({ type: "closed" });
    }
  } catch (e) {
    scope.postMessage({ type: "error", message: (e as Error)?.message ?? String(e) });
  }
};
