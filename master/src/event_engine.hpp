#pragma once
// The master's events (docs/events.md): completed results go through the tracker (tracks per
// port and label), zone and rule evaluation (rule_engine.hpp) and the health watch (camera,
// detector, worker events); the events are stored with their outbox rows and snapshots
// (event_store.hpp) and delivered (event_delivery.hpp). One thread of its own does all of it:
// on_completed() only queues, so a slow database or target never slows complete_task.
// Thread-safe: public methods may be called from any thread.

#include "event_delivery.hpp"
#include "event_store.hpp"
#include "events_config.hpp"
#include "framehive/master/scheduler.hpp"
#include "framehive/shared/clock.hpp"
#include "tracker.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace fh::master {

class HealthWatch;

struct EventEngineConfig {
  std::string config_path;  ///< --events-config; empty: no zones, no rules (events still kept)
  TrackerConfig tracker;
  std::size_t max_queued = 8192;  ///< completions waiting for the engine; beyond, counted drops
  double health_interval = 1.0;   ///< seconds between health checks
  double detector_grace = 10.0;   ///< seconds frames wait for an unoffered detector first
};

class EventEngine {
 public:
  /// Opens the event tables in db_path (the master's database) and loads config_path; throws
  /// ConfigError or std::runtime_error. id_prefix makes event ids unique across restarts.
  EventEngine(Scheduler& scheduler, const std::string& db_path, std::string id_prefix,
              std::int64_t first_track_id, EventEngineConfig config, const shared::Clock& clock);
  ~EventEngine();
  EventEngine(const EventEngine&) = delete;
  EventEngine& operator=(const EventEngine&) = delete;

  /// Starts the engine's thread and delivery.
  void start();
  /// Ends them (queued completions are processed first).
  void stop();
  /// The scheduler's completion listener: queues the result, never blocks.
  void on_completed(const ResultRecord& record, const CompletedFrame& frame);
  /// Reads the config file again (SIGHUP). A bad file keeps the current config; returns its
  /// error ("" when reloaded).
  std::string reload();

  /// Stored events (EventQuery of event_store.hpp).
  std::vector<shared::api::Event> events(const EventQuery& q);
  /// The JPEG of an event's snapshot_task_id; null when not stored.
  shared::api::Image snapshot(const std::string& task_id);
  /// Whether the snapshot is stored (cheap: for listings).
  bool has_snapshot(const std::string& task_id);

  struct Stats {
    std::int64_t results = 0;                     ///< completions tracked
    std::int64_t queue_dropped = 0;               ///< completions dropped: engine queue full
    std::int64_t events = 0;                      ///< events made since start
    std::map<std::string, std::int64_t> by_type;  ///< events made per type
    Tracker::Stats tracker;
    RuleEngine::Stats rules;
    OutboxStats outbox;
    EventDelivery::Stats delivery;
    std::map<int, std::map<std::string, std::int64_t>> objects;  ///< confirmed tracks now
    std::int64_t reloads = 0, reload_errors = 0;
  };
  Stats stats();

 private:
  void run();
  void process(std::vector<TrackedResult> released, std::vector<EmittedEvent>& out);
  void keep_best_snapshots(const std::vector<TrackUpdate>& updates);
  void store(std::vector<EmittedEvent> events);
  void publish_counts(int port);
  /// object.end for the tracks a previous run left open (killed or stopped mid-track).
  void end_open_tracks();

  Scheduler& scheduler_;                     ///< thread-safe
  const EventEngineConfig config_;           ///< immutable
  const std::string id_prefix_;              ///< event ids: PREFIX-evN
  const shared::Clock& clock_;               ///< time source
  std::unique_ptr<EventStore> store_;        ///< thread-safe, own lock
  std::unique_ptr<EventDelivery> delivery_;  ///< thread-safe

  std::mutex queue_mutex_;        ///< guards queue_, stop_, stats_ counters below
  std::condition_variable wake_;  ///< work queued or stop
  std::deque<TrackInput> queue_;  ///< completions not yet tracked
  bool stop_ = false;
  std::int64_t queue_dropped_ = 0;

  std::mutex work_mutex_;  ///< guards everything below (the engine thread, reload(), stats())
  std::shared_ptr<const EventsConfig> events_config_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<RuleEngine> rules_;
  std::unique_ptr<HealthWatch> health_;
  std::int64_t next_event_ = 1;  ///< counter of event ids
  std::int64_t results_ = 0, events_ = 0, reloads_ = 0, reload_errors_ = 0;
  std::map<std::string, std::int64_t> by_type_;
  /// track id -> its best frame (task id, JPEG), while the track lives: its snapshot, taken
  /// when it becomes the best (the kept frames of a port roll over long before a track ends).
  std::map<std::int64_t, std::pair<std::string, shared::api::Image>> best_;
  std::map<std::int64_t, std::string> stored_snapshot_;  ///< track id -> task id stored
  /// The ids of earlier results' detections that confirmed a track (TrackedResult::earlier_ids:
  /// port, task id, ids), set after the round's events are stored, off their latency.
  std::vector<std::tuple<int, std::string, std::vector<std::int64_t>>> earlier_ids_;
  std::map<int, std::map<std::string, std::int64_t>> counts_;  ///< published counts per port

  std::thread thread_;  ///< run()
};

}  // namespace fh::master
