#pragma once
// Persistence of events in SQLite (WAL, a connection of its own to the master's database): the
// events, the outbox of their deliveries (one row per webhook or MQTT delivery, deleted once
// delivered), the snapshots (JPEG of a track's best frame) and persistent counters.
// Thread-safe: every call takes the store's own mutex.

#include "framehive/shared/api/types.hpp"
#include "rule_engine.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace fh::master {

struct DeliverySettings;

// ---- Event JSON: the contract's to_json / event_from_json (shared/api/json.hpp) ----

/// The event as JSON: id, type, time, port, stream, seq (when > 0); object.* events add
/// track_id, label, confidence, box {x,y,w,h}, zone (when non-empty), start, end,
/// snapshot_task_id; detail (when non-empty); rules. Pure, thread-safe.
std::string event_json(const shared::api::Event& e);
/// The reverse; missing members keep their defaults. Throws std::invalid_argument on bad JSON.
shared::api::Event event_from_json(std::string_view json);

// ---- The store ----

struct EventQuery {
  int port = -1;               ///< < 0: every port
  double since = 0;            ///< event time >= since (Unix seconds)
  std::int64_t after_seq = 0;  ///< seq > after_seq (a cursor)
  std::string type;            ///< exact, "prefix.*", or empty: every type
  std::size_t limit = 100;     ///< capped at 1000
  bool newest_first = false;   ///< else oldest first (by seq)
};

/// One pending delivery of the outbox, with the event it carries.
struct OutboxItem {
  std::int64_t id = 0;         ///< outbox row
  std::int64_t event_seq = 0;  ///< the event's seq
  std::string event_id;        ///< the event's id
  std::string event_type;      ///< the event's type
  std::string body;            ///< event_json() of the event, seq included
  Delivery delivery;
  double created_at = 0;  ///< Unix seconds the row was added
  int attempts = 0;       ///< failed attempts so far
  double next_at = 0;     ///< Unix seconds it is due
  std::string last_error;
};

struct OutboxStats {
  std::map<std::string, std::int64_t> pending;    ///< rows per kind
  std::map<std::string, std::int64_t> delivered;  ///< per kind, persisted across restarts
  std::map<std::string, std::int64_t> dropped;    ///< per kind (expired), persisted
  double oldest_pending_age = 0;                  ///< seconds; 0: nothing pending
};

class EventStore {
 public:
  struct Limits {
    std::size_t max_snapshots = 20000;            ///< snapshots kept, oldest removed beyond
    std::int64_t max_snapshot_bytes = 1ll << 30;  ///< their JPEG bytes, oldest removed beyond
  };

  /// Opens (creates) the tables in the database at path (the ResultStore's file; ":memory:"
  /// for tests). Throws std::runtime_error with SQLite's message when it cannot.
  explicit EventStore(const std::string& path);
  EventStore(const std::string& path, Limits limits);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  /// Stores events and one outbox row per delivery (due now), in one transaction. An event
  /// whose id is stored already is skipped with its deliveries (a retry), unless it is late
  /// (EmittedEvent::late: rules whose min_duration the track reached later): then its
  /// deliveries are added and its rules joined to the stored record's. Throws
  /// std::runtime_error.
  void add(const std::vector<EmittedEvent>& events, double now);
  /// Events matching q, seq filled in.
  std::vector<shared::api::Event> query(const EventQuery& q);
  /// The number of stored events (tests, status).
  std::int64_t event_count();

  /// Stores (replaces) the JPEG of a task; then removes the oldest beyond the limits.
  void put_snapshot(const std::string& task_id, int port, const shared::api::Image& jpeg,
                    double now);
  /// The JPEG of a task; null when absent.
  shared::api::Image snapshot(const std::string& task_id);

  /// Outbox rows due at now (next_at <= now), oldest first, at most limit; of one kind when
  /// kind is non-empty; at most per_target rows of each (kind, target) when non-zero (so that
  /// a target with a long backlog does not fill the batch).
  std::vector<OutboxItem> due(double now, std::size_t limit, const std::string& kind = "",
                              std::size_t per_target = 0);
  /// Delivered: the row is deleted and counted (no-op if it is gone, e.g. expired).
  void delivered(std::int64_t outbox_id);
  /// A failed attempt: attempts + 1, due again at next_at.
  void retry(std::int64_t outbox_id, double next_at, const std::string& error);
  /// Postpones every row of (kind, target) due before until (a target backing off).
  void defer_target(const std::string& kind, const std::string& target, double until);
  /// Drops rows created more than max_age ago, then the oldest beyond max_pending; counts them
  /// (persistent "dropped" per kind) and logs. Returns the number dropped.
  std::int64_t expire(double now, const DeliverySettings& settings);
  OutboxStats stats(double now);

  /// Removes events stored more than retention seconds ago (except those with outbox rows
  /// still pending) and snapshots as old.
  void prune(double now, double retention);

 private:
  void open(const std::string& path);
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  template <class Body>
  void transaction(const char* what, Body&& body);
  void add_counter(const std::string& name, std::int64_t delta);  ///< caller holds mutex_
  /// A late event's rules added to its stored record; its seq (0: not stored). Caller holds
  /// mutex_ in a transaction.
  std::int64_t add_late_rules(const shared::api::Event& e);
  void bound_snapshots();  ///< caller holds mutex_

  const Limits limits_;
  std::mutex mutex_;                       ///< guards db_ and the statements
  sqlite3* db_ = nullptr;                  ///< the connection
  sqlite3_stmt* insert_event_ = nullptr;   ///< prepared INSERT OR IGNORE into events
  sqlite3_stmt* insert_outbox_ = nullptr;  ///< prepared INSERT into outbox
  sqlite3_stmt* add_counter_ = nullptr;    ///< prepared UPSERT into counters
};

}  // namespace fh::master
