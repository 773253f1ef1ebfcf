// base64 for XML-RPC's <base64> and HTTP Basic auth: table-driven, four characters at a time;
// whitespace (Python wraps lines at 76 characters, xmlrpc-c too) drops to a slow path for one
// quad only. AVX2 kernels where the CPU has them.
#include "xmlrpc_base64.hpp"

#include "framehive/shared/xmlrpc_codec.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

namespace fh::shared::xmlrpc {
namespace detail {
namespace {

constexpr unsigned char kB64Ws = 0x40;   // space, tab, CR, LF: skipped
constexpr unsigned char kB64Pad = 0x41;  // '='
constexpr unsigned char kB64Bad = 0xFF;  // anything else
constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<unsigned char, 256> make_b64_decode_table() {
  std::array<unsigned char, 256> t{};
  for (auto& x : t) x = kB64Bad;
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kB64Alphabet[i])] = static_cast<unsigned char>(i);
  }
  t[' '] = t['\t'] = t['\r'] = t['\n'] = kB64Ws;
  t['='] = kB64Pad;
  return t;
}
constexpr auto kB64Decode = make_b64_decode_table();

/// Two output characters for every 12-bit input group.
constexpr std::array<char, 8192> make_b64_pair_table() {
  std::array<char, 8192> t{};
  for (int i = 0; i < 4096; ++i) {
    t[2 * i] = kB64Alphabet[i >> 6];
    t[2 * i + 1] = kB64Alphabet[i & 63];
  }
  return t;
}
constexpr auto kB64Pairs = make_b64_pair_table();

[[noreturn]] void b64_fail(const char* what, std::size_t offset) {
  throw CodecError(std::string("base64: ") + what + " at offset " + std::to_string(offset));
}

// AVX2 kernels (x86-64, chosen at run time): 32 characters <-> 24 bytes per step, after
// W. Mula and D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions" (2018).
// Any block with a character outside the alphabet (whitespace, '=', garbage) is left to the
// scalar code, which skips, validates and reports it.
#if defined(__x86_64__) && defined(__GNUC__)
#define FH_BASE64_AVX2 1

/// Decodes from *sp while 32 characters remain; advances *sp and *op.
__attribute__((target("avx2"))) void b64_decode_avx2(const unsigned char** sp,
                                                     const unsigned char* e, unsigned char** op) {
  const unsigned char* s = *sp;  // locals: stores through o cannot alias them
  unsigned char* o = *op;
  const __m256i lut_lo =
      _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B,
                       0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                       0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi =
      _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m256i lut_roll =
      _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65,
                       -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2F);
  const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2,
                                        1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  while (e - s >= 32) {
    __m256i str = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(str, mask_2f);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    // Whole quads before the first character outside the alphabet (typically a line end)
    // are decoded here all the same; the scalar code takes over at that character.
    std::size_t valid = 32;
    if (!_mm256_testz_si256(lo, hi)) {
      const auto ok = static_cast<std::uint32_t>(_mm256_movemask_epi8(
          _mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256())));
      valid = static_cast<std::size_t>(__builtin_ctz(~ok)) & ~std::size_t{3};
      if (valid == 0) {
        if (kB64Decode[*s] != kB64Ws) break;  // '=' or garbage: for the scalar code
        do {
          ++s;
        } while (s < e && kB64Decode[*s] == kB64Ws);  // a line end
        continue;
      }
    }
    const __m256i eq_2f = _mm256_cmpeq_epi8(str, mask_2f);
    const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
    str = _mm256_add_epi8(str, roll);  // six-bit values
    const __m256i ab_bc = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
    __m256i out = _mm256_madd_epi16(ab_bc, _mm256_set1_epi32(0x00011000));
    out = _mm256_shuffle_epi8(out, pack);
    out = _mm256_permutevar8x32_epi32(out, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm256_castsi256_si128(out));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 16), _mm256_extracti128_si256(out, 1));
    s += valid;
    o += valid / 4 * 3;  // bytes past this are garbage, overwritten later or cut off
    if (valid < 32) {
      if (kB64Decode[*s] != kB64Ws) break;
      do {
        ++s;
      } while (s < e && kB64Decode[*s] == kB64Ws);
    }
  }
  *sp = s;
  *op = o;
}

/// Encodes from *dp while 28 bytes remain; advances *dp and *op.
__attribute__((target("avx2"))) void b64_encode_avx2(const unsigned char** dp,
                                                     const unsigned char* e, char** op) {
  const unsigned char* d = *dp;
  char* o = *op;
  const __m256i shuf = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, 1, 0, 2,
                                        1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  const __m256i lut =
      _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71, -4,
                       -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
  while (e - d >= 28) {  // two 16-byte loads at +0 and +12
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + 12));
    __m256i in = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    in = _mm256_shuffle_epi8(in, shuf);
    const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0FC0FC00));
    const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003F03F0));
    const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    const __m256i six = _mm256_or_si256(t1, t3);  // one six-bit value per byte
    __m256i idx = _mm256_subs_epu8(six, _mm256_set1_epi8(51));
    idx = _mm256_sub_epi8(idx, _mm256_cmpgt_epi8(six, _mm256_set1_epi8(25)));
    const __m256i chars = _mm256_add_epi8(six, _mm256_shuffle_epi8(lut, idx));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), chars);
    d += 24;
    o += 32;
  }
  *dp = d;
  *op = o;
}

bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

std::atomic<bool> g_base64_simd{true};  // tests turn the AVX2 kernels off and on

bool use_avx2() {
#ifdef FH_BASE64_AVX2
  return g_base64_simd.load(std::memory_order_relaxed) && cpu_has_avx2();
#else
  return false;
#endif
}

/// Decodes whole quads of alphabet characters, eight and then four at a time, from s while
/// at least four remain; stops at anything else (whitespace, '=', garbage).
inline void decode_plain_quads(const unsigned char*& s, const unsigned char* e, unsigned char*& o) {
  while (e - s >= 8) {
    const std::uint32_t a = kB64Decode[s[0]], b = kB64Decode[s[1]], c = kB64Decode[s[2]],
                        d = kB64Decode[s[3]], f = kB64Decode[s[4]], g = kB64Decode[s[5]],
                        h = kB64Decode[s[6]], k = kB64Decode[s[7]];
    if ((a | b | c | d | f | g | h | k) & 0xC0) break;
    const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    const std::uint32_t w = f << 18 | g << 12 | h << 6 | k;
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v);
    o[3] = static_cast<unsigned char>(w >> 16);
    o[4] = static_cast<unsigned char>(w >> 8);
    o[5] = static_cast<unsigned char>(w);
    o += 6;
    s += 8;
  }
  while (e - s >= 4) {
    const std::uint32_t a = kB64Decode[s[0]], b = kB64Decode[s[1]], c = kB64Decode[s[2]],
                        d = kB64Decode[s[3]];
    if ((a | b | c | d) & 0xC0) break;
    const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v);
    o += 3;
    s += 4;
  }
}

/// The slow path: one quad from s, whitespace skipped, validated; a padded quad must end the
/// text. Returns false at the end of the text. in is the start of the text (for messages).
inline bool decode_quad_slowly(const unsigned char* in, const unsigned char*& s,
                               const unsigned char* e, unsigned char*& o) {
  std::uint32_t q[4];
  int k = 0;
  while (k < 4 && s < e) {
    const unsigned char t = kB64Decode[*s];
    if (t == kB64Ws) {
      ++s;
      continue;
    }
    if (t == kB64Bad) b64_fail("invalid character", static_cast<std::size_t>(s - in));
    q[k++] = t;
    ++s;
  }
  if (k == 0) return false;
  if (k < 4) b64_fail("length is not a multiple of 4", static_cast<std::size_t>(s - in));
  if (q[0] == kB64Pad || q[1] == kB64Pad || (q[2] == kB64Pad && q[3] != kB64Pad)) {
    b64_fail("misplaced '='", static_cast<std::size_t>(s - in));
  }
  if (q[3] == kB64Pad) {
    const std::uint32_t v = q[0] << 18 | q[1] << 12 | (q[2] == kB64Pad ? 0 : q[2] << 6);
    *o++ = static_cast<unsigned char>(v >> 16);
    if (q[2] != kB64Pad) *o++ = static_cast<unsigned char>(v >> 8);
    for (; s < e; ++s) {
      if (kB64Decode[*s] != kB64Ws)
        b64_fail("data after the padding", static_cast<std::size_t>(s - in));
    }
    return false;
  }
  const std::uint32_t v = q[0] << 18 | q[1] << 12 | q[2] << 6 | q[3];
  o[0] = static_cast<unsigned char>(v >> 16);
  o[1] = static_cast<unsigned char>(v >> 8);
  o[2] = static_cast<unsigned char>(v);
  o += 3;
  return true;
}

}  // namespace

std::size_t b64_decode_into(const unsigned char* in, std::size_t n, unsigned char* out) {
  const unsigned char* s = in;
  const unsigned char* const e = in + n;
  unsigned char* o = out;
  const bool avx2 = use_avx2();
  for (;;) {
#ifdef FH_BASE64_AVX2
    if (avx2) b64_decode_avx2(&s, e, &o);
#endif
    decode_plain_quads(s, e, o);
    if (s < e && kB64Decode[*s] == kB64Ws) {  // a line end, most likely: back to the fast paths
      while (s < e && kB64Decode[*s] == kB64Ws) ++s;
      continue;
    }
    if (!decode_quad_slowly(in, s, e, o)) break;
  }
  return static_cast<std::size_t>(o - out);
}

void b64_encode_into(const unsigned char* d, std::size_t n, char* o) {
  std::size_t i = 0;
#ifdef FH_BASE64_AVX2
  if (use_avx2()) {
    const unsigned char* p = d;
    b64_encode_avx2(&p, d + n, &o);
    i = static_cast<std::size_t>(p - d);
  }
#endif
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(d[i]) << 16 |
                            static_cast<std::uint32_t>(d[i + 1]) << 8 | d[i + 2];
    std::memcpy(o, &kB64Pairs[(v >> 12) * 2], 2);
    std::memcpy(o + 2, &kB64Pairs[(v & 0xFFF) * 2], 2);
    o += 4;
  }
  if (n - i == 1) {
    const std::uint32_t v = static_cast<std::uint32_t>(d[i]) << 16;
    o[0] = kB64Alphabet[v >> 18];
    o[1] = kB64Alphabet[(v >> 12) & 63];
    o[2] = '=';
    o[3] = '=';
  } else if (n - i == 2) {
    const std::uint32_t v =
        static_cast<std::uint32_t>(d[i]) << 16 | static_cast<std::uint32_t>(d[i + 1]) << 8;
    o[0] = kB64Alphabet[v >> 18];
    o[1] = kB64Alphabet[(v >> 12) & 63];
    o[2] = kB64Alphabet[(v >> 6) & 63];
    o[3] = '=';
  }
}

}  // namespace detail

void base64_decode(std::string_view text, std::vector<unsigned char>& out) {
  const std::size_t at = out.size();
  out.resize(at + detail::b64_decoded_bound(text.size()));
  try {
    const std::size_t n = detail::b64_decode_into(
        reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data() + at);
    out.resize(at + n);
  } catch (...) {
    out.resize(at);
    throw;
  }
}

void base64_encode(const unsigned char* data, std::size_t size, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + detail::b64_encoded_size(size));
  detail::b64_encode_into(data, size, &out[at]);
}

void enable_base64_simd(bool on) { detail::g_base64_simd = on; }

bool base64_simd_active() { return detail::use_avx2(); }

}  // namespace fh::shared::xmlrpc
