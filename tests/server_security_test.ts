import { expect } from "expect";
import { serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

/** Sends a raw HTTP/1.1 request (paths exactly as written, no client-side normalisation). */
async function raw(port: number, head: string, body = ""): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      enc.encode(`${head}\r\nContent-Length: ${enc.encode(body).length}\r\nConnection: close\r\n\r\n${body}`),
    );
    const text = await new Response(conn.readable).text();
    return { status: Number(text.slice(9, 12)), text };
  } catch (err) {
    conn.close();
    throw err;
  }
}

function walk(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((
    e,
  ) => (e.isDirectory ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
}

Deno.test("security: traversal attempts in keys and bucket names never touch files outside the data directory", async () => {
  const parent = await Deno.makeTempDir({ prefix: "ossflow-sec-" });
  const dir = `${parent}/data-dir`;
  const store = new DirectoryStore(dir);
  const s = await serveEmulator({ store, buckets: ["data"] });
  try {
    const attempts: [string, number[]][] = [
      ["PUT /data/..%2F..%2Fescape.txt HTTP/1.1", [400]],
      ["PUT /data/a/..%2F..%2F..%2Fescape.txt HTTP/1.1", [400]],
      ["PUT /data/%2e%2e/%2e%2e/escape.txt HTTP/1.1", [400, 404]],
      ["PUT /data/../../escape.txt HTTP/1.1", [400, 404]],
      ["PUT /data/..%5C..%5Cescape.txt HTTP/1.1", [400]],
      ["PUT /data/%5Cescape.txt HTTP/1.1", [400]],
      ["PUT /data//escape.txt HTTP/1.1", [400]],
      ["PUT /data/nul%00byte HTTP/1.1", [400]],
      ["PUT /data/bad%ZZescape HTTP/1.1", [400]],
      [`PUT /data/${"x".repeat(1024)} HTTP/1.1`, [400]],
      ["PUT /..%2Fescape HTTP/1.1", [400]],
      ["PUT /..%2F..%2Fescape/k HTTP/1.1", [404]],
      ["GET /data/..%2F..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1", [400]],
    ];
    for (const [line, allowed] of attempts) {
      const res = await raw(s.port, `${line}\r\nHost: 127.0.0.1:${s.port}`, "escaped!");
      expect([line.slice(0, 60), allowed.includes(res.status)]).toEqual([line.slice(0, 60), true]);
      if (res.status === 400) {
        expect(res.text).toMatch(/<Code>(InvalidObjectName|InvalidBucketName|InvalidURI)<\/Code>/);
      }
    }
    // Legitimate keys that merely contain dots still work and stay confined.
    const ok = await raw(s.port, `PUT /data/a..b/.hidden/..x HTTP/1.1\r\nHost: 127.0.0.1:${s.port}`, "fine");
    expect(ok.status).toBe(200);
    expect([...Deno.readDirSync(parent)].map((e) => e.name)).toEqual(["data-dir"]);
    for (const file of walk(dir)) expect(file.startsWith(`${dir}/`)).toBe(true);
    const contents = await Promise.all(walk(dir).map((f) => Deno.readTextFile(f)));
    expect(contents.filter((c) => c.includes("escaped!"))).toEqual([]);
  } finally {
    await s.close();
    await store.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("security: virtual-hosted Host headers address buckets (localhost, aliyuncs.com, configured hosts)", async () => {
  const s = await serveEmulator({ buckets: ["data"], virtualHosts: ["s3.test"] });
  try {
    await s.store.put("data", "dir/k.txt", enc.encode("vhost"));
    for (const host of ["data.localhost", "data.oss-cn-hangzhou.aliyuncs.com", "data.s3.test"]) {
      const res = await raw(s.port, `GET /dir/k.txt HTTP/1.1\r\nHost: ${host}:${s.port}`);
      expect([host, res.status, res.text.endsWith("vhost")]).toEqual([host, 200, true]);
    }
    const list = await raw(s.port, `GET /?list-type=2 HTTP/1.1\r\nHost: data.localhost`);
    expect(list.text).toContain("<Key>dir/k.txt</Key>");
    const other = await raw(s.port, `GET /data/dir/k.txt HTTP/1.1\r\nHost: example.com`);
    expect(other.status).toBe(200);
  } finally {
    await s.close();
  }
});

Deno.test("security: an oversized header section is rejected when maxHeaderBytes is set", async () => {
  const s = await serveEmulator({ buckets: ["data"], maxHeaderBytes: 4096 });
  try {
    const res = await fetch(`${s.url}/data/k`, { headers: { "x-oss-meta-big": "x".repeat(5000) } });
    expect([res.status, /<Code>([^<]*)/.exec(await res.text())?.[1]]).toEqual([
      400,
      "RequestHeaderSectionTooLarge",
    ]);
  } finally {
    await s.close();
  }
});
