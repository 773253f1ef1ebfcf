#include "xmlrpc_text.hpp"

namespace fh::shared::xmlrpc::detail {

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

std::string excerpt(const char* p, const char* e) {
  std::string out;
  for (; p < e && out.size() < 24; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace fh::shared::xmlrpc::detail
