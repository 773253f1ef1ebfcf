// Differential fuzz target: our XML-RPC codec (fh::shared::xmlrpc::parse_call, parse_response)
// against xmlrpc-c's own parser (libxmlrpc: xmlrpc_parse_call, xmlrpc_parse_response2), the
// oracle. The same bytes go to both as a call and as a response; both must give the same
// verdict (accepted / refused) and, when both accept, the same method name and values (deep
// compare: type, integers, doubles bit for bit, strings byte for byte, base64 bytes, datetime
// fields, array items in order, struct members by key) or the same fault.
//
// Input: one XML-RPC document (tests/fuzz/corpus/xmlrpc_diff/: calls as Python's xmlrpc.client
// sends them, responses and faults, and edge cases). FH_FUZZ_DEBUG=1 prints both verdicts.
//
// Intended differences, found by running this target (kIntended and intended() below: each is
// recognised by the refusing side's message; the verdicts are then not compared):
//  - we refuse what xmlrpc-c 1.33 accepts:
//    * a DOCTYPE or other declaration (no DTDs, no entity expansion);
//    * an encoding other than UTF-8 / US-ASCII in the XML declaration (expat also reads
//      ISO-8859-1 and others);
//    * a method name longer than 1,024 bytes, or an empty one; an empty XML version;
//    * non-whitespace text between elements (xmlrpc-c ignores character data outside values,
//      e.g. "<params>x</params>" or "<value><int>1</int>x</value>") and text before a type
//      element in <value>;
//    * base64 with characters outside the alphabet, a length that is not a multiple of 4,
//      misplaced '=' or data after the padding (xmlrpc-c skips or ignores them);
//    * a <double> that strtod reads but XML-RPC does not allow: inf, nan, hexadecimal;
//    * a dateTime.iso8601 not in the spec's form YYYYMMDDTHH:MM:SS (xmlrpc-c takes e.g. a
//      three-digit second); we also take YYYY-MM-DD, fractions and a trailing Z;
//    * bytes that are not UTF-8 of XML characters anywhere in the document (xmlrpc-c's expat
//      checks them only where xmlrpc-c makes a string of them) - checked here independently:
//      has_bad_characters() must agree - and in comments and processing instructions;
//    * a non-ASCII character in a tag, attribute or processing instruction name (XML-RPC's
//      names are ASCII; expat takes any XML name);
//    * a document over our ParseLimits (xmlrpc_codec.hpp): more values in the document, more
//      members in one struct or more items in one array than kCallLimits / kResponseLimits
//      allow (xmlrpc-c has no such limits; the defaults need inputs of megabytes, so the
//      limits are fuzzed apart: see below);
//  - xmlrpc-c refuses what we accept:
//    * whitespace around the text of <int>, <i4>, <i8>, <double>, <boolean> (we trim it, as
//      Python's xmlrpc.client does);
//    * a UTF-8 byte order mark: xmlrpc-c is given the document without it (its expat calls it
//      "not well-formed"; XML allows it);
//    * characters outside Unicode's Basic Multilingual Plane in strings and names (valid UTF-8
//      and XML; xmlrpc-c 1.33's string values cannot hold them);
//  - values: xmlrpc-c 1.33 sums decimal digits in floating point, so its doubles can be a few
//    ulp off (0.875 reads as 0.87500000000000011); ours are correctly rounded (std::from_chars).
//    Doubles are compared to 1e-14 relative;
//  - not compared: documents with an <i8> whose text is not an optional sign and digits in
//    range (crashes_xmlrpc_c(): xmlrpc-c 1.33 crashes formatting its own fault message).
// Both parsers refuse values nested deeper than 64 (kMaxValueDepth, XMLRPC_NESTING_LIMIT): not
// an intended difference.
//
// Our limits, small (kSmallLimits) so that fuzz inputs reach them: the parse under them gives
// the same verdict and values as under the defaults, or a LimitError that names the limit.
// A repeated member name: the last value wins, in the place of the first (both parsers).
#include "fuzz_util.hpp"

#include "framehive/shared/xmlrpc_codec.hpp"

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/base.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

namespace codec = fh::shared::xmlrpc;

/// Limits fuzz inputs reach; the depth stays xmlrpc-c's.
constexpr codec::ParseLimits kSmallLimits{40, 5, 8, codec::kMaxValueDepth};

/// Whether message is a LimitError's, naming the limit.
bool over_limit(const std::string& message) {
  return message.rfind("XML-RPC limit exceeded at ", 0) == 0 &&
         message.find("(max_") != std::string::npos;
}

/// A difference in verdict we mean to have: the side that refuses, and a piece of its message.
struct Intended {
  bool ours_refuses;    ///< true: we refuse, xmlrpc-c accepts; false: the other way round
  const char* message;  ///< a substring of the refusing side's message
};

constexpr Intended kIntended[] = {
    {true, "DOCTYPE and other declarations are not allowed"},
    {true, "unsupported encoding"},
    {true, "method name longer than"},
    {true, "empty method name"},  // the spec's methodName has at least one character
    {true, "empty <methodName>"},
    {true, "empty version"},  // XML's VersionNum is '1.' [0-9]+; expat accepts version=""
    {true, "text outside a value"},
    {true, "base64: "},
    {true, "text before a type element"},
    {true, "in a comment or processing instruction"},
    {true, "non-ASCII character in a name"},
    {true, "(max_values)"},  // our ParseLimits; max_depth is not one: xmlrpc-c has the same
    {true, "(max_struct_members)"},
    {true, "(max_array_items)"},
    {false, "starts with white space"},
    {false, "ends with white space"},
    {false, "not in the Basic Multilingual Plane"},
};

/// Whether xmlrpc-c's message refuses a scalar only for the whitespace around it (we trim
/// it, as Python's xmlrpc.client does): the character after one of these quotes is whitespace.
/// A <double>'s exponent, which xmlrpc-c reads, may stand between the quote and the whitespace
/// ("1.5e30 " is refused starting at 'e30 ').
bool refused_for_whitespace(const std::string& message) {
  for (const char* quote : {"non-numerical junk: '",
                            "Garbage (not sign, digit, or period) "
                            "starting at '"}) {
    const auto at = message.find(quote);
    if (at == std::string::npos) continue;
    std::size_t i = at + std::strlen(quote);
    if (i < message.size() && (message[i] == 'e' || message[i] == 'E')) {
      ++i;
      if (i < message.size() && (message[i] == '+' || message[i] == '-')) ++i;
      while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) ++i;
    }
    if (i < message.size() && std::strchr(" \t\r\n", message[i])) return true;
  }
  const std::string has = "This one has '";  // <boolean>
  const auto at = message.find(has);
  if (at == std::string::npos) return false;
  std::string v = message.substr(at + has.size());
  v = v.substr(0, v.rfind('\''));
  const auto b = v.find_first_not_of(" \t\r\n"), e = v.find_last_not_of(" \t\r\n");
  return b != std::string::npos && e == b && (v[b] == '0' || v[b] == '1');
}

/// Whether xml holds bytes that are not UTF-8 of characters XML allows (written here apart
/// from the codec's own check: RFC 3629 sequences, XML 1.0's Char production).
bool has_bad_characters(std::string_view xml) {
  const auto* p = reinterpret_cast<const unsigned char*>(xml.data());
  const auto* const e = p + xml.size();
  while (p < e) {
    const unsigned c = *p;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      n = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07;
    } else {
      return true;
    }
    if (static_cast<std::size_t>(e - p) < n) return true;
    for (std::size_t i = 1; i < n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return true;
      cp = cp << 6 | (p[i] & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n]) return true;  // overlong
    const bool xml_char = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                          (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
    if (!xml_char) return true;
    p += n;
  }
  return false;
}

/// Whether our message refuses a dateTime.iso8601 whose text is not in the XML-RPC spec's form
/// YYYYMMDDTHH:MM:SS (xmlrpc-c 1.33 takes some other forms, e.g. "20240102T03:04:050").
bool refused_datetime_off_spec(const std::string& message) {
  const std::string bad = "bad dateTime.iso8601 '";
  const auto at = message.find(bad);
  if (at == std::string::npos) return false;
  const auto end = message.find('\'', at + bad.size());
  const std::string v = message.substr(at + bad.size(), end - at - bad.size());
  static constexpr std::string_view kForm = "ddddddddTdd:dd:dd";  // d: a digit
  std::size_t i = 0;
  for (std::size_t k = 0; k < kForm.size(); ++k) {
    if (i == v.size()) return true;
    const char c = v[i++];
    if (kForm[k] == 'd' ? (c < '0' || c > '9') : c != kForm[k]) return true;
  }
  return i != v.size();
}

bool intended(bool ours_refuses, const std::string& message, std::string_view xml) {
  if (ours_refuses &&
      message.find("invalid UTF-8 or a character XML does not allow") != std::string::npos) {
    FH_FUZZ_CHECK(has_bad_characters(xml));  // else our check is wrong
    return true;
  }
  for (const auto& i : kIntended) {
    if (i.ours_refuses == ours_refuses && message.find(i.message) != std::string::npos) {
      return true;
    }
  }
  if (ours_refuses && refused_datetime_off_spec(message)) return true;
  if (ours_refuses) {  // a double strtod reads: inf, nan, hexadecimal
    const std::string nan = "not a number: '";
    const auto at = message.find(nan);
    return at != std::string::npos &&
           message.find_first_of("iInNxXpP", at + nan.size()) < message.find('\'', at + nan.size());
  }
  return refused_for_whitespace(message);
}

/// xmlrpc-c 1.33 crashes (a bad format argument in its fault message) on an <i8> whose text is
/// not exactly an optional sign and digits in range, unless it is empty or starts with
/// whitespace. Such documents are not given to it. Conservative: any "<i8>" or "<ex:i8>" in the
/// bytes counts (in a comment or CDATA too).
bool crashes_xmlrpc_c(std::string_view xml) {
  for (const std::string_view tag : {"<i8>", "<ex:i8>"}) {
    for (auto at = xml.find(tag); at != std::string_view::npos; at = xml.find(tag, at + 1)) {
      std::string_view text = xml.substr(at + tag.size());
      text = text.substr(0, text.find('<'));
      if (text.empty() || std::strchr(" \t\r\n", text[0])) continue;
      if (text[0] == '+') text.remove_prefix(1);
      std::int64_t v = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || text[0] == '+' || r.ec != std::errc() ||
          r.ptr != text.data() + text.size()) {
        return true;
      }
    }
  }
  return false;
}

/// xmlrpc-c's verdict.
struct Oracle {
  xmlrpc_env env;
  Oracle() { xmlrpc_env_init(&env); }
  ~Oracle() { xmlrpc_env_clean(&env); }
  Oracle(const Oracle&) = delete;
  Oracle& operator=(const Oracle&) = delete;
  bool ok() const { return !env.fault_occurred; }
  std::string error() const { return env.fault_string ? env.fault_string : "(no message)"; }
};

bool debug() {
  static const bool on = std::getenv("FH_FUZZ_DEBUG") != nullptr;
  return on;
}

std::string read_string(xmlrpc_env* env, xmlrpc_value* v) {
  std::size_t n = 0;
  const char* s = nullptr;
  xmlrpc_read_string_lp(env, v, &n, &s);
  FH_FUZZ_CHECK(!env->fault_occurred);
  std::string out(s, n);
  std::free(const_cast<char*>(s));
  return out;
}

/// Deep equality of two C values (a is ours, b is xmlrpc-c's).
bool same_value(xmlrpc_value* a, xmlrpc_value* b, int depth = 0) {
  FH_FUZZ_CHECK(depth < 1000);
  const xmlrpc_type t = xmlrpc_value_type(a);
  if (t != xmlrpc_value_type(b)) {
    if (debug()) std::fprintf(stderr, "type: ours %d, xmlrpc-c %d\n", t, xmlrpc_value_type(b));
    return false;
  }
  xmlrpc_env env;
  xmlrpc_env_init(&env);
  bool same = false;
  switch (t) {
    case XMLRPC_TYPE_INT: {
      int x = 0, y = 0;
      xmlrpc_read_int(&env, a, &x);
      xmlrpc_read_int(&env, b, &y);
      same = x == y;
      break;
    }
    case XMLRPC_TYPE_I8: {
      xmlrpc_int64 x = 0, y = 0;
      xmlrpc_read_i8(&env, a, &x);
      xmlrpc_read_i8(&env, b, &y);
      same = x == y;
      break;
    }
    case XMLRPC_TYPE_BOOL: {
      xmlrpc_bool x = 0, y = 0;
      xmlrpc_read_bool(&env, a, &x);
      xmlrpc_read_bool(&env, b, &y);
      same = (x != 0) == (y != 0);
      break;
    }
    case XMLRPC_TYPE_DOUBLE: {
      double x = 0, y = 0;
      xmlrpc_read_double(&env, a, &x);
      xmlrpc_read_double(&env, b, &y);
      same = x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
      if (!same && debug()) std::fprintf(stderr, "double: ours %.17g, xmlrpc-c %.17g\n", x, y);
      break;
    }
    case XMLRPC_TYPE_DATETIME: {
      xmlrpc_datetime x{}, y{};
      xmlrpc_read_datetime(&env, a, &x);
      xmlrpc_read_datetime(&env, b, &y);
      same = x.Y == y.Y && x.M == y.M && x.D == y.D && x.h == y.h && x.m == y.m && x.s == y.s &&
             x.u == y.u;
      break;
    }
    case XMLRPC_TYPE_STRING: {
      const std::string x = read_string(&env, a), y = read_string(&env, b);
      same = x == y;
      if (!same && debug()) {
        std::fprintf(stderr, "string: ours '%s', xmlrpc-c '%s'\n", x.c_str(), y.c_str());
      }
      break;
    }
    case XMLRPC_TYPE_BASE64: {
      std::size_t nx = 0, ny = 0;
      const unsigned char *x = nullptr, *y = nullptr;
      xmlrpc_read_base64(&env, a, &nx, &x);
      xmlrpc_read_base64(&env, b, &ny, &y);
      same = nx == ny && (nx == 0 || std::memcmp(x, y, nx) == 0);
      std::free(const_cast<unsigned char*>(x));
      std::free(const_cast<unsigned char*>(y));
      break;
    }
    case XMLRPC_TYPE_ARRAY: {
      const int n = xmlrpc_array_size(&env, a);
      same = n == xmlrpc_array_size(&env, b);
      for (int i = 0; same && i < n; ++i) {
        xmlrpc_value *x = nullptr, *y = nullptr;
        xmlrpc_array_read_item(&env, a, static_cast<unsigned>(i), &x);
        xmlrpc_array_read_item(&env, b, static_cast<unsigned>(i), &y);
        FH_FUZZ_CHECK(!env.fault_occurred);
        same = same_value(x, y, depth + 1);
        xmlrpc_DECREF(x);
        xmlrpc_DECREF(y);
      }
      break;
    }
    case XMLRPC_TYPE_STRUCT: {
      const int n = xmlrpc_struct_size(&env, a);
      same = n == xmlrpc_struct_size(&env, b);
      for (int i = 0; same && i < n; ++i) {
        xmlrpc_value *key = nullptr, *x = nullptr, *y = nullptr;
        xmlrpc_struct_read_member(&env, a, static_cast<unsigned>(i), &key, &x);
        FH_FUZZ_CHECK(!env.fault_occurred);
        xmlrpc_struct_find_value_v(&env, b, key, &y);
        FH_FUZZ_CHECK(!env.fault_occurred);
        same = y != nullptr && same_value(x, y, depth + 1);
        xmlrpc_DECREF(key);
        xmlrpc_DECREF(x);
        if (y) xmlrpc_DECREF(y);
      }
      break;
    }
    case XMLRPC_TYPE_NIL:
      same = true;
      break;
    default:
      break;  // types the parsers never make
  }
  FH_FUZZ_CHECK(!env.fault_occurred);
  xmlrpc_env_clean(&env);
  return same;
}

void report(const char* what, bool ours_ok, const std::string& ours, bool theirs_ok,
            const std::string& theirs) {
  if (!debug()) return;
  std::fprintf(stderr, "%s: ours %s%s%s; xmlrpc-c %s%s%s\n", what, ours_ok ? "accepted" : "refused",
               ours_ok ? "" : ": ", ours.c_str(), theirs_ok ? "accepted" : "refused",
               theirs_ok ? "" : ": ", theirs.c_str());
}

/// Both verdicts agree, or the difference is intended. Returns whether both accepted.
bool same_verdict(std::string_view xml, const char* what, bool ours_ok,
                  const std::string& ours_error, bool theirs_ok, const std::string& theirs_error) {
  report(what, ours_ok, ours_error, theirs_ok, theirs_error);
  if (ours_ok == theirs_ok) return ours_ok;
  if (!ours_ok && intended(true, ours_error, xml)) return false;
  if (!theirs_ok && intended(false, theirs_error, xml)) return false;
  std::fprintf(stderr, "%s: verdicts differ: ours %s (%s), xmlrpc-c %s (%s)\n", what,
               ours_ok ? "accepted" : "refused", ours_error.c_str(),
               theirs_ok ? "accepted" : "refused", theirs_error.c_str());
  FH_FUZZ_CHECK(!"the same verdict");
  return false;
}

/// The document as xmlrpc-c gets it: without a UTF-8 byte order mark (XML allows one, and we
/// read it; xmlrpc-c's expat calls it "not well-formed").
std::string_view without_bom(std::string_view xml) {
  return xml.substr(0, 3) == "\xEF\xBB\xBF" ? xml.substr(3) : xml;
}

void compare_call(std::string_view xml) {
  std::string method;
  xmlrpc_c::paramList params;
  bool ours_ok = true;
  std::string ours_error;
  try {
    codec::parse_call(xml, method, params);
  } catch (const codec::CodecError& e) {
    ours_ok = false;
    ours_error = e.what();
  }
  {  // under small limits: the same, or over a limit
    std::string small_method;
    xmlrpc_c::paramList small_params;
    try {
      codec::parse_call(xml, small_method, small_params, kSmallLimits);
      FH_FUZZ_CHECK(ours_ok && small_method == method &&
                    codec::serialize_call(small_method, small_params) ==
                        codec::serialize_call(method, params));
    } catch (const codec::LimitError& e) {
      FH_FUZZ_CHECK(over_limit(e.what()));
    } catch (const codec::CodecError& e) {
      FH_FUZZ_CHECK(!ours_ok && ours_error == e.what());
    }
  }
  Oracle o;
  const char* their_method = nullptr;
  xmlrpc_value* their_params = nullptr;
  const std::string_view theirs_xml = without_bom(xml);
  xmlrpc_parse_call(&o.env, theirs_xml.data(), theirs_xml.size(), &their_method, &their_params);
  if (same_verdict(xml, "call", ours_ok, ours_error, o.ok(), o.ok() ? "" : o.error())) {
    FH_FUZZ_CHECK(method == their_method);
    const int n = xmlrpc_array_size(&o.env, their_params);
    FH_FUZZ_CHECK(n >= 0 && static_cast<std::size_t>(n) == params.size());
    for (int i = 0; i < n; ++i) {
      xmlrpc_value* theirs = nullptr;
      xmlrpc_array_read_item(&o.env, their_params, static_cast<unsigned>(i), &theirs);
      FH_FUZZ_CHECK(o.ok());
      FH_FUZZ_CHECK(same_value(params[static_cast<unsigned>(i)].cValueP, theirs));
      xmlrpc_DECREF(theirs);
    }
  }
  if (o.ok()) {
    std::free(const_cast<char*>(their_method));
    xmlrpc_DECREF(their_params);
  }
}

void compare_response(std::string_view xml) {
  codec::ParsedResponse ours;
  bool ours_ok = true;
  std::string ours_error;
  try {
    ours = codec::parse_response(xml);
  } catch (const codec::CodecError& e) {
    ours_ok = false;
    ours_error = e.what();
  }
  try {  // under small limits: the same, or over a limit
    const codec::ParsedResponse small = codec::parse_response(xml, kSmallLimits);
    FH_FUZZ_CHECK(ours_ok && small.is_fault == ours.is_fault);
    if (small.is_fault) {
      FH_FUZZ_CHECK(small.fault_code == ours.fault_code && small.fault_string == ours.fault_string);
    } else {
      FH_FUZZ_CHECK(codec::serialize_response(small.value) ==
                    codec::serialize_response(ours.value));
    }
  } catch (const codec::LimitError& e) {
    FH_FUZZ_CHECK(over_limit(e.what()));
  } catch (const codec::CodecError& e) {
    FH_FUZZ_CHECK(!ours_ok && ours_error == e.what());
  }
  Oracle o;
  xmlrpc_value* result = nullptr;
  int fault_code = 0;
  const char* fault_string = nullptr;
  const std::string_view theirs_xml = without_bom(xml);
  xmlrpc_parse_response2(&o.env, theirs_xml.data(), theirs_xml.size(), &result, &fault_code,
                         &fault_string);
  if (same_verdict(xml, "response", ours_ok, ours_error, o.ok(), o.ok() ? "" : o.error())) {
    FH_FUZZ_CHECK(ours.is_fault == (fault_string != nullptr));
    if (ours.is_fault) {
      FH_FUZZ_CHECK(ours.fault_code == fault_code && ours.fault_string == fault_string);
    } else {
      FH_FUZZ_CHECK(same_value(ours.value.cValueP, result));
    }
  }
  if (o.ok()) {
    if (result) xmlrpc_DECREF(result);
    std::free(const_cast<char*>(fault_string));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = [] {
    xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, std::size_t{64} << 20);  // over any fuzz input
    return true;
  }();
  (void)init;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  if (crashes_xmlrpc_c(xml)) return 0;
  compare_call(xml);
  compare_response(xml);
  return 0;
}
