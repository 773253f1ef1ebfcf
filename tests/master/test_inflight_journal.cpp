// The in-flight journal of ResultStore as the Scheduler drives it, on a real SQLite file: every
// accepted frame has a journal row until it ends completed, failed, dropped or expired, so
// after a crash (the scheduler gone without a clean stop) the frames it held are exactly the
// journal, and fail_journalled() turns them into failures next to the results that survived.
#include <boost/test/unit_test.hpp>

#include "framehive/master/scheduler.hpp"
#include "test_util.hpp"

#include <map>
#include <random>
#include <set>

using namespace fh::master;
using fh::shared::ManualClock;

namespace {

Frame jframe(int port, std::int64_t id, double captured_at) {
  static auto img = std::make_shared<const std::vector<std::uint8_t>>(
      std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9});
  Frame f;
  f.port = port;
  f.stream = "cam" + std::to_string(port);
  f.frame_id = id;
  f.captured_at = captured_at;
  f.image = img;
  return f;
}

struct JournalFixture {
  ManualClock clock;
  SchedulerConfig config;
  std::string db = fh::test::make_temp_dir("journal") + "/master.db";
  std::unique_ptr<ResultStore> store = std::make_unique<ResultStore>(db);
  std::unique_ptr<Scheduler> s;
  JournalFixture() {
    config.task_timeout = 5.0;
    config.max_attempts = 2;
    config.heartbeat_interval = 1.0;
    config.max_frame_age = 3.0;
    config.max_pending_per_port = 6;
    config.default_detector = "null";
    s = std::make_unique<Scheduler>(config, clock, store.get(), "e1");
  }
  std::string add(int port, std::int64_t id) {
    std::vector<Frame> v;
    v.push_back(jframe(port, id, clock.wall()));
    return s->add_frames(std::move(v)).at(0);
  }
};

Result empty_result() {
  Result r;
  r.processing_ms = 1.0;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inflight_journal)

BOOST_FIXTURE_TEST_CASE(journal_holds_exactly_the_pending_and_in_progress_frames, JournalFixture) {
  std::mt19937 rng(5);
  const std::vector<std::string> workers = {"a", "b"};
  for (const auto& w : workers) s->register_worker(w, "", {"null"});
  std::map<std::string, std::string> held;  // task -> worker
  int added = 0;
  for (int step = 0; step < 1500; ++step) {
    const int op = static_cast<int>(rng() % 7);
    const auto& w = workers[rng() % workers.size()];
    if (op <= 2) {
      add(7000 + static_cast<int>(rng() % 2), added++);  // fast enough to hit the bound
    } else if (op == 3) {
      if (auto t = s->request_task(w, 0)) held[t->task_id] = w;
    } else if (op == 4 && !held.empty()) {
      auto it = held.begin();
      std::advance(it, static_cast<long>(rng() % held.size()));
      if (rng() % 4 == 0) {
        s->fail_task(it->second, it->first, "bad");
      } else {
        s->complete_task(it->second, it->first, empty_result());
      }
      held.erase(it);
    } else {
      clock.advance(0.4);  // frames expire after 3 s, held tasks time out after 5 s
      for (const auto& ww : workers) s->heartbeat(ww);
      s->tick();
    }
    if (step % 50 == 0) {
      const auto st = s->status();
      BOOST_TEST_REQUIRE(store->journal_size() == st.pending + st.in_progress);
    }
  }
  const auto st = s->status();
  BOOST_TEST(st.dropped > 0);  // the schedule exercised every way out of the queue
  BOOST_TEST(st.expired > 0);
  BOOST_TEST(st.failed > 0);
  BOOST_TEST(st.completed > 0);
  BOOST_TEST(store->journal_size() == st.pending + st.in_progress);
  BOOST_TEST(st.store_errors == 0);
}

BOOST_FIXTURE_TEST_CASE(frames_held_at_a_crash_become_failures_at_the_next_start, JournalFixture) {
  s->register_worker("w", "", {"null"});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(add(7000, i));
  // 7000/0 and 7000/1 complete, 7000/2 fails, 7000/3 is in progress at the crash.
  for (int i = 0; i < 4; ++i) {
    auto t = s->request_task("w", 0);
    BOOST_REQUIRE(t);
    if (t->frame.frame_id <= 1) {
      BOOST_REQUIRE(s->complete_task("w", t->task_id, empty_result()));
    } else if (t->frame.frame_id == 2) {
      BOOST_REQUIRE(s->fail_task("w", t->task_id, "corrupt JPEG"));
    }
  }
  for (int i = 0; i < 2; ++i) ids.push_back(add(7001, 100 + i));  // pending at the crash
  BOOST_TEST(store->journal_size() == 4);  // 7000/3 in progress, 7000/4, 7001/100, 7001/101

  // The crash: nothing is told; the process is gone. A new start opens the same file.
  s.reset();
  store.reset();
  store = std::make_unique<ResultStore>(db);
  const auto lost =
      store->fail_journalled("lost: master stopped before the frame was processed", clock.wall());
  BOOST_TEST(lost.size() == 2u);
  BOOST_TEST(lost.at(7000) == 2);
  BOOST_TEST(lost.at(7001) == 2);
  BOOST_TEST(store->journal_size() == 0);

  // Every frame of port 7000 has exactly one record: a result or a failure.
  std::map<std::int64_t, std::string> outcome;
  for (const auto& [port, records] : store->load_recent(100)) {
    for (const auto& r : records) outcome[r.frame_id] += "result;";
  }
  for (const auto& f : store->failures(7000, 100)) {
    outcome[f.frame_id] += f.reason.rfind("lost:", 0) == 0 ? "lost;" : "failed;";
  }
  const std::map<std::int64_t, std::string> want = {
      {0, "result;"}, {1, "result;"}, {2, "failed;"}, {3, "lost;"}, {4, "lost;"}};
  BOOST_TEST(outcome == want);
  std::set<std::int64_t> lost_7001;
  for (const auto& f : store->failures(7001, 100)) {
    BOOST_TEST(f.stream == "cam7001");
    BOOST_TEST(f.worker_id.empty());
    lost_7001.insert(f.frame_id);
  }
  BOOST_TEST((lost_7001 == std::set<std::int64_t>{100, 101}));

  // The next run reports them and starts with an empty journal; a second pass finds nothing.
  Scheduler next(config, clock, store.get(), "e2");
  next.note_lost_at_start(lost);
  const auto st = next.status();
  BOOST_TEST(st.lost_at_start == 4);
  for (const auto& p : st.ports) BOOST_TEST(p.lost_at_start == 2);
  BOOST_TEST(store->fail_journalled("again", clock.wall()).empty());
}

BOOST_AUTO_TEST_SUITE_END()
