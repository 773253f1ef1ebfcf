// The master's XML-RPC endpoint over a real socket on 127.0.0.1, against both server back ends
// (native and xmlrpc-c): every method, every fault path, introspection and multicall,
// persistence across a restart, and a foreign (Python xmlrpc.client) client.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "framehive/master/master_app.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "master_under_test.hpp"
#include "test_util.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

using namespace fh::master;
using fh::shared::RpcClient;
using fh::shared::RpcFault;
using Struct = std::map<std::string, xmlrpc_c::value>;

namespace {

using fh::test::tiny_jpeg;

xmlrpc_c::value frame_value(int port, int id, std::vector<unsigned char> img = tiny_jpeg()) {
  return xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(port)},
                                       {"frame_id", xmlrpc_c::value_int(id)},
                                       {"captured_at", xmlrpc_c::value_double(1.7e9)},
                                       {"stream", xmlrpc_c::value_string("cam")},
                                       {"image", xmlrpc_c::value_bytestring(img)}});
}

using Server = fh::test::MasterUnderTest;

xmlrpc_c::paramList params(std::initializer_list<xmlrpc_c::value> v) {
  xmlrpc_c::paramList p;
  for (const auto& x : v) p.add(x);
  return p;
}

xmlrpc_c::value S(const std::string& s) { return xmlrpc_c::value_string(s); }
xmlrpc_c::value I(int i) { return xmlrpc_c::value_int(i); }
std::string str(const xmlrpc_c::value& v) {
  return static_cast<std::string>(xmlrpc_c::value_string(v));
}
int num(const xmlrpc_c::value& v) { return static_cast<int>(xmlrpc_c::value_int(v)); }
double dbl(const xmlrpc_c::value& v) { return static_cast<double>(xmlrpc_c::value_double(v)); }
xmlrpc_c::value A(std::vector<xmlrpc_c::value> v) { return xmlrpc_c::value_array(v); }
bool yes(const xmlrpc_c::value& v) { return static_cast<bool>(xmlrpc_c::value_boolean(v)); }

Struct as_struct(const xmlrpc_c::value& v) {
  return static_cast<Struct>(xmlrpc_c::value_struct(v));
}

/// The fault message of a call that must fail.
std::string fault_of(RpcClient& c, const std::string& method, const xmlrpc_c::paramList& p) {
  try {
    c.call(method, p);
  } catch (const RpcFault& f) {
    return f.what();
  }
  return "NO FAULT";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rpc)

BOOST_AUTO_TEST_CASE(every_method_over_a_real_socket) {
  Server srv(":memory:");
  RpcClient c(srv.url, 10000);
  // introspection
  const auto methods =
      xmlrpc_c::value_array(c.call("system.listMethods", params({}))).vectorValueValue();
  std::set<std::string> names;
  for (const auto& m : methods) names.insert(str(m));
  for (const char* m : {"add_task", "add_tasks", "register_worker", "heartbeat", "request_task",
                        "complete_task", "fail_task", "get_results", "status"}) {
    BOOST_TEST(names.count(m) == 1u, m);
  }
  const std::string id1 = str(c.call("add_task", params({frame_value(5000, 1)})));
  const auto ids =
      xmlrpc_c::value_array(
          c.call("add_tasks", params({A({frame_value(5000, 2), frame_value(5001, 1)})})))
          .vectorValueValue();
  BOOST_TEST(ids.size() == 2u);
  const auto reg =
      as_struct(c.call("register_worker", params({S("w1"), S("test"), A({S("hog")})})));
  BOOST_TEST(dbl(reg.at("task_timeout")) == 10.0);
  BOOST_TEST(yes(c.call("heartbeat", params({S("w1")}))));
  BOOST_TEST(!yes(c.call("heartbeat", params({S("nobody")}))));

  auto task = as_struct(c.call("request_task", params({S("w1"), I(100)})));
  BOOST_TEST(str(task.at("task_id")) == id1);
  BOOST_TEST(num(task.at("attempt")) == 1);
  BOOST_TEST(xmlrpc_c::value_bytestring(task.at("image")).vectorUcharValue() == tiny_jpeg());
  BOOST_TEST(str(task.at("detector")) == "hog");
  const auto result = xmlrpc_c::value_struct(Struct{
      {"detections", A({xmlrpc_c::value_struct(Struct{{"label", S("person")},
                                                      {"confidence", xmlrpc_c::value_double(0.8)},
                                                      {"x", I(1)},
                                                      {"y", I(2)},
                                                      {"w", I(3)},
                                                      {"h", I(4)}})})},
      {"processing_ms", xmlrpc_c::value_double(7.0)}});
  BOOST_TEST(yes(c.call("complete_task", params({S("w1"), S(id1), result}))));
  BOOST_TEST(!yes(c.call("complete_task", params({S("w1"), S(id1), result}))));

  auto task2 = as_struct(c.call("request_task", params({S("w1")})));
  const std::string id2 = str(task2.at("task_id"));
  BOOST_TEST(yes(c.call("fail_task", params({S("w1"), S(id2), S("corrupt")}))));
  BOOST_TEST(!yes(c.call("fail_task", params({S("w1"), S(id2), S("again")}))));

  const auto res =
      xmlrpc_c::value_array(c.call("get_results", params({I(5000)}))).vectorValueValue();
  BOOST_REQUIRE(res.size() == 1u);
  const auto rec = as_struct(res[0]);
  for (const char* k : {"task_id", "port", "stream", "frame_id", "captured_at", "completed_at",
                        "worker_id", "detections", "processing_ms"}) {
    BOOST_TEST(rec.count(k) == 1u, k);
  }
  BOOST_TEST(str(rec.at("worker_id")) == "w1");
  // round robin: the second task came from the other port
  BOOST_TEST(num(task2.at("port")) == 5001);
  const auto fails =
      xmlrpc_c::value_array(c.call("get_failures", params({I(5001)}))).vectorValueValue();
  BOOST_REQUIRE(fails.size() == 1u);
  BOOST_TEST(str(as_struct(fails[0]).at("reason")) == "worker: corrupt");

  const auto st = as_struct(c.call("status", params({})));
  BOOST_TEST(num(st.at("completed")) == 1);
  BOOST_TEST(num(st.at("failed")) == 1);
  BOOST_TEST(num(st.at("pending")) == 1);
  BOOST_TEST(xmlrpc_c::value_array(st.at("workers")).size() == 1u);
  BOOST_TEST(xmlrpc_c::value_array(st.at("ports")).size() == 2u);
  // nothing for this worker within 50 ms: the empty struct
  c.call("register_worker", params({S("w2"), S(""), A({S("null")})}));
  BOOST_TEST(as_struct(c.call("request_task", params({S("w2"), I(50)}))).empty());
}

BOOST_AUTO_TEST_CASE(faults_are_clear_and_the_server_stays_up) {
  Server srv(":memory:");
  RpcClient c(srv.url, 10000);
  auto bad_frame = [](const std::string& drop, const std::string& key = "",
                      xmlrpc_c::value v = xmlrpc_c::value_int(0)) {
    Struct s{{"port", I(5000)},
             {"frame_id", I(1)},
             {"captured_at", xmlrpc_c::value_double(1.0)},
             {"image", xmlrpc_c::value_bytestring(tiny_jpeg())}};
    s.erase(drop);
    if (!key.empty()) {
      s.erase(key);
      s.emplace(key, v);
    }
    return xmlrpc_c::value_struct(s);
  };
  BOOST_TEST(fault_of(c, "add_task", params({bad_frame("image")})).find("missing field 'image'") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "add_task", params({bad_frame("", "port", S("x"))}))
                 .find("frame.port: expected int, got string") != std::string::npos);
  BOOST_TEST(
      fault_of(c, "add_task", params({bad_frame("", "port", I(70000))})).find("out of range") !=
      std::string::npos);
  BOOST_TEST(
      fault_of(c, "add_task", params({bad_frame("", "image", S("abc"))})).find("expected base64") !=
      std::string::npos);
  const std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  BOOST_TEST(
      fault_of(c, "add_task", params({bad_frame("", "image", xmlrpc_c::value_bytestring(png))}))
          .find("not a JPEG") != std::string::npos);
  // SOI and EOI in place, but no header libjpeg can read: refused by the shared header check.
  const std::vector<unsigned char> fake = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10,
                                           'J',  'F',  'I',  'F',  0xFF, 0xD9};
  BOOST_TEST(
      fault_of(c, "add_task", params({bad_frame("", "image", xmlrpc_c::value_bytestring(fake))}))
          .find("frame.image: not a JPEG the workers can decode") != std::string::npos);
  BOOST_TEST(fault_of(c, "add_task", params({S("frame")})).find("expected struct") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "add_task", params({})).find("wrong number of parameters") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "add_tasks", params({frame_value(5000, 1)})).find("expected array") !=
             std::string::npos);
  // one bad frame refuses the whole batch: nothing queued
  BOOST_TEST(fault_of(c, "add_tasks", params({A({frame_value(5000, 1), bad_frame("frame_id")})}))
                 .find("frames[1]") != std::string::npos);
  BOOST_TEST(fault_of(c, "request_task", params({S("ghost")})).find("register_worker first") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "register_worker", params({S("w"), S(""), A({})})).find("capabilities") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "complete_task", params({S("w"), S("t"), S("not a struct")}))
                 .find("result: expected struct") != std::string::npos);
  BOOST_TEST(fault_of(c, "get_results", params({S("5000")})).find("port: expected int") !=
             std::string::npos);
  BOOST_TEST(fault_of(c, "no_such_method", params({})) != "NO FAULT");
  // still serving, and nothing was queued by the refused calls
  const auto st = as_struct(c.call("status", params({})));
  BOOST_TEST(num(st.at("pending")) == 0);
}

BOOST_AUTO_TEST_CASE(large_frames_and_batches_fit) {
  Server srv(":memory:");
  fh::shared::set_xmlrpc_size_limit(64u << 20);
  RpcClient c(srv.url, 30000);
  const auto big = fh::test::padded_jpeg(2u << 20);  // 2 MiB, a real header
  std::vector<xmlrpc_c::value> batch;
  for (int i = 0; i < 8; ++i) batch.push_back(frame_value(5000, i, big));
  const auto ids =
      xmlrpc_c::value_array(c.call("add_tasks", params({xmlrpc_c::value_array(batch)})));
  BOOST_TEST(ids.size() == 8u);
  c.call("register_worker", params({S("w"), S(""), A({S("hog")})}));
  auto task = as_struct(c.call("request_task", params({S("w")})));
  BOOST_TEST(xmlrpc_c::value_bytestring(task.at("image")).length() == big.size());
}

BOOST_AUTO_TEST_CASE(results_survive_a_restart_and_ids_do_not_collide) {
  const std::string dir = fh::test::make_temp_dir("master-db");
  const std::string db = dir + "/results.db";
  std::set<std::string> first_ids;
  {
    Server srv(db);
    RpcClient c(srv.url, 10000);
    c.call("register_worker", params({S("w"), S(""), A({S("hog")})}));
    for (int i = 0; i < 5; ++i) {
      first_ids.insert(str(c.call("add_task", params({frame_value(5000, i)}))));
      auto t = as_struct(c.call("request_task", params({S("w")})));
      c.call("complete_task",
             params({S("w"), t.at("task_id"),
                     xmlrpc_c::value_struct(Struct{
                         {"detections", A({})}, {"processing_ms", xmlrpc_c::value_double(1)}})}));
    }
  }
  Server srv(db);
  RpcClient c(srv.url, 10000);
  const auto res =
      xmlrpc_c::value_array(c.call("get_results", params({I(5000)}))).vectorValueValue();
  BOOST_TEST(res.size() == 5u);
  std::set<std::string> restored;
  for (const auto& r : res) restored.insert(str(as_struct(r).at("task_id")));
  BOOST_TEST((restored == first_ids));
  const std::string id = str(c.call("add_task", params({frame_value(5000, 9)})));
  BOOST_TEST(first_ids.count(id) == 0u);
}

BOOST_AUTO_TEST_CASE(python_xmlrpc_client_drives_the_master) {
  Server srv(":memory:");
  const std::string script = std::string(FH_SOURCE_DIR) + "/tests/master/foreign_client.py";
  const std::string cmd = "python3 " + script + " " + srv.url;
  BOOST_TEST(std::system(cmd.c_str()) == 0);
}

BOOST_AUTO_TEST_CASE(introspection_and_multicall) {
  Server srv(":memory:");
  RpcClient c(srv.url, 10000);
  std::set<std::string> names;
  for (const auto& m :
       xmlrpc_c::value_array(c.call("system.listMethods", params({}))).vectorValueValue()) {
    names.insert(str(m));
  }
  for (const char* m : {"system.listMethods", "system.methodHelp", "system.methodSignature",
                        "system.multicall", "system.methodExist", "get_failures"}) {
    BOOST_TEST(names.count(m) == 1u, m);
  }
  // signatures as xmlrpc-c reports them: arrays of type names, return type first
  const auto sigs =
      xmlrpc_c::value_array(c.call("system.methodSignature", params({S("request_task")})))
          .vectorValueValue();
  BOOST_REQUIRE(sigs.size() == 2u);
  std::vector<std::string> second;
  for (const auto& t : xmlrpc_c::value_array(sigs[1]).vectorValueValue()) second.push_back(str(t));
  BOOST_TEST((second == std::vector<std::string>{"struct", "string", "int"}));
  BOOST_TEST(str(c.call("system.methodHelp", params({S("status")}))).find("status()") == 0u);
  BOOST_TEST(yes(c.call("system.methodExist", params({S("add_task")}))));
  BOOST_TEST(!yes(c.call("system.methodExist", params({S("nope")}))));
  try {
    c.call("no_such_method", params({}));
    BOOST_TEST(false, "unknown method must fault");
  } catch (const RpcFault& f) {
    BOOST_TEST(f.code == -506);
    BOOST_TEST(std::string(f.what()).find("no_such_method") != std::string::npos);
  }
  auto one = [](const std::string& method, std::vector<xmlrpc_c::value> p) {
    return xmlrpc_c::value_struct(Struct{{"methodName", S(method)}, {"params", A(std::move(p))}});
  };
  const auto results =
      xmlrpc_c::value_array(
          c.call("system.multicall",
                 params({A({one("heartbeat", {S("ghost")}), one("nosuch", {}),
                            one("status", {I(1)}), one("system.methodExist", {S("status")})})})))
          .vectorValueValue();
  BOOST_REQUIRE(results.size() == 4u);
  BOOST_TEST(!yes(xmlrpc_c::value_array(results[0]).vectorValueValue().at(0)));
  BOOST_TEST(num(as_struct(results[1]).at("faultCode")) == -506);
  BOOST_TEST(num(as_struct(results[2]).at("faultCode")) == -501);
  BOOST_TEST(str(as_struct(results[2]).at("faultString")).find("wrong number") !=
             std::string::npos);
  BOOST_TEST(yes(xmlrpc_c::value_array(results[3]).vectorValueValue().at(0)));
  // a multicall inside a multicall is refused as a whole
  try {
    c.call("system.multicall", params({A({one("system.multicall", {A({})})})}));
    BOOST_TEST(false, "recursive multicall must fault");
  } catch (const RpcFault& f) {
    BOOST_TEST(f.code == -507);
  }
  BOOST_TEST(fault_of(c, "system.multicall", params({S("x")})) != "NO FAULT");
}

BOOST_AUTO_TEST_SUITE_END()
