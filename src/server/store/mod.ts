/**
 * Object stores behind the local server: the {@linkcode ObjectStore} interface, {@linkcode MemoryStore}
 * (default) and {@linkcode DirectoryStore} (a data directory that survives restarts).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./mod.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "hello.txt", new TextEncoder().encode("hello"));
 * const { body } = await store.get("data", "hello.txt");
 * expect(await new Response(body).text()).toEqual("hello");
 * ```
 *
 * @module
 */
export * from "./types.ts";
export {
  BlobObjectStore,
  type BucketRecord,
  type ObjectRecord,
  type PartRecord,
  type Segment,
  type StoreState,
  type UploadRecord,
} from "./core.ts";
export { MemoryStore } from "./memory.ts";
export { DirectoryStore } from "./directory.ts";
export { EmulatorError } from "../error.ts";
