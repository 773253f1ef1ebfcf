#include "framehive/shared/xmlrpc_codec.hpp"

#include <xmlrpc-c/base.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

namespace fh::shared::xmlrpc {
namespace {

// ---------------------------------------------------------------------------------------------
// base64: table-driven, four characters at a time; whitespace (Python wraps lines at 76
// characters, xmlrpc-c too) drops to a slow path for one quad only.

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

/// Upper bound of the decoded size of n characters of base64 text. (The AVX2 kernel stores
/// 24 bytes at a time, but never past 3/4 of the characters it has consumed plus 32.)
constexpr std::size_t b64_decoded_bound(std::size_t n) { return n / 4 * 3 + 3; }

/// Decodes n characters into out (room for b64_decoded_bound(n) bytes); returns the size.
std::size_t b64_decode_into(const unsigned char* in, std::size_t n, unsigned char* out) {
  const unsigned char* s = in;
  const unsigned char* const e = in + n;
  unsigned char* o = out;
  const bool avx2 = use_avx2();
  for (;;) {
#ifdef FH_BASE64_AVX2
    if (avx2) b64_decode_avx2(&s, e, &o);
#endif
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
    if (s < e && kB64Decode[*s] == kB64Ws) {  // a line end, most likely: back to the fast paths
      while (s < e && kB64Decode[*s] == kB64Ws) ++s;
      continue;
    }
    // One quad, whitespace skipped; a padded quad ends the text.
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
    if (k == 0) break;
    if (k < 4) b64_fail("length is not a multiple of 4", static_cast<std::size_t>(s - in));
    if (q[0] == kB64Pad || q[1] == kB64Pad || (q[2] == kB64Pad && q[3] != kB64Pad)) {
      b64_fail("misplaced '='", static_cast<std::size_t>(s - in));
    }
    if (q[3] == kB64Pad) {
      const std::uint32_t v = q[0] << 18 | q[1] << 12 | (q[2] == kB64Pad ? 0 : q[2] << 6);
      *o++ = static_cast<unsigned char>(v >> 16);
      if (q[2] != kB64Pad) *o++ = static_cast<unsigned char>(v >> 8);
      for (; s < e; ++s) {
        if (kB64Decode[*s] != kB64Ws) {
          b64_fail("data after the padding", static_cast<std::size_t>(s - in));
        }
      }
      break;
    }
    const std::uint32_t v = q[0] << 18 | q[1] << 12 | q[2] << 6 | q[3];
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v);
    o += 3;
  }
  return static_cast<std::size_t>(o - out);
}

constexpr std::size_t b64_encoded_size(std::size_t n) { return (n + 2) / 3 * 4; }

/// Encodes n bytes into out (room for b64_encoded_size(n) characters).
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

// ---------------------------------------------------------------------------------------------
// xmlrpc-c C values: the C++ wrappers copy whole maps and vectors; the C API does not.

/// Owns one reference to a C value.
class CRef {
 public:
  CRef() = default;
  explicit CRef(xmlrpc_value* v) : v_(v) {}
  CRef(CRef&& o) noexcept : v_(std::exchange(o.v_, nullptr)) {}
  CRef& operator=(CRef&& o) noexcept {
    if (this != &o) {
      if (v_) xmlrpc_DECREF(v_);
      v_ = std::exchange(o.v_, nullptr);
    }
    return *this;
  }
  CRef(const CRef&) = delete;
  CRef& operator=(const CRef&) = delete;
  ~CRef() {
    if (v_) xmlrpc_DECREF(v_);
  }
  xmlrpc_value* get() const { return v_; }
  /// A C++ handle sharing the value (takes its own reference).
  xmlrpc_c::value cpp() const { return xmlrpc_c::value(v_); }

 private:
  xmlrpc_value* v_ = nullptr;  ///< owned reference, or null
};

/// An xmlrpc_env that cleans up after itself.
struct Env {
  xmlrpc_env env;
  Env() { xmlrpc_env_init(&env); }
  ~Env() { xmlrpc_env_clean(&env); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  /// Throws CodecError (and resets) when the last call failed.
  void check(const char* what) {
    if (!env.fault_occurred) return;
    std::string msg = std::string(what) + ": " + (env.fault_string ? env.fault_string : "failed");
    xmlrpc_env_clean(&env);
    xmlrpc_env_init(&env);
    throw CodecError(msg);
  }
};

struct FreeDeleter {
  void operator()(const void* p) const { std::free(const_cast<void*>(p)); }
};

// ---------------------------------------------------------------------------------------------
// Characters.

bool is_xml_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Bytes that need no attention in character data.
constexpr std::array<bool, 256> make_plain_table() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  t['\t'] = t['\n'] = true;
  t['<'] = t['&'] = false;
  return t;
}
constexpr auto kPlain = make_plain_table();

bool is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '.' || c == '-';
}

/// XML 1.0 Char production.
bool is_xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Length of the valid UTF-8 sequence of an XML character at p (p < e, *p >= 0x80), or 0.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* e) {
  const unsigned char c = *p;
  std::size_t n;
  std::uint32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(e - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  cp = cp << 6 | (p[1] & 0x3F);
  for (std::size_t i = 2; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  return is_xml_char(cp) ? n : 0;
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && is_xml_ws(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_xml_ws(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_ws(std::string_view s) { return trim_ws(s).empty(); }

/// A short printable excerpt for messages.
std::string excerpt(const char* p, const char* e) {
  std::string out;
  for (; p < e && out.size() < 24; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The parser: recursive descent over the document, building C values directly.

class Parser {
 public:
  explicit Parser(std::string_view xml)
      : begin_(xml.data()), p_(xml.data()), end_(xml.data() + xml.size()) {}

  void call(std::string& method, xmlrpc_c::paramList& params) {
    prolog();
    if (expect_start("methodCall")) fail("empty <methodCall>");
    if (expect_start("methodName")) fail("empty <methodName>");
    read_text(method);
    expect_end("methodName");
    if (method.empty()) fail("empty method name");
    if (method.size() > 1024) fail("method name longer than 1024 bytes");
    skip_misc();
    if (!at_end_tag()) {
      if (!expect_start("params")) {
        for (;;) {
          skip_misc();
          if (at_end_tag()) break;
          if (expect_start("param")) fail("empty <param>");
          const CRef v = value_element(1);
          params.add(v.cpp());
          expect_end("param");
        }
        expect_end("params");
      }
    }
    expect_end("methodCall");
    epilog();
  }

  ParsedResponse response() {
    ParsedResponse r;
    prolog();
    if (expect_start("methodResponse")) fail("empty <methodResponse>");
    skip_misc();
    const Tag t = start_tag();
    if (t.name == "params") {
      if (t.empty) fail("empty <params> in a response");
      if (expect_start("param")) fail("empty <param>");
      r.value = value_element(1).cpp();
      expect_end("param");
      expect_end("params");
    } else if (t.name == "fault") {
      if (t.empty) fail("empty <fault>");
      const CRef v = value_element(1);
      expect_end("fault");
      if (xmlrpc_value_type(v.get()) != XMLRPC_TYPE_STRUCT) fail("fault value is not a struct");
      const auto s = static_cast<xmlrpc_c::cstruct>(xmlrpc_c::value_struct(v.cpp()));
      const auto code = s.find("faultCode");
      const auto str = s.find("faultString");
      if (code == s.end() || str == s.end() || code->second.type() != xmlrpc_c::value::TYPE_INT ||
          str->second.type() != xmlrpc_c::value::TYPE_STRING) {
        fail("fault struct needs faultCode (int) and faultString (string)");
      }
      r.is_fault = true;
      r.fault_code = xmlrpc_c::value_int(code->second);
      r.fault_string = static_cast<std::string>(xmlrpc_c::value_string(str->second));
    } else {
      fail("expected <params> or <fault>, found <" + std::string(t.name) + ">");
    }
    expect_end("methodResponse");
    epilog();
    return r;
  }

 private:
  struct Tag {
    std::string_view name;
    bool empty = false;  ///< <name/>
  };

  [[noreturn]] void fail(const std::string& what) const {
    std::size_t line = 1;
    const char* line_start = begin_;
    for (const char* q = begin_; q < p_; ++q) {
      if (*q == '\n') ++line, line_start = q + 1;
    }
    throw CodecError("XML-RPC parse error at line " + std::to_string(line) + ", column " +
                     std::to_string(p_ - line_start + 1) + ": " + what +
                     (p_ < end_ ? " (near '" + excerpt(p_, end_) + "')" : " (at end of document)"));
  }

  bool starts_with(std::string_view s) const {
    return static_cast<std::size_t>(end_ - p_) >= s.size() &&
           std::memcmp(p_, s.data(), s.size()) == 0;
  }
  bool at_end_tag() const { return end_ - p_ >= 2 && p_[0] == '<' && p_[1] == '/'; }

  void skip_ws() {
    while (p_ < end_ && is_xml_ws(static_cast<unsigned char>(*p_))) ++p_;
  }

  void skip_comment() {  // at "<!--"
    const std::string_view rest(p_ + 4, static_cast<std::size_t>(end_ - p_ - 4));
    const auto close = rest.find("-->");
    if (close == std::string_view::npos) fail("unterminated comment");
    p_ += 4 + close + 3;
  }

  /// Whitespace and comments between elements.
  void skip_misc() {
    for (;;) {
      skip_ws();
      if (starts_with("<!--")) {
        skip_comment();
      } else {
        return;
      }
    }
  }

  /// At "<?": skips a processing instruction other than the XML declaration.
  void skip_pi() {
    const char* q = p_ + 2;
    const char* name = q;
    while (q < end_ && is_name_char(static_cast<unsigned char>(*q))) ++q;
    if (q - name == 3 && (name[0] | 0x20) == 'x' && (name[1] | 0x20) == 'm' &&
        (name[2] | 0x20) == 'l') {
      fail("XML declaration not at the start of the document");
    }
    const std::string_view rest(p_ + 2, static_cast<std::size_t>(end_ - p_ - 2));
    const auto close = rest.find("?>");
    if (close == std::string_view::npos) fail("unterminated processing instruction");
    p_ += 2 + close + 2;
  }

  void misc_and_pis() {
    for (;;) {
      skip_misc();
      if (starts_with("<?")) {
        skip_pi();
      } else if (starts_with("<!")) {
        fail("DOCTYPE and other declarations are not allowed");
      } else {
        return;
      }
    }
  }

  void prolog() {
    if (starts_with("\xEF\xBB\xBF")) p_ += 3;
    if (starts_with("<?xml") && end_ - p_ > 5 &&
        (is_xml_ws(static_cast<unsigned char>(p_[5])) || p_[5] == '?')) {
      const std::string_view rest(p_, static_cast<std::size_t>(end_ - p_));
      const auto close = rest.find("?>");
      if (close == std::string_view::npos) fail("unterminated XML declaration");
      const std::string_view decl = rest.substr(5, close - 5);
      const auto enc = decl.find("encoding");
      if (enc != std::string_view::npos) {
        std::string_view v = trim_ws(decl.substr(enc + 8));
        if (v.empty() || v.front() != '=') fail("bad encoding declaration");
        v = trim_ws(v.substr(1));
        if (v.empty() || (v.front() != '"' && v.front() != '\'')) fail("bad encoding declaration");
        const auto q = v.find(v.front(), 1);
        if (q == std::string_view::npos) fail("bad encoding declaration");
        std::string name(v.substr(1, q - 1));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name != "utf-8" && name != "utf8" && name != "us-ascii" && name != "ascii") {
          fail("unsupported encoding '" + name + "' (only UTF-8)");
        }
      }
      p_ += close + 2;
    }
    misc_and_pis();
  }

  void epilog() {
    misc_and_pis();
    if (p_ != end_) fail("content after the root element");
  }

  /// At '<' of a start tag: reads it, attributes skipped.
  Tag start_tag() {
    if (p_ >= end_) fail("unexpected end of document, expected a start tag");
    if (*p_ != '<') fail("expected a start tag");
    if (at_end_tag()) fail("expected a start tag, found an end tag");
    ++p_;
    const char* name = p_;
    while (p_ < end_ && is_name_char(static_cast<unsigned char>(*p_))) ++p_;
    Tag t;
    t.name = std::string_view(name, static_cast<std::size_t>(p_ - name));
    if (t.name.empty()) fail("bad start tag");
    for (;;) {
      const char* before_ws = p_;
      skip_ws();
      if (p_ >= end_) fail("unterminated start tag");
      if (*p_ == '>') {
        ++p_;
        return t;
      }
      if (*p_ == '/') {
        if (p_ + 1 >= end_ || p_[1] != '>') fail("bad start tag");
        p_ += 2;
        t.empty = true;
        return t;
      }
      // an attribute (xmlns:ex=... on the root, say): checked for syntax and ignored
      if (p_ == before_ws) fail("bad start tag");
      const char* attr = p_;
      while (p_ < end_ && is_name_char(static_cast<unsigned char>(*p_))) ++p_;
      if (p_ == attr) fail("bad attribute");
      skip_ws();
      if (p_ >= end_ || *p_ != '=') fail("bad attribute");
      ++p_;
      skip_ws();
      if (p_ >= end_ || (*p_ != '"' && *p_ != '\'')) fail("bad attribute value");
      const char quote = *p_++;
      const void* close = std::memchr(p_, quote, static_cast<std::size_t>(end_ - p_));
      if (!close) fail("unterminated attribute value");
      const char* q = static_cast<const char*>(close);
      if (std::memchr(p_, '<', static_cast<std::size_t>(q - p_))) fail("'<' in attribute value");
      p_ = q + 1;
    }
  }

  /// Skips whitespace and comments, reads <name> or <name/>; returns true for <name/>.
  bool expect_start(std::string_view name) {
    skip_misc();
    if (at_end_tag()) fail("expected <" + std::string(name) + ">, found an end tag");
    const char* at = p_;
    const Tag t = start_tag();
    if (t.name != name) {
      p_ = at;
      fail("expected <" + std::string(name) + ">");
    }
    return t.empty;
  }

  void expect_end(std::string_view name) {
    skip_misc();
    if (!at_end_tag()) fail("expected </" + std::string(name) + ">");
    const char* at = p_;
    p_ += 2;
    const char* n = p_;
    while (p_ < end_ && is_name_char(static_cast<unsigned char>(*p_))) ++p_;
    if (std::string_view(n, static_cast<std::size_t>(p_ - n)) != name) {
      p_ = at;
      fail("expected </" + std::string(name) + ">");
    }
    skip_ws();
    if (p_ >= end_ || *p_ != '>') fail("bad end tag");
    ++p_;
  }

  /// Appends raw characters [b, e) to out: UTF-8 and XML characters checked, line ends
  /// normalised to LF.
  void append_chars(const char* b, const char* e, std::string& out) {
    const auto* s = reinterpret_cast<const unsigned char*>(b);
    const auto* const end = reinterpret_cast<const unsigned char*>(e);
    while (s < end) {
      const unsigned char* run = s;
      while (s < end && kPlain[*s]) ++s;
      out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(s - run));
      if (s == end) break;
      const unsigned char c = *s;
      if (c == '\r') {
        out += '\n';
        ++s;
        if (s < end && *s == '\n') ++s;
      } else if (c == '<' || c == '&') {
        out += static_cast<char>(c);  // only reached for CDATA content
        ++s;
      } else if (c >= 0x80) {
        const std::size_t n = utf8_sequence(s, end);
        if (n == 0) {
          p_ = reinterpret_cast<const char*>(s);
          fail("invalid UTF-8 or a character XML does not allow");
        }
        out.append(reinterpret_cast<const char*>(s), n);
        s += n;
      } else {
        p_ = reinterpret_cast<const char*>(s);
        fail("control character in text");
      }
    }
  }

  /// At '&': decodes one entity or character reference.
  void entity(std::string& out) {
    const char* semi = nullptr;
    for (const char* q = p_ + 1; q < end_ && q < p_ + 12; ++q) {
      if (*q == ';') {
        semi = q;
        break;
      }
    }
    if (!semi) fail("bad entity reference");
    const std::string_view ref(p_ + 1, static_cast<std::size_t>(semi - p_ - 1));
    if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "amp") {
      out += '&';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto r =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() ||
          !std::isxdigit(static_cast<unsigned char>(digits.front()))) {
        fail("bad character reference");
      }
      if (!is_xml_char(cp)) fail("character reference to a character XML does not allow");
      append_utf8(cp, out);
    } else {
      fail("unknown entity '&" + std::string(ref) + ";'");
    }
    p_ = semi + 1;
  }

  /// Character data up to the next start or end tag (comments skipped, CDATA copied,
  /// references decoded) into out.
  void read_text(std::string& out) {
    out.clear();
    for (;;) {
      const char* run = p_;
      while (p_ < end_ && *p_ != '<' && *p_ != '&') ++p_;
      if (p_ != run) {
        const char* stop = p_;
        append_chars(run, stop, out);
        p_ = stop;
      }
      if (p_ >= end_) fail("unexpected end of document in text");
      if (*p_ == '&') {
        entity(out);
      } else if (starts_with("<!--")) {
        skip_comment();
      } else if (starts_with("<![CDATA[")) {
        const std::string_view rest(p_ + 9, static_cast<std::size_t>(end_ - p_ - 9));
        const auto close = rest.find("]]>");
        if (close == std::string_view::npos) fail("unterminated CDATA section");
        const char* body = p_ + 9;
        append_chars(body, body + close, out);
        p_ = body + close + 3;
      } else {
        return;
      }
    }
  }

  /// The trimmed text of a scalar element whose start tag t was just read.
  std::string_view scalar_text(const Tag& t) {
    if (t.empty) return {};
    read_text(text_);
    expect_end(t.name);
    return trim_ws(text_);
  }

  /// Throws (with the position) when the last xmlrpc-c call failed.
  void check() {
    if (!env_.env.fault_occurred) return;
    std::string msg =
        std::string("xmlrpc-c: ") + (env_.env.fault_string ? env_.env.fault_string : "failed");
    xmlrpc_env_clean(&env_.env);
    xmlrpc_env_init(&env_.env);
    fail(msg);
  }

  /// Owns v once the call that made it succeeded (on failure xmlrpc-c returns garbage).
  CRef made(xmlrpc_value* v) {
    check();
    return CRef(v);
  }

  CRef make_string(const std::string& s) {
    CRef v = made(xmlrpc_string_new_lp(&env_.env, s.size(), s.data()));
    return v;
  }

  /// At <value>: the value, through </value>.
  CRef value_element(int depth) {
    if (depth > kMaxValueDepth) fail("values nested deeper than " + std::to_string(kMaxValueDepth));
    if (expect_start("value")) return make_string("");
    read_text(text_);
    if (at_end_tag()) {
      CRef v = make_string(text_);
      expect_end("value");
      return v;
    }
    if (!all_ws(text_)) fail("text before a type element in <value>");
    const Tag t = start_tag();
    CRef v = typed_value(t, depth);
    expect_end("value");
    return v;
  }

  CRef typed_value(const Tag& t, int depth) {
    const std::string_view n = t.name;
    if (n == "string") {
      if (t.empty) return make_string("");
      read_text(text_);
      expect_end(n);
      return make_string(text_);
    }
    if (n == "int" || n == "i4") {
      const auto i = parse_integer(scalar_text(t), std::numeric_limits<std::int32_t>::min(),
                                   std::numeric_limits<std::int32_t>::max());
      CRef v = made(xmlrpc_int_new(&env_.env, static_cast<int>(i)));
      return v;
    }
    if (n == "i8" || n == "ex:i8") {
      const auto i = parse_integer(scalar_text(t), std::numeric_limits<std::int64_t>::min(),
                                   std::numeric_limits<std::int64_t>::max());
      CRef v = made(xmlrpc_i8_new(&env_.env, static_cast<xmlrpc_int64>(i)));
      return v;
    }
    if (n == "boolean") {
      const std::string_view s = scalar_text(t);
      if (s != "0" && s != "1") fail("<boolean> must be 0 or 1, not '" + std::string(s) + "'");
      CRef v = made(xmlrpc_bool_new(&env_.env, s == "1"));
      return v;
    }
    if (n == "double") {
      const double d = parse_double(scalar_text(t));
      CRef v = made(xmlrpc_double_new(&env_.env, d));
      return v;
    }
    if (n == "base64") return base64_value(t);
    if (n == "dateTime.iso8601") return datetime_value(scalar_text(t));
    if (n == "struct") return struct_value(t, depth);
    if (n == "array") return array_value(t, depth);
    if (n == "nil" || n == "ex:nil") {
      if (!t.empty) expect_end(n);
      CRef v = made(xmlrpc_nil_new(&env_.env));
      return v;
    }
    fail("unknown value type <" + std::string(n) + ">");
  }

  std::int64_t parse_integer(std::string_view s, std::int64_t lo, std::int64_t hi) {
    if (s.empty()) fail("empty integer");
    const std::string shown(s.substr(0, 32));
    std::size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') neg = s[i++] == '-';
    if (i == s.size()) fail("integer without digits: '" + shown + "'");
    std::uint64_t v = 0;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (c < '0' || c > '9') fail("not an integer: '" + shown + "'");
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
        fail("integer out of range: '" + shown + "'");
      }
      v = v * 10 + d;
    }
    if (neg) {
      const std::uint64_t mag = static_cast<std::uint64_t>(-(lo + 1)) + 1;
      if (v > mag) fail("integer out of range: '" + shown + "'");
      return v == mag ? lo : -static_cast<std::int64_t>(v);
    }
    if (v > static_cast<std::uint64_t>(hi)) fail("integer out of range: '" + shown + "'");
    return static_cast<std::int64_t>(v);
  }

  double parse_double(std::string_view s) {
    const std::string shown(s.substr(0, 32));
    if (s.empty()) fail("empty <double>");
    if (s[0] == '+') {
      s.remove_prefix(1);
      if (!s.empty() && s[0] == '-') fail("not a number: '" + shown + "'");
    }
    for (const char c : s) {
      if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
        fail("not a number: '" + shown + "'");
      }
    }
    double d = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
    if (r.ec == std::errc::result_out_of_range) fail("number out of range: '" + shown + "'");
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d)) {
      fail("not a number: '" + shown + "'");
    }
    return d;
  }

  CRef base64_value(const Tag& t) {
    std::size_t n = 0;
    if (!t.empty) {
      // The payload: find its end with memchr, decode it in place.
      const void* lt = std::memchr(p_, '<', static_cast<std::size_t>(end_ - p_));
      if (!lt) fail("unterminated <base64>");
      const char* text_end = static_cast<const char*>(lt);
      const char* text = p_;
      std::size_t len = static_cast<std::size_t>(text_end - text);
      if (!(end_ - text_end >= 2 && text_end[1] == '/')) {  // a comment or CDATA inside
        read_text(text_);
        text = text_.data();
        len = text_.size();
      } else {
        p_ = text_end;
      }
      reserve_scratch(b64_decoded_bound(len));
      try {
        n = b64_decode_into(reinterpret_cast<const unsigned char*>(text), len, scratch_.get());
      } catch (const CodecError& e) {
        fail(e.what());
      }
      expect_end(t.name);
    }
    static const unsigned char none = 0;
    CRef v = made(xmlrpc_base64_new(&env_.env, n, n ? scratch_.get() : &none));
    return v;
  }

  void reserve_scratch(std::size_t n) {
    if (n <= scratch_size_) return;
    scratch_.reset(new unsigned char[n]);
    scratch_size_ = n;
  }

  CRef datetime_value(std::string_view s) {
    const std::string shown(s.substr(0, 40));
    std::size_t i = 0;
    auto digits = [&](std::size_t count) -> unsigned {
      unsigned v = 0;
      for (std::size_t k = 0; k < count; ++k, ++i) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') fail("bad dateTime.iso8601 '" + shown + "'");
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
      }
      return v;
    };
    auto lit = [&](char c, bool optional) {
      if (i < s.size() && s[i] == c) {
        ++i;
      } else if (!optional) {
        fail("bad dateTime.iso8601 '" + shown + "'");
      }
    };
    xmlrpc_datetime dt{};
    dt.Y = digits(4);
    lit('-', true);
    dt.M = digits(2);
    lit('-', true);
    dt.D = digits(2);
    lit('T', false);
    dt.h = digits(2);
    lit(':', false);
    dt.m = digits(2);
    lit(':', false);
    dt.s = digits(2);
    if (i < s.size() && s[i] == '.') {
      ++i;
      unsigned u = 0, scale = 0;
      const std::size_t first = i;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (scale < 6) u = u * 10 + static_cast<unsigned>(s[i] - '0'), ++scale;
      }
      if (i == first) fail("bad dateTime.iso8601 '" + shown + "'");
      for (; scale < 6; ++scale) u *= 10;
      dt.u = u;
    }
    lit('Z', true);
    if (i != s.size()) fail("bad dateTime.iso8601 '" + shown + "'");
    if (dt.M < 1 || dt.M > 12 || dt.D < 1 || dt.D > 31 || dt.h > 23 || dt.m > 59 || dt.s > 59) {
      fail("dateTime.iso8601 out of range: '" + shown + "'");
    }
    CRef v = made(xmlrpc_datetime_new(&env_.env, dt));
    return v;
  }

  CRef struct_value(const Tag& t, int depth) {
    CRef s = made(xmlrpc_struct_new(&env_.env));
    if (t.empty) return s;
    std::string key;
    for (;;) {
      skip_misc();
      if (at_end_tag()) break;
      if (expect_start("member")) fail("empty <member>");
      if (expect_start("name")) {
        key.clear();
      } else {
        read_text(key);
        expect_end("name");
      }
      const CRef v = value_element(depth + 1);
      expect_end("member");
      // The key as a string value first: that validates its UTF-8 and fails cleanly.
      // (xmlrpc_struct_set_value_n builds the key itself and, when the key is not UTF-8,
      // releases a pointer it never set: a crash found by tests/fuzz/fuzz_xmlrpc.cpp.)
      const CRef k = make_string(key);
      xmlrpc_struct_set_value_v(&env_.env, s.get(), k.get(), v.get());
      check();
    }
    expect_end("struct");
    return s;
  }

  CRef array_value(const Tag& t, int depth) {
    CRef a = made(xmlrpc_array_new(&env_.env));
    if (t.empty) return a;
    if (!expect_start("data")) {
      for (;;) {
        skip_misc();
        if (at_end_tag()) break;
        const CRef v = value_element(depth + 1);
        xmlrpc_array_append_item(&env_.env, a.get(), v.get());
        check();
      }
      expect_end("data");
    }
    expect_end("array");
    return a;
  }

  const char* begin_;                         ///< start of the document
  const char* p_;                             ///< read position
  const char* end_;                           ///< end of the document
  std::string text_;                          ///< scratch for scalar text
  std::unique_ptr<unsigned char[]> scratch_;  ///< decoded base64, reused within a document
  std::size_t scratch_size_ = 0;              ///< bytes in scratch_
  Env env_;                                   ///< xmlrpc-c errors
};

// ---------------------------------------------------------------------------------------------
// The serialiser: walks C values by type.

constexpr int kMaxWriteDepth = 256;

void append_escaped(std::string& out, const char* s, std::size_t n) {
  const char* const e = s + n;
  while (s < e) {
    const char* run = s;
    while (s < e && *s != '&' && *s != '<' && *s != '>' && *s != '\r') ++s;
    out.append(run, static_cast<std::size_t>(s - run));
    if (s == e) break;
    switch (*s) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += "&#13;";
        break;
    }
    ++s;
  }
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// Bytes of output a value needs, roughly (for one reservation up front).
std::size_t estimate(xmlrpc_value* v, Env& env, int depth) {
  if (depth > kMaxWriteDepth) return 0;
  switch (xmlrpc_value_type(v)) {
    case XMLRPC_TYPE_BASE64: {
      std::size_t n = 0;
      xmlrpc_read_base64_size(&env.env, v, &n);
      return env.env.fault_occurred ? 64 : b64_encoded_size(n) + 40;
    }
    case XMLRPC_TYPE_ARRAY: {
      const int n = xmlrpc_array_size(&env.env, v);
      std::size_t total = 48;
      for (int i = 0; i < n && !env.env.fault_occurred; ++i) {
        xmlrpc_value* item = nullptr;
        xmlrpc_array_read_item(&env.env, v, static_cast<unsigned>(i), &item);
        if (env.env.fault_occurred) break;
        const CRef owned(item);
        total += estimate(item, env, depth + 1);
      }
      return total;
    }
    case XMLRPC_TYPE_STRUCT: {
      const int n = xmlrpc_struct_size(&env.env, v);
      std::size_t total = 48;
      for (int i = 0; i < n && !env.env.fault_occurred; ++i) {
        xmlrpc_value* key = nullptr;
        xmlrpc_value* val = nullptr;
        xmlrpc_struct_read_member(&env.env, v, static_cast<unsigned>(i), &key, &val);
        if (env.env.fault_occurred) break;
        const CRef k(key), owned(val);
        total += 64 + estimate(val, env, depth + 1);
      }
      return total;
    }
    default:
      return 64;
  }
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void reserve_for(xmlrpc_value* v) {
    Env scratch;
    out_.reserve(out_.size() + estimate(v, scratch, 0) + 256);
  }

  void value(xmlrpc_value* v, int depth) {
    if (depth > kMaxWriteDepth) throw CodecError("value nested too deeply to send");
    switch (xmlrpc_value_type(v)) {
      case XMLRPC_TYPE_INT: {
        int i = 0;
        xmlrpc_read_int(&env_.env, v, &i);
        check();
        out_ += "<value><int>";
        append_int(out_, i);
        out_ += "</int></value>";
        break;
      }
      case XMLRPC_TYPE_I8: {
        xmlrpc_int64 i = 0;
        xmlrpc_read_i8(&env_.env, v, &i);
        check();
        out_ += "<value><i8>";
        append_int(out_, i);
        out_ += "</i8></value>";
        break;
      }
      case XMLRPC_TYPE_BOOL: {
        xmlrpc_bool b = 0;
        xmlrpc_read_bool(&env_.env, v, &b);
        check();
        out_ += b ? "<value><boolean>1</boolean></value>" : "<value><boolean>0</boolean></value>";
        break;
      }
      case XMLRPC_TYPE_DOUBLE: {
        double d = 0;
        xmlrpc_read_double(&env_.env, v, &d);
        check();
        if (!std::isfinite(d)) throw CodecError("cannot send a non-finite double (inf or nan)");
        char buf[64];
        // The shortest text that reads back to the same double, laid out as Python's repr():
        // plain decimals for 1e-4 <= |d| < 1e16 (XML-RPC's own syntax), an exponent outside
        // (which Python, xmlrpc-c and Java parse; plain decimals would run to 300 digits).
        const double mag = std::fabs(d);
        const auto r =
            std::to_chars(buf, buf + sizeof buf, d,
                          mag != 0 && (mag < 1e-4 || mag >= 1e16) ? std::chars_format::scientific
                                                                  : std::chars_format::fixed);
        if (r.ec != std::errc()) throw CodecError("cannot format a double");
        out_ += "<value><double>";
        out_.append(buf, r.ptr);
        out_ += "</double></value>";
        break;
      }
      case XMLRPC_TYPE_DATETIME: {
        xmlrpc_datetime dt{};
        xmlrpc_read_datetime(&env_.env, v, &dt);
        check();
        char buf[64];
        int n = std::snprintf(buf, sizeof buf, "%04u%02u%02uT%02u:%02u:%02u", dt.Y, dt.M, dt.D,
                              dt.h, dt.m, dt.s);
        if (dt.u != 0 && n > 0 && n < 48) {
          n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%06u", dt.u);
        }
        out_ += "<value><dateTime.iso8601>";
        out_.append(buf, static_cast<std::size_t>(std::max(n, 0)));
        out_ += "</dateTime.iso8601></value>";
        break;
      }
      case XMLRPC_TYPE_STRING: {
        out_ += "<value><string>";
        append_string(v);
        out_ += "</string></value>";
        break;
      }
      case XMLRPC_TYPE_BASE64: {
        std::size_t n = 0;
        const unsigned char* bytes = nullptr;
        xmlrpc_read_base64(&env_.env, v, &n, &bytes);
        check();
        const std::unique_ptr<const unsigned char, FreeDeleter> owned(bytes);
        out_ += "<value><base64>";
        const std::size_t at = out_.size();
        out_.resize(at + b64_encoded_size(n));
        b64_encode_into(bytes, n, &out_[at]);
        out_ += "</base64></value>";
        break;
      }
      case XMLRPC_TYPE_ARRAY: {
        const int n = xmlrpc_array_size(&env_.env, v);
        check();
        out_ += "<value><array><data>\n";
        for (int i = 0; i < n; ++i) {
          xmlrpc_value* item = nullptr;
          xmlrpc_array_read_item(&env_.env, v, static_cast<unsigned>(i), &item);
          check();
          const CRef owned(item);
          value(item, depth + 1);
          out_ += '\n';
        }
        out_ += "</data></array></value>";
        break;
      }
      case XMLRPC_TYPE_STRUCT: {
        const int n = xmlrpc_struct_size(&env_.env, v);
        check();
        out_ += "<value><struct>\n";
        for (int i = 0; i < n; ++i) {
          xmlrpc_value* key = nullptr;
          xmlrpc_value* val = nullptr;
          xmlrpc_struct_read_member(&env_.env, v, static_cast<unsigned>(i), &key, &val);
          check();
          const CRef k(key), owned(val);
          out_ += "<member><name>";
          append_string(key);
          out_ += "</name>";
          value(val, depth + 1);
          out_ += "</member>\n";
        }
        out_ += "</struct></value>";
        break;
      }
      case XMLRPC_TYPE_NIL:
        out_ += "<value><nil/></value>";
        break;
      default:
        throw CodecError("cannot send a value of type " +
                         std::string(xmlrpc_type_name(xmlrpc_value_type(v))));
    }
  }

 private:
  void check() { env_.check("xmlrpc-c"); }

  void append_string(xmlrpc_value* v) {
    std::size_t n = 0;
    const char* s = nullptr;
    xmlrpc_read_string_lp(&env_.env, v, &n, &s);
    check();
    const std::unique_ptr<const char, FreeDeleter> owned(s);
    append_escaped(out_, s, n);
  }

  std::string& out_;  ///< the document being written
  Env env_;           ///< xmlrpc-c errors
};

constexpr std::string_view kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// msg with everything XML cannot carry replaced by '?', and characters outside the Basic
/// Multilingual Plane too: xmlrpc-c 1.33 refuses them in strings, so an xmlrpc-c client (ours)
/// could not read the fault at all (found by tests/fuzz/fuzz_xmlrpc: an unknown method name or
/// encoding echoed in the message).
std::string xml_safe(const std::string& msg) {
  std::string out;
  out.reserve(msg.size());
  const auto* s = reinterpret_cast<const unsigned char*>(msg.data());
  const auto* const e = s + msg.size();
  while (s < e) {
    if (*s < 0x80) {
      out += (*s >= 0x20 || *s == '\t' || *s == '\n' || *s == '\r') ? static_cast<char>(*s) : '?';
      ++s;
      continue;
    }
    const std::size_t n = utf8_sequence(s, e);
    if (n == 0) {
      out += '?';
      ++s;
    } else if (n == 4) {
      out += '?';
      s += n;
    } else {
      out.append(reinterpret_cast<const char*>(s), n);
      s += n;
    }
  }
  return out;
}

}  // namespace

void parse_call(std::string_view xml, std::string& method, xmlrpc_c::paramList& params) {
  try {
    Parser(xml).call(method, params);
  } catch (const CodecError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw CodecError(std::string("XML-RPC parse error: ") + e.what());
  }
}

ParsedResponse parse_response(std::string_view xml) {
  try {
    return Parser(xml).response();
  } catch (const CodecError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw CodecError(std::string("XML-RPC parse error: ") + e.what());
  }
}

std::string serialize_response(const xmlrpc_c::value& v) {
  std::string out;
  Writer w(out);
  w.reserve_for(v.cValueP);
  out += kXmlDecl;
  out += "<methodResponse>\n<params>\n<param>";
  w.value(v.cValueP, 0);
  out += "</param>\n</params>\n</methodResponse>\n";
  return out;
}

std::string serialize_fault(int code, const std::string& msg) {
  const std::string safe = xml_safe(msg);
  std::string out;
  out.reserve(300 + safe.size());
  out += kXmlDecl;
  out += "<methodResponse>\n<fault>\n<value><struct>\n<member><name>faultCode</name><value><int>";
  append_int(out, code);
  out += "</int></value></member>\n<member><name>faultString</name><value><string>";
  append_escaped(out, safe.data(), safe.size());
  out += "</string></value></member>\n</struct></value>\n</fault>\n</methodResponse>\n";
  return out;
}

std::string serialize_call(const std::string& method, const xmlrpc_c::paramList& params) {
  std::string out;
  Writer w(out);
  out += kXmlDecl;
  out += "<methodCall>\n<methodName>";
  append_escaped(out, method.data(), method.size());
  out += "</methodName>\n<params>\n";
  for (unsigned i = 0; i < params.size(); ++i) {
    out += "<param>";
    w.value(params[i].cValueP, 0);
    out += "</param>\n";
  }
  out += "</params>\n</methodCall>\n";
  return out;
}

void base64_decode(std::string_view text, std::vector<unsigned char>& out) {
  const std::size_t at = out.size();
  out.resize(at + b64_decoded_bound(text.size()));
  try {
    const std::size_t n = b64_decode_into(reinterpret_cast<const unsigned char*>(text.data()),
                                          text.size(), out.data() + at);
    out.resize(at + n);
  } catch (...) {
    out.resize(at);
    throw;
  }
}

void enable_base64_simd(bool on) { g_base64_simd = on; }

bool base64_simd_active() { return use_avx2(); }

void base64_encode(const unsigned char* data, std::size_t size, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + b64_encoded_size(size));
  b64_encode_into(data, size, &out[at]);
}

}  // namespace fh::shared::xmlrpc
