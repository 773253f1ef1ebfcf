#include "framehive/master/result_store.hpp"

#include "sqlite_util.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace fh::master {

using sqlite::bind_text;
using sqlite::col_text;
using sqlite::Stmt;

ResultStore::ResultStore(const std::string& path) {
  db_ = sqlite::open(path);
  exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  exec(
      "CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY, task_id TEXT UNIQUE NOT NULL,"
      " port INTEGER NOT NULL, stream TEXT, frame_id INTEGER, captured_at REAL,"
      " received_at REAL, completed_at REAL, worker_id TEXT, detector TEXT,"
      " processing_ms REAL)");
  exec("CREATE INDEX IF NOT EXISTS results_port ON results (port, id)");
  exec("CREATE INDEX IF NOT EXISTS results_port_time ON results (port, captured_at)");
  exec(
      "CREATE TABLE IF NOT EXISTS detections (result_id INTEGER NOT NULL, label TEXT,"
      " confidence REAL, x INTEGER, y INTEGER, w INTEGER, h INTEGER)");
  exec("CREATE INDEX IF NOT EXISTS detections_result ON detections (result_id)");
  add_track_id_column();
  exec(
      "CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY, task_id TEXT NOT NULL,"
      " port INTEGER NOT NULL, stream TEXT, frame_id INTEGER, captured_at REAL,"
      " failed_at REAL, worker_id TEXT, reason TEXT)");
  exec("CREATE INDEX IF NOT EXISTS failures_port ON failures (port, id)");
  exec(
      "CREATE TABLE IF NOT EXISTS inflight (task_id TEXT PRIMARY KEY, port INTEGER NOT NULL,"
      " stream TEXT, frame_id INTEGER, captured_at REAL) WITHOUT ROWID");
  insert_result_ = prepare(
      "INSERT OR IGNORE INTO results (task_id, port, stream, frame_id, captured_at, received_at,"
      " completed_at, worker_id, detector, processing_ms) VALUES (?,?,?,?,?,?,?,?,?,?)");
  insert_detection_ = prepare(
      "INSERT INTO detections (result_id, label, confidence, x, y, w, h) VALUES (?,?,?,?,?,?,?)");
  insert_failure_ = prepare(
      "INSERT INTO failures (task_id, port, stream, frame_id, captured_at, failed_at, worker_id,"
      " reason) VALUES (?,?,?,?,?,?,?,?)");
  journal_insert_ = prepare(
      "INSERT OR REPLACE INTO inflight (task_id, port, stream, frame_id, captured_at)"
      " VALUES (?,?,?,?,?)");
  journal_delete_ = prepare("DELETE FROM inflight WHERE task_id = ?");
  first_detection_ = prepare(
      "SELECT MIN(d.rowid), COUNT(*) FROM detections d JOIN results r ON d.result_id = r.id"
      " WHERE r.task_id = ?");
  update_track_id_ = prepare("UPDATE detections SET track_id = ? WHERE rowid = ?");
}

ResultStore::~ResultStore() {
  sqlite3_finalize(insert_result_);
  sqlite3_finalize(insert_detection_);
  sqlite3_finalize(insert_failure_);
  sqlite3_finalize(journal_insert_);
  sqlite3_finalize(journal_delete_);
  sqlite3_finalize(first_detection_);
  sqlite3_finalize(update_track_id_);
  sqlite3_close(db_);
}

template <class Body>
void ResultStore::transaction(const char* what, Body&& body) {
  sqlite::transaction(db_, "BEGIN", what, std::forward<Body>(body));
}

void ResultStore::exec(const char* sql) { sqlite::exec(db_, sql); }

sqlite3_stmt* ResultStore::prepare(const char* sql) { return sqlite::prepare(db_, sql); }

std::int64_t ResultStore::next_epoch() {
  std::lock_guard<std::mutex> lock(mutex_);
  exec(
      "INSERT INTO meta (key, value) VALUES ('epoch', 1)"
      " ON CONFLICT(key) DO UPDATE SET value = value + 1");
  Stmt st{prepare("SELECT value FROM meta WHERE key = 'epoch'")};
  if (sqlite3_step(st.s) != SQLITE_ROW) throw std::runtime_error("database: no epoch");
  return sqlite3_column_int64(st.s, 0);
}

void ResultStore::add_result(const ResultRecord& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot store result", [&] {
    sqlite3_stmt* s = insert_result_;
    sqlite3_reset(s);
    bind_text(s, 1, r.task_id);
    sqlite3_bind_int(s, 2, r.port);
    bind_text(s, 3, r.stream);
    sqlite3_bind_int64(s, 4, r.frame_id);
    sqlite3_bind_double(s, 5, r.captured_at);
    sqlite3_bind_double(s, 6, r.received_at);
    sqlite3_bind_double(s, 7, r.completed_at);
    bind_text(s, 8, r.worker_id);
    bind_text(s, 9, r.detector);
    sqlite3_bind_double(s, 10, r.processing_ms);
    if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    const auto id = sqlite3_last_insert_rowid(db_);
    for (const auto& d : r.detections) {
      sqlite3_stmt* ds = insert_detection_;
      sqlite3_reset(ds);
      sqlite3_bind_int64(ds, 1, id);
      bind_text(ds, 2, d.label);
      sqlite3_bind_double(ds, 3, d.confidence);
      sqlite3_bind_int(ds, 4, d.x);
      sqlite3_bind_int(ds, 5, d.y);
      sqlite3_bind_int(ds, 6, d.w);
      sqlite3_bind_int(ds, 7, d.h);
      if (sqlite3_step(ds) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
    unjournal(r.task_id);
  });
}

void ResultStore::add_failure(const FailureRecord& f) {
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot store failure", [&] {
    sqlite3_stmt* s = insert_failure_;
    sqlite3_reset(s);
    bind_text(s, 1, f.task_id);
    sqlite3_bind_int(s, 2, f.port);
    bind_text(s, 3, f.stream);
    sqlite3_bind_int64(s, 4, f.frame_id);
    sqlite3_bind_double(s, 5, f.captured_at);
    sqlite3_bind_double(s, 6, f.failed_at);
    bind_text(s, 7, f.worker_id);
    bind_text(s, 8, f.reason);
    if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    unjournal(f.task_id);
  });
}

void ResultStore::unjournal(const std::string& task_id) {
  sqlite3_stmt* s = journal_delete_;
  sqlite3_reset(s);
  bind_text(s, 1, task_id);
  if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
}

void ResultStore::journal_accepted(const std::vector<std::pair<std::string, const Frame*>>& tasks) {
  if (tasks.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot journal accepted frames", [&] {
    for (const auto& [id, f] : tasks) {
      sqlite3_stmt* s = journal_insert_;
      sqlite3_reset(s);
      bind_text(s, 1, id);
      sqlite3_bind_int(s, 2, f->port);
      bind_text(s, 3, f->stream);
      sqlite3_bind_int64(s, 4, f->frame_id);
      sqlite3_bind_double(s, 5, f->captured_at);
      if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
  });
}

void ResultStore::journal_forget(const std::vector<std::string>& task_ids) {
  if (task_ids.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot update the in-flight journal", [&] {
    for (const auto& id : task_ids) unjournal(id);
  });
}

std::int64_t ResultStore::journal_size() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("SELECT COUNT(*) FROM inflight")};
  sqlite3_step(st.s);
  return sqlite3_column_int64(st.s, 0);
}

std::map<int, std::int64_t> ResultStore::fail_journalled(const std::string& reason, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<int, std::int64_t> per_port;
  transaction("cannot record the frames in flight", [&] {
    {
      Stmt st{prepare("SELECT port, COUNT(*) FROM inflight GROUP BY port")};
      while (sqlite3_step(st.s) == SQLITE_ROW) {
        per_port[sqlite3_column_int(st.s, 0)] = sqlite3_column_int64(st.s, 1);
      }
    }
    Stmt move{
        prepare("INSERT INTO failures (task_id, port, stream, frame_id, captured_at, failed_at,"
                " worker_id, reason) SELECT task_id, port, stream, frame_id, captured_at, ?, '', ?"
                " FROM inflight ORDER BY port, captured_at, frame_id")};
    sqlite3_bind_double(move.s, 1, now);
    bind_text(move.s, 2, reason);
    if (sqlite3_step(move.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    exec("DELETE FROM inflight");
  });
  return per_port;
}

void ResultStore::add_track_id_column() {
  Stmt st{prepare("SELECT 1 FROM pragma_table_info('detections') WHERE name = 'track_id'")};
  if (sqlite3_step(st.s) == SQLITE_ROW) return;
  // A database of an older master: its detections get track 0 (not tracked).
  exec("ALTER TABLE detections ADD COLUMN track_id INTEGER NOT NULL DEFAULT 0");
}

void ResultStore::set_track_ids(const std::string& task_id,
                                const std::vector<std::int64_t>& track_ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot store track ids", [&] {
    sqlite3_stmt* first = first_detection_;
    sqlite3_reset(first);
    bind_text(first, 1, task_id);
    const bool found =
        sqlite3_step(first) == SQLITE_ROW && sqlite3_column_type(first, 0) != SQLITE_NULL;
    const auto base = found ? sqlite3_column_int64(first, 0) : 0;
    const auto count = found ? sqlite3_column_int64(first, 1) : 0;
    sqlite3_reset(first);  // no read left open past the transaction
    if (!found) return;    // no detections stored (or the result is not stored): nothing to mark
    // Detections of one result are inserted in one transaction: consecutive row ids, in order.
    sqlite3_stmt* upd = update_track_id_;
    for (std::size_t i = 0; i < track_ids.size() && static_cast<std::int64_t>(i) < count; ++i) {
      if (track_ids[i] == 0) continue;
      sqlite3_bind_int64(upd, 1, track_ids[i]);
      sqlite3_bind_int64(upd, 2, base + static_cast<std::int64_t>(i));
      const int rc = sqlite3_step(upd);
      const std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
      sqlite3_reset(upd);  // nothing left pending on the connection at COMMIT
      if (rc != SQLITE_DONE) throw std::runtime_error(error);
    }
  });
}

std::int64_t ResultStore::max_track_id() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("SELECT COALESCE(MAX(track_id), 0) FROM detections")};
  return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int64(st.s, 0) : 0;
}

std::vector<Detection> ResultStore::load_detections(std::int64_t result_id) {
  Stmt st{
      prepare("SELECT label, confidence, x, y, w, h, track_id FROM detections WHERE result_id = ?"
              " ORDER BY rowid")};
  sqlite3_bind_int64(st.s, 1, result_id);
  std::vector<Detection> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    Detection d;
    d.label = col_text(st.s, 0);
    d.confidence = sqlite3_column_double(st.s, 1);
    d.x = sqlite3_column_int(st.s, 2);
    d.y = sqlite3_column_int(st.s, 3);
    d.w = sqlite3_column_int(st.s, 4);
    d.h = sqlite3_column_int(st.s, 5);
    d.track_id = sqlite3_column_int64(st.s, 6);
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

ResultRecord read_result_row(sqlite3_stmt* s) {
  ResultRecord r;
  r.task_id = col_text(s, 1);
  r.port = sqlite3_column_int(s, 2);
  r.stream = col_text(s, 3);
  r.frame_id = sqlite3_column_int64(s, 4);
  r.captured_at = sqlite3_column_double(s, 5);
  r.received_at = sqlite3_column_double(s, 6);
  r.completed_at = sqlite3_column_double(s, 7);
  r.worker_id = col_text(s, 8);
  r.detector = col_text(s, 9);
  r.processing_ms = sqlite3_column_double(s, 10);
  return r;
}

constexpr const char* k_result_cols =
    "SELECT id, task_id, port, stream, frame_id, captured_at, received_at, completed_at,"
    " worker_id, detector, processing_ms FROM results ";

}  // namespace

std::map<int, std::vector<ResultRecord>> ResultStore::load_recent(std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<int, std::vector<ResultRecord>> out;
  std::vector<int> ports;
  {
    Stmt st{prepare("SELECT DISTINCT port FROM results")};
    while (sqlite3_step(st.s) == SQLITE_ROW) ports.push_back(sqlite3_column_int(st.s, 0));
  }
  for (int port : ports) {
    Stmt st{
        prepare((std::string(k_result_cols) + "WHERE port = ? ORDER BY id DESC LIMIT ?").c_str())};
    sqlite3_bind_int(st.s, 1, port);
    sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(limit));
    auto& v = out[port];
    while (sqlite3_step(st.s) == SQLITE_ROW) {
      auto r = read_result_row(st.s);
      r.detections = load_detections(sqlite3_column_int64(st.s, 0));
      v.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<ResultRecord> ResultStore::results_after(int port, double since, std::int64_t after_id,
                                                     std::size_t limit, std::int64_t& last_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare((std::string(k_result_cols) +
                   "WHERE port = ? AND captured_at >= ? AND id > ? ORDER BY id ASC LIMIT ?")
                      .c_str())};
  sqlite3_bind_int(st.s, 1, port);
  sqlite3_bind_double(st.s, 2, since);
  sqlite3_bind_int64(st.s, 3, after_id);
  sqlite3_bind_int64(st.s, 4, limit == 0 ? -1 : static_cast<sqlite3_int64>(limit));
  std::vector<ResultRecord> out;
  last_id = after_id;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    auto r = read_result_row(st.s);
    last_id = sqlite3_column_int64(st.s, 0);
    r.detections = load_detections(last_id);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<ResultRecord> ResultStore::result_by_task(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare((std::string(k_result_cols) + "WHERE task_id = ?").c_str())};
  sqlite3_bind_text(st.s, 1, task_id.data(), static_cast<int>(task_id.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_ROW) return std::nullopt;
  auto r = read_result_row(st.s);
  r.detections = load_detections(sqlite3_column_int64(st.s, 0));
  return r;
}

std::vector<ResultRecord> ResultStore::search(const SearchQuery& q) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string sql = std::string(k_result_cols) + "WHERE captured_at >= ? AND captured_at <= ?";
  if (!q.ports.empty()) {
    sql += " AND port IN (";
    for (std::size_t i = 0; i < q.ports.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  if (!q.label.empty() || q.min_confidence > 0.0) {
    sql +=
        " AND EXISTS (SELECT 1 FROM detections d WHERE d.result_id = results.id"
        " AND d.confidence >= ?";
    if (!q.label.empty()) sql += " AND d.label = ?";
    sql += ")";
  }
  sql += " ORDER BY id DESC LIMIT ?";
  Stmt st{prepare(sql.c_str())};
  int i = 1;
  sqlite3_bind_double(st.s, i++, q.since);
  sqlite3_bind_double(st.s, i++, q.until);
  for (int port : q.ports) sqlite3_bind_int(st.s, i++, port);
  if (!q.label.empty() || q.min_confidence > 0.0) {
    sqlite3_bind_double(st.s, i++, q.min_confidence);
    if (!q.label.empty()) {
      sqlite3_bind_text(st.s, i++, q.label.data(), static_cast<int>(q.label.size()),
                        SQLITE_TRANSIENT);
    }
  }
  sqlite3_bind_int64(st.s, i, static_cast<sqlite3_int64>(q.limit));
  std::vector<ResultRecord> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    auto r = read_result_row(st.s);
    r.detections = load_detections(sqlite3_column_int64(st.s, 0));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<SummaryBucket> ResultStore::summary(int port, double interval, double since) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::int64_t, SummaryBucket> buckets;
  {
    Stmt st{
        prepare("SELECT CAST(captured_at / ? AS INTEGER) AS b, COUNT(*) FROM results"
                " WHERE port = ? AND captured_at >= ? GROUP BY b")};
    sqlite3_bind_double(st.s, 1, interval);
    sqlite3_bind_int(st.s, 2, port);
    sqlite3_bind_double(st.s, 3, since);
    while (sqlite3_step(st.s) == SQLITE_ROW) {
      auto& b = buckets[sqlite3_column_int64(st.s, 0)];
      b.start = static_cast<double>(sqlite3_column_int64(st.s, 0)) * interval;
      b.end = b.start + interval;
      b.frames = sqlite3_column_int64(st.s, 1);
    }
  }
  Stmt st{
      prepare("SELECT CAST(r.captured_at / ? AS INTEGER) AS b, d.label, COUNT(*),"
              " COUNT(DISTINCT NULLIF(d.track_id, 0))"
              " FROM results r JOIN detections d ON d.result_id = r.id"
              " WHERE r.port = ? AND r.captured_at >= ? GROUP BY b, d.label")};
  sqlite3_bind_double(st.s, 1, interval);
  sqlite3_bind_int(st.s, 2, port);
  sqlite3_bind_double(st.s, 3, since);
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    auto& b = buckets[sqlite3_column_int64(st.s, 0)];
    b.start = static_cast<double>(sqlite3_column_int64(st.s, 0)) * interval;
    b.end = b.start + interval;
    b.labels[col_text(st.s, 1)] = sqlite3_column_int64(st.s, 2);
    if (const auto tracks = sqlite3_column_int64(st.s, 3); tracks > 0) {
      b.tracks[col_text(st.s, 1)] = tracks;
    }
  }
  std::vector<SummaryBucket> out;
  for (auto& [k, b] : buckets) out.push_back(std::move(b));
  return out;
}

std::vector<FailureRecord> ResultStore::failures(int port, std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{
      prepare("SELECT task_id, port, stream, frame_id, captured_at, failed_at, worker_id,"
              " reason FROM failures WHERE (? < 0 OR port = ?) ORDER BY id DESC LIMIT ?")};
  sqlite3_bind_int(st.s, 1, port);
  sqlite3_bind_int(st.s, 2, port);
  sqlite3_bind_int64(st.s, 3, static_cast<sqlite3_int64>(limit));
  std::vector<FailureRecord> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    FailureRecord f;
    f.task_id = col_text(st.s, 0);
    f.port = sqlite3_column_int(st.s, 1);
    f.stream = col_text(st.s, 2);
    f.frame_id = sqlite3_column_int64(st.s, 3);
    f.captured_at = sqlite3_column_double(st.s, 4);
    f.failed_at = sqlite3_column_double(st.s, 5);
    f.worker_id = col_text(st.s, 6);
    f.reason = col_text(st.s, 7);
    out.push_back(std::move(f));
  }
  return out;
}

void ResultStore::prune(std::size_t keep) {
  // Per port: find the id of the newest row to drop once (an index walk of `keep` rows), then
  // delete everything up to it by range. (A correlated subquery per row, as this was before,
  // costs rows x keep steps: tens of seconds over 250,000 results, with the store's mutex held
  // and every completion and add_tasks waiting behind it.)
  std::lock_guard<std::mutex> lock(mutex_);
  const auto threshold = [&](const char* sql, int port) -> std::int64_t {
    Stmt st{prepare(sql)};
    sqlite3_bind_int(st.s, 1, port);
    sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(keep));
    return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int64(st.s, 0) : -1;
  };
  const auto ports_of = [&](const char* sql) {
    std::vector<int> ports;
    Stmt st{prepare(sql)};
    while (sqlite3_step(st.s) == SQLITE_ROW) ports.push_back(sqlite3_column_int(st.s, 0));
    return ports;
  };
  const auto run = [&](const char* sql, int port, std::int64_t upto) {
    Stmt st{prepare(sql)};
    sqlite3_bind_int(st.s, 1, port);
    sqlite3_bind_int64(st.s, 2, upto);
    if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  };
  transaction("cannot prune", [&] {
    for (int port : ports_of("SELECT DISTINCT port FROM results")) {
      const auto upto = threshold(
          "SELECT id FROM results WHERE port = ? ORDER BY id DESC LIMIT 1 OFFSET ?", port);
      if (upto < 0) continue;
      run("DELETE FROM detections WHERE result_id IN"
          " (SELECT id FROM results WHERE port = ? AND id <= ?)",
          port, upto);
      run("DELETE FROM results WHERE port = ? AND id <= ?", port, upto);
    }
    for (int port : ports_of("SELECT DISTINCT port FROM failures")) {
      const auto upto = threshold(
          "SELECT id FROM failures WHERE port = ? ORDER BY id DESC LIMIT 1 OFFSET ?", port);
      if (upto >= 0) run("DELETE FROM failures WHERE port = ? AND id <= ?", port, upto);
    }
  });
}

std::int64_t ResultStore::result_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("SELECT COUNT(*) FROM results")};
  sqlite3_step(st.s);
  return sqlite3_column_int64(st.s, 0);
}

}  // namespace fh::master
