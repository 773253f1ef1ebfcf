#pragma once
// Persistence of results and failures in SQLite (WAL mode), the start counter that keeps task
// ids unique across restarts, and the in-flight journal: one small row (no image) per frame
// the master has accepted and not yet finished, so that frames a crashed master held in memory
// are recorded as failures when it starts again instead of vanishing.
// Thread-safe: every call takes the store's own mutex.

#include "framehive/master/types.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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

  /// Appends one record and removes its task from the in-flight journal, in one transaction;
  /// throws std::runtime_error on a database error.
  void add_result(const ResultRecord& r);
  void add_failure(const FailureRecord& f);

  /// In-flight journal: frames accepted (one transaction for the batch) ...
  void journal_accepted(const std::vector<std::pair<std::string, const Frame*>>& tasks);
  /// ... and frames that ended without a record of their own (dropped, expired).
  void journal_forget(const std::vector<std::string>& task_ids);
  /// Frames in the journal now: accepted and not yet finished (for tests and status).
  std::int64_t journal_size();
  /// Moves every journalled frame into failures with `reason` and failed_at = now; returns how
  /// many per port. Called at start-up (frames a killed master held) and at a clean stop.
  std::map<int, std::int64_t> fail_journalled(const std::string& reason, double now);

  /// The newest `limit` results of each port, newest first.
  std::map<int, std::vector<ResultRecord>> load_recent(std::size_t limit);
  /// The newest `limit` failures of a port (port < 0: of all ports), newest first.
  std::vector<FailureRecord> failures(int port, std::size_t limit);
  /// The persisted result of a task.
  std::optional<ResultRecord> result_by_task(const std::string& task_id);

  struct SearchQuery {
    std::string label;            ///< empty: any label
    double min_confidence = 0;    ///< of a detection (with label, of that label's)
    std::vector<int> ports;       ///< empty: every port
    double since = 0, until = 0;  ///< captured_at range, Unix seconds, inclusive
    std::size_t limit = 100;
  };
  /// Results matching q, newest first (a label or min_confidence: with a detection that
  /// matches both).
  std::vector<ResultRecord> search(const SearchQuery& q);
  /// Results of a port captured at or after `since` with row id > after_id, oldest first,
  /// at most limit; last_id is set to the row id of the last one returned (after_id if none).
  std::vector<ResultRecord> results_after(int port, double since, std::int64_t after_id,
                                          std::size_t limit, std::int64_t& last_id);

  /// Buckets of `interval` seconds over results of a port captured at or after `since`,
  /// oldest first; buckets without results are left out.
  std::vector<SummaryBucket> summary(int port, double interval, double since);

  /// Deletes all but the newest `keep` results and failures of each port.
  void prune(std::size_t keep);

  /// Sets the track ids of a stored result's detections (in the order they were reported; 0
  /// leaves a detection as it is). Nothing happens for an unknown task.
  void set_track_ids(const std::string& task_id, const std::vector<std::int64_t>& track_ids);
  /// The largest track id stored (0 when none): a restarted master continues after it.
  std::int64_t max_track_id();

  /// Rows in the results table (for tests and status).
  std::int64_t result_count();

 private:
  void exec(const char* sql);
  /// Adds detections.track_id to a database made before tracking (caller: the constructor).
  void add_track_id_column();
  /// Runs body between BEGIN and COMMIT; on an exception rolls back and throws
  /// "database: <what>: <reason>". The caller holds mutex_.
  template <class Body>
  void transaction(const char* what, Body&& body);
  void unjournal(const std::string& task_id);  ///< DELETE from inflight; caller holds mutex_
  sqlite3_stmt* prepare(const char* sql);
  std::vector<Detection> load_detections(std::int64_t result_id);

  std::mutex mutex_;                          ///< guards db_ and the statements
  sqlite3* db_ = nullptr;                     ///< the connection
  sqlite3_stmt* insert_result_ = nullptr;     ///< prepared INSERT into results
  sqlite3_stmt* insert_detection_ = nullptr;  ///< prepared INSERT into detections
  sqlite3_stmt* insert_failure_ = nullptr;    ///< prepared INSERT into failures
  sqlite3_stmt* journal_insert_ = nullptr;    ///< prepared INSERT into inflight
  sqlite3_stmt* journal_delete_ = nullptr;    ///< prepared DELETE from inflight
  sqlite3_stmt* first_detection_ = nullptr;   ///< prepared first detection row id of a task
  sqlite3_stmt* update_track_id_ = nullptr;   ///< prepared UPDATE of one detection's track_id
};

}  // namespace fh::master
