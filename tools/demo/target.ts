/**
 * Where the demo runs: the local server started in this process (the default), or a real OSS / S3-compatible
 * endpoint from the flags, with credentials from `--cred-path`, the environment or the default credential file.
 *
 * @module
 */
import { OssClient } from "../../src/client.ts";
import { type CredentialsProvider, staticCredentials } from "../../src/credentials.ts";
import { defaultCredentials, fileCredentials } from "../../src/credential_file.ts";
import { ConfigError } from "../../src/errors.ts";
import { serveEmulator, type ServeEmulatorOptions } from "../../src/server/emulator.ts";
import type { DemoOptions } from "./args.ts";
import type { ServerReply, ServerRequest } from "./server_worker.ts";

/** The settings datasets and checkpoints are built from (the same for both). */
export interface Connection {
  endpoint: string;
  region?: string;
  credentials: CredentialsProvider;
  signatureVersion: "oss4" | "s3v4";
  pathStyle?: boolean;
}

/** An open target. */
export interface Target {
  /** One line for the banner, e.g. `local server http://127.0.0.1:40123 (in memory)`. */
  description: string;
  /** Whether this is the embedded local server. */
  local: boolean;
  connection: Connection;
  /** A client over the same connection, for seeding and cleaning up. */
  client: OssClient;
  /** Stops the local server (no-op for a remote endpoint). */
  close(): Promise<void>;
}

/**
 * Starts the local server in a Web Worker, so that it has a thread of its own as a real endpoint would (in
 * this thread where `Worker` does not exist).
 */
async function startServer(options: ServeEmulatorOptions): Promise<{ url: string; close(): Promise<void> }> {
  if (typeof Worker === "undefined") return await serveEmulator(options);
  const w = new Worker(new URL("./server_worker.ts", import.meta.url), { type: "module" });
  const ask = (msg: ServerRequest) =>
    new Promise<ServerReply>((resolve, reject) => {
      w.onmessage = (ev: MessageEvent<ServerReply>) => resolve(ev.data);
      w.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        reject(new Error(`local server worker: ${ev.message}`));
      };
      w.postMessage(msg);
    });
  const ready = await ask({ type: "start", options }).catch((e) => {
    w.terminate();
    throw e;
  });
  if (ready.type !== "ready") {
    w.terminate();
    throw new Error(`local server: ${ready.type === "error" ? ready.message : ready.type}`);
  }
  return {
    url: ready.url,
    async close() {
      try {
        await ask({ type: "close" });
      } finally {
        w.terminate();
      }
    },
  };
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join(
      "",
    );
}

/**
 * Starts the local server or checks the remote endpoint's credentials and bucket.
 *
 * @throws {ConfigError} when the remote endpoint has no usable credentials.
 * @example
 * ```ts ignore
 * const target = await openTarget(options);
 * try { ... } finally { await target.close(); }
 * ```
 */
export async function openTarget(o: DemoOptions): Promise<Target> {
  if (o.endpoint === undefined) {
    // A fresh key per run: the server verifies every signature, as OSS does.
    const key = { accessKeyId: `LTAIdemo${randomHex(6)}`, accessKeySecret: randomHex(16) };
    const server = await startServer({
      buckets: [o.bucket],
      credentials: [key],
      minPartSize: 100 * 1024, // OSS's limit
      connectionProxy: false, // no injected connection resets in the demo
    });
    const connection: Connection = {
      endpoint: server.url,
      region: o.region ?? "cn-hangzhou",
      credentials: staticCredentials(key),
      signatureVersion: o.signatureVersion,
    };
    return {
      description: `local server ${server.url} (in memory, in a worker thread of the demo)`,
      local: true,
      connection,
      client: new OssClient(connection),
      close: () => server.close(),
    };
  }

  const credentials = o.credPath !== undefined ? fileCredentials(o.credPath) : defaultCredentials();
  await credentials.getCredentials(); // fail now, with the provider's message, rather than mid-run
  const connection: Connection = {
    endpoint: o.endpoint,
    region: o.region,
    credentials,
    signatureVersion: o.signatureVersion,
    pathStyle: o.pathStyle,
  };
  let client: OssClient;
  try {
    client = new OssClient(connection);
  } catch (e) {
    const msg = (e as Error).message;
    if (o.region === undefined && /region/.test(msg)) {
      throw new ConfigError(
        `--region: the endpoint ${o.endpoint} names no region; pass --region (e.g. --region cn-hangzhou) or set OSS_REGION`,
      );
    }
    throw new ConfigError(`--endpoint ${JSON.stringify(o.endpoint)}: ${msg}`);
  }
  return {
    description: `${o.endpoint} (from ${o.endpointSource}, ${o.signatureVersion}, region ${client.region})`,
    local: false,
    connection,
    client,
    close: () => Promise.resolve(),
  };
}
