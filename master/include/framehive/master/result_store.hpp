#pragma once
// Persistence of results and failures in SQLite (WAL mode), plus the start counter that keeps
// task ids unique across restarts. Thread-safe: every call takes the store's own mutex.

#include "framehive/master/types.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace fh::master {

class ResultStore {
 public:
  /// Opens (creates) the database at path; ":memory:" keeps nothing across restarts.
  /// Throws std::runtime_error with SQLite's message when it cannot.
  explicit ResultStore(const std::string& path);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  /// Increments and returns the persisted start counter (1 on a new database).
  std::int64_t next_epoch();

  /// Appends one record; throws std::runtime_error on a database error.
  void add_result(const ResultRecord& r);
  void add_failure(const FailureRecord& f);

  /// The newest `limit` results of each port, newest first.
  std::map<int, std::vector<ResultRecord>> load_recent(std::size_t limit);
  /// The newest `limit` failures of a port, newest first.
  std::vector<FailureRecord> failures(int port, std::size_t limit);
  /// Results of a port captured at or after `since` with row id > after_id, oldest first,
  /// at most limit; last_id is set to the row id of the last one returned (after_id if none).
  std::vector<ResultRecord> results_after(int port, double since, std::int64_t after_id,
                                          std::size_t limit, std::int64_t& last_id);

  /// One time bucket of get_summary: frames completed and detections per label.
  struct SummaryBucket {
    double start = 0.0;                       ///< Unix seconds, multiple of the interval
    std::int64_t frames = 0;                  ///< results captured in the bucket
    std::map<std::string, std::int64_t> labels;  ///< detections per label
  };
  /// Buckets of `interval` seconds over results of a port captured at or after `since`,
  /// oldest first; buckets without results are left out.
  std::vector<SummaryBucket> summary(int port, double interval, double since);

  /// Deletes all but the newest `keep` results and failures of each port.
  void prune(std::size_t keep);

  /// Rows in the results table (for tests and status).
  std::int64_t result_count();

 private:
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  std::vector<Detection> load_detections(std::int64_t result_id);

  std::mutex mutex_;                 ///< guards db_ and the statements
  sqlite3* db_ = nullptr;            ///< the connection
  sqlite3_stmt* insert_result_ = nullptr;     ///< prepared INSERT into results
  sqlite3_stmt* insert_detection_ = nullptr;  ///< prepared INSERT into detections
  sqlite3_stmt* insert_failure_ = nullptr;    ///< prepared INSERT into failures
};

}  // namespace fh::master
