/**
 * CRC-64/XZ in ossflow's own WebAssembly (`crc64.c`: slicing-by-8 in four interleaved lanes), about 1.9× the
 * speed of `hash-wasm`'s single-lane slicing-by-8 on this project's reference machine (`deno task bench:crc64`).
 * One module instance serves every hasher: each hasher keeps its own 64-bit register in JavaScript and lends it
 * to the instance for the length of a synchronous `update`, so hashers interleave freely and none costs an
 * instance of its own. Internal: `crc64.ts` is the public face.
 *
 * @module
 */
import { CRC64_WASM_BASE64 } from "./binary.ts";

interface Exports {
  memory: WebAssembly.Memory;
  setup(): void;
  buffer(): number;
  state(): number;
  capacity(): number;
  update(n: number): void;
}

/** The instance's memory as the hashers use it. */
interface Instance {
  update: (n: number) => void;
  /** The input buffer inside the module's memory. */
  input: Uint8Array;
  /** The register while an update runs: low, high 32 bits. */
  register: Uint32Array;
}

let instance: Promise<Instance> | undefined;
/** The instance once loaded, for hashers made without waiting. */
let loaded: Instance | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Instantiates the module once; rejects where WebAssembly cannot be compiled at run time (workerd). */
function load(): Promise<Instance> {
  return instance ??= (async () => {
    const { instance: wasm } = await WebAssembly.instantiate(decodeBase64(CRC64_WASM_BASE64), {});
    const ex = wasm.exports as unknown as Exports;
    ex.setup();
    const memory = ex.memory.buffer; // fixed size: the module never grows its memory
    return loaded = {
      update: ex.update,
      input: new Uint8Array(memory, ex.buffer(), ex.capacity()),
      register: new Uint32Array(memory, ex.state(), 2),
    };
  })();
}

/**
 * An incremental CRC-64/XZ hasher over the shared module: `init`, `update`, `digest("hex")` (the interface
 * `crc64.ts` asks of a hasher).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { WasmCrc64 } from "./hasher.ts";
 * const a = await WasmCrc64.create(), b = await WasmCrc64.create();
 * a.update(new TextEncoder().encode("1234"));
 * b.update(new TextEncoder().encode("abc")); // interleaved with a, on the same instance
 * a.update(new TextEncoder().encode("56789"));
 * expect(a.digest("hex")).toEqual("995dc9bbdf1939fa"); // CRC-64/XZ of "123456789"
 * ```
 */
export class WasmCrc64 {
  #wasm: Instance;
  // The raw register (complemented at the ends, as CRC-64/XZ is).
  #lo = 0xffffffff;
  #hi = 0xffffffff;

  private constructor(wasm: Instance) {
    this.#wasm = wasm;
  }

  /** A hasher; rejects where WebAssembly cannot be compiled at run time. */
  static async create(): Promise<WasmCrc64> {
    return new WasmCrc64(await load());
  }

  /** A hasher without waiting, once a first {@linkcode WasmCrc64.create} has loaded the module; else undefined. */
  static ifLoaded(): WasmCrc64 | undefined {
    return loaded === undefined ? undefined : new WasmCrc64(loaded);
  }

  /** Starts over. */
  init(): void {
    this.#lo = this.#hi = 0xffffffff;
  }

  /** Feeds bytes: copied into the module's buffer a buffer-full at a time. */
  update(bytes: Uint8Array): void {
    const { input, register, update } = this.#wasm;
    register[0] = this.#lo;
    register[1] = this.#hi;
    const cap = input.length;
    for (let at = 0; at < bytes.length; at += cap) {
      const n = Math.min(cap, bytes.length - at);
      input.set(n === bytes.length ? bytes : bytes.subarray(at, at + n));
      update(n);
    }
    this.#lo = register[0];
    this.#hi = register[1];
  }

  /** The checksum so far as 16 hex digits. */
  digest(_format: "hex"): string {
    const hex = (v: number) => ((v ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
    return hex(this.#hi) + hex(this.#lo);
  }
}
