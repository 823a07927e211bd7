/**
 * The official `ali-oss` Node SDK against the local server, with V4 signatures verified.
 *
 * Addressing: with an IP endpoint ali-oss keeps the URL path at `/key` and sends
 * `Host: <bucket>.<region>.aliyuncs.com`; the server reads the bucket from that Host header
 * (virtual-hosted style). `sldEnable` must stay off: it would put the bucket in the path as well.
 */
import { expect } from "expect";
import OSS from "ali-oss";
import { Buffer } from "node:buffer";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";
import { crc64 } from "../src/crc64.ts";

const AK = "LTAI5tAliOssTest";
const SK = "ali-oss-test-secret";

// deno-lint-ignore no-explicit-any
type Client = any;

function client(s: RunningEmulator, secret = SK): Client {
  return new OSS({
    endpoint: s.url,
    region: "oss-cn-hangzhou",
    accessKeyId: AK,
    accessKeySecret: secret,
    bucket: "data",
    authorizationV4: true,
    timeout: 30_000,
  });
}

for (const backend of ["memory", "directory"]) {
  Deno.test({
    name: `ali-oss (${backend} store): put, get, range get, head, copy, list, append, delete, deleteMulti`,
    // ali-oss keeps pooled keep-alive sockets and timers beyond the test.
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = backend === "directory" ? await Deno.makeTempDir({ prefix: "ossflow-alioss-" }) : undefined;
      const store: ObjectStore = dir ? new DirectoryStore(dir) : new MemoryStore();
      const s = await serveEmulator({
        store,
        buckets: ["data"],
        credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
      });
      try {
        const oss = client(s);
        const put = await oss.put("images/0001.jpg", Buffer.from("jpeg bytes"), { meta: { label: "cat" } });
        expect(put.res.status).toBe(200);
        expect(put.res.headers["x-oss-hash-crc64ecma"]).toBe(
          await crc64(new TextEncoder().encode("jpeg bytes")),
        );
        for (let i = 2; i <= 5; i++) await oss.put(`images/000${i}.jpg`, Buffer.from(`image ${i}`));
        await oss.put("labels.txt", Buffer.from("cat\ndog\n"));

        const got = await oss.get("images/0001.jpg");
        expect(got.content.toString()).toBe("jpeg bytes");
        const range = await oss.get("images/0001.jpg", { headers: { Range: "bytes=5-9" } });
        expect([range.res.status, range.content.toString()]).toEqual([206, "bytes"]);
        const head = await oss.head("images/0001.jpg");
        expect(head.meta).toEqual({ label: "cat" });
        expect(head.res.headers["content-length"]).toBe("10");

        const copied = await oss.copy("copies/0001.jpg", "images/0001.jpg");
        expect(copied.res.status).toBe(200);
        expect((await oss.get("copies/0001.jpg")).content.toString()).toBe("jpeg bytes");

        const v1 = await oss.list({ prefix: "images/", "max-keys": 3 }, {});
        expect(v1.objects.map((o: { name: string }) => o.name)).toEqual([
          "images/0001.jpg",
          "images/0002.jpg",
          "images/0003.jpg",
        ]);
        expect(v1.isTruncated).toBe(true);
        const v1next = await oss.list({ prefix: "images/", marker: v1.nextMarker, "max-keys": 3 }, {});
        expect(v1next.objects.map((o: { name: string }) => o.name)).toEqual([
          "images/0004.jpg",
          "images/0005.jpg",
        ]);
        const grouped = await oss.list({ delimiter: "/" }, {});
        expect(grouped.prefixes).toEqual(["copies/", "images/"]);
        expect(grouped.objects.map((o: { name: string }) => o.name)).toEqual(["labels.txt"]);

        const names: string[] = [];
        let token: string | undefined;
        do {
          const page = await oss.listV2(
            { prefix: "images/", "max-keys": 2, "continuation-token": token },
            {},
          );
          names.push(...page.objects.map((o: { name: string }) => o.name));
          token = page.nextContinuationToken;
        } while (token);
        expect(names).toHaveLength(5);

        const a1 = await oss.append("logs/train.log", Buffer.from("epoch 1\n"));
        const a2 = await oss.append("logs/train.log", Buffer.from("epoch 2\n"), {
          position: a1.nextAppendPosition,
        });
        expect(Number(a2.nextAppendPosition)).toBe(16);
        expect((await oss.get("logs/train.log")).content.toString()).toBe("epoch 1\nepoch 2\n");
        await expect(oss.append("logs/train.log", Buffer.from("x"), { position: 3 })).rejects.toMatchObject({
          code: "PositionNotEqualToLength",
          status: 409,
        });

        await oss.delete("labels.txt");
        await expect(oss.get("labels.txt")).rejects.toMatchObject({ code: "NoSuchKey", status: 404 });
        const multi = await oss.deleteMulti(["images/0001.jpg", "images/0002.jpg"]);
        expect(multi.deleted.map((d: { Key: string }) => d.Key)).toEqual([
          "images/0001.jpg",
          "images/0002.jpg",
        ]);
        expect((await oss.list({ prefix: "images/" }, {})).objects).toHaveLength(3);
      } finally {
        await s.close();
        await store.close();
        if (dir) await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "ali-oss: multipartUpload with parallel parts assembles the object with the right bytes and CRC-64",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s = await serveEmulator({
      buckets: ["data"],
      credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
    });
    try {
      const oss = client(s);
      const data = Buffer.alloc(1024 * 1024 + 12345);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
      const result = await oss.multipartUpload("ckpt/model.bin", data, { partSize: 256 * 1024, parallel: 3 });
      expect(result.res.status).toBe(200);
      expect(s.stats.byOperation.UploadPart).toBe(5);
      expect(s.stats.maxInFlight).toBeGreaterThanOrEqual(2);
      const got = await oss.get("ckpt/model.bin");
      expect(Buffer.compare(got.content, data)).toBe(0);
      expect(got.res.headers["x-oss-hash-crc64ecma"]).toBe(await crc64(new Uint8Array(data)));
      expect(got.res.headers["etag"]).toMatch(/-5"$/);
      expect(await s.store.listUploads("data")).toEqual([]);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "ali-oss: a client with the wrong secret gets SignatureDoesNotMatch",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s = await serveEmulator({
      buckets: ["data"],
      credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
    });
    try {
      await expect(client(s, "wrong-secret").put("k", Buffer.from("x"))).rejects.toMatchObject({
        code: "SignatureDoesNotMatch",
        status: 403,
      });
      expect(await s.store.head("data", "k")).toBeUndefined();
    } finally {
      await s.close();
    }
  },
});
