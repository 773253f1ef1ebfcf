// Bounded work per request: the XML-RPC parser's ParseLimits (values per document, members per
// struct, items per array, nesting) for calls and replies, the messages that name them, the
// master's dispatcher answering them with fault -509 and its system.multicall call limit, and
// the default limits holding the largest legitimate calls and replies. The same bodies at the
// 64 MiB size limit, with CPU and memory figures: tests/master/hostile/.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/api/xmlrpc.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "rpc_dispatcher.hpp"

#include <map>
#include <string>
#include <vector>

using namespace fh::shared::xmlrpc;
namespace api = fh::shared::api;
namespace rpc = fh::master::rpc;

namespace {

/// A call of one parameter whose <value> is value_xml.
std::string call_with(const std::string& value_xml, const std::string& method = "m") {
  return "<?xml version=\"1.0\"?><methodCall><methodName>" + method +
         "</methodName><params><param>" + value_xml + "</param></params></methodCall>";
}

std::string response_with(const std::string& value_xml) {
  return "<?xml version=\"1.0\"?><methodResponse><params><param>" + value_xml +
         "</param></params></methodResponse>";
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

/// The <value> element a response writes for v.
std::string value_xml(const xmlrpc_c::value& v) {
  const std::string r = serialize_response(v);
  const auto begin = r.find("<value>");
  const auto end = r.rfind("</value>") + 8;
  return r.substr(begin, end - begin);
}

/// The values parse_response counts for a reply carrying v: the least max_values it accepts.
std::size_t values_in(const xmlrpc_c::value& v) {
  const std::string xml = serialize_response(v);
  std::size_t lo = 1, hi = 1u << 20;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    try {
      parse_response(xml, ParseLimits{mid, 1u << 20, 1u << 20, kMaxValueDepth});
      hi = mid;
    } catch (const LimitError&) {
      lo = mid + 1;
    }
  }
  return lo;
}

std::string array_of(std::size_t n) {
  return "<value><array><data>" + repeat("<value><i4>1</i4></value>", n) +
         "</data></array></value>";
}

std::string struct_of(std::size_t n) {
  std::string s = "<value><struct>";
  for (std::size_t i = 0; i < n; ++i) {
    s += "<member><name>k" + std::to_string(i) + "</name><value><i4>1</i4></value></member>";
  }
  return s + "</struct></value>";
}

std::string nested(int levels) {
  return repeat("<value><array><data>", static_cast<std::size_t>(levels)) + "<value>x</value>" +
         repeat("</data></array></value>", static_cast<std::size_t>(levels));
}

/// "" when parse_call accepts xml under limits, else the LimitError's message; fails the test
/// on any other error.
std::string call_limit(const std::string& xml, const ParseLimits& limits) {
  std::string method;
  xmlrpc_c::paramList params;
  try {
    parse_call(xml, method, params, limits);
    return "";
  } catch (const LimitError& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("not a LimitError: " << e.what());
    return "?";
  }
}

std::string response_limit(const std::string& xml, const ParseLimits& limits) {
  try {
    parse_response(xml, limits);
    return "";
  } catch (const LimitError& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("not a LimitError: " << e.what());
    return "?";
  }
}

bool has(const std::string& s, const std::string& piece) {
  return s.find(piece) != std::string::npos;
}

constexpr ParseLimits kSmall{20, 4, 6, 5};

/// A method table of one method that counts its calls.
std::vector<rpc::MethodDef> counting_table(int& calls) {
  return {rpc::MethodDef{"count", "i:", "counts", [&calls](const xmlrpc_c::paramList&) {
                           return xmlrpc_c::value_int(++calls);
                         }}};
}

/// Dispatches xml; returns {faultCode (0 for a value), faultString}.
std::pair<int, std::string> dispatch(const rpc::RpcDispatcher& d, const std::string& xml) {
  const ParsedResponse r = parse_response(d.handle(xml));
  return {r.is_fault ? r.fault_code : 0, r.fault_string};
}

std::string multicall_of(std::size_t n, const std::string& method) {
  const std::string one = "<value><struct><member><name>methodName</name><value>" + method +
                          "</value></member><member><name>params</name><value><array><data/>"
                          "</array></value></member></struct></value>";
  return call_with("<value><array><data>" + repeat(one, n) + "</data></array></value>",
                   "system.multicall");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_limits)

BOOST_AUTO_TEST_CASE(each_limit_is_counted_and_named) {
  // max_array_items: 6 items pass, 7 do not
  BOOST_TEST(call_limit(call_with(array_of(6)), kSmall) == "");
  const std::string items = call_limit(call_with(array_of(7)), kSmall);
  BOOST_TEST(has(items, "more than 6 items in one array (max_array_items)"), items);
  BOOST_TEST(has(items, "XML-RPC limit exceeded at line 1, column "), items);
  // max_struct_members: a repeated name counts again
  BOOST_TEST(call_limit(call_with(struct_of(4)), kSmall) == "");
  BOOST_TEST(has(call_limit(call_with(struct_of(5)), kSmall),
                 "more than 4 members in one struct (max_struct_members)"));
  const std::string same = "<member><name>a</name><value>1</value></member>";
  BOOST_TEST(
      has(call_limit(call_with("<value><struct>" + repeat(same, 5) + "</struct></value>"), kSmall),
          "(max_struct_members)"));
  // max_values: every <value> and every member name; 20 pass, 21 do not
  const std::string nineteen =
      "<value><array><data>" + repeat("<value/>", 5) + "</data></array>" + "</value>";  // 6 values
  BOOST_TEST(call_limit(call_with("<value><array><data>" + repeat(nineteen, 3) + "<value/>" +
                                  "</data></array></value>"),
                        kSmall) == "");  // 1 + 18 + 1
  BOOST_TEST(has(call_limit(call_with("<value><array><data>" + repeat(nineteen, 3) +
                                      "<value/><value/></data></array></value>"),
                            kSmall),
                 "more than 20 values in the document (max_values)"));
  BOOST_TEST(call_limit(call_with(struct_of(4)) + "", ParseLimits{9, 4, 6, 5}) == "");  // 1+4+4
  BOOST_TEST(has(call_limit(call_with(struct_of(4)), ParseLimits{8, 4, 6, 5}), "(max_values)"));
  // params count as values too
  std::string many_params = "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params>";
  many_params += repeat("<param><value/></param>", 21) + "</params></methodCall>";
  BOOST_TEST(has(call_limit(many_params, kSmall), "(max_values)"));
  // max_depth: a <param>'s value is depth 1
  BOOST_TEST(call_limit(call_with(nested(4)), kSmall) == "");
  BOOST_TEST(
      has(call_limit(call_with(nested(5)), kSmall), "values nested deeper than 5 (max_depth)"));
  // replies have the same limits
  BOOST_TEST(response_limit(response_with(array_of(6)), kSmall) == "");
  BOOST_TEST(has(response_limit(response_with(array_of(7)), kSmall), "(max_array_items)"));
  BOOST_TEST(has(response_limit(response_with(struct_of(5)), kSmall), "(max_struct_members)"));
  BOOST_TEST(has(response_limit(response_with(nested(5)), kSmall), "(max_depth)"));
  // a LimitError is a CodecError, for callers that do not tell them apart
  std::string method;
  xmlrpc_c::paramList params;
  BOOST_CHECK_THROW(parse_call(call_with(array_of(7)), method, params, kSmall), CodecError);
}

BOOST_AUTO_TEST_CASE(defaults_refuse_what_they_name) {
  const auto over_items =
      call_limit(call_with(array_of(kCallLimits.max_array_items + 1)), kCallLimits);
  BOOST_TEST(has(over_items, "more than 100000 items in one array (max_array_items)"));
  BOOST_TEST(has(call_limit(call_with(struct_of(kCallLimits.max_struct_members + 1)), kCallLimits),
                 "more than 1000 members in one struct"));
  BOOST_TEST(call_limit(call_with(struct_of(kCallLimits.max_struct_members)), kCallLimits) == "");
  BOOST_TEST(call_limit(call_with(nested(kMaxValueDepth - 1)), kCallLimits) == "");
  BOOST_TEST(has(call_limit(call_with(nested(kMaxValueDepth)), kCallLimits),
                 "values nested deeper than 64"));
  BOOST_TEST(has(response_limit(response_with(struct_of(kResponseLimits.max_struct_members + 1)),
                                kResponseLimits),
                 "more than 1024 members in one struct"));
}

BOOST_AUTO_TEST_CASE(a_repeated_member_name_keeps_the_last_value_in_the_first_place) {
  std::string method;
  xmlrpc_c::paramList params;
  parse_call(call_with("<value><struct><member><name>a</name><value>1</value></member>"
                       "<member><name>b</name><value>2</value></member>"
                       "<member><name>a</name><value>3</value></member></struct></value>"),
             method, params);
  const auto s = static_cast<xmlrpc_c::cstruct>(xmlrpc_c::value_struct(params[0]));
  BOOST_TEST(s.size() == 2u);
  BOOST_TEST(std::string(xmlrpc_c::value_string(s.at("a"))) == "3");
  xmlrpc_env env;
  xmlrpc_env_init(&env);
  xmlrpc_value* key = nullptr;
  xmlrpc_value* value = nullptr;
  xmlrpc_struct_read_member(&env, params[0].cValueP, 0, &key, &value);
  BOOST_REQUIRE(!env.fault_occurred);
  const char* k = nullptr;
  xmlrpc_read_string(&env, key, &k);
  BOOST_TEST(std::string(k) == "a");  // first place
  std::free(const_cast<char*>(k));
  xmlrpc_DECREF(key);
  xmlrpc_DECREF(value);
  xmlrpc_env_clean(&env);
}

BOOST_AUTO_TEST_CASE(the_dispatcher_answers_limits_with_fault_509) {
  int calls = 0;
  const rpc::RpcDispatcher d(counting_table(calls), rpc::DispatchLimits{kSmall, 3});
  auto [code, msg] = dispatch(d, call_with(array_of(7), "count"));
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(has(msg, "(max_array_items)"), msg);
  std::tie(code, msg) = dispatch(d, call_with(nested(9), "count"));
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(has(msg, "(max_depth)"), msg);
  // a malformed document is still a parse fault
  std::tie(code, msg) = dispatch(d, "<methodCall>");
  BOOST_TEST(code == api::fault::parse);
  BOOST_TEST(calls == 0);
  // under the limits the call runs
  std::tie(code, msg) = dispatch(d, call_with(array_of(6), "count"));
  BOOST_TEST(code == 0);
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(multicall_has_a_call_limit) {
  int calls = 0;
  const rpc::RpcDispatcher d(counting_table(calls));  // the defaults: 1,000 calls
  BOOST_TEST(rpc::DispatchLimits{}.max_multicall == 1000u);
  auto [code, msg] = dispatch(d, multicall_of(1000, "count"));
  BOOST_TEST(code == 0);
  BOOST_TEST(calls == 1000);
  std::tie(code, msg) = dispatch(d, multicall_of(1001, "count"));
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(msg == "system.multicall: 1001 calls, over the limit of 1000 (max_multicall)");
  BOOST_TEST(calls == 1000);  // nothing ran
  const rpc::RpcDispatcher two(counting_table(calls), rpc::DispatchLimits{kCallLimits, 2});
  std::tie(code, msg) = dispatch(two, multicall_of(3, "count"));
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(has(msg, "3 calls, over the limit of 2"));
}

BOOST_AUTO_TEST_CASE(the_largest_legitimate_calls_fit_the_defaults) {
  // complete_task with the most detections a Result may carry
  api::Result result;
  result.detections.assign(api::Limits{}.max_detections, api::Detection{"person", 0.5, 1, 2, 3, 4});
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_string("w1"));
  p.add(xmlrpc_c::value_string("t1"));
  p.add(api::to_value(result));
  BOOST_TEST(call_limit(serialize_call(api::method::complete_task, p), kCallLimits) == "");
  // add_tasks with the most frames a call may carry
  api::Frame f;
  f.port = 5000;
  f.stream = "cam";
  f.image = std::make_shared<const std::vector<std::uint8_t>>(100, 7);
  f.detector = "hog";
  xmlrpc_c::paramList batch;
  batch.add(api::to_value(std::vector<api::Frame>(1000, f)));
  BOOST_TEST(call_limit(serialize_call(api::method::add_tasks, batch), kCallLimits) == "");
}

BOOST_AUTO_TEST_CASE(the_largest_legitimate_replies_fit_the_defaults) {
  // Counted per item, not parsed whole (6 million values would take a GiB here).
  // export_results' largest page: 10,000 records, say 10 detections each
  api::ResultRecord rec;
  rec.task_id = "master-1-123456";
  rec.stream = "cam";
  rec.worker_id = "w1";
  rec.detector = "hog";
  rec.detections.assign(10, api::Detection{"person", 0.5, 1, 2, 3, 4});
  const std::size_t record = values_in(api::to_value(rec));
  BOOST_TEST(record == 153u);  // the struct, 11 names and values, 10 detections of 13
  BOOST_TEST(10000 * record + 5 <= kResponseLimits.max_values);
  BOOST_TEST(10000u <= kResponseLimits.max_array_items);
  // get_summary's most buckets (50,000), 30 labels each, with detections and tracks
  api::SummaryBucket b;
  for (int i = 0; i < 30; ++i)
    b.labels["label" + std::to_string(i)] = b.tracks["label" + std::to_string(i)] = i;
  const std::size_t bucket = values_in(api::to_value(b));
  BOOST_TEST(bucket == 131u);  // the struct, 5 names and values, 2 x 30 labels of 2
  BOOST_TEST(50000 * bucket + 1 <= kResponseLimits.max_values);
  BOOST_TEST(50000u <= kResponseLimits.max_array_items);
  // a page of 1,000 records (framehive-ctl export's) parses
  const std::string page = "<value><struct><member><name>results</name><value><array><data>" +
                           repeat(value_xml(api::to_value(rec)), 1000) +
                           "</data></array></value></member><member><name>cursor</name><value>"
                           "<i4>1</i4></value></member></struct></value>";
  BOOST_TEST(response_limit(response_with(page), kResponseLimits) == "");
}

BOOST_AUTO_TEST_SUITE_END()
