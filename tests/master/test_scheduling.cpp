// The scheduler's per-camera priority and detector fallback chains (issue 13), with the injected
// clock: weighted round-robin shares over backlogged ports, a light port not starved, an empty
// or unservable port never blocking the others; a chain's frames going to the first detector a
// live worker offers, back to the first choice when its worker comes, to the fallback again
// (with the tasks the dead worker held) when it dies; and the --detector/--priority parsers.
#include <boost/test/unit_test.hpp>

#include "framehive/master/scheduler.hpp"
#include "framehive/shared/cli.hpp"
#include "scheduling_options.hpp"
#include "test_util.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <stdexcept>
#include <thread>

using namespace fh::master;
using fh::shared::ManualClock;
using fh::shared::UsageError;

namespace {

struct Sched {
  ManualClock clock;
  SchedulerConfig config;
  std::unique_ptr<Scheduler> s;
  Sched() {
    config.task_timeout = 60.0;
    config.heartbeat_interval = 1.0;  // dead after 3 s without a sign of life
    config.max_frame_age = 0.0;
    config.max_pending_per_port = 1000;
  }
  void make() { s = std::make_unique<Scheduler>(config, clock, nullptr, "s"); }
  std::string add(int port, std::int64_t id, std::string detector = "") {
    static const auto img = std::make_shared<const std::vector<std::uint8_t>>(
        std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9});
    Frame f;
    f.port = port;
    f.frame_id = id;
    f.captured_at = clock.wall();
    f.image = img;
    f.detector = std::move(detector);
    std::vector<Frame> v;
    v.push_back(std::move(f));
    return s->add_frames(std::move(v)).at(0);
  }
  /// Adds n frames to a port, frame ids from first.
  void fill(int port, int n, int first = 0) {
    for (int i = 0; i < n; ++i) add(port, first + i);
  }
  /// The status row of a port.
  PortStatus port(int p) {
    for (const auto& row : s->status().ports) {
      if (row.port == p) return row;
    }
    BOOST_FAIL("no status row for port " << p);
    return {};
  }
  /// Advances the clock by seconds in steps of 0.5 s, the listed workers heartbeating, the
  /// monitor ticking.
  void pass(double seconds, const std::vector<std::string>& beating) {
    for (double t = 0; t < seconds; t += 0.5) {
      clock.advance(0.5);
      for (const auto& w : beating) BOOST_REQUIRE(s->heartbeat(w));
      s->tick();
    }
  }
};

Result nothing() { return Result{}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(scheduling)

BOOST_FIXTURE_TEST_CASE(weighted_shares_follow_the_weights, Sched) {
  config.port_weights = {{5000, 3}};  // 5001: the default weight 1
  make();
  fill(5000, 600);
  fill(5001, 600);
  s->register_worker("w", "", {"hog"});
  std::map<int, int> served;
  int run = 0, longest_run = 0, last = 0;
  for (int i = 0; i < 400; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    served[t->frame.port]++;
    run = t->frame.port == last ? run + 1 : 1;
    last = t->frame.port;
    longest_run = std::max(longest_run, run);
    // within a port, oldest first
    BOOST_TEST(t->frame.frame_id == served[t->frame.port] - 1);
  }
  const double share = served[5000] / 400.0;
  BOOST_TEST_MESSAGE("weights 3:1 over 400 hand-outs: " << served[5000] << " : " << served[5001]);
  BOOST_TEST(std::abs(share - 0.75) < 0.02, "share of the weight-3 port: " << share);
  BOOST_TEST(longest_run <= 3, "hand-outs interleave: longest run " << longest_run);
}

BOOST_FIXTURE_TEST_CASE(three_weights_share_in_proportion, Sched) {
  config.port_weights = {{6000, 5}, {6001, 2}, {6002, 1}};
  make();
  for (int p : {6000, 6001, 6002}) fill(p, 900);
  s->register_worker("w", "", {"hog"});
  std::map<int, int> served;
  for (int i = 0; i < 800; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    served[t->frame.port]++;
  }
  BOOST_TEST_MESSAGE("weights 5:2:1 over 800: " << served[6000] << " : " << served[6001] << " : "
                                                << served[6002]);
  BOOST_TEST(std::abs(served[6000] / 800.0 - 5.0 / 8) < 0.02);
  BOOST_TEST(std::abs(served[6001] / 800.0 - 2.0 / 8) < 0.02);
  BOOST_TEST(std::abs(served[6002] / 800.0 - 1.0 / 8) < 0.02);
}

BOOST_FIXTURE_TEST_CASE(a_light_port_is_not_starved, Sched) {
  config.port_weights = {{5000, 100}};
  make();
  fill(5000, 1000);
  fill(5001, 3);  // weight 1
  s->register_worker("w", "", {"hog"});
  std::vector<int> light_at;  // hand-out numbers that served port 5001
  for (int i = 1; i <= 400; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    if (t->frame.port == 5001) light_at.push_back(i);
  }
  BOOST_REQUIRE_EQUAL(light_at.size(), 3u);
  // one hand-out in every 101 (weights 100 + 1) is the light port's
  for (std::size_t k = 0; k < light_at.size(); ++k) {
    BOOST_TEST(light_at[k] <= 101 * static_cast<int>(k + 1), "hand-out " << light_at[k]);
  }
}

BOOST_FIXTURE_TEST_CASE(an_empty_or_unservable_port_never_blocks, Sched) {
  config.port_weights = {{5000, 50}, {5002, 1000}};
  make();
  // 5000 (heavy) waits for a detector this worker lacks; 5002 (heaviest) has nothing pending.
  for (int i = 0; i < 20; ++i) add(5000, i, "haar:frontalface");
  add(5002, 0);
  s->register_worker("w", "", {"hog"});
  auto first = s->request_task("w", 0);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->frame.port == 5002);  // now empty
  fill(5001, 10);
  for (int i = 0; i < 10; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    BOOST_TEST(t->frame.port == 5001);
  }
  BOOST_TEST(!s->request_task("w", 0).has_value());
  BOOST_TEST(port(5000).pending == 20);
  // A port that was idle starts afresh: no credit saved up while it had nothing.
  fill(5001, 50, 100);
  for (int i = 0; i < 20; ++i) BOOST_REQUIRE(s->request_task("w", 0));  // 5001 alone
  fill(5003, 10);                                                       // weight 1, like 5001
  std::map<int, int> served;
  for (int i = 0; i < 10; ++i) served[s->request_task("w", 0)->frame.port]++;
  BOOST_TEST(served[5001] == 5);
  BOOST_TEST(served[5003] == 5);
}

BOOST_FIXTURE_TEST_CASE(a_heavy_port_of_expired_frames_yields_to_a_fresh_one, Sched) {
  config.port_weights = {{5000, 1000}};
  config.max_frame_age = 2.0;
  make();
  fill(5000, 5);
  clock.advance(3.0);  // 5000's frames expire; no tick ran yet
  add(5001, 1);
  s->register_worker("w", "", {"hog"});
  auto t = s->request_task("w", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->frame.port == 5001);
  BOOST_TEST(port(5000).expired == 5);
  BOOST_TEST(port(5000).pending == 0);
  BOOST_TEST(!s->request_task("w", 0).has_value());
}

BOOST_FIXTURE_TEST_CASE(a_weight_outside_1_to_1000_is_refused, Sched) {
  config.port_weights = {{5000, 0}};
  BOOST_CHECK_THROW(make(), std::invalid_argument);
  config.port_weights = {{5000, 1001}};
  BOOST_CHECK_THROW(make(), std::invalid_argument);
  config.port_weights = {{5000, 1000}};
  BOOST_CHECK_NO_THROW(make());
  config.port_detectors = {{5000, {}}};
  BOOST_CHECK_THROW(make(), std::invalid_argument);
  config.port_detectors = {{5000, {"a", ""}}};
  BOOST_CHECK_THROW(make(), std::invalid_argument);
  config.port_detectors.clear();
  config.default_detector.clear();
  BOOST_CHECK_THROW(make(), std::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(fallback_chain_first_choice_fallback_and_back, Sched) {
  config.port_detectors = {{5001, {"a", "b"}}};
  make();
  // Only a b worker: the chain's fallback runs the frames, and the record says so.
  s->register_worker("wb", "", {"b"});
  const auto id1 = add(5001, 1);
  BOOST_TEST(s->task_info(id1)->detector == "b");  // where it goes if handed out now
  auto t1 = s->request_task("wb", 0);
  BOOST_REQUIRE(t1);
  BOOST_TEST(t1->task_id == id1);
  BOOST_TEST(t1->frame.detector == "b");
  BOOST_REQUIRE(s->complete_task("wb", id1, nothing()));
  BOOST_TEST(s->get_results(5001, 1).at(0).detector == "b");
  auto p = port(5001);
  BOOST_TEST(p.detector == "a");  // the port's first choice
  BOOST_TEST(p.detector_chain == (std::vector<std::string>{"a", "b"}),
             boost::test_tools::per_element());
  BOOST_TEST(p.running_detector == "b");
  BOOST_TEST(p.fallback);
  BOOST_TEST(p.state == "live");

  // An a worker registers: new frames go to a, not to the b worker.
  s->register_worker("wa", "", {"a"});
  const auto id2 = add(5001, 2);
  const auto id3 = add(5001, 3);
  BOOST_TEST(!s->request_task("wb", 0).has_value());
  auto t2 = s->request_task("wa", 0);
  BOOST_REQUIRE(t2);
  BOOST_TEST(t2->task_id == id2);
  BOOST_TEST(t2->frame.detector == "a");
  BOOST_REQUIRE(s->complete_task("wa", id2, nothing()));
  BOOST_TEST(s->get_results(5001, 1).at(0).detector == "a");
  p = port(5001);
  BOOST_TEST(p.running_detector == "a");
  BOOST_TEST(!p.fallback);
  auto st = s->status();
  BOOST_TEST(st.queue["a"] == 1);  // id3, counted under the detector it goes to

  // The a worker takes id3 and dies (missed heartbeats): id3 goes back, re-evaluated against
  // the chain, and the b worker runs it.
  auto t3 = s->request_task("wa", 0);
  BOOST_REQUIRE(t3);
  BOOST_TEST(t3->task_id == id3);
  BOOST_TEST(t3->frame.detector == "a");
  pass(4.0, {"wb"});
  st = s->status();
  BOOST_TEST(st.requeued_dead_worker == 1);
  BOOST_TEST(st.queue["b"] == 1);
  BOOST_TEST(st.queue.count("a") == 0u);
  auto again = s->request_task("wb", 0);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->task_id == id3);
  BOOST_TEST(again->attempt == 2);
  BOOST_TEST(again->frame.detector == "b");
  BOOST_REQUIRE(s->complete_task("wb", id3, nothing()));
  BOOST_TEST(s->get_results(5001, 1).at(0).detector == "b");
  p = port(5001);
  BOOST_TEST(p.running_detector == "b");
  BOOST_TEST(p.fallback);
  BOOST_TEST(p.completed == 3);

  // It comes back (registers again): new hand-outs go to a again.
  s->register_worker("wa", "", {"a"});
  const auto id4 = add(5001, 4);
  BOOST_TEST(!s->request_task("wb", 0).has_value());
  auto t4 = s->request_task("wa", 0);
  BOOST_REQUIRE(t4);
  BOOST_TEST(t4->task_id == id4);
  BOOST_TEST(t4->frame.detector == "a");
  BOOST_TEST(!port(5001).fallback);
}

BOOST_FIXTURE_TEST_CASE(a_worker_offering_both_runs_the_first_choice, Sched) {
  config.port_detectors = {{5001, {"a", "b"}}};
  make();
  s->register_worker("both", "", {"b", "a"});
  add(5001, 1);
  auto t = s->request_task("both", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->frame.detector == "a");
}

BOOST_FIXTURE_TEST_CASE(a_chain_without_live_workers_waits_for_all_of_it, Sched) {
  config.port_detectors = {{5001, {"a", "b"}}, {5002, {"c"}}};
  make();
  add(5001, 1);
  add(5001, 2);
  auto st = s->status();
  BOOST_TEST(st.waiting_detectors == (std::vector<std::string>{"a", "b"}),
             boost::test_tools::per_element());
  BOOST_TEST(st.queue["a"] == 2);
  auto p = port(5001);
  BOOST_TEST(p.state == "waiting");
  BOOST_TEST(p.running_detector == "a");  // the first choice when none has a worker
  BOOST_TEST(!p.fallback);
  // A worker of the last resort: nothing waits any more.
  s->register_worker("wb", "", {"b"});
  st = s->status();
  BOOST_TEST(st.waiting_detectors.empty());
  BOOST_TEST(st.queue["b"] == 2);
  BOOST_TEST(port(5001).state == "live");
  // A one-detector list is no chain.
  add(5002, 1);
  p = port(5002);
  BOOST_TEST(p.detector == "c");
  BOOST_TEST(p.detector_chain.empty());
  BOOST_TEST(p.running_detector.empty());
  BOOST_TEST(s->status().waiting_detectors == (std::vector<std::string>{"c"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_frame_naming_its_detector_is_not_chained, Sched) {
  config.port_detectors = {{5001, {"a", "b"}}};
  make();
  s->register_worker("wb", "", {"b"});
  const auto id = add(5001, 1, "a");
  BOOST_TEST(!s->request_task("wb", 0).has_value());
  BOOST_TEST(s->status().waiting_detectors == (std::vector<std::string>{"a"}),
             boost::test_tools::per_element());
  BOOST_TEST(port(5001).state == "waiting");
  s->register_worker("wa", "", {"a"});
  auto t = s->request_task("wa", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->task_id == id);
  // ... and a requeue keeps its own detector.
  pass(4.0, {"wb"});
  BOOST_TEST(!s->request_task("wb", 0).has_value());
  BOOST_TEST(s->task_info(id)->detector == "a");
}

BOOST_FIXTURE_TEST_CASE(a_fallback_worker_waiting_wakes_when_the_first_choice_dies, Sched) {
  config.port_detectors = {{5001, {"a", "b"}}};
  make();
  s->register_worker("wa", "", {"a"});
  s->register_worker("wb", "", {"b"});
  add(5001, 1);  // for a, whose worker does not poll (busy elsewhere)
  clock.advance(0.5);
  const double entered = clock.wall();
  std::optional<Task> got;
  std::thread poller([&] { got = s->request_task("wb", 10000); });
  // The poller is blocked in its wait once its stamp shows (see test_scheduler.cpp).
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        for (const auto& w : s->status().workers) {
          if (w.worker_id == "wb") return w.last_seen == entered;
        }
        return false;
      },
      std::chrono::seconds(5)));
  const auto t0 = std::chrono::steady_clock::now();
  pass(4.0, {"wb"});  // a dies, holding nothing: the chain moves to b
  poller.join();
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->frame.detector == "b");
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(detector_option_values) {
  const auto m = parse_detector_options({"5000=hog", "5001=dnn:/etc/fh/y.json,hog,null"});
  BOOST_TEST(m.size() == 2u);
  BOOST_TEST(m.at(5000) == (std::vector<std::string>{"hog"}), boost::test_tools::per_element());
  BOOST_TEST(m.at(5001) == (std::vector<std::string>{"dnn:/etc/fh/y.json", "hog", "null"}),
             boost::test_tools::per_element());
  BOOST_TEST(parse_detector_options({}).empty());
  for (const char* bad : {"5000", "=hog", "5000=", "x=hog", "0=hog", "65536=hog", "5000=a,,b",
                          "5000=a,", "5000=,a", "5000=a,a", "5000=a b", "-1=hog", "5000=a\tb"}) {
    try {
      parse_detector_options({bad});
      BOOST_ERROR("--detector " << bad << " accepted");
    } catch (const UsageError& e) {
      const std::string what = e.what();
      BOOST_TEST(what.find("--detector '" + std::string(bad) + "'") == 0u, what);
    }
  }
  BOOST_CHECK_THROW(parse_detector_options({"5000=hog", "5000=null"}), UsageError);
}

BOOST_AUTO_TEST_CASE(priority_option_values) {
  const auto m = parse_priority_options({"5000=3", "5001=1", "5002=1000"});
  BOOST_TEST(m.at(5000) == 3);
  BOOST_TEST(m.at(5001) == 1);
  BOOST_TEST(m.at(5002) == 1000);
  for (const char* bad : {"5000", "5000=", "5000=0", "5000=1001", "5000=x", "5000=1.5", "5000=-1",
                          "5000=+2", "x=3", "70000=3", "5000=99999999999"}) {
    try {
      parse_priority_options({bad});
      BOOST_ERROR("--priority " << bad << " accepted");
    } catch (const UsageError& e) {
      const std::string what = e.what();
      BOOST_TEST(what.find("--priority '" + std::string(bad) + "'") == 0u, what);
    }
  }
  BOOST_CHECK_THROW(parse_priority_options({"5000=2", "5000=3"}), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
