#define BOOST_TEST_MODULE master
#include <boost/test/unit_test.hpp>

#include "framehive/master/scheduler.hpp"
#include "test_util.hpp"

#include <map>
#include <random>
#include <set>
#include <thread>

using namespace fh::master;
using fh::shared::ManualClock;

namespace {

std::shared_ptr<const std::vector<std::uint8_t>> jpeg_bytes() {
  static auto img = std::make_shared<const std::vector<std::uint8_t>>(
      std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9});
  return img;
}

Frame frame(int port, std::int64_t id, double captured_at, std::string detector = "") {
  Frame f;
  f.port = port;
  f.frame_id = id;
  f.captured_at = captured_at;
  f.image = jpeg_bytes();
  f.detector = std::move(detector);
  return f;
}

struct Fixture {
  ManualClock clock;
  SchedulerConfig config;
  std::unique_ptr<Scheduler> s;
  Fixture() {
    config.task_timeout = 5.0;
    config.max_attempts = 3;
    config.heartbeat_interval = 1.0;
    config.max_frame_age = 0.0;
    config.max_pending_per_port = 1000;  // bounds are tested on their own
    make();
  }
  void make() { s = std::make_unique<Scheduler>(config, clock, nullptr, "t"); }
  std::string add(int port, std::int64_t id, std::string detector = "") {
    std::vector<Frame> v;
    v.push_back(frame(port, id, clock.wall(), std::move(detector)));
    return s->add_frames(std::move(v)).at(0);
  }
};

Result result_with(std::string label) {
  Result r;
  r.detections.push_back(Detection{std::move(label), 0.9, 1, 2, 3, 4});
  r.processing_ms = 12.5;
  return r;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(assigns_in_order_and_records_once, Fixture) {
  const auto a = add(5000, 1);
  const auto b = add(5000, 2);
  BOOST_TEST(a != b);
  s->register_worker("w1", "addr", {"hog"});
  auto t1 = s->request_task("w1", 0);
  BOOST_REQUIRE(t1);
  BOOST_TEST(t1->task_id == a);
  BOOST_TEST(t1->attempt == 1);
  BOOST_TEST(t1->frame.detector == "hog");
  BOOST_TEST(s->complete_task("w1", a, result_with("person")));
  BOOST_TEST(!s->complete_task("w1", a, result_with("person")));       // duplicate
  BOOST_TEST(!s->complete_task("w1", "nope", result_with("person")));  // unknown
  const auto st = s->status();
  BOOST_TEST(st.completed == 1);
  BOOST_TEST(st.pending == 1);
  BOOST_TEST(st.duplicate_completions == 1);
  BOOST_TEST(st.unknown_completions == 1);
  const auto res = s->get_results(5000, 0);
  BOOST_REQUIRE(res.size() == 1u);
  BOOST_TEST(res[0].task_id == a);
  BOOST_TEST(res[0].detections.at(0).label == "person");
  BOOST_TEST(res[0].worker_id == "w1");
}

BOOST_FIXTURE_TEST_CASE(unknown_worker_must_register, Fixture) {
  add(5000, 1);
  BOOST_CHECK_THROW(s->request_task("ghost", 0), RequestError);
  BOOST_TEST(!s->heartbeat("ghost"));
  s->register_worker("ghost", "", {"hog"});
  BOOST_TEST(s->heartbeat("ghost"));
  BOOST_TEST(s->request_task("ghost", 0).has_value());
}

BOOST_FIXTURE_TEST_CASE(timeout_reassigns_then_fails_after_max_attempts, Fixture) {
  const auto id = add(5000, 7);
  s->register_worker("w1", "", {"hog"});
  s->register_worker("w2", "", {"hog"});
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const std::string w = attempt % 2 ? "w1" : "w2";
    auto t = s->request_task(w, 0);
    BOOST_REQUIRE(t);
    BOOST_TEST(t->task_id == id);
    BOOST_TEST(t->attempt == attempt);
    clock.advance(4.9);
    s->heartbeat("w1");
    s->heartbeat("w2");
    BOOST_TEST(s->tick() == 0u);  // not yet stale
    clock.advance(0.2);
    s->heartbeat("w1");
    s->heartbeat("w2");
    BOOST_TEST(s->tick() == 1u);
  }
  const auto st = s->status();
  BOOST_TEST(st.failed == 1);
  BOOST_TEST(st.failed_timeout == 1);
  BOOST_TEST(st.requeued_timeout == 2);
  BOOST_TEST(st.pending == 0);
  BOOST_TEST(!s->request_task("w1", 0).has_value());
}

BOOST_FIXTURE_TEST_CASE(late_completion_after_reassignment_is_recorded_once, Fixture) {
  const auto id = add(5000, 1);
  s->register_worker("slow", "", {"hog"});
  s->register_worker("fast", "", {"hog"});
  BOOST_REQUIRE(s->request_task("slow", 0));
  clock.advance(5.5);
  s->heartbeat("slow");
  s->heartbeat("fast");
  s->tick();
  auto again = s->request_task("fast", 0);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->attempt == 2);
  BOOST_TEST(s->complete_task("slow", id, result_with("a")));   // late, first: recorded
  BOOST_TEST(!s->complete_task("fast", id, result_with("b")));  // second: refused
  BOOST_TEST(s->get_results(5000, 0).size() == 1u);
  BOOST_TEST(s->get_results(5000, 0)[0].worker_id == "slow");
  const auto st = s->status();
  BOOST_TEST(st.late_completions == 1);
  BOOST_TEST(st.in_progress == 0);
}

BOOST_FIXTURE_TEST_CASE(dead_worker_tasks_go_back_at_once, Fixture) {
  const auto id = add(5000, 1);
  s->register_worker("doomed", "", {"hog"});
  s->register_worker("alive", "", {"hog"});
  BOOST_REQUIRE(s->request_task("doomed", 0));
  // 3 heartbeats (1 s) missed, far before the 5 s task timeout
  for (int i = 0; i < 4; ++i) {
    clock.advance(0.8);
    s->heartbeat("alive");
    s->tick();
  }
  auto st = s->status();
  BOOST_TEST(st.requeued_dead_worker == 1);
  BOOST_TEST(st.requeued_timeout == 0);
  auto t = s->request_task("alive", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->task_id == id);
  BOOST_TEST(!s->heartbeat("doomed"));  // must re-register
  BOOST_CHECK_THROW(s->request_task("doomed", 0), RequestError);
  for (const auto& w : s->status().workers) {
    if (w.worker_id == "doomed") BOOST_TEST(!w.alive);
  }
}

BOOST_FIXTURE_TEST_CASE(capability_filtering_and_waiting_detectors, Fixture) {
  config.port_detectors[5001] = {"haar:frontalface"};
  make();
  const auto hog_id = add(5000, 1);
  const auto face_id = add(5001, 1);
  s->register_worker("h", "", {"hog"});
  auto t = s->request_task("h", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->task_id == hog_id);
  BOOST_TEST(!s->request_task("h", 0).has_value());  // the face task is not for it
  auto st = s->status();
  BOOST_REQUIRE(st.waiting_detectors.size() == 1u);
  BOOST_TEST(st.waiting_detectors[0] == "haar:frontalface");
  s->register_worker("f", "", {"haar:frontalface", "hog"});
  auto t2 = s->request_task("f", 0);
  BOOST_REQUIRE(t2);
  BOOST_TEST(t2->task_id == face_id);
  BOOST_TEST(s->status().waiting_detectors.empty());
  // an explicit detector in the frame wins over the port default
  const auto explicit_id = add(5001, 2, "hog");
  auto t3 = s->request_task("h", 0);
  BOOST_REQUIRE(t3);
  BOOST_TEST(t3->task_id == explicit_id);
}

BOOST_FIXTURE_TEST_CASE(round_robin_across_ports, Fixture) {
  for (int i = 0; i < 50; ++i) add(5000, i);  // a busy camera
  for (int i = 0; i < 5; ++i) add(5001, i);
  for (int i = 0; i < 5; ++i) add(5002, i);
  s->register_worker("w", "", {"hog"});
  std::map<int, int> served;
  for (int i = 0; i < 15; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    served[t->frame.port]++;
    // within a port, oldest first
    BOOST_TEST(t->frame.frame_id == served[t->frame.port] - 1);
  }
  BOOST_TEST(served[5000] == 5);
  BOOST_TEST(served[5001] == 5);
  BOOST_TEST(served[5002] == 5);
}

BOOST_FIXTURE_TEST_CASE(pending_bounded_per_port_drops_oldest, Fixture) {
  config.max_pending_per_port = 4;
  make();
  for (int i = 0; i < 10; ++i) add(5000, i);
  add(5001, 0);
  auto st = s->status();
  BOOST_TEST(st.pending == 5);
  BOOST_TEST(st.dropped == 6);
  s->register_worker("w", "", {"hog"});
  std::set<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    if (t->frame.port == 5000) ids.insert(t->frame.frame_id);
  }
  BOOST_TEST((ids == std::set<std::int64_t>{6, 7, 8, 9}));  // the newest survive
  for (const auto& p : s->status().ports) {
    if (p.port == 5000) {
      BOOST_TEST(p.dropped == 6);
      BOOST_TEST(p.received == 10);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(old_frames_expire, Fixture) {
  config.max_frame_age = 2.0;
  make();
  add(5000, 1);
  clock.advance(1.5);
  add(5000, 2);
  clock.advance(1.0);  // frame 1 is 2.5 s old, frame 2 1.0 s
  s->tick();
  auto st = s->status();
  BOOST_TEST(st.expired == 1);
  BOOST_TEST(st.pending == 1);
  s->register_worker("w", "", {"hog"});
  auto t = s->request_task("w", 0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->frame.frame_id == 2);
  // expiry also applies at hand-out time, between monitor passes
  add(5000, 3);
  clock.advance(2.5);
  s->heartbeat("w");
  BOOST_TEST(!s->request_task("w", 0).has_value());
  BOOST_TEST(s->status().expired == 2);
}

BOOST_FIXTURE_TEST_CASE(fail_task_is_a_job_failure, Fixture) {
  const auto id = add(5000, 1);
  s->register_worker("w", "", {"hog"});
  BOOST_REQUIRE(s->request_task("w", 0));
  BOOST_TEST(!s->fail_task("w", "unknown", "x"));
  BOOST_TEST(s->fail_task("w", id, "corrupt JPEG"));
  BOOST_TEST(!s->fail_task("w", id, "again"));
  BOOST_TEST(!s->complete_task("w", id, result_with("x")));
  const auto st = s->status();
  BOOST_TEST(st.failed == 1);
  BOOST_TEST(st.in_progress == 0);
  BOOST_TEST(st.pending == 0);
  BOOST_TEST(!s->request_task("w", 0).has_value());  // not retried
}

BOOST_FIXTURE_TEST_CASE(counts_add_up_under_a_random_schedule, Fixture) {
  config.max_pending_per_port = 20;
  config.max_frame_age = 3.0;
  make();
  std::mt19937 rng(11);
  std::vector<std::string> workers = {"a", "b", "c"};
  for (auto& w : workers) s->register_worker(w, "", {"hog"});
  std::map<std::string, std::string> held;  // task -> worker
  int added = 0;
  for (int step = 0; step < 3000; ++step) {
    const int op = static_cast<int>(rng() % 6);
    const auto& w = workers[rng() % workers.size()];
    if (op <= 1) {
      add(5000 + static_cast<int>(rng() % 3), added++);
    } else if (op == 2) {
      if (auto t = s->request_task(w, 0)) held[t->task_id] = w;
    } else if (op == 3 && !held.empty()) {
      auto it = held.begin();
      std::advance(it, static_cast<long>(rng() % held.size()));
      if (rng() % 5 == 0) {
        s->fail_task(it->second, it->first, "bad");
      } else {
        s->complete_task(it->second, it->first, result_with("x"));
      }
      held.erase(it);
    } else {
      clock.advance(0.1);
      for (auto& ww : workers) s->heartbeat(ww);
      s->tick();
    }
  }
  const auto st = s->status();
  BOOST_TEST(st.pending + st.in_progress + st.completed + st.failed + st.dropped + st.expired ==
             added);
  std::int64_t received = 0, per_port_sum = 0;
  for (const auto& p : st.ports) {
    received += p.received;
    per_port_sum += p.pending + p.in_progress + p.completed + p.failed + p.dropped + p.expired;
  }
  BOOST_TEST(received == added);
  BOOST_TEST(per_port_sum == added);
}

BOOST_FIXTURE_TEST_CASE(long_poll_wakes_when_a_task_arrives, Fixture) {
  s->register_worker("w", "", {"hog"});
  // The poller must be blocked in its wait before the task arrives, or the test would only see
  // an immediate hand-out. request_task stamps the worker's last_seen with the clock's time and
  // keeps the scheduler's lock until its wait releases it; status() takes that lock. So once
  // status() shows the stamp of the advanced clock, the poller is waiting.
  clock.advance(1.0);
  const double entered = clock.wall();
  std::optional<Task> got;
  std::thread poller([&] { got = s->request_task("w", 10000); });
  BOOST_REQUIRE(fh::test::poll_until([&] { return s->status().workers.at(0).last_seen == entered; },
                                     std::chrono::seconds(5)));
  const auto t0 = std::chrono::steady_clock::now();
  add(5000, 1);
  poller.join();
  BOOST_TEST(got.has_value());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)));
  // and an empty long poll returns {} after its wait
  BOOST_TEST(!s->request_task("w", 30).has_value());
}
