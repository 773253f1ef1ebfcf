// The XML-RPC grammar over XmlReader: <methodCall> and <methodResponse> documents, values
// built directly as xmlrpc-c C values (no C++ wrapper copies of maps and vectors), within the
// caller's ParseLimits (counted as the document is read: a refusal costs at most the limit).
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "xmlrpc_base64.hpp"
#include "xmlrpc_text.hpp"
#include "xmlrpc_values.hpp"
#include "xmlrpc_xml_reader.hpp"

#include <xmlrpc-c/base.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>

namespace fh::shared::xmlrpc {
namespace {

using detail::all_ws;
using detail::b64_decode_into;
using detail::b64_decoded_bound;
using detail::CRef;
using detail::Env;
using detail::trim_ws;

/// Recursive descent over one document.
class Parser : public detail::XmlReader {
 public:
  Parser(std::string_view xml, const ParseLimits& limits) : XmlReader(xml), limits_(limits) {}

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
      read_fault(r);
    } else {
      fail("expected <params> or <fault>, found <" + std::string(t.name) + ">");
    }
    expect_end("methodResponse");
    epilog();
    return r;
  }

 private:
  /// After <fault>: its value, through </fault>, into r.
  void read_fault(ParsedResponse& r) {
    const CRef v = value_element(1);
    expect_end("fault");
    if (xmlrpc_value_type(v.get()) != XMLRPC_TYPE_STRUCT) fail("fault value is not a struct");
    const auto s = static_cast<xmlrpc_c::cstruct>(xmlrpc_c::value_struct(v.cpp()));
    const auto code = s.find(fh::shared::api::field::fault_code);
    const auto str = s.find(fh::shared::api::field::fault_string);
    if (code == s.end() || str == s.end() || code->second.type() != xmlrpc_c::value::TYPE_INT ||
        str->second.type() != xmlrpc_c::value::TYPE_STRING) {
      fail("fault struct needs faultCode (int) and faultString (string)");
    }
    r.is_fault = true;
    r.fault_code = xmlrpc_c::value_int(code->second);
    r.fault_string = static_cast<std::string>(xmlrpc_c::value_string(str->second));
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
    if (env_.env.fault_occurred) fail("xmlrpc-c: " + env_.take_fault());
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

  /// Counts one more value (a <value> or a member name) against max_values.
  void count_value() {
    if (++values_ > limits_.max_values) {
      fail_limit("more than " + std::to_string(limits_.max_values) +
                 " values in the document (max_values)");
    }
  }

  /// At <value>: the value, through </value>.
  CRef value_element(int depth) {
    if (depth > limits_.max_depth) {
      fail_limit("values nested deeper than " + std::to_string(limits_.max_depth) + " (max_depth)");
    }
    count_value();
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
      // The payload: decoded in place unless a comment or CDATA section is inside.
      std::string_view text;
      if (!text_in_place(t.name, text)) {
        read_text(text_);
        text = text_;
      }
      reserve_scratch(b64_decoded_bound(text.size()));
      try {
        n = b64_decode_into(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                            scratch_.get());
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

  /// A repeated member name replaces the earlier value and keeps its place (xmlrpc-c's
  /// semantics: the last one wins). xmlrpc_struct_set_value_v looks for the name among the
  /// members so far (a scan of their hashes), and xmlrpc-c's public API has no other way to add
  /// a member: building a struct is quadratic in its members, bounded by max_struct_members.
  CRef struct_value(const Tag& t, int depth) {
    CRef s = made(xmlrpc_struct_new(&env_.env));
    if (t.empty) return s;
    std::string key;
    for (std::size_t members = 0;;) {
      skip_misc();
      if (at_end_tag()) break;
      if (++members > limits_.max_struct_members) {
        fail_limit("more than " + std::to_string(limits_.max_struct_members) +
                   " members in one struct (max_struct_members)");
      }
      count_value();  // the name
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
      for (std::size_t items = 0;;) {
        skip_misc();
        if (at_end_tag()) break;
        if (++items > limits_.max_array_items) {
          fail_limit("more than " + std::to_string(limits_.max_array_items) +
                     " items in one array (max_array_items)");
        }
        const CRef v = value_element(depth + 1);
        xmlrpc_array_append_item(&env_.env, a.get(), v.get());
        check();
      }
      expect_end("data");
    }
    expect_end("array");
    return a;
  }

  const ParseLimits limits_;                  ///< the caller's bounds
  std::size_t values_ = 0;                    ///< values so far, member names included
  std::string text_;                          ///< scratch for scalar text
  std::unique_ptr<unsigned char[]> scratch_;  ///< decoded base64, reused within a document
  std::size_t scratch_size_ = 0;              ///< bytes in scratch_
  Env env_;                                   ///< xmlrpc-c errors
};

/// Runs parse; anything thrown besides CodecError and std::bad_alloc becomes a CodecError.
template <typename F>
auto codec_errors_only(F&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const CodecError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw CodecError(std::string("XML-RPC parse error: ") + e.what());
  }
}

}  // namespace

void parse_call(std::string_view xml, std::string& method, xmlrpc_c::paramList& params,
                const ParseLimits& limits) {
  codec_errors_only([&] { Parser(xml, limits).call(method, params); });
}

ParsedResponse parse_response(std::string_view xml, const ParseLimits& limits) {
  return codec_errors_only([&] { return Parser(xml, limits).response(); });
}

}  // namespace fh::shared::xmlrpc
