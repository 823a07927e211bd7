// Members over 8 GiB, as Python's tarfile writes them (PAX `size` record; GNU base-256 size field): the layout
// that places members for indexes and errors reads their true size.
import { expect } from "expect";
import { TarLayout } from "../../src/tar/layout.ts";
import { readTar } from "../../src/tar/reader.ts";

const BIG = 9 * 1024 ** 3 + 5; // over the 8 GiB an octal size field holds

/** The header blocks Python's tarfile writes for a member of `BIG` bytes (the data itself left out). */
async function pythonHeader(format: "PAX_FORMAT" | "GNU_FORMAT"): Promise<Uint8Array<ArrayBuffer>> {
  const script = [
    "import io, sys, tarfile",
    "buf = io.BytesIO()",
    `t = tarfile.open(fileobj=buf, mode="w", format=tarfile.${format})`,
    `ti = tarfile.TarInfo("models/big-weights.bin"); ti.size = ${BIG}`,
    "t.addfile(ti)",
    "sys.stdout.buffer.write(buf.getvalue())",
  ].join("\n");
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script], stdout: "piped" }).output();
  expect(out.code).toBe(0);
  return out.stdout;
}

for (const format of ["PAX_FORMAT", "GNU_FORMAT"] as const) {
  Deno.test(`a member over 8 GiB written by Python tarfile (${format}) is placed with its true size`, async () => {
    const header = await pythonHeader(format);
    const layout = new TarLayout();
    layout.push(header);
    const placed = layout.take();
    expect(placed?.size).toBe(BIG);
    expect(placed?.dataOffset).toBe(header.length); // the data starts right after the header blocks
    // The reader's decoder reads the same size: the archive (data left out) is truncated where that data ends.
    const err = await Array.fromAsync(readTar(new Blob([header]).stream(), { uri: "mem://big.tar" })).catch((
      e,
    ) => e);
    expect(err.name).toBe("TarError");
    expect(err.message).toContain(`should end at byte ${header.length + BIG}`);
  });
}
