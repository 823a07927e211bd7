"""CRC-64/XZ written from its definition (poly 0x42F0E1EBA9EA3693, reflected; init and xorout all ones), bit
by bit: the independent reference of tests/crc64_wasm_test.ts. Reads a length-prefixed list of buffers on
stdin and prints one decimal checksum per line."""
import sys

POLY = 0xC96C5795D7870F42  # 0x42F0E1EBA9EA3693 bit-reversed
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)

def crc64(data: bytes) -> int:
    c = 0xFFFFFFFFFFFFFFFF
    for b in data:
        c = (c >> 8) ^ TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFFFFFFFFFF

assert crc64(b"123456789") == 0x995DC9BBDF1939FA
raw = sys.stdin.buffer.read()
at = 0
while at < len(raw):
    n = int.from_bytes(raw[at:at + 4], "little")
    print(crc64(raw[at + 4:at + 4 + n]))
    at += 4 + n
