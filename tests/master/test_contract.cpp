// The contract (shared/api) against docs/api.md and a real master on 127.0.0.1: the methods the
// server lists are exactly the rows of the docs' method table and api::method::all, and every
// method of that table is called here through the typed client (api::MasterClient) with its
// reply checked; a method added to the docs or the server without a call here fails the test.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "master_under_test.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace api = fh::shared::api;

namespace {

/// Method names from the first column of docs/api.md's "## Methods" table.
std::vector<std::string> documented_methods() {
  std::ifstream in(std::string(FH_SOURCE_DIR) + "/docs/api.md");
  BOOST_REQUIRE_MESSAGE(in, "cannot read docs/api.md");
  std::vector<std::string> out;
  std::string line;
  bool in_section = false;
  const std::regex row(R"(^\| `([a-z_.]+)\()");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Methods";
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) out.push_back(m[1]);
  }
  return out;
}

std::vector<std::string> listed_methods(const std::string& url) {
  fh::shared::RpcClient c(url, 10000);
  const auto v = c.call(api::method::list_methods, xmlrpc_c::paramList());
  std::vector<std::string> out;
  for (const auto& m : xmlrpc_c::value_array(v).vectorValueValue()) {
    const std::string name = xmlrpc_c::value_string(m);
    if (name.rfind("system.", 0) != 0) out.push_back(name);
  }
  return out;
}

api::Image tiny_jpeg() {
  const auto bytes = fh::test::tiny_jpeg();
  return std::make_shared<const std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
}

api::Frame frame(int port, std::int64_t id) {
  api::Frame f;
  f.port = port;
  f.stream = "cam";
  f.frame_id = id;
  f.captured_at = 1.7e9 + static_cast<double>(id);
  f.image = tiny_jpeg();
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(contract)

BOOST_AUTO_TEST_CASE(listed_methods_equal_the_documented_table_and_the_contract) {
  fh::test::MasterUnderTest srv(":memory:");
  const auto docs = documented_methods();
  const auto listed = listed_methods(srv.url);
  const std::vector<std::string> contract(std::begin(api::method::all), std::end(api::method::all));
  BOOST_TEST(docs.size() == 17u);
  BOOST_TEST(std::set<std::string>(docs.begin(), docs.end()) ==
                 std::set<std::string>(listed.begin(), listed.end()),
             boost::test_tools::per_element());
  BOOST_TEST(docs == contract, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_documented_method_is_called_through_the_typed_client) {
  fh::test::MasterUnderTest srv(":memory:", [](fh::master::MasterConfig& c) {
    c.db_path = fh::test::make_temp_dir("contract") + "/m.db";
  });
  api::MasterClient m(srv.url, 10000);
  const int port = 5000;
  std::string first_task, second_task, upload_task;
  // One call each, in an order where every reply can be checked against what came before.
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {api::method::add_task, [&] { BOOST_TEST(!m.add_task(frame(port, 1)).empty()); }},
      {api::method::add_tasks,
       [&] {
         BOOST_TEST(m.add_tasks({frame(port, 2), frame(port, 3)}).size() == 2u);
       }},
      {api::method::register_worker,
       [&] {
         const auto r = m.register_worker("w1", "test", {"hog"});
         BOOST_TEST(r.heartbeat_interval > 0);
         BOOST_TEST(r.task_timeout > 0);
       }},
      {api::method::heartbeat, [&] { BOOST_TEST(m.heartbeat("w1")); }},
      {api::method::request_task,
       [&] {
         const auto t = m.request_task("w1", 1000);
         BOOST_REQUIRE(t.has_value());
         BOOST_TEST(t->frame.port == port);
         BOOST_TEST(t->frame.frame_id == 1);
         BOOST_TEST(t->frame.detector == "hog");
         BOOST_TEST(t->attempt == 1);
         BOOST_TEST(*t->frame.image == *tiny_jpeg());
         first_task = t->task_id;
         second_task = m.request_task("w1", 1000).value().task_id;
       }},
      {api::method::complete_task,
       [&] {
         BOOST_TEST(m.complete_task("w1", first_task, {{{"person", 0.75, 1, 2, 3, 4}}, 5.5}));
         BOOST_TEST(!m.complete_task("w1", first_task, {}));  // a duplicate is refused
       }},
      {api::method::fail_task, [&] { BOOST_TEST(m.fail_task("w1", second_task, "corrupt")); }},
      {api::method::get_results,
       [&] {
         const auto r = m.get_results(port, 10);
         BOOST_REQUIRE(r.size() == 1u);
         BOOST_TEST(r[0].task_id == first_task);
         BOOST_REQUIRE(r[0].detections.size() == 1u);
         BOOST_TEST(r[0].detections[0].label == "person");
         BOOST_TEST(r[0].detections[0].h == 4);
         BOOST_TEST(r[0].processing_ms == 5.5);
       }},
      {api::method::get_failures,
       [&] {
         const auto f = m.get_failures(port, 10);
         BOOST_REQUIRE(f.size() == 1u);
         BOOST_TEST(f[0].task_id == second_task);
         BOOST_TEST(f[0].reason == "worker: corrupt");
       }},
      {api::method::status,
       [&] {
         const auto s = m.status();
         BOOST_TEST(s.completed == 1);
         BOOST_TEST(s.failed == 1);
         BOOST_TEST(s.pending == 1);
         BOOST_REQUIRE(s.ports.size() == 1u);
         BOOST_TEST(s.ports[0].received == 3);
         BOOST_REQUIRE(s.workers.size() == 1u);
         BOOST_TEST(s.workers[0].worker_id == "w1");
       }},
      {api::method::get_summary,
       [&] {
         // Captured around 1.7e9 (2023): a window reaching back far enough, 1-day buckets.
         const auto b = m.get_summary(port, 86400, 86400.0 * 49999);
         BOOST_REQUIRE(b.size() == 1u);
         BOOST_TEST(b[0].frames == 1);
         BOOST_TEST(b[0].end - b[0].start == 86400.0);
         BOOST_TEST(b[0].labels.at("person") == 1);
       }},
      {api::method::get_frame,
       [&] {
         const auto k = m.get_frame(first_task);
         BOOST_TEST(k.record.task_id == first_task);
         BOOST_TEST(*k.image == *tiny_jpeg());
         try {
           m.get_frame("no-such-task");
           BOOST_TEST(false, "get_frame of an unknown task must fault");
         } catch (const fh::shared::RpcFault& f) {
           BOOST_TEST(f.code == api::fault::not_found);
         }
       }},
      {api::method::export_results,
       [&] {
         const auto p = m.export_results(port, 0, 0, 100);
         BOOST_REQUIRE(p.results.size() == 1u);
         BOOST_TEST(p.results[0].task_id == first_task);
         BOOST_TEST(p.cursor > 0);
         BOOST_TEST(m.export_results(port, 0, p.cursor, 100).results.empty());
       }},
      {api::method::add_image,
       [&] {
         upload_task = m.add_image(*tiny_jpeg(), "hog", "tiny.jpg");
         BOOST_TEST(!upload_task.empty());
         try {
           m.add_image({1, 2, 3}, "hog", "junk");
           BOOST_TEST(false, "add_image of bytes that are no image must fault");
         } catch (const fh::shared::RpcFault& f) {
           BOOST_TEST(f.code == api::fault::type);
         }
       }},
      {api::method::get_task,
       [&] {
         const auto up = m.get_task(upload_task);
         BOOST_TEST(up.state == "pending");
         BOOST_TEST(up.port == api::k_upload_port);
         BOOST_TEST(up.stream == "upload:tiny.jpg");
         BOOST_TEST(up.detector == "hog");
         const auto done = m.get_task(first_task);
         BOOST_TEST(done.state == "completed");
         BOOST_REQUIRE(done.has_record);
         BOOST_TEST(done.record.detections.size() == 1u);
         const auto failed = m.get_task(second_task);
         BOOST_TEST(failed.state == "failed");
         BOOST_REQUIRE(failed.has_failure);
         BOOST_TEST(failed.failure.reason == "worker: corrupt");
         try {
           m.get_task("no-such-task");
           BOOST_TEST(false, "get_task of an unknown task must fault");
         } catch (const fh::shared::RpcFault& f) {
           BOOST_TEST(f.code == api::fault::not_found);
         }
       }},
      {api::method::get_events,
       [&] {
         // Four frames of another camera with a person standing still: a track, confirmed at
         // its third sighting (docs/events.md), whose object.start get_events returns.
         const int cam = port + 1;
         std::vector<std::string> tasks;
         for (int i = 1; i <= 4; ++i) m.add_task(frame(cam, i));
         while (tasks.size() < 4) {  // (port's frame 3 waits too: it gets the box as well)
           const auto t = m.request_task("w1", 1000);
           BOOST_REQUIRE(t.has_value());
           if (t->frame.port == cam) tasks.push_back(t->task_id);
           BOOST_REQUIRE(m.complete_task("w1", t->task_id, {{{"person", 0.8, 1, 1, 8, 8}}, 1}));
         }
         std::vector<api::Event> events;
         BOOST_REQUIRE(fh::test::poll_until(
             [&] {
               events = m.get_events(cam, 0, 10);
               return !events.empty();
             },
             std::chrono::seconds(10)));
         BOOST_TEST(events[0].type == "object.start");
         BOOST_TEST(events[0].port == cam);
         BOOST_TEST(events[0].label == "person");
         BOOST_TEST(events[0].track_id > 0);
         BOOST_TEST(events[0].seq > 0);
         BOOST_TEST(events[0].w == 8);
         BOOST_TEST(std::count(tasks.begin(), tasks.end(), events[0].snapshot_task_id) == 1);
         BOOST_TEST(m.get_events(cam, 0, 10, events[0].seq).size() == events.size() - 1);
         BOOST_TEST(m.get_events(port, 0, 10).empty());  // another camera's
         // The third detection carries the track's id in the results.
         BOOST_TEST(fh::test::poll_until(
             [&] {
               for (const auto& r : m.get_results(cam, 10)) {
                 if (r.task_id == tasks[2])
                   return r.detections.at(0).track_id == events[0].track_id;
               }
               return false;
             },
             std::chrono::seconds(10)));
         try {
           m.get_events(-1, 0, 0);
           BOOST_TEST(false, "get_events with limit 0 must fault");
         } catch (const fh::shared::RpcFault& f) {
           BOOST_TEST(f.code == api::fault::type);
         }
       }},
      {api::method::report_receiver,
       [&] {
         api::ReceiverPortCounters c;
         c.port = port;
         c.datagrams = 40;
         c.frames_complete = 3;
         c.frames_incomplete = 2;
         m.report_receiver("rx-1", {c});
         c.frames_incomplete = 5;  // a newer report replaces the older one
         m.report_receiver("rx-1", {c});
         const auto s = m.status();
         BOOST_REQUIRE(s.receivers.size() == 1u);
         BOOST_TEST(s.receivers[0].receiver_id == "rx-1");
         BOOST_TEST(s.receivers[0].address == "127.0.0.1");
         BOOST_REQUIRE(s.receivers[0].ports.size() == 1u);
         BOOST_TEST(s.receivers[0].ports[0].datagrams == 40);
         for (const auto& p : s.ports) {
           if (p.port == port) BOOST_TEST(p.incomplete == 5);
         }
         c.frames_dropped = -1;
         try {
           m.report_receiver("rx-1", {c});
           BOOST_TEST(false, "a negative count must fault");
         } catch (const fh::shared::RpcFault& f) {
           BOOST_TEST(f.code == api::fault::type);
         }
       }},
  };
  std::set<std::string> called;
  for (const auto& [name, call] : calls) {
    BOOST_TEST_CONTEXT(name) {
      call();
      called.insert(name);
    }
  }
  for (const auto& name : documented_methods()) {
    BOOST_TEST(called.count(name) == 1u, name << " (docs/api.md) is not called by this test");
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_worker_gets_the_refused_fault) {
  fh::test::MasterUnderTest srv(":memory:");
  api::MasterClient m(srv.url, 10000);
  try {
    m.request_task("nobody", 0);
    BOOST_TEST(false, "request_task of an unregistered worker must fault");
  } catch (const fh::shared::RpcFault& f) {
    BOOST_TEST(f.code == api::fault::refused);
  }
}

BOOST_AUTO_TEST_SUITE_END()
