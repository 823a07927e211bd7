#!/usr/bin/python3
"""An independent safetensors checker and writer, written from the format's specification
(https://github.com/huggingface/safetensors#format), not from ossflow's code. Python 3 + numpy only.

  safetensors_check.py validate FILE...            checks each file; prints {file: {metadata, tensors}} as JSON
  safetensors_check.py validate-index INDEX SHARD...  checks a sharded set's index against its shards
  safetensors_check.py write DIR                   writes files of its own into DIR; prints what it wrote

`validate` holds the files to what the specification requires, and also to what ossflow promises on top of it
(--strict, the default for ossflow's files): the header padded with spaces so the data starts at a multiple of
8, tensors listed in the header in the order of their bytes, and each tensor starting at a multiple of its
element size. Every tensor is reported with the SHA-256 of its bytes and its first values as numpy decodes them.
Exit status 1 and a message on stderr for any violation.
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np

# dtype -> (bits per element, numpy type for decoding or None when numpy has no such type)
DTYPES = {
    "BOOL": (8, "|b1"), "U8": (8, "|u1"), "I8": (8, "|i1"),
    "F8_E5M2": (8, None), "F8_E4M3": (8, None), "F8_E8M0": (8, None),
    "F8_E4M3FNUZ": (8, None), "F8_E5M2FNUZ": (8, None),
    "I16": (16, "<i2"), "U16": (16, "<u2"), "F16": (16, "<f2"), "BF16": (16, None),
    "I32": (32, "<i4"), "U32": (32, "<u4"), "F32": (32, "<f4"),
    "C64": (64, "<c8"), "F64": (64, "<f8"), "I64": (64, "<i8"), "U64": (64, "<u8"),
    "F6_E2M3": (6, None), "F6_E3M2": (6, None), "F4": (4, None),
}
MAX_HEADER = 100_000_000


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise Invalid(f"duplicate key {k!r} in the header")
        seen[k] = v
    return seen


def first_values(arr):
    """Up to four values, JSON-friendly: 64-bit integers as strings (JavaScript numbers cannot hold them)."""
    out = []
    for v in arr.reshape(-1)[:4].tolist():
        if isinstance(v, bool):
            out.append(1 if v else 0)
        elif isinstance(v, complex):
            out.append([v.real, v.imag])
        elif isinstance(v, int) and arr.dtype.itemsize == 8:
            out.append(str(v))
        else:
            out.append(v)
    return out


def validate(path, strict):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise Invalid("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        raise Invalid(f"header length {n} over the limit")
    if 8 + n > len(blob):
        raise Invalid(f"header length {n} beyond the file ({len(blob)} bytes)")
    raw = blob[8:8 + n]
    text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
    if not text.startswith("{"):
        raise Invalid("header does not start with {")
    body = text.rstrip(" ")
    if strict and (8 + n) % 8 != 0:
        raise Invalid(f"data starts at {8 + n}, not a multiple of 8")
    if strict and any(c != " " for c in text[len(body):]):
        raise Invalid("header padding is not spaces")
    header = json.loads(body, object_pairs_hook=no_duplicates)
    if not isinstance(header, dict):
        raise Invalid("header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise Invalid("__metadata__ is not a map of strings to strings")
    data = blob[8 + n:]
    entries = []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise Invalid(f"{name}: fields {sorted(info)}")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise Invalid(f"{name}: unknown dtype {dtype}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise Invalid(f"{name}: bad shape {shape}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise Invalid(f"{name}: bad data_offsets {offsets}")
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        bits = DTYPES[dtype][0]
        if (count * bits) % 8 != 0 or end - begin != count * bits // 8 or begin > end:
            raise Invalid(f"{name}: {dtype} {shape} does not fit data_offsets {offsets}")
        if strict and bits >= 8 and begin % (bits // 8) != 0:
            raise Invalid(f"{name}: starts at {begin}, not a multiple of its {bits // 8}-byte elements")
        entries.append((name, dtype, shape, begin, end))
    ordered = sorted(entries, key=lambda e: (e[3], e[4]))
    if strict and [e[0] for e in ordered] != [e[0] for e in entries]:
        raise Invalid("header order differs from data order")
    at = 0
    for name, _, _, begin, end in ordered:
        if begin != at:
            raise Invalid(f"{name}: begins at {begin}, the previous tensor ended at {at} (gap or overlap)")
        at = end
    if at != len(data):
        raise Invalid(f"tensors cover {at} bytes, the data has {len(data)}")
    tensors = {}
    for name, dtype, shape, begin, end in entries:
        chunk = data[begin:end]
        report = {"dtype": dtype, "shape": shape, "sha256": hashlib.sha256(chunk).hexdigest()}
        np_type = DTYPES[dtype][1]
        if np_type is not None:
            report["first"] = first_values(np.frombuffer(chunk, dtype=np_type).reshape(shape))
        tensors[name] = report
    return {"metadata": metadata or {}, "tensors": tensors}


def validate_index(index_path, shard_paths, strict):
    with open(index_path, "rb") as f:
        index = json.loads(f.read().decode("utf-8"), object_pairs_hook=no_duplicates)
    weight_map = index["weight_map"]
    if not isinstance(weight_map, dict):
        raise Invalid("weight_map is not an object")
    by_shard = {os.path.basename(p): validate(p, strict) for p in shard_paths}
    total = 0
    seen = {}
    for shard, report in by_shard.items():
        for name, t in report["tensors"].items():
            if name in seen:
                raise Invalid(f"{name} in {seen[name]} and {shard}")
            seen[name] = shard
            bits = DTYPES[t["dtype"]][0]
            count = 1
            for d in t["shape"]:
                count *= d
            total += count * bits // 8
    if weight_map != seen:
        raise Invalid(f"weight_map {weight_map} does not match the shards {seen}")
    if index["metadata"]["total_size"] != total:
        raise Invalid(f"total_size {index['metadata']['total_size']}, the tensors have {total} bytes")
    return {"tensors": len(seen), "total_size": total}


def raw_file(path, tensors, metadata, pad, header_order):
    """A file of (name, dtype, shape, bytes) in data order, the header listing them in `header_order`."""
    offsets = {}
    at = 0
    for name, dtype, shape, data in tensors:
        offsets[name] = (dtype, shape, [at, at + len(data)])
        at += len(data)
    header = {}
    for name in header_order:
        dtype, shape, off = offsets[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": off}
    header["__metadata__"] = metadata  # last, where ossflow puts it first
    text = json.dumps(header).encode("utf-8")
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


def write(out_dir):
    rng = np.random.default_rng(20240601)
    arrays = {
        "a.f64": ("F64", rng.standard_normal((3, 4)).astype("<f8")),
        "b.f32": ("F32", rng.standard_normal((5, 3)).astype("<f4")),
        "c.f16": ("F16", rng.standard_normal((7,)).astype("<f2")),
        "d.i64": ("I64", rng.integers(-(2 ** 62), 2 ** 62, size=(4,), dtype="<i8")),
        "e.u64": ("U64", rng.integers(0, 2 ** 63, size=(2, 2), dtype="<u8")),
        "f.i32": ("I32", rng.integers(-(2 ** 31), 2 ** 31, size=(6,), dtype="<i4")),
        "g.u32": ("U32", rng.integers(0, 2 ** 32, size=(3,), dtype="<u4")),
        "h.i16": ("I16", rng.integers(-(2 ** 15), 2 ** 15, size=(5,), dtype="<i2")),
        "i.u16": ("U16", rng.integers(0, 2 ** 16, size=(5,), dtype="<u2")),
        "j.i8": ("I8", rng.integers(-128, 128, size=(9,), dtype="|i1")),
        "k.u8": ("U8", rng.integers(0, 256, size=(3, 3), dtype="|u1")),
        "l.bool": ("BOOL", rng.integers(0, 2, size=(10,)).astype("|b1")),
        "m.c64": ("C64", (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype("<c8")),
        "n.scalar": ("F32", np.array(3.5, dtype="<f4")),
        "o.empty": ("F32", np.zeros((0, 5), dtype="<f4")),
    }
    tensors = [(name, dt, list(arr.shape), arr.tobytes()) for name, (dt, arr) in arrays.items()]
    # bfloat16: the upper half of float32, which numpy cannot name; F8 and F4 as bytes.
    bf16 = (rng.standard_normal(6).astype("<f4").view("<u4") >> 16).astype("<u2")
    tensors.append(("p.bf16", "BF16", [6], bf16.tobytes()))
    tensors.append(("q.f8", "F8_E4M3", [2, 3], rng.integers(0, 256, size=6, dtype="|u1").tobytes()))
    tensors.append(("r.f4", "F4", [8], rng.integers(0, 256, size=4, dtype="|u1").tobytes()))
    # Name order in the data (unlike ossflow's widest-first), reversed in the header, no padding: odd offsets.
    tensors.sort(key=lambda t: t[0])
    names = [t[0] for t in tensors]
    os.makedirs(os.path.join(out_dir, "set"), exist_ok=True)
    raw_file(os.path.join(out_dir, "python.safetensors"), tensors, {"writer": "python"}, False, names[::-1])
    # A sharded set of two padded shards and its index.
    first, second = tensors[:9], tensors[9:]
    raw_file(os.path.join(out_dir, "set", "py-00001-of-00002.safetensors"), first, {"format": "pt"}, True, [t[0] for t in first])
    raw_file(os.path.join(out_dir, "set", "py-00002-of-00002.safetensors"), second, {"format": "pt"}, True, [t[0] for t in second])
    weight_map = {t[0]: "py-00001-of-00002.safetensors" for t in first}
    weight_map.update({t[0]: "py-00002-of-00002.safetensors" for t in second})
    index = {"metadata": {"total_size": sum(len(t[3]) for t in tensors)}, "weight_map": weight_map}
    with open(os.path.join(out_dir, "set", "py.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
    files = ["python.safetensors", "set/py-00001-of-00002.safetensors", "set/py-00002-of-00002.safetensors"]
    return {f: validate(os.path.join(out_dir, f), strict=False) for f in files}


def main(argv):
    cmd, args = argv[1], argv[2:]
    strict = "--lenient" not in args
    args = [a for a in args if a != "--lenient"]
    try:
        if cmd == "validate":
            result = {path: validate(path, strict) for path in args}
        elif cmd == "validate-index":
            result = validate_index(args[0], args[1:], strict)
        elif cmd == "write":
            result = write(args[0])
        else:
            raise SystemExit(f"unknown command {cmd}")
    except (Invalid, ValueError, KeyError, TypeError) as err:
        print(f"invalid: {err}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
