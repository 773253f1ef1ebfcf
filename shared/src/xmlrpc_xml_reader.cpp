#include "xmlrpc_xml_reader.hpp"

#include "framehive/shared/xmlrpc_codec.hpp"
#include "xmlrpc_text.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace fh::shared::xmlrpc::detail {
namespace {

constexpr const char* kStrayText =
    "text outside a value (only whitespace and comments may be between elements)";

}  // namespace

std::string XmlReader::where(const std::string& what) const {
  std::size_t line = 1;
  const char* line_start = begin_;
  for (const char* q = begin_; q < p_; ++q) {
    if (*q == '\n') ++line, line_start = q + 1;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(p_ - line_start + 1) + ": " +
         what + (p_ < end_ ? " (near '" + excerpt(p_, end_) + "')" : " (at end of document)");
}

void XmlReader::fail(const std::string& what) const {
  throw CodecError("XML-RPC parse error at " + where(what));
}

void XmlReader::fail_limit(const std::string& what) const {
  throw LimitError("XML-RPC limit exceeded at " + where(what));
}

bool XmlReader::starts_with(std::string_view s) const {
  return static_cast<std::size_t>(end_ - p_) >= s.size() &&
         std::memcmp(p_, s.data(), s.size()) == 0;
}

void XmlReader::skip_ws() {
  while (p_ < end_ && is_xml_ws(static_cast<unsigned char>(*p_))) ++p_;
}

const char* XmlReader::name_end(const char* q) {
  while (q < end_ && is_name_char(static_cast<unsigned char>(*q))) ++q;
  if (q < end_ && static_cast<unsigned char>(*q) >= 0x80) {
    p_ = q;
    fail("non-ASCII character in a name");
  }
  return q;
}

void XmlReader::skip_comment() {  // at "<!--"
  const std::string_view rest(p_ + 4, static_cast<std::size_t>(end_ - p_ - 4));
  const auto close = rest.find("-->");
  if (close == std::string_view::npos) fail("unterminated comment");
  const std::string_view body = rest.substr(0, close);
  if (body.find("--") != std::string_view::npos || (!body.empty() && body.back() == '-')) {
    fail("'--' in a comment");
  }
  check_chars(body, "a comment or processing instruction");
  p_ += 4 + close + 3;
}

void XmlReader::check_chars(std::string_view text, const char* where) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const e = s + text.size();
  while (s < e) {
    if (*s < 0x80) {
      if (*s < 0x20 && !is_xml_ws(*s)) {
        p_ = reinterpret_cast<const char*>(s);
        fail(std::string("control character in ") + where);
      }
      ++s;
      continue;
    }
    const std::size_t n = utf8_sequence(s, e);
    if (n == 0) {
      p_ = reinterpret_cast<const char*>(s);
      fail(std::string("invalid UTF-8 or a character XML does not allow in ") + where);
    }
    s += n;
  }
}

void XmlReader::skip_misc() {
  for (;;) {
    skip_ws();
    if (starts_with("<!--")) {
      skip_comment();
    } else if (starts_with("<?")) {
      skip_pi();
    } else {
      return;
    }
  }
}

void XmlReader::skip_pi() {
  const char* q = p_ + 2;
  const char* name = q;
  q = name_end(q);
  if (q == name || (*name >= '0' && *name <= '9') || *name == '.' || *name == '-') {
    fail("bad processing instruction target");
  }
  if (q - name == 3 && (name[0] | 0x20) == 'x' && (name[1] | 0x20) == 'm' &&
      (name[2] | 0x20) == 'l') {
    fail("XML declaration not at the start of the document");
  }
  const std::string_view rest(q, static_cast<std::size_t>(end_ - q));
  const auto close = rest.find("?>");
  if (close == std::string_view::npos) fail("unterminated processing instruction");
  if (close > 0 && !is_xml_ws(static_cast<unsigned char>(rest[0]))) {
    fail("bad processing instruction target");
  }
  check_chars(rest.substr(0, close), "a comment or processing instruction");
  p_ = q + close + 2;
}

void XmlReader::misc_and_declarations() {
  skip_misc();
  if (starts_with("<!") && !starts_with("<!--")) {
    fail("DOCTYPE and other declarations are not allowed");
  }
}

void XmlReader::prolog() {
  if (starts_with("\xEF\xBB\xBF")) p_ += 3;
  if (starts_with("<?xml") && end_ - p_ > 5 &&
      (is_xml_ws(static_cast<unsigned char>(p_[5])) || p_[5] == '?')) {
    const std::string_view rest(p_, static_cast<std::size_t>(end_ - p_));
    const auto close = rest.find("?>");
    if (close == std::string_view::npos) fail("unterminated XML declaration");
    check_declaration(rest.substr(5, close - 5));
    p_ += close + 2;
  }
  misc_and_declarations();
}

void XmlReader::check_declaration(std::string_view decl) {
  // XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>' (XML 1.0, productions 23-32)
  static constexpr std::string_view kNames[] = {"version", "encoding", "standalone"};
  std::size_t i = 0;
  std::size_t next = 0;  // index into kNames of the next pseudo-attribute allowed
  auto skip = [&] {
    while (i < decl.size() && is_xml_ws(static_cast<unsigned char>(decl[i]))) ++i;
  };
  for (;;) {
    const std::size_t before_ws = i;
    skip();
    if (i == decl.size()) break;
    if (i == before_ws) fail("bad XML declaration");
    const std::size_t name_start = i;
    while (i < decl.size() && is_name_char(static_cast<unsigned char>(decl[i]))) ++i;
    const std::string_view name = decl.substr(name_start, i - name_start);
    std::size_t k = next;
    while (k < std::size(kNames) && kNames[k] != name) ++k;
    if (k == std::size(kNames) || (next == 0 && k != 0)) fail("bad XML declaration");
    skip();
    if (i == decl.size() || decl[i] != '=') fail("bad XML declaration");
    ++i;
    skip();
    if (i == decl.size() || (decl[i] != '"' && decl[i] != '\'')) fail("bad XML declaration");
    const auto close = decl.find(decl[i], i + 1);
    if (close == std::string_view::npos) fail("bad XML declaration");
    check_declared(k, decl.substr(i + 1, close - i - 1));
    i = close + 1;
    next = k + 1;
  }
  if (next == 0) fail("XML declaration without a version");
}

void XmlReader::check_declared(std::size_t which, std::string_view v) {
  auto all_of = [v](std::size_t from, auto pred) {
    for (std::size_t i = from; i < v.size(); ++i) {
      if (!pred(static_cast<unsigned char>(v[i]))) return false;
    }
    return true;
  };
  if (which == 0) {  // VersionNum as expat reads it: ([a-zA-Z0-9_.] | '-')+
    if (v.empty()) fail("bad XML declaration: empty version");  // expat lets it through
    if (!all_of(0, [](unsigned char c) {
          return std::isalnum(c) || c == '_' || c == '.' || c == '-';
        })) {
      fail("bad XML declaration: version");
    }
  } else if (which == 1) {  // EncName ::= [A-Za-z] ([A-Za-z0-9._] | '-')*
    if (v.empty() || !std::isalpha(static_cast<unsigned char>(v[0])) ||
        !all_of(1, [](unsigned char c) {
          return std::isalnum(c) || c == '.' || c == '_' || c == '-';
        })) {
      fail("bad encoding declaration");
    }
    std::string name(v);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The names expat (and so xmlrpc-c) knows for UTF-8 and its ASCII subset; "utf8" is not one.
    if (name != "utf-8" && name != "us-ascii") {
      fail("unsupported encoding '" + name + "' (only UTF-8)");
    }
  } else if (v != "yes" && v != "no") {
    fail("bad XML declaration: standalone");
  }
}

void XmlReader::epilog() {
  misc_and_declarations();
  if (p_ != end_) fail("content after the root element");
}

XmlReader::Tag XmlReader::start_tag() {
  if (p_ >= end_) fail("unexpected end of document, expected a start tag");
  if (*p_ != '<') fail(kStrayText);
  if (at_end_tag()) fail("expected a start tag, found an end tag");
  ++p_;
  const char* name = p_;
  p_ = name_end(p_);
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
    skip_attribute();
  }
}

void XmlReader::skip_attribute() {
  const char* attr = p_;
  p_ = name_end(p_);
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
  check_chars(std::string_view(p_, static_cast<std::size_t>(q - p_)), "an attribute value");
  // Every '&' starts a well-formed reference that ends before the closing quote.
  std::string ignored;
  for (const char* a = p_; a < q;) {
    a = static_cast<const char*>(std::memchr(a, '&', static_cast<std::size_t>(q - a)));
    if (!a) break;
    p_ = a;
    entity(ignored);
    if (p_ > q) fail("bad entity reference in an attribute value");
    a = p_;
  }
  p_ = q + 1;
}

bool XmlReader::expect_start(std::string_view name) {
  skip_misc();
  if (p_ < end_ && *p_ != '<') fail(kStrayText);
  if (at_end_tag()) fail("expected <" + std::string(name) + ">, found an end tag");
  const char* at = p_;
  const Tag t = start_tag();
  if (t.name != name) {
    p_ = at;
    fail("expected <" + std::string(name) + ">");
  }
  return t.empty;
}

void XmlReader::expect_end(std::string_view name) {
  skip_misc();
  if (p_ < end_ && *p_ != '<') fail(kStrayText);
  if (!at_end_tag()) fail("expected </" + std::string(name) + ">");
  const char* at = p_;
  p_ += 2;
  const char* n = p_;
  p_ = name_end(p_);
  if (std::string_view(n, static_cast<std::size_t>(p_ - n)) != name) {
    p_ = at;
    fail("expected </" + std::string(name) + ">");
  }
  skip_ws();
  if (p_ >= end_ || *p_ != '>') fail("bad end tag");
  ++p_;
}

void XmlReader::append_chars(const char* b, const char* e, std::string& out) {
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

void XmlReader::entity(std::string& out) {
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
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
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

void XmlReader::read_text(std::string& out) {
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
    } else if (starts_with("<?")) {
      skip_pi();
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

bool XmlReader::text_in_place(std::string_view name, std::string_view& text) {
  const void* lt = std::memchr(p_, '<', static_cast<std::size_t>(end_ - p_));
  if (!lt) fail("unterminated <" + std::string(name) + ">");
  const char* text_end = static_cast<const char*>(lt);
  if (!(end_ - text_end >= 2 && text_end[1] == '/')) return false;  // a comment or CDATA inside
  text = std::string_view(p_, static_cast<std::size_t>(text_end - p_));
  p_ = text_end;
  return true;
}

}  // namespace fh::shared::xmlrpc::detail
