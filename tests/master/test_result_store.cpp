// ResultStore retention on a real SQLite file: prune(keep) leaves the newest `keep` results
// (with their detections) and failures of every port, and nothing else.
#include <boost/test/unit_test.hpp>

#include "framehive/master/result_store.hpp"
#include "test_util.hpp"

#include <sqlite3.h>

#include <set>

using namespace fh::master;

BOOST_AUTO_TEST_SUITE(result_store)

BOOST_AUTO_TEST_CASE(prune_keeps_the_newest_results_detections_and_failures_of_each_port) {
  const std::string path = fh::test::make_temp_dir("store") + "/master.db";
  ResultStore store(path);
  const std::map<int, int> rows = {{6000, 40}, {6001, 7}, {6002, 3}};
  for (int i = 0; i < 40; ++i) {  // interleaved ports, so ids of a port are not contiguous
    for (const auto& [port, n] : rows) {
      if (i >= n) continue;
      ResultRecord r;
      r.task_id = "e1-" + std::to_string(port) + "-" + std::to_string(i);
      r.port = port;
      r.frame_id = i;
      r.captured_at = 1000.0 + i;
      r.detections = {Detection{"person", 0.9, i, 0, 1, 1}, Detection{"car", 0.5, i, 1, 1, 1}};
      store.add_result(r);
      FailureRecord f;
      f.task_id = r.task_id + "-f";
      f.port = port;
      f.frame_id = i;
      f.reason = "worker: x";
      store.add_failure(f);
    }
  }
  store.prune(5);
  const auto recent = store.load_recent(100);
  for (const auto& [port, n] : rows) {
    BOOST_TEST_CONTEXT("port " << port) {
      const auto& v = recent.at(port);
      const int want = std::min(n, 5);
      BOOST_TEST(static_cast<int>(v.size()) == want);
      std::set<std::int64_t> ids;
      for (const auto& r : v) {
        ids.insert(r.frame_id);
        BOOST_TEST(r.detections.size() == 2u);  // detections of kept results survive
        BOOST_TEST(r.detections.at(0).x == r.frame_id);
      }
      for (int i = n - want; i < n; ++i) BOOST_TEST(ids.count(i) == 1u);  // the newest
      const auto f = store.failures(port, 100);
      BOOST_TEST(static_cast<int>(f.size()) == want);
      BOOST_TEST(f.front().frame_id == n - 1);
    }
  }
  BOOST_TEST(store.result_count() == 5 + 5 + 3);
  // Detections of pruned results are gone too: 2 per kept result, no orphans.
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM detections", -1, &st, nullptr) ==
                SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int(st, 0) == 2 * 13);
  sqlite3_finalize(st);
  sqlite3_close(db);
  store.prune(5);  // idempotent
  BOOST_TEST(store.result_count() == 13);
}

BOOST_AUTO_TEST_CASE(set_track_ids_sets_the_non_zero_ones_and_leaves_the_rest) {
  // The engine sets a result's ids when it is tracked, and later the ids of the detections
  // that confirmed a track (its first frames): a 0 must not undo an earlier id.
  ResultStore store(fh::test::make_temp_dir("store") + "/master.db");
  ResultRecord r;
  r.task_id = "e1-1";
  r.port = 6000;
  r.frame_id = 1;
  r.captured_at = 1000.0;
  r.detections = {Detection{"person", 0.9, 0, 0, 1, 1}, Detection{"person", 0.8, 5, 0, 1, 1},
                  Detection{"car", 0.7, 9, 0, 1, 1}};
  store.add_result(r);
  store.set_track_ids("e1-1", {7, 0, 0});
  store.set_track_ids("e1-1", {0, 0, 9});
  store.set_track_ids("e1-1", {0});
  store.set_track_ids("e1-nope", {1, 2, 3});  // unknown: nothing happens
  const auto recent = store.load_recent(10);
  BOOST_REQUIRE(recent.at(6000).size() == 1u);
  std::vector<std::int64_t> ids;
  for (const auto& d : recent.at(6000).at(0).detections) ids.push_back(d.track_id);
  BOOST_TEST(ids == (std::vector<std::int64_t>{7, 0, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
