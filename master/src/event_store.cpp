#include "event_store.hpp"

#include "events_config.hpp"
#include "framehive/shared/api/json.hpp"
#include "framehive/shared/logging.hpp"

#include "sqlite_util.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

namespace fh::master {

// ---- Event JSON: the contract's (shared/api/json.hpp) ----

std::string event_json(const shared::api::Event& e) {
  return shared::api::Json(e).dump(-1, ' ', false, shared::api::Json::error_handler_t::replace);
}

shared::api::Event event_from_json(std::string_view json) {
  try {
    const auto j = shared::api::Json::parse(json);
    if (!j.is_object()) throw std::invalid_argument("event JSON: not an object");
    return shared::api::event_from_json(j);
  } catch (const shared::api::Json::exception& ex) {
    throw std::invalid_argument(std::string("event JSON: ") + ex.what());
  }
}

// ---- The store ----

using sqlite::bind_text;
using sqlite::col_text;
using sqlite::Stmt;

namespace {

/// A stored event's JSON with its seq added.
std::string with_seq(const std::string& json, std::int64_t seq) {
  auto e = event_from_json(json);
  e.seq = seq;
  return event_json(e);
}

}  // namespace

EventStore::EventStore(const std::string& path) : EventStore(path, Limits{}) {}

EventStore::EventStore(const std::string& path, Limits limits) : limits_(limits) {
  try {
    open(path);
  } catch (...) {
    sqlite3_finalize(insert_event_);
    sqlite3_finalize(insert_outbox_);
    sqlite3_finalize(add_counter_);
    sqlite3_close(db_);
    throw;
  }
}

void EventStore::open(const std::string& path) {
  db_ = sqlite::open(path);
  exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " id TEXT UNIQUE NOT NULL, type TEXT NOT NULL, time REAL NOT NULL, port INTEGER NOT NULL,"
      " created_at REAL NOT NULL, json TEXT NOT NULL)");
  exec("CREATE INDEX IF NOT EXISTS events_port ON events (port, seq)");
  exec("CREATE INDEX IF NOT EXISTS events_type ON events (type, seq)");
  exec("CREATE INDEX IF NOT EXISTS events_time ON events (time)");
  exec("CREATE INDEX IF NOT EXISTS events_created ON events (created_at)");
  exec(
      "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " event_seq INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,"
      " secret_file TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '',"
      " created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,"
      " last_error TEXT NOT NULL DEFAULT '')");
  exec("CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_at)");
  exec("CREATE INDEX IF NOT EXISTS outbox_target ON outbox (kind, target)");
  exec("CREATE INDEX IF NOT EXISTS outbox_event ON outbox (event_seq)");
  exec(
      "CREATE TABLE IF NOT EXISTS snapshots (task_id TEXT PRIMARY KEY, port INTEGER NOT NULL,"
      " created_at REAL NOT NULL, bytes INTEGER NOT NULL, jpeg BLOB NOT NULL)");
  exec("CREATE INDEX IF NOT EXISTS snapshots_created ON snapshots (created_at)");
  exec("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  insert_event_ = prepare(
      "INSERT OR IGNORE INTO events (id, type, time, port, created_at, json)"
      " VALUES (?,?,?,?,?,?)");
  insert_outbox_ = prepare(
      "INSERT INTO outbox (event_seq, kind, target, secret_file, rule, created_at, next_at)"
      " VALUES (?,?,?,?,?,?,?)");
  add_counter_ = prepare(
      "INSERT INTO counters (name, value) VALUES (?, ?)"
      " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
}

EventStore::~EventStore() {
  sqlite3_finalize(insert_event_);
  sqlite3_finalize(insert_outbox_);
  sqlite3_finalize(add_counter_);
  sqlite3_close(db_);
}

template <class Body>
void EventStore::transaction(const char* what, Body&& body) {
  sqlite::transaction(db_, "BEGIN IMMEDIATE", what, std::forward<Body>(body));
}

void EventStore::exec(const char* sql) { sqlite::exec(db_, sql); }

sqlite3_stmt* EventStore::prepare(const char* sql) { return sqlite::prepare(db_, sql); }

void EventStore::add_counter(const std::string& name, std::int64_t delta) {
  sqlite3_stmt* s = add_counter_;
  sqlite3_reset(s);
  bind_text(s, 1, name);
  sqlite3_bind_int64(s, 2, delta);
  if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
}

void EventStore::add(const std::vector<EmittedEvent>& events, double now) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot store events", [&] {
    for (const auto& em : events) {
      const auto& e = em.event;
      auto stored = e;
      stored.seq = 0;  // the seq is the row's, added on read
      sqlite3_stmt* s = insert_event_;
      sqlite3_reset(s);
      bind_text(s, 1, e.id);
      bind_text(s, 2, e.type);
      sqlite3_bind_double(s, 3, e.time);
      sqlite3_bind_int(s, 4, e.port);
      sqlite3_bind_double(s, 5, now);
      bind_text(s, 6, event_json(stored));
      if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
      std::int64_t seq = 0;
      if (sqlite3_changes(db_) == 0) {
        // Stored already: a retry adds nothing. A late event (a rule's min_duration was
        // reached) adds its rules' deliveries to the stored one and its rules to the record.
        if (!em.late || em.deliveries.empty()) continue;
        seq = add_late_rules(e);
        if (seq == 0) continue;
      } else {
        seq = sqlite3_last_insert_rowid(db_);
      }
      for (const auto& d : em.deliveries) {
        sqlite3_stmt* o = insert_outbox_;
        sqlite3_reset(o);
        sqlite3_bind_int64(o, 1, seq);
        bind_text(o, 2, d.kind);
        bind_text(o, 3, d.target);
        bind_text(o, 4, d.secret_file);
        bind_text(o, 5, d.rule);
        sqlite3_bind_double(o, 6, now);
        sqlite3_bind_double(o, 7, now);
        if (sqlite3_step(o) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
      }
    }
  });
}

std::int64_t EventStore::add_late_rules(const shared::api::Event& e) {
  Stmt find{prepare("SELECT seq, json FROM events WHERE id = ?")};
  bind_text(find.s, 1, e.id);
  if (sqlite3_step(find.s) != SQLITE_ROW) return 0;
  const auto seq = sqlite3_column_int64(find.s, 0);
  auto stored = event_from_json(col_text(find.s, 1));
  for (const auto& r : e.rules) {
    if (std::find(stored.rules.begin(), stored.rules.end(), r) == stored.rules.end()) {
      stored.rules.push_back(r);
    }
  }
  Stmt upd{prepare("UPDATE events SET json = ? WHERE seq = ?")};
  bind_text(upd.s, 1, event_json(stored));
  sqlite3_bind_int64(upd.s, 2, seq);
  if (sqlite3_step(upd.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  return seq;
}

std::vector<shared::api::Event> EventStore::query(const EventQuery& q) {
  std::string sql = "SELECT seq, json FROM events WHERE seq > ? AND time >= ?";
  if (q.port >= 0) sql += " AND port = ?";
  std::string lo, hi;
  if (!q.type.empty()) {
    if (q.type.size() >= 2 && q.type.compare(q.type.size() - 2, 2, ".*") == 0) {
      // "camera.*": the range [camera., camera/) (an index range, no LIKE escaping)
      lo = q.type.substr(0, q.type.size() - 1);
      hi = lo;
      hi.back() = static_cast<char>(hi.back() + 1);
      sql += " AND type >= ? AND type < ?";
    } else {
      lo = q.type;
      sql += " AND type = ?";
    }
  }
  sql += q.newest_first ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq ASC LIMIT ?";
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare(sql.c_str())};
  int i = 1;
  sqlite3_bind_int64(st.s, i++, q.after_seq);
  sqlite3_bind_double(st.s, i++, q.since);
  if (q.port >= 0) sqlite3_bind_int(st.s, i++, q.port);
  if (!q.type.empty()) {
    bind_text(st.s, i++, lo);
    if (!hi.empty()) bind_text(st.s, i++, hi);
  }
  sqlite3_bind_int64(st.s, i, static_cast<sqlite3_int64>(std::min<std::size_t>(q.limit, 1000)));
  std::vector<shared::api::Event> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    auto e = event_from_json(col_text(st.s, 1));
    e.seq = sqlite3_column_int64(st.s, 0);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t EventStore::event_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("SELECT COUNT(*) FROM events")};
  sqlite3_step(st.s);
  return sqlite3_column_int64(st.s, 0);
}

void EventStore::put_snapshot(const std::string& task_id, int port, const shared::api::Image& jpeg,
                              double now) {
  if (!jpeg) return;
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot store snapshot", [&] {
    Stmt st{
        prepare("INSERT OR REPLACE INTO snapshots (task_id, port, created_at, bytes, jpeg)"
                " VALUES (?,?,?,?,?)")};
    bind_text(st.s, 1, task_id);
    sqlite3_bind_int(st.s, 2, port);
    sqlite3_bind_double(st.s, 3, now);
    sqlite3_bind_int64(st.s, 4, static_cast<sqlite3_int64>(jpeg->size()));
    sqlite3_bind_blob64(st.s, 5, jpeg->data(), jpeg->size(), SQLITE_STATIC);
    if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    bound_snapshots();
  });
}

void EventStore::bound_snapshots() {
  std::int64_t count = 0, bytes = 0;
  {
    Stmt st{prepare("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM snapshots")};
    sqlite3_step(st.s);
    count = sqlite3_column_int64(st.s, 0);
    bytes = sqlite3_column_int64(st.s, 1);
  }
  const auto max_count = static_cast<std::int64_t>(limits_.max_snapshots);
  if (count <= max_count && bytes <= limits_.max_snapshot_bytes) return;
  // Oldest first until both bounds hold.
  std::vector<std::int64_t> victims;
  {
    Stmt st{prepare("SELECT rowid, bytes FROM snapshots ORDER BY created_at, rowid")};
    while ((count > max_count || bytes > limits_.max_snapshot_bytes) &&
           sqlite3_step(st.s) == SQLITE_ROW) {
      victims.push_back(sqlite3_column_int64(st.s, 0));
      --count;
      bytes -= sqlite3_column_int64(st.s, 1);
    }
  }
  Stmt del{prepare("DELETE FROM snapshots WHERE rowid = ?")};
  for (auto id : victims) {
    sqlite3_reset(del.s);
    sqlite3_bind_int64(del.s, 1, id);
    if (sqlite3_step(del.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }
}

shared::api::Image EventStore::snapshot(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("SELECT jpeg FROM snapshots WHERE task_id = ?")};
  bind_text(st.s, 1, task_id);
  if (sqlite3_step(st.s) != SQLITE_ROW) return nullptr;
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.s, 0));
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(st.s, 0));
  return std::make_shared<const std::vector<std::uint8_t>>(p, p + n);
}

std::vector<OutboxItem> EventStore::due(double now, std::size_t limit, const std::string& kind,
                                        std::size_t per_target) {
  std::string inner = "SELECT * FROM outbox WHERE next_at <= ?";
  if (!kind.empty()) inner += " AND kind = ?";
  if (per_target > 0) {
    inner =
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY kind, target ORDER BY id)"
        " AS rn FROM (" +
        inner + ")) WHERE rn <= ?";
  }
  const std::string sql =
      "SELECT o.id, o.event_seq, e.id, e.type, e.json, o.kind, o.target, o.secret_file, o.rule,"
      " o.created_at, o.attempts, o.next_at, o.last_error FROM (" +
      inner + ") o JOIN events e ON e.seq = o.event_seq ORDER BY o.id LIMIT ?";
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare(sql.c_str())};
  int i = 1;
  sqlite3_bind_double(st.s, i++, now);
  if (!kind.empty()) bind_text(st.s, i++, kind);
  if (per_target > 0) sqlite3_bind_int64(st.s, i++, static_cast<sqlite3_int64>(per_target));
  sqlite3_bind_int64(st.s, i, static_cast<sqlite3_int64>(limit));
  std::vector<OutboxItem> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    OutboxItem it;
    it.id = sqlite3_column_int64(st.s, 0);
    it.event_seq = sqlite3_column_int64(st.s, 1);
    it.event_id = col_text(st.s, 2);
    it.event_type = col_text(st.s, 3);
    it.body = with_seq(col_text(st.s, 4), it.event_seq);
    it.delivery.kind = col_text(st.s, 5);
    it.delivery.target = col_text(st.s, 6);
    it.delivery.secret_file = col_text(st.s, 7);
    it.delivery.rule = col_text(st.s, 8);
    it.created_at = sqlite3_column_double(st.s, 9);
    it.attempts = sqlite3_column_int(st.s, 10);
    it.next_at = sqlite3_column_double(st.s, 11);
    it.last_error = col_text(st.s, 12);
    out.push_back(std::move(it));
  }
  return out;
}

void EventStore::delivered(std::int64_t outbox_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot record a delivery", [&] {
    std::string kind;
    {
      Stmt st{prepare("DELETE FROM outbox WHERE id = ? RETURNING kind")};
      sqlite3_bind_int64(st.s, 1, outbox_id);
      if (sqlite3_step(st.s) == SQLITE_ROW) kind = col_text(st.s, 0);
      while (sqlite3_step(st.s) == SQLITE_ROW) {
      }
    }
    if (!kind.empty()) add_counter("delivered." + kind, 1);
  });
}

void EventStore::retry(std::int64_t outbox_id, double next_at, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare(
      "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?")};
  sqlite3_bind_double(st.s, 1, next_at);
  bind_text(st.s, 2, error.substr(0, 500));
  sqlite3_bind_int64(st.s, 3, outbox_id);
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    throw std::runtime_error(std::string("database: cannot record a retry: ") +
                             sqlite3_errmsg(db_));
  }
}

void EventStore::defer_target(const std::string& kind, const std::string& target, double until) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt st{prepare("UPDATE outbox SET next_at = ? WHERE kind = ? AND target = ? AND next_at < ?")};
  sqlite3_bind_double(st.s, 1, until);
  bind_text(st.s, 2, kind);
  bind_text(st.s, 3, target);
  sqlite3_bind_double(st.s, 4, until);
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    throw std::runtime_error(std::string("database: cannot defer a target: ") +
                             sqlite3_errmsg(db_));
  }
}

std::int64_t EventStore::expire(double now, const DeliverySettings& settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::int64_t> aged, excess;
  transaction("cannot expire outbox rows", [&] {
    {
      Stmt st{prepare("SELECT kind, COUNT(*) FROM outbox WHERE created_at < ? GROUP BY kind")};
      sqlite3_bind_double(st.s, 1, now - settings.max_age);
      while (sqlite3_step(st.s) == SQLITE_ROW) {
        aged[col_text(st.s, 0)] = sqlite3_column_int64(st.s, 1);
      }
    }
    if (!aged.empty()) {
      Stmt st{prepare("DELETE FROM outbox WHERE created_at < ?")};
      sqlite3_bind_double(st.s, 1, now - settings.max_age);
      if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::int64_t pending = 0;
    {
      Stmt st{prepare("SELECT COUNT(*) FROM outbox")};
      sqlite3_step(st.s);
      pending = sqlite3_column_int64(st.s, 0);
    }
    const auto over = pending - static_cast<std::int64_t>(settings.max_pending);
    if (over > 0) {
      {
        Stmt st{
            prepare("SELECT kind, COUNT(*) FROM (SELECT kind FROM outbox ORDER BY id LIMIT ?)"
                    " GROUP BY kind")};
        sqlite3_bind_int64(st.s, 1, over);
        while (sqlite3_step(st.s) == SQLITE_ROW) {
          excess[col_text(st.s, 0)] = sqlite3_column_int64(st.s, 1);
        }
      }
      Stmt st{
          prepare("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)")};
      sqlite3_bind_int64(st.s, 1, over);
      if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
    for (const auto& [kind, n] : aged) add_counter("dropped." + kind, n);
    for (const auto& [kind, n] : excess) add_counter("dropped." + kind, n);
  });
  std::int64_t total = 0;
  for (const auto& [kind, n] : aged) {
    shared::logger("events")->warn("dropped {} undelivered {} deliveries older than {} s", n, kind,
                                   settings.max_age);
    total += n;
  }
  for (const auto& [kind, n] : excess) {
    shared::logger("events")->warn("dropped the {} oldest undelivered {} deliveries (over {})", n,
                                   kind, settings.max_pending);
    total += n;
  }
  return total;
}

OutboxStats EventStore::stats(double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  OutboxStats out;
  {
    Stmt st{prepare("SELECT kind, COUNT(*), MIN(created_at) FROM outbox GROUP BY kind")};
    double oldest = now;
    while (sqlite3_step(st.s) == SQLITE_ROW) {
      out.pending[col_text(st.s, 0)] = sqlite3_column_int64(st.s, 1);
      oldest = std::min(oldest, sqlite3_column_double(st.s, 2));
    }
    out.oldest_pending_age = out.pending.empty() ? 0.0 : std::max(0.0, now - oldest);
  }
  Stmt st{prepare("SELECT name, value FROM counters")};
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    const auto name = col_text(st.s, 0);
    const auto v = sqlite3_column_int64(st.s, 1);
    if (name.rfind("delivered.", 0) == 0) out.delivered[name.substr(10)] = v;
    if (name.rfind("dropped.", 0) == 0) out.dropped[name.substr(8)] = v;
  }
  return out;
}

void EventStore::prune(double now, double retention) {
  std::lock_guard<std::mutex> lock(mutex_);
  transaction("cannot prune events", [&] {
    {
      Stmt st{
          prepare("DELETE FROM events WHERE created_at < ?"
                  " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_seq = events.seq)")};
      sqlite3_bind_double(st.s, 1, now - retention);
      if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
    Stmt st{prepare("DELETE FROM snapshots WHERE created_at < ?")};
    sqlite3_bind_double(st.s, 1, now - retention);
    if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  });
}

}  // namespace fh::master
