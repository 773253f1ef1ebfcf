// The master's bounds against a hostile or careless client: --max-pixels (decompression bombs
// refused from the JPEG header), --max-ports, the byte cap on kept frames, the worker table
// (dead workers pruned, --max-workers) and a live worker's id claimed from another address.
#include <boost/test/unit_test.hpp>

#include "framehive/master/master_app.hpp"
#include "framehive/master/scheduler.hpp"
#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "master_under_test.hpp"
#include "port_metrics.hpp"
#include "test_util.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace fh::master;
namespace api = fh::shared::api;

namespace {

api::Frame frame(int port, std::int64_t id,
                 std::vector<unsigned char> jpeg = fh::test::tiny_jpeg()) {
  api::Frame f;
  f.port = port;
  f.frame_id = id;
  f.stream = "cam";
  f.image = std::make_shared<const std::vector<std::uint8_t>>(jpeg.begin(), jpeg.end());
  return f;
}

/// The fault code and message of a call that must fail with a fault.
template <typename F>
std::pair<int, std::string> fault_of(F&& call) {
  try {
    call();
  } catch (const fh::shared::RpcFault& f) {
    return {f.code, f.what()};
  }
  return {0, "NO FAULT"};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

api::ResultRecord record(const std::string& id, int port) {
  api::ResultRecord r;
  r.task_id = id;
  r.port = port;
  return r;
}

api::Image image_of(std::size_t bytes) {
  return std::make_shared<const std::vector<std::uint8_t>>(bytes, 0x55);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bounds)

BOOST_AUTO_TEST_CASE(a_decompression_bomb_is_refused_from_its_header) {
  fh::test::MasterUnderTest srv(":memory:");
  api::MasterClient c(srv.url, 10000);
  // A few hundred bytes declaring 7900 x 7900 pixels: over the default 3840 x 2160.
  const auto [code, msg] =
      fault_of([&] { c.add_task(frame(5000, 1, fh::test::jpeg_declaring(7900, 7900))); });
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(contains(msg, "7900x7900"), msg);
  BOOST_TEST(contains(msg, "--max-pixels"), msg);
  // 4K itself is accepted, one row more is not.
  BOOST_TEST(!c.add_task(frame(5000, 2, fh::test::jpeg_declaring(3840, 2160))).empty());
  BOOST_TEST(fault_of([&] {
               c.add_task(frame(5000, 3, fh::test::jpeg_declaring(3840, 2161)));
             }).first == api::fault::limit_exceeded);
  // One bomb refuses the whole batch.
  BOOST_TEST(fault_of([&] {
               c.add_tasks({frame(5000, 4), frame(5000, 5, fh::test::jpeg_declaring(7900, 7900))});
             }).first == api::fault::limit_exceeded);
  BOOST_TEST(c.status().pending == 1);
}

BOOST_AUTO_TEST_CASE(max_pixels_is_configurable) {
  fh::test::MasterUnderTest srv(":memory:", [](MasterConfig& c) { c.rpc.max_pixels = 63; });
  api::MasterClient c(srv.url, 10000);
  BOOST_TEST(fault_of([&] { c.add_task(frame(5000, 1)); }).first == api::fault::limit_exceeded);
}

BOOST_AUTO_TEST_CASE(frames_for_more_ports_than_max_ports_are_refused) {
  fh::test::MasterUnderTest srv(":memory:", [](MasterConfig& c) { c.scheduler.max_ports = 2; });
  api::MasterClient c(srv.url, 10000);
  c.add_task(frame(5000, 1));
  c.add_task(frame(5001, 1));
  const auto [code, msg] = fault_of([&] { c.add_task(frame(5002, 1)); });
  BOOST_TEST(code == api::fault::limit_exceeded);
  BOOST_TEST(contains(msg, "--max-ports"), msg);
  // All or none: a batch with one new port queues nothing.
  BOOST_TEST(fault_of([&] {
               c.add_tasks({frame(5000, 2), frame(5003, 1)});
             }).first == api::fault::limit_exceeded);
  const auto st = c.status();
  BOOST_TEST(st.pending == 2);
  BOOST_TEST(st.ports.size() == 2u);
  c.add_task(frame(5001, 2));  // known ports still work
}

BOOST_AUTO_TEST_CASE(kept_frames_stay_under_the_byte_cap) {
  // 10 frames per port, 3,500 bytes in all: at most three 1,000-byte frames.
  PortMetrics m("hog", {}, 100, 10, 3500);
  for (int i = 0; i < 6; ++i) {
    m.record_completion(record("a" + std::to_string(i), 5000), image_of(1000), 1.0);
  }
  BOOST_TEST(m.kept_count() == 3u);
  BOOST_TEST(m.kept_bytes() == 3000u);
  BOOST_TEST(!m.kept_frame("a2").has_value());  // the oldest went first
  BOOST_TEST(m.kept_frame("a5").has_value());
  // Another port's frame evicts the oldest of any port.
  m.record_completion(record("b0", 5001), image_of(1000), 1.0);
  BOOST_TEST(!m.kept_frame("a3").has_value());
  BOOST_TEST(m.kept_frame("b0").has_value());
  // A frame larger than the cap is not kept at all (and evicts nothing).
  m.record_completion(record("huge", 5001), image_of(4000), 1.0);
  BOOST_TEST(!m.kept_frame("huge").has_value());
  BOOST_TEST(m.kept_count() == 3u);
  // A long run over many ports: the count and the bytes stay bounded.
  for (int i = 0; i < 20000; ++i) {
    m.record_completion(record("c" + std::to_string(i), 6000 + i % 7), image_of(100 + i % 900),
                        1.0);
    BOOST_TEST_REQUIRE(m.kept_bytes() <= 3500u);
  }
  BOOST_TEST(m.kept_count() <= 35u);
}

BOOST_AUTO_TEST_CASE(the_per_port_count_still_applies) {
  PortMetrics m("hog", {}, 100, 2, 1u << 20);
  for (int i = 0; i < 5; ++i) {
    m.record_completion(record("a" + std::to_string(i), 5000), image_of(10), 1.0);
  }
  BOOST_TEST(m.kept_count() == 2u);
  BOOST_TEST(m.kept_frame("a4").has_value());
  BOOST_TEST(m.kept_frame("a3").has_value());
}

BOOST_AUTO_TEST_CASE(dead_workers_are_pruned_after_the_retention) {
  fh::shared::ManualClock clock;
  SchedulerConfig cfg;
  cfg.worker_retention = 60;
  Scheduler s(cfg, clock, nullptr, "t");
  s.register_worker("w1", "h:1", {"hog"});
  s.register_worker("w2", "h:2", {"hog"});
  clock.advance(cfg.heartbeat_interval * cfg.heartbeat_misses + 1);
  s.tick();
  BOOST_TEST(s.status().workers.size() == 2u);  // dead, still listed
  clock.advance(30);
  s.tick();
  BOOST_TEST(s.status().workers.size() == 2u);
  clock.advance(31);
  s.tick();
  BOOST_TEST(s.status().workers.empty());
  // A pruned worker that comes back registers again like a new one.
  BOOST_TEST(s.heartbeat("w1") == false);
  s.register_worker("w1", "h:1", {"hog"});
  BOOST_TEST(s.status().workers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_worker_table_is_bounded) {
  fh::shared::ManualClock clock;
  SchedulerConfig cfg;
  cfg.max_workers = 2;
  Scheduler s(cfg, clock, nullptr, "t");
  s.register_worker("a", "h:1", {"hog"});
  clock.advance(1);
  s.register_worker("b", "h:2", {"hog"});
  BOOST_CHECK_THROW(s.register_worker("c", "h:3", {"hog"}), LimitError);
  s.register_worker("a", "h:1", {"hog"});  // a listed worker registering again is no new entry
  // Once a is dead, c takes its place (the longest-dead goes first).
  clock.advance(cfg.heartbeat_interval * cfg.heartbeat_misses + 0.5);
  s.heartbeat("b");
  s.tick();
  s.register_worker("c", "h:3", {"hog"});
  const auto st = s.status();
  BOOST_TEST(st.workers.size() == 2u);
  BOOST_TEST(st.workers[0].worker_id == "b");
  BOOST_TEST(st.workers[1].worker_id == "c");
}

BOOST_AUTO_TEST_CASE(a_live_workers_id_from_another_peer_is_refused) {
  fh::shared::ManualClock clock;
  SchedulerConfig cfg;
  Scheduler s(cfg, clock, nullptr, "t");
  s.add_frames({frame(5000, 1)});
  s.register_worker("w", "h:1", {"hog"}, "10.0.0.1");
  const auto task = s.request_task("w", 0);
  BOOST_TEST_REQUIRE(task.has_value());
  try {
    s.register_worker("w", "evil:1", {"hog"}, "10.0.0.2");
    BOOST_FAIL("no error");
  } catch (const RequestError& e) {
    BOOST_TEST(contains(e.what(), "belongs to a live worker at 10.0.0.1"), e.what());
  }
  // Its task stayed with it.
  BOOST_TEST(s.status().in_progress == 1);
  BOOST_TEST(s.complete_task("w", task->task_id, {}));
  // The same peer may register again (a restart), and once w is dead anyone may.
  s.register_worker("w", "h:2", {"hog"}, "10.0.0.1");
  clock.advance(cfg.heartbeat_interval * cfg.heartbeat_misses + 1);
  s.tick();
  s.register_worker("w", "new:1", {"hog"}, "10.0.0.2");
  BOOST_TEST(s.status().workers.at(0).address == "new:1");
}

BOOST_AUTO_TEST_CASE(register_worker_over_the_network_sees_the_peer_address) {
  fh::test::MasterUnderTest srv(":memory:");
  const std::string reg = fh::test::call_xml(
      "register_worker",
      "<param><value>w</value></param><param><value>h:1</value></param>"
      "<param><value><array><data><value>hog</value></data></array></value></param>");
  fh::test::RawConnection first(srv.port, "127.0.0.1");
  BOOST_TEST_REQUIRE(first.connected());
  BOOST_TEST_REQUIRE(first.send(fh::test::http_post(reg)));
  BOOST_TEST(!contains(first.read_response(), "faultCode"));
  // From another loopback address (another "host"): refused while w is alive.
  fh::test::RawConnection second(srv.port, "127.0.0.2");
  BOOST_TEST_REQUIRE(second.connected());
  BOOST_TEST_REQUIRE(second.send(fh::test::http_post(reg)));
  const std::string refused = second.read_response();
  BOOST_TEST(contains(refused, "belongs to a live worker at 127.0.0.1"), refused);
  // Again from the first address: allowed (a restarted worker).
  fh::test::RawConnection again(srv.port, "127.0.0.1");
  BOOST_TEST_REQUIRE(again.send(fh::test::http_post(reg)));
  BOOST_TEST(!contains(again.read_response(), "faultCode"));
}

BOOST_AUTO_TEST_SUITE_END()
