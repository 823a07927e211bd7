// CRC-64/XZ (the ECMA-182 polynomial, reflected; OSS's x-oss-hash-crc64ecma) for ossflow, compiled to
// WebAssembly by tools/build_crc64_wasm.ts. Slicing-by-8 (Kounavis and Berry's method), run as four
// independent lanes over four quarters of a buffer so that their table lookups overlap, the lanes joined by
// zlib's crc32_combine idea widened to 64 bits: the register of A ‖ B is reg(A) · x^(8|B|) mod P ⊕ reg(B).
// The raw register (no pre- or post-inversion) is kept in `state`; the caller inverts at the ends.
#include <stdint.h>

#define POLY 0xc96c5795d7870f42ULL
#define BUFFER_BYTES (256 * 1024)
#define LANES_FROM 1024 // below this, one lane (the join would cost more than the overlap gains)

static uint64_t table[8][256];
static uint64_t x2n[64];                 // x^(2^k) mod P
static uint8_t buffer[BUFFER_BYTES] __attribute__((aligned(16)));
static uint32_t state[2];                // the register, low and high 32 bits
static uint32_t shift_bytes = 0;         // the lane length whose x^(8n) is cached
static uint64_t shift_power = 0;

// a · b mod P over GF(2), both reflected (zlib's multmodp).
static uint64_t multmodp(uint64_t a, uint64_t b) {
  uint64_t m = 1ULL << 63, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
  }
  return p;
}

// x^(n · 2^k) mod P.
static uint64_t x2nmodp(uint64_t n, unsigned k) {
  uint64_t p = 1ULL << 63; // x^0
  while (n) {
    if (n & 1) p = multmodp(x2n[k & 63], p);
    n >>= 1;
    k++;
  }
  return p;
}

__attribute__((export_name("setup"))) void setup(void) {
  for (int i = 0; i < 256; i++) {
    uint64_t c = (uint64_t)i;
    for (int j = 0; j < 8; j++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
    table[0][i] = c;
  }
  for (int i = 0; i < 256; i++) {
    uint64_t c = table[0][i];
    for (int t = 1; t < 8; t++) {
      c = (c >> 8) ^ table[0][c & 0xff];
      table[t][i] = c;
    }
  }
  uint64_t p = 1ULL << 62; // x^1
  x2n[0] = p;
  for (int k = 1; k < 64; k++) x2n[k] = p = multmodp(p, p);
}

__attribute__((export_name("buffer"))) uint8_t *buffer_address(void) { return buffer; }
__attribute__((export_name("state"))) uint32_t *state_address(void) { return state; }
__attribute__((export_name("capacity"))) uint32_t capacity(void) { return BUFFER_BYTES; }

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline uint64_t step8(uint64_t c, uint64_t v) {
  v ^= c;
  return table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
         table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
         table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
}

static uint64_t one_lane(uint64_t c, const uint8_t *p, uint32_t n) {
  while (n >= 8) {
    c = step8(c, load64(p));
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
  return c;
}

// Feeds the first `n` bytes of `buffer` to the register in `state`.
__attribute__((export_name("update"))) void update(uint32_t n) {
  uint64_t c = ((uint64_t)state[1] << 32) | state[0];
  const uint8_t *p = buffer;
  if (n >= LANES_FROM) {
    uint32_t lane = (n / 4) & ~7u;
    const uint8_t *p1 = p + lane, *p2 = p1 + lane, *p3 = p2 + lane;
    uint64_t c1 = 0, c2 = 0, c3 = 0;
    for (uint32_t i = 0; i < lane; i += 8) {
      c = step8(c, load64(p + i));
      c1 = step8(c1, load64(p1 + i));
      c2 = step8(c2, load64(p2 + i));
      c3 = step8(c3, load64(p3 + i));
    }
    if (lane != shift_bytes) {
      shift_power = x2nmodp(lane, 3);
      shift_bytes = lane;
    }
    c = multmodp(shift_power, c) ^ c1;
    c = multmodp(shift_power, c) ^ c2;
    c = multmodp(shift_power, c) ^ c3;
    p += 4 * lane;
    n -= 4 * lane;
  }
  c = one_lane(c, p, n);
  state[0] = (uint32_t)c;
  state[1] = (uint32_t)(c >> 32);
}
