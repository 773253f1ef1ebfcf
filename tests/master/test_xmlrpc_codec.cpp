// The native back end's XML-RPC codec: round trips of every type (through itself and through
// xmlrpc-c's own parser and generator), documents as Python's xmlrpc.client and xmlrpc-c emit
// them, entities, nesting, every malformed case, truncations, random bytes and a seeded
// mutation loop (never a crash, only CodecError).
#include <boost/test/unit_test.hpp>

#include "framehive/shared/xmlrpc_codec.hpp"

#include <xmlrpc-c/xml.hpp>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace fh::shared::xmlrpc;
using Struct = std::map<std::string, xmlrpc_c::value>;

namespace {

xmlrpc_c::value S(const std::string& s) { return xmlrpc_c::value_string(s); }
xmlrpc_c::value I(int i) { return xmlrpc_c::value_int(i); }
xmlrpc_c::value A(std::vector<xmlrpc_c::value> v) { return xmlrpc_c::value_array(v); }
xmlrpc_c::value B64(std::vector<unsigned char> v) { return xmlrpc_c::value_bytestring(v); }

/// Deep equality of two values: doubles bit-exact (-0.0 included), or within 1e-15 relative
/// when approx (xmlrpc-c's parser is off by an ulp now and then).
bool same(const xmlrpc_c::value& a, const xmlrpc_c::value& b, bool approx = false) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case xmlrpc_c::value::TYPE_INT:
      return int(xmlrpc_c::value_int(a)) == int(xmlrpc_c::value_int(b));
    case xmlrpc_c::value::TYPE_I8:
      return xmlrpc_int64(xmlrpc_c::value_i8(a)) == xmlrpc_int64(xmlrpc_c::value_i8(b));
    case xmlrpc_c::value::TYPE_BOOLEAN:
      return bool(xmlrpc_c::value_boolean(a)) == bool(xmlrpc_c::value_boolean(b));
    case xmlrpc_c::value::TYPE_DOUBLE: {
      const double x = xmlrpc_c::value_double(a), y = xmlrpc_c::value_double(b);
      if (approx) return std::fabs(x - y) <= 1e-15 * std::fabs(x);
      return x == y && std::signbit(x) == std::signbit(y);
    }
    case xmlrpc_c::value::TYPE_STRING:
      return std::string(xmlrpc_c::value_string(a)) == std::string(xmlrpc_c::value_string(b));
    case xmlrpc_c::value::TYPE_BYTESTRING:
      return xmlrpc_c::value_bytestring(a).vectorUcharValue() ==
             xmlrpc_c::value_bytestring(b).vectorUcharValue();
    case xmlrpc_c::value::TYPE_DATETIME: {
      const xmlrpc_datetime x = xmlrpc_c::value_datetime(a), y = xmlrpc_c::value_datetime(b);
      return x.Y == y.Y && x.M == y.M && x.D == y.D && x.h == y.h && x.m == y.m && x.s == y.s &&
             x.u == y.u;
    }
    case xmlrpc_c::value::TYPE_NIL:
      return true;
    case xmlrpc_c::value::TYPE_ARRAY: {
      const auto x = xmlrpc_c::value_array(a).vectorValueValue();
      const auto y = xmlrpc_c::value_array(b).vectorValueValue();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same(x[i], y[i], approx)) return false;
      }
      return true;
    }
    case xmlrpc_c::value::TYPE_STRUCT: {
      const auto x = static_cast<Struct>(xmlrpc_c::value_struct(a));
      const auto y = static_cast<Struct>(xmlrpc_c::value_struct(b));
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const auto it = y.find(k);
        if (it == y.end() || !same(v, it->second, approx)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const std::string kB64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::vector<unsigned char> random_bytes(std::mt19937& rng, std::size_t n) {
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

xmlrpc_c::value datetime(unsigned Y, unsigned M, unsigned D, unsigned h, unsigned m, unsigned s,
                         unsigned u) {
  xmlrpc_datetime dt{Y, M, D, h, m, s, u};
  return xmlrpc_c::value_datetime(dt);
}

/// One value of every type, nested.
xmlrpc_c::paramList every_type() {
  std::mt19937 rng(7);
  xmlrpc_c::paramList p;
  for (int i : {0, 1, -1, 42, INT_MIN, INT_MAX}) p.add(I(i));
  for (xmlrpc_int64 i :
       {xmlrpc_int64(0), xmlrpc_int64(1) << 40, std::numeric_limits<xmlrpc_int64>::min(),
        std::numeric_limits<xmlrpc_int64>::max()}) {
    p.add(xmlrpc_c::value_i8(i));
  }
  p.add(xmlrpc_c::value_boolean(true));
  p.add(xmlrpc_c::value_boolean(false));
  for (double d : {0.0, -0.0, 0.1, -2.5, 1.7e9 + 0.123456789, 1e300, -1e-300, 5e-324,
                   std::numeric_limits<double>::max(), 123456789012345678.0}) {
    p.add(xmlrpc_c::value_double(d));
  }
  for (const char* s : {"", "plain", "<tag> & \"quotes\" 'apos' ]]>", "tab\tnew\nline",
                        "h\xC3\xA9llo \xE2\x9C\x93 \xEF\xBF\xBD", "   spaces   "}) {
    p.add(S(s));
  }
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 57u, 1000u, 100000u}) p.add(B64(random_bytes(rng, n)));
  p.add(datetime(2024, 1, 2, 3, 4, 5, 0));
  p.add(datetime(1999, 12, 31, 23, 59, 59, 123456));
  p.add(xmlrpc_c::value_nil());
  p.add(A({}));
  p.add(xmlrpc_c::value_struct(Struct{}));
  p.add(A({I(1), S("two"), A({xmlrpc_c::value_double(3.5), xmlrpc_c::value_struct(Struct{})}),
           xmlrpc_c::value_nil()}));
  p.add(xmlrpc_c::value_struct(
      Struct{{"port", I(5000)},
             {"a&b<c>", S("key with entities")},
             {"", S("empty key")},
             {"nested", xmlrpc_c::value_struct(Struct{{"list", A({B64({1, 2, 3}), I(-7)})}})}}));
  return p;
}

/// The single parameter of a call document.
xmlrpc_c::value only_param(const std::string& xml) {
  std::string method;
  xmlrpc_c::paramList p;
  parse_call(xml, method, p);
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  return p[0];
}

std::string call_with(const std::string& value_xml) {
  return "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param>" +
         value_xml + "</param></params></methodCall>";
}

/// Parses xml; true if it threw CodecError, false if it parsed; fails the test on anything
/// else.
bool refused(const std::string& xml) {
  std::string method;
  xmlrpc_c::paramList p;
  try {
    parse_call(xml, method, p);
    return false;
  } catch (const CodecError&) {
    return true;
  } catch (const std::exception& e) {
    BOOST_ERROR("not a CodecError: " << e.what());
    return true;
  }
}

// As Python 3.11's xmlrpc.client.dumps emits it (allow_none=True): base64 wrapped at 76.
const char* const kPythonCall =
    "<?xml version='1.0'?>\n<methodCall>\n<methodName>add_task</methodName>\n<params>\n<param>\n"
    "<value><struct>\n<member>\n<name>port</name>\n<value><int>6000</int></value>\n</member>\n"
    "<member>\n<name>stream</name>\n<value><string>py&lt;&amp;&gt;</string></value>\n</member>\n"
    "<member>\n<name>frame_id</name>\n<value><int>1</int></value>\n</member>\n<member>\n"
    "<name>captured_at</name>\n<value><double>1700000000.25</double></value>\n</member>\n"
    "<member>\n<name>image</name>\n<value><base64>\n"
    "/9j/4AABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0\n"
    "NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmP/2Q==\n"
    "</base64></value>\n</member>\n<member>\n<name>detector</name>\n"
    "<value><string>null</string></value>\n</member>\n<member>\n<name>ok</name>\n"
    "<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>none</name>\n"
    "<value><nil/></value></member>\n</struct></value>\n</param>\n</params>\n</methodCall>\n";

// As xmlrpc-c 1.33's client emits it: CRLF line ends, <i8>, base64 wrapped with CRLF.
const char* const kXmlrpcCCall =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodCall>\r\n"
    "<methodName>complete_task</methodName>\r\n<params>\r\n"
    "<param><value><string>w1</string></value></param>\r\n"
    "<param><value><i8>1099511627776</i8></value></param>\r\n"
    "<param><value><struct>\r\n"
    "<member><name>detections</name>\r\n<value><array><data>\r\n</data></array></value></"
    "member>\r\n"
    "<member><name>img</name>\r\n<value><base64>\r\n"
    "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\r\n"
    "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==\r\n"
    "</base64></value></member>\r\n"
    "<member><name>processing_ms</name>\r\n<value><double>7.000000</double></value></member>\r\n"
    "</struct></value></param>\r\n</params>\r\n</methodCall>\r\n";

/// A small valid call of several types, without trailing whitespace.
std::string small_call() {
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_struct(
      Struct{{"image", B64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})},
             {"name", S("a<b & c")},
             {"when", datetime(2024, 1, 2, 3, 4, 5, 6)},
             {"list", A({I(1), xmlrpc_c::value_double(2.5), xmlrpc_c::value_i8(-5),
                         xmlrpc_c::value_nil(), xmlrpc_c::value_boolean(true)})}}));
  std::string xml = serialize_call("m", p);
  while (!xml.empty() && (xml.back() == '\n' || xml.back() == ' ')) xml.pop_back();
  return xml;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(xmlrpc_codec)

BOOST_AUTO_TEST_CASE(every_type_round_trips_through_itself) {
  const auto params = every_type();
  const std::string xml = serialize_call("framehive.test", params);
  std::string method;
  xmlrpc_c::paramList back;
  parse_call(xml, method, back);
  BOOST_TEST(method == "framehive.test");
  BOOST_REQUIRE_EQUAL(back.size(), params.size());
  for (unsigned i = 0; i < params.size(); ++i) BOOST_TEST(same(params[i], back[i]), "param " << i);
  // responses too
  for (unsigned i = 0; i < params.size(); ++i) {
    const auto r = parse_response(serialize_response(params[i]));
    BOOST_TEST(!r.is_fault);
    BOOST_TEST(same(params[i], r.value), "response " << i);
  }
}

BOOST_AUTO_TEST_CASE(interoperates_with_xmlrpc_c_in_both_directions) {
  const auto params = every_type();
  // ours -> xmlrpc-c's parser (which refuses subnormal doubles and rounds some others by an ulp)
  {
    xmlrpc_c::paramList normal;
    for (unsigned i = 0; i < params.size(); ++i) {
      if (params[i].type() != xmlrpc_c::value::TYPE_DOUBLE ||
          std::fpclassify(double(xmlrpc_c::value_double(params[i]))) != FP_SUBNORMAL) {
        normal.add(params[i]);
      }
    }
    std::string method;
    xmlrpc_c::paramList back;
    xmlrpc_c::xml::parseCall(serialize_call("m", normal), &method, &back);
    BOOST_REQUIRE_EQUAL(back.size(), normal.size());
    for (unsigned i = 0; i < normal.size(); ++i) {
      BOOST_TEST(same(normal[i], back[i], true), "param " << i);
    }
    for (unsigned i = 0; i < normal.size(); ++i) {
      xmlrpc_c::rpcOutcome outcome;
      xmlrpc_c::xml::parseResponse(serialize_response(normal[i]), &outcome);
      BOOST_REQUIRE(outcome.succeeded());
      BOOST_TEST(same(normal[i], outcome.getResult(), true), "response " << i);
    }
  }
  // xmlrpc-c's generator -> ours (doubles excepted: xmlrpc-c prints 6 decimals)
  {
    xmlrpc_c::paramList exact;
    for (unsigned i = 0; i < params.size(); ++i) {
      if (params[i].type() != xmlrpc_c::value::TYPE_DOUBLE) exact.add(params[i]);
    }
    std::string xml;
    xmlrpc_c::xml::generateCall("m", exact, &xml);
    std::string method;
    xmlrpc_c::paramList back;
    parse_call(xml, method, back);
    BOOST_REQUIRE_EQUAL(back.size(), exact.size());
    for (unsigned i = 0; i < exact.size(); ++i) BOOST_TEST(same(exact[i], back[i]), "param " << i);
  }
  // faults -> xmlrpc-c, with characters XML cannot carry replaced
  {
    xmlrpc_c::rpcOutcome outcome;
    xmlrpc_c::xml::parseResponse(serialize_fault(-506, "no <such> & method \x01 \xFF"), &outcome);
    BOOST_REQUIRE(!outcome.succeeded());
    BOOST_TEST(outcome.getFault().getCode() == -506);
    BOOST_TEST(outcome.getFault().getDescription() == "no <such> & method ? ?");
    const auto r = parse_response(serialize_fault(-501, "bad"));
    BOOST_TEST(r.is_fault);
    BOOST_TEST(r.fault_code == -501);
    BOOST_TEST(r.fault_string == "bad");
  }
}

BOOST_AUTO_TEST_CASE(carriage_returns_and_line_ends) {
  // xmlrpc-c reads strings back with LF line ends, so a CR reaches the serialiser only in a
  // fault message; it goes out as a character reference, not as a raw line end
  BOOST_TEST(serialize_fault(1, "a\rb").find("a&#13;b") != std::string::npos);
  // raw CR and CRLF in text are XML line ends: LF
  BOOST_TEST(std::string(xmlrpc_c::value_string(
                 only_param(call_with("<value>a\r\nb\rc</value>")))) == "a\nb\nc");
}

BOOST_AUTO_TEST_CASE(python_and_xmlrpc_c_documents_parse) {
  {
    std::string method;
    xmlrpc_c::paramList p;
    parse_call(kPythonCall, method, p);
    BOOST_TEST(method == "add_task");
    BOOST_REQUIRE_EQUAL(p.size(), 1u);
    const auto s = static_cast<Struct>(xmlrpc_c::value_struct(p[0]));
    BOOST_TEST(int(xmlrpc_c::value_int(s.at("port"))) == 6000);
    BOOST_TEST(std::string(xmlrpc_c::value_string(s.at("stream"))) == "py<&>");
    BOOST_TEST(double(xmlrpc_c::value_double(s.at("captured_at"))) == 1700000000.25);
    BOOST_TEST(bool(xmlrpc_c::value_boolean(s.at("ok"))));
    BOOST_TEST(s.at("none").type() == xmlrpc_c::value::TYPE_NIL);
    std::vector<unsigned char> img = {0xff, 0xd8, 0xff, 0xe0};
    for (int i = 0; i < 100; ++i) img.push_back(static_cast<unsigned char>(i));
    img.push_back(0xff);
    img.push_back(0xd9);
    BOOST_TEST((xmlrpc_c::value_bytestring(s.at("image")).vectorUcharValue() == img));
  }
  {
    std::string method;
    xmlrpc_c::paramList p;
    parse_call(kXmlrpcCCall, method, p);
    BOOST_TEST(method == "complete_task");
    BOOST_REQUIRE_EQUAL(p.size(), 3u);
    BOOST_TEST(xmlrpc_int64(xmlrpc_c::value_i8(p[1])) == (xmlrpc_int64(1) << 40));
    const auto s = static_cast<Struct>(xmlrpc_c::value_struct(p[2]));
    BOOST_TEST(xmlrpc_c::value_bytestring(s.at("img")).vectorUcharValue() ==
               std::vector<unsigned char>(100, 7));
    BOOST_TEST(double(xmlrpc_c::value_double(s.at("processing_ms"))) == 7.0);
  }
  // other accepted spellings
  const char* const other =
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<!-- a comment -->\n"
      "<methodCall xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\">"
      "<methodName>x</methodName><!-- between --><params >"
      "<param><value>bare string</value></param>"
      "<param><value></value></param>"
      "<param><value/></param>"
      "<param><value> <i4> -12 </i4> </value></param>"
      "<param><value><ex:i8>-9223372036854775808</ex:i8></value></param>"
      "<param><value><ex:nil/></value></param>"
      "<param><value><nil></nil></value></param>"
      "<param><value><string/></value></param>"
      "<param><value><string><![CDATA[<raw> & ]]>x</string></value></param>"
      "<param><value><double>1e+20</double></value></param>"
      "<param><value><double>+.5</double></value></param>"
      "<param><value><dateTime.iso8601>2024-01-02T03:04:05.5Z</dateTime.iso8601></value></param>"
      "<param><value><base64>Zm9v<!-- c -->YmFy</base64></value></param>"
      "<param><value><array><data/></array></value></param>"
      "<param><value><struct><member><name>k</name><value>1</value></member>"
      "<member><name>k</name><value>2</value></member></struct></value></param>"
      "</params></methodCall>\n<!-- trailing -->\n";
  std::string method;
  xmlrpc_c::paramList p;
  parse_call(other, method, p);
  BOOST_REQUIRE_EQUAL(p.size(), 15u);
  BOOST_TEST(std::string(xmlrpc_c::value_string(p[0])) == "bare string");
  BOOST_TEST(std::string(xmlrpc_c::value_string(p[1])).empty());
  BOOST_TEST(std::string(xmlrpc_c::value_string(p[2])).empty());
  BOOST_TEST(int(xmlrpc_c::value_int(p[3])) == -12);
  BOOST_TEST(xmlrpc_int64(xmlrpc_c::value_i8(p[4])) == std::numeric_limits<xmlrpc_int64>::min());
  BOOST_TEST(p[5].type() == xmlrpc_c::value::TYPE_NIL);
  BOOST_TEST(p[6].type() == xmlrpc_c::value::TYPE_NIL);
  BOOST_TEST(std::string(xmlrpc_c::value_string(p[7])).empty());
  BOOST_TEST(std::string(xmlrpc_c::value_string(p[8])) == "<raw> & x");
  BOOST_TEST(double(xmlrpc_c::value_double(p[9])) == 1e20);
  BOOST_TEST(double(xmlrpc_c::value_double(p[10])) == 0.5);
  const xmlrpc_datetime dt = xmlrpc_c::value_datetime(p[11]);
  BOOST_TEST((dt.Y == 2024 && dt.M == 1 && dt.D == 2 && dt.h == 3 && dt.s == 5 && dt.u == 500000));
  const auto foobar = xmlrpc_c::value_bytestring(p[12]).vectorUcharValue();
  BOOST_TEST(std::string(foobar.begin(), foobar.end()) == "foobar");
  BOOST_TEST(xmlrpc_c::value_array(p[13]).size() == 0u);
  // a repeated member: the last one wins, as in xmlrpc-c and Python
  BOOST_TEST(std::string(xmlrpc_c::value_string(
                 static_cast<Struct>(xmlrpc_c::value_struct(p[14])).at("k"))) == "2");
  // no params element at all
  std::string m2;
  xmlrpc_c::paramList none;
  parse_call("<methodCall><methodName>status</methodName></methodCall>", m2, none);
  BOOST_TEST(m2 == "status");
  BOOST_TEST(none.size() == 0u);
}

BOOST_AUTO_TEST_CASE(entities_and_character_references) {
  const auto v = only_param(call_with(
      "<value>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#xe9;&#233;&#x20AC;&#10;"
      "</value>"));
  BOOST_TEST(std::string(xmlrpc_c::value_string(v)) ==
             "a <b> & \"c\" 'd' AB\xC3\xA9\xC3\xA9\xE2\x82\xAC\n");
  // xmlrpc-c values hold only Basic Multilingual Plane characters: refused, as by xmlrpc-c
  BOOST_TEST(refused(call_with("<value>&#x1F600;</value>")));
  BOOST_TEST(refused(call_with("<value>\xF0\x9F\x98\x80</value>")));
  for (const char* bad : {"&#0;", "&#xD800;", "&#x110000;", "&#xFFFE;", "&#1;", "&#;", "&#x;",
                          "&#12a;", "&nbsp;", "&amp", "& ", "&#99999999999;", "&#-5;"}) {
    BOOST_TEST(refused(call_with(std::string("<value>x") + bad + "</value>")), bad);
  }
  // raw text must be valid UTF-8 of XML characters
  for (const char* bad :
       {"\xC3", "\xC0\x80", "\xED\xA0\x80", "\xF5\x80\x80\x80", "\x80", "\x01", "\xEF\xBF\xBE"}) {
    BOOST_TEST(refused(call_with(std::string("<value>x") + bad + "</value>")));
  }
}

BOOST_AUTO_TEST_CASE(nesting_is_bounded) {
  auto nested = [](int levels) {
    std::string open, close;
    for (int i = 0; i < levels; ++i) {
      open += "<value><array><data>";
      close += "</data></array></value>";
    }
    return call_with(open + "<value><int>1</int></value>" + close);
  };
  BOOST_TEST(!refused(nested(kMaxValueDepth - 1)));
  BOOST_TEST(refused(nested(kMaxValueDepth)));
  BOOST_TEST(refused(nested(100000)));  // no stack overflow
  std::string structs;
  for (int i = 0; i < 200; ++i) structs += "<value><struct><member><name>a</name>";
  BOOST_TEST(refused(call_with(structs)));
}

BOOST_AUTO_TEST_CASE(malformed_documents_are_refused) {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "<",
      "garbage",
      "<methodCall>",
      "<methodCall></methodCall>",
      "<methodCall/>",
      "<methodCall><methodName>m</methodName>",
      "<methodCall><methodName></methodName></methodCall>",
      "<methodCall><methodName>m</methodName></methodCall><methodCall/>",
      "<methodCall><methodName>m</methodName></methodCall>trailing",
      "<methodCall><methodName>m</methodName><params></methodCall>",
      "<methodCall><methodName>m</methodName><params><param></param></params></methodCall>",
      "<methodCall><methodName>m</methodName><params><param><value></param></params></methodCall>",
      "<methodCall><methodName>m</methodName><params><value>x</value></params></methodCall>",
      "<methodCall><methodName>m</methodName><parms></parms></methodCall>",
      "<methodCall><methodName>m</methodNam></methodCall>",
      "<methodCall><methodName>m<x/></methodName></methodCall>",
      "<methodResponse><params/></methodResponse>",
      "<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall><methodName>m</methodName></methodCall>",
      " <?xml version=\"1.0\"?><methodCall><methodName>m</methodName></methodCall>",
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName>"
      "</methodCall>",
      "<?xml version=\"1.0\"<methodCall><methodName>m</methodName></methodCall>",
      "<methodCall a=b><methodName>m</methodName></methodCall>",
      "<methodCall a=\"b><methodName>m</methodName></methodCall>",
      "<!-- unterminated <methodCall><methodName>m</methodName></methodCall>",
      call_with("<value><int>abc</int></value>"),
      // a member name outside the Basic Multilingual Plane, which xmlrpc-c refuses (its
      // xmlrpc_struct_set_value_n then crashed the master: found by fuzzing), and a string
      // value that is not UTF-8
      call_with("<value><struct><member><name>k\xf0\x9f\x98\x80</name><value><int>1</int>"
                "</value></member></struct></value>"),
      call_with("<value><string>\xf0\x97\x97</string></value>"),
      call_with("<value><int></int></value>"),
      call_with("<value><int>1.5</int></value>"),
      call_with("<value><int>2147483648</int></value>"),
      call_with("<value><int>-2147483649</int></value>"),
      call_with("<value><i4>99999999999999999999999</i4></value>"),
      call_with("<value><i8>9223372036854775808</i8></value>"),
      call_with("<value><i8>-9223372036854775809</i8></value>"),
      call_with("<value><int>--1</int></value>"),
      call_with("<value><int>+</int></value>"),
      call_with("<value><boolean>true</boolean></value>"),
      call_with("<value><boolean>2</boolean></value>"),
      call_with("<value><double>abc</double></value>"),
      call_with("<value><double>inf</double></value>"),
      call_with("<value><double>nan</double></value>"),
      call_with("<value><double>0x10</double></value>"),
      call_with("<value><double>1e999</double></value>"),
      call_with("<value><double>1.2.3</double></value>"),
      call_with("<value><double>+-1</double></value>"),
      call_with("<value><double></double></value>"),
      call_with("<value><base64>ab$d</base64></value>"),
      call_with("<value><base64>abcde</base64></value>"),
      call_with("<value><base64>a===</base64></value>"),
      call_with("<value><base64>ab=c</base64></value>"),
      call_with("<value><base64>ab==cd==</base64></value>"),
      call_with("<value><base64>=abc</base64></value>"),
      call_with("<value><base64>abc&amp;</base64></value>"),
      call_with("<value><base64>Zm9v"),
      call_with("<value><dateTime.iso8601>2024-13-01T00:00:00</dateTime.iso8601></value>"),
      call_with("<value><dateTime.iso8601>20240101T25:00:00</dateTime.iso8601></value>"),
      call_with("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>"),
      call_with("<value><dateTime.iso8601>20240101T00:00:00x</dateTime.iso8601></value>"),
      call_with("<value><struct><member><value>1</value></member></struct></value>"),
      call_with("<value><struct><member><name>a</name></member></struct></value>"),
      call_with("<value><struct><member><name>a</name><value>1</value></member></value>"),
      call_with("<value><struct><value>1</value></struct></value>"),
      call_with("<value><array><value>1</value></array></value>"),
      call_with("<value><array><data><int>1</int></data></array></value>"),
      call_with("<value><array><data><value>1</value></data></value>"),
      call_with("<value><foo>1</foo></value>"),
      call_with("<value>text<int>1</int></value>"),
      call_with("<value><int>1</int>text</value>"),
      call_with("<value><int>1</int><int>2</int></value>"),
      call_with("<value><string>a<b/></string></value>"),
      call_with("<value><nil>x</nil></value>"),
      call_with("<value><string>x</int></value>"),
      call_with("<value><![CDATA[x</value>"),
  };
  for (const auto& xml : bad) BOOST_TEST(refused(xml), xml);
}

BOOST_AUTO_TEST_CASE(errors_say_where) {
  try {
    only_param(call_with("<value><int>12x</int></value>"));
    BOOST_TEST(false);
  } catch (const CodecError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("line 1") != std::string::npos, msg);
    BOOST_TEST(msg.find("12x") != std::string::npos, msg);
  }
  try {
    only_param(call_with("<value><base64>\nZm9v\nYm$y\n</base64></value>"));
    BOOST_TEST(false);
  } catch (const CodecError& e) {
    BOOST_TEST(std::string(e.what()).find("invalid character at offset 8") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused) {
  const std::string xml = small_call();
  BOOST_TEST(!refused(xml));
  for (std::size_t cut = 0; cut < xml.size(); ++cut) {
    BOOST_TEST(refused(xml.substr(0, cut)), "cut at " << cut);
  }
  for (std::size_t cut = 0; cut < std::string(kPythonCall).size() - 2; ++cut) {
    BOOST_TEST(refused(std::string(kPythonCall).substr(0, cut)), "cut at " << cut);
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_and_mutations_never_crash) {
  std::mt19937 rng(20240101);
  for (int i = 0; i < 2000; ++i) {
    const auto bytes = random_bytes(rng, rng() % 512);
    refused(std::string(bytes.begin(), bytes.end()));
  }
  // seeded mutations of valid calls: flip, insert, delete bytes
  const std::vector<std::string> seeds = {kPythonCall, kXmlrpcCCall, small_call()};
  const char alphabet[] = "<>/&;#x=\"' \n\r!-[]?valuestringbase64intstructarray0123456789";
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const std::size_t at = rng() % doc.size();
      const char c =
          (rng() % 2) ? static_cast<char>(rng()) : alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0:
          doc[at] = c;
          break;
        case 1:
          doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          doc.erase(at, 1 + rng() % 8);
          break;
      }
    }
    if (!refused(doc)) ++parsed;
  }
  BOOST_TEST_MESSAGE("mutations that still parsed: " << parsed << " of 20000");
  BOOST_TEST(parsed < 20000);
}

BOOST_AUTO_TEST_CASE(base64_vectors_and_validation) {
  const std::vector<std::pair<std::string, std::string>> rfc4648 = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : rfc4648) {
    std::string enc;
    base64_encode(reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), enc);
    BOOST_TEST(enc == coded);
    std::vector<unsigned char> dec;
    base64_decode(coded, dec);
    BOOST_TEST(std::string(dec.begin(), dec.end()) == plain);
  }
  // whitespace anywhere, as wrapped by Python (LF) and xmlrpc-c (CRLF)
  std::vector<unsigned char> dec;
  base64_decode(" Zm9v\r\nYm\tFy \n", dec);
  BOOST_TEST(std::string(dec.begin(), dec.end()) == "foobar");
  std::mt19937 rng(3);
  for (std::size_t n = 0; n < 300; ++n) {
    const auto bytes = random_bytes(rng, n);
    std::string enc;
    base64_encode(bytes.data(), bytes.size(), enc);
    std::string wrapped;
    for (std::size_t i = 0; i < enc.size(); i += 76) wrapped += enc.substr(i, 76) + "\n";
    std::vector<unsigned char> a, b;
    base64_decode(enc, a);
    base64_decode(wrapped, b);
    BOOST_TEST((a == bytes));
    BOOST_TEST((b == bytes));
  }
  for (const char* bad :
       {"Zm9", "Zm9vY", "Z===", "Zm=v", "Zm9v=", "Zm9v====", "Zg==Zg==", "Zm9v\x80", "Zm9v-_8="}) {
    std::vector<unsigned char> out = {42};
    BOOST_CHECK_THROW(base64_decode(bad, out), CodecError);
    BOOST_TEST(out.size() == 1u);  // left as it was
  }
}

BOOST_AUTO_TEST_CASE(base64_simd_and_scalar_agree) {
  enable_base64_simd(true);
  BOOST_TEST_MESSAGE("AVX2 base64 kernels " << (base64_simd_active() ? "active" : "not available"));
  std::mt19937 rng(11);
  const char ws[] = " \t\r\n";
  auto both = [](const std::string& text, std::vector<unsigned char>& simd,
                 std::vector<unsigned char>& scalar) {
    int errors = 0;
    simd.clear();
    scalar.clear();
    enable_base64_simd(true);
    try {
      base64_decode(text, simd);
    } catch (const CodecError&) {
      ++errors;
    }
    enable_base64_simd(false);
    try {
      base64_decode(text, scalar);
    } catch (const CodecError&) {
      ++errors;
    }
    enable_base64_simd(true);
    return errors;
  };
  for (std::size_t n = 0; n < 700; n += 1 + rng() % 7) {
    const auto bytes = random_bytes(rng, n);
    std::string simd_enc, scalar_enc;
    enable_base64_simd(true);
    base64_encode(bytes.data(), bytes.size(), simd_enc);
    enable_base64_simd(false);
    base64_encode(bytes.data(), bytes.size(), scalar_enc);
    enable_base64_simd(true);
    BOOST_TEST(simd_enc == scalar_enc);
    // wrapped at a random width with random whitespace, as Python (LF) or xmlrpc-c (CRLF)
    const std::size_t width = 1 + rng() % 100;
    std::string text;
    for (std::size_t i = 0; i < simd_enc.size(); i += width) {
      text += simd_enc.substr(i, width);
      text += (rng() % 2) ? "\r\n" : std::string(1, ws[rng() % 4]);
    }
    std::vector<unsigned char> a, b;
    BOOST_TEST(both(text, a, b) == 0);
    BOOST_TEST((a == bytes));
    BOOST_TEST((b == bytes));
    // one bad byte anywhere: both refuse it
    if (!simd_enc.empty()) {
      for (int k = 0; k < 8; ++k) {
        std::string bad = simd_enc;
        const unsigned char c = static_cast<unsigned char>(rng());
        if (kB64Alphabet.find(static_cast<char>(c)) != std::string::npos) continue;
        bad[rng() % bad.size()] = static_cast<char>(c);
        const int errors = both(bad, a, b);
        // whitespace is skipped; then only the length (or padding) may be wrong
        BOOST_TEST((errors == 0 || errors == 2), "byte " << int(c));
        if (errors == 0) BOOST_TEST((a == b));
      }
    }
  }
  // every byte value at every position of a 64-character block
  std::string block;
  base64_encode(random_bytes(rng, 48).data(), 48, block);
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < block.size(); at += 5) {
      std::string t = block;
      t[at] = static_cast<char>(c);
      std::vector<unsigned char> a, b;
      const int errors = both(t, a, b);
      BOOST_TEST((errors == 0 || errors == 2));
      if (errors == 0) BOOST_TEST((a == b));
    }
  }
}

BOOST_AUTO_TEST_CASE(values_xml_rpc_cannot_carry_are_refused_on_output) {
  BOOST_CHECK_THROW(serialize_response(xmlrpc_c::value_double(INFINITY)), CodecError);
  BOOST_CHECK_THROW(serialize_response(xmlrpc_c::value_double(NAN)), CodecError);
  BOOST_CHECK_THROW(serialize_response(A({xmlrpc_c::value_double(-INFINITY)})), CodecError);
}

BOOST_AUTO_TEST_SUITE_END()
