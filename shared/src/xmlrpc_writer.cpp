// The XML-RPC writer: walks xmlrpc-c C values by type into one reserved string.
#include "framehive/shared/xmlrpc_codec.hpp"
#include "xmlrpc_base64.hpp"
#include "xmlrpc_text.hpp"
#include "xmlrpc_values.hpp"

#include <xmlrpc-c/base.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace fh::shared::xmlrpc {
namespace {

using detail::b64_encode_into;
using detail::b64_encoded_size;
using detail::CRef;
using detail::Env;
using detail::FreeDeleter;
using detail::utf8_sequence;

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
      case XMLRPC_TYPE_DOUBLE:
        write_double(v);
        break;
      case XMLRPC_TYPE_DATETIME:
        write_datetime(v);
        break;
      case XMLRPC_TYPE_STRING:
        out_ += "<value><string>";
        append_string(v);
        out_ += "</string></value>";
        break;
      case XMLRPC_TYPE_BASE64:
        write_base64(v);
        break;
      case XMLRPC_TYPE_ARRAY:
        write_array(v, depth);
        break;
      case XMLRPC_TYPE_STRUCT:
        write_struct(v, depth);
        break;
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

  void write_double(xmlrpc_value* v) {
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
  }

  void write_datetime(xmlrpc_value* v) {
    xmlrpc_datetime dt{};
    xmlrpc_read_datetime(&env_.env, v, &dt);
    check();
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04u%02u%02uT%02u:%02u:%02u", dt.Y, dt.M, dt.D, dt.h,
                          dt.m, dt.s);
    if (dt.u != 0 && n > 0 && n < 48) {
      n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%06u", dt.u);
    }
    out_ += "<value><dateTime.iso8601>";
    out_.append(buf, static_cast<std::size_t>(std::max(n, 0)));
    out_ += "</dateTime.iso8601></value>";
  }

  void write_base64(xmlrpc_value* v) {
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
  }

  void write_array(xmlrpc_value* v, int depth) {
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
  }

  void write_struct(xmlrpc_value* v, int depth) {
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
  }

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

}  // namespace fh::shared::xmlrpc
