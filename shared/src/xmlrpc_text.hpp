#pragma once
// Characters and UTF-8 for the XML-RPC parser and writer (xmlrpc_text.cpp): XML 1.0's
// whitespace, name and Char productions. Pure functions, thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fh::shared::xmlrpc::detail {

inline bool is_xml_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Bytes that need no attention in character data.
constexpr std::array<bool, 256> make_plain_table() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  t['\t'] = t['\n'] = true;
  t['<'] = t['&'] = false;
  return t;
}
inline constexpr auto kPlain = make_plain_table();

inline bool is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '.' || c == '-';
}

/// XML 1.0 Char production.
inline bool is_xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/// Appends code point cp as UTF-8.
void append_utf8(std::uint32_t cp, std::string& out);

/// Length of the valid UTF-8 sequence of an XML character at p (p < e, *p >= 0x80), or 0.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* e);

/// s without leading and trailing XML whitespace.
std::string_view trim_ws(std::string_view s);

inline bool all_ws(std::string_view s) { return trim_ws(s).empty(); }

/// A short printable excerpt of [p, e) for messages.
std::string excerpt(const char* p, const char* e);

}  // namespace fh::shared::xmlrpc::detail
