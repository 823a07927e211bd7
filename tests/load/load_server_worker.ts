// The load test's server, run in a Web Worker so that it has a thread (and a core) of its own, as a real store
// would: { buckets, credentials } in, { url } out; "close" stops it and answers with its stats. No faults are
// injected, so it serves without the connection proxy that the `reset` fault needs (that JavaScript TCP relay
// costs about two thirds of the throughput at 512 connections and is not what this test measures).
import { serveEmulator } from "../../src/server/emulator.ts";

const self = globalThis as unknown as Worker;
self.onmessage = async (e: MessageEvent) => {
  if (e.data?.start) {
    const { buckets, credentials } = e.data.start;
    const server = await serveEmulator({
      buckets,
      credentials,
      region: "cn-hangzhou",
      port: 0,
      connectionProxy: false,
    });
    self.onmessage = async (m: MessageEvent) => {
      if (m.data !== "close") return;
      await server.close();
      self.postMessage({ closed: server.stats.toJSON() });
    };
    self.postMessage({ url: server.url });
  }
};
