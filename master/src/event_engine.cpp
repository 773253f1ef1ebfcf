#include "event_engine.hpp"

#include "event_types.hpp"
#include "framehive/shared/logging.hpp"
#include "health_watch.hpp"
#include "rule_engine.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace fh::master {
namespace {

auto log() { return shared::logger("events"); }

/// The master's tracker parameters with what the config's "tracking" section sets.
TrackerConfig with_tracking(TrackerConfig c, const TrackingSettings& t) {
  if (t.iou_threshold) c.iou_threshold = *t.iou_threshold;
  if (t.confirm_hits) c.confirm_hits = *t.confirm_hits;
  if (t.confirm_window) c.confirm_window = *t.confirm_window;
  if (t.end_after) c.end_after_s = *t.end_after;
  if (t.stationary_after) c.stationary_after_s = *t.stationary_after;
  if (t.stationary_max_motion) c.stationary_max_motion = *t.stationary_max_motion;
  if (t.stationary_end_after) c.stationary_end_after_s = *t.stationary_end_after;
  return c;
}

constexpr double k_tick_s = 0.25;       ///< the engine's pass when idle
constexpr double k_prune_every_s = 60;  ///< retention pass

}  // namespace

EventEngine::EventEngine(Scheduler& scheduler, const std::string& db_path, std::string id_prefix,
                         std::int64_t first_track_id, EventEngineConfig config,
                         const shared::Clock& clock)
    : scheduler_(scheduler),
      config_(std::move(config)),
      id_prefix_(std::move(id_prefix)),
      clock_(clock) {
  events_config_ = config_.config_path.empty() ? std::make_shared<const EventsConfig>()
                                               : load_events_config(config_.config_path);
  store_ = std::make_unique<EventStore>(db_path);
  // Track ids continue after the largest one stored, in results or in events.
  EventQuery newest;
  newest.type = event_type::object_start;
  newest.limit = 1;
  newest.newest_first = true;
  for (const auto& e : store_->query(newest)) {
    first_track_id = std::max(first_track_id, e.track_id + 1);
  }
  tracker_ = std::make_unique<Tracker>(with_tracking(config_.tracker, events_config_->tracking),
                                       std::max<std::int64_t>(1, first_track_id));
  rules_ = std::make_unique<RuleEngine>(
      events_config_, [this] { return id_prefix_ + "-ev" + std::to_string(next_event_++); });
  health_ = std::make_unique<HealthWatch>(config_.detector_grace);
  delivery_ = std::make_unique<EventDelivery>(*store_, clock_, events_config_);
  log()->info(
      "events: {} zone(s) on {} port(s), {} rule(s){}{}",
      [&] {
        std::size_t n = 0;
        for (const auto& [p, z] : events_config_->zones) n += z.size();
        return n;
      }(),
      events_config_->zones.size(), events_config_->rules.size(),
      events_config_->mqtt.enabled
          ? ", MQTT " + events_config_->mqtt.host + ":" + std::to_string(events_config_->mqtt.port)
          : std::string(),
      config_.config_path.empty() ? " (no --events-config)" : " from " + config_.config_path);
}

EventEngine::~EventEngine() { stop(); }

void EventEngine::start() {
  delivery_->start();
  thread_ = std::thread([this] { run(); });
}

void EventEngine::stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (delivery_) delivery_->stop();
}

void EventEngine::on_completed(const ResultRecord& record, const CompletedFrame& frame) {
  if (record.port == shared::api::k_upload_port) return;  // still images: nothing to track
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (stop_) return;
    if (queue_.size() >= config_.max_queued) {
      queue_dropped_++;
      return;
    }
    queue_.push_back(TrackInput{record, frame.width, frame.height, frame.motion, frame.gated});
  }
  wake_.notify_one();
}

std::string EventEngine::reload() {
  if (config_.config_path.empty()) return "no --events-config to reload";
  std::shared_ptr<const EventsConfig> fresh;
  try {
    fresh = load_events_config(config_.config_path);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(work_mutex_);
    reload_errors_++;
    log()->error("reload of {} failed, the previous config stays: {}", config_.config_path,
                 e.what());
    return e.what();
  }
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    events_config_ = fresh;
    rules_->set_config(fresh);
    tracker_->set_config(with_tracking(config_.tracker, fresh->tracking));
    reloads_++;
  }
  delivery_->set_config(fresh);
  log()->info("reloaded {}: {} rule(s)", config_.config_path, fresh->rules.size());
  return {};
}

std::vector<shared::api::Event> EventEngine::events(const EventQuery& q) {
  return store_->query(q);
}

shared::api::Image EventEngine::snapshot(const std::string& task_id) {
  return store_->snapshot(task_id);
}

bool EventEngine::has_snapshot(const std::string& task_id) { return store_->has_snapshot(task_id); }

EventEngine::Stats EventEngine::stats() {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    s.queue_dropped = queue_dropped_;
  }
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    s.results = results_;
    s.events = events_;
    s.by_type = by_type_;
    s.tracker = tracker_->stats();
    s.rules = rules_->stats();
    s.objects = counts_;
    s.reloads = reloads_;
    s.reload_errors = reload_errors_;
  }
  s.outbox = store_->stats(clock_.wall());
  s.delivery = delivery_->stats();
  return s;
}

void EventEngine::run() {
  try {
    end_open_tracks();
  } catch (const std::exception& e) {
    log()->error("cannot end the tracks of the previous run: {}", e.what());
  }
  double next_health = 0;
  double next_prune = clock_.mono() + k_prune_every_s;
  for (;;) {
    std::deque<TrackInput> batch;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      wake_.wait_for(lock, std::chrono::duration<double>(k_tick_s),
                     [this] { return stop_ || !queue_.empty(); });
      batch.swap(queue_);
      stopping = stop_;
    }
    std::vector<EmittedEvent> out;
    try {
      std::lock_guard<std::mutex> lock(work_mutex_);
      const double mono = clock_.mono();
      for (auto& in : batch) process(tracker_->add(std::move(in), mono), out);
      process(tracker_->tick(mono), out);
      if (mono >= next_health) {
        next_health = mono + config_.health_interval;
        for (auto& e : health_->check(scheduler_.status(), clock_.wall(), events_config_->camera)) {
          out.push_back(rules_->on_system(std::move(e)));
        }
      }
      if (mono >= next_prune) {
        next_prune = mono + k_prune_every_s;
        store_->prune(clock_.wall(), events_config_->retention);
      }
    } catch (const std::exception& e) {
      log()->error("event engine: {}", e.what());
    }
    store(std::move(out));
    std::vector<std::tuple<int, std::string, std::vector<std::int64_t>>> earlier;
    {
      std::lock_guard<std::mutex> lock(work_mutex_);
      earlier.swap(earlier_ids_);
    }
    for (const auto& [port, task_id, ids] : earlier) scheduler_.set_track_ids(task_id, port, ids);
    if (stopping) {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      if (queue_.empty()) break;
    }
  }
}

void EventEngine::process(std::vector<TrackedResult> released, std::vector<EmittedEvent>& out) {
  for (auto& tr : released) {
    // Tracks ended by time come in a result of no frame (empty task id, no detections).
    if (!tr.record.task_id.empty()) results_++;
    std::vector<std::int64_t> ids;
    ids.reserve(tr.record.detections.size());
    bool tracked = false;
    for (const auto& d : tr.record.detections) {
      ids.push_back(d.track_id);
      tracked = tracked || d.track_id != 0;
    }
    if (tracked) scheduler_.set_track_ids(tr.record.task_id, tr.record.port, ids);
    for (auto& [task_id, earlier] : tr.earlier_ids) {
      earlier_ids_.emplace_back(tr.record.port, std::move(task_id), std::move(earlier));
    }
    keep_best_snapshots(tr.updates);
    bool counts_changed = false;
    for (const auto& u : tr.updates) {
      for (auto& e : rules_->on_track(u)) {
        // The track's best frame goes to the store with its first event, and again when a
        // better one replaced it (the kept frames of memory roll over).
        auto& ev = e.event;
        if (!ev.snapshot_task_id.empty() && stored_snapshot_[ev.track_id] != ev.snapshot_task_id) {
          shared::api::Image jpeg;
          if (auto b = best_.find(ev.track_id);
              b != best_.end() && b->second.first == ev.snapshot_task_id) {
            jpeg = b->second.second;
          } else {
            jpeg = scheduler_.kept_image(ev.snapshot_task_id);
          }
          if (jpeg) {
            store_->put_snapshot(ev.snapshot_task_id, ev.port, jpeg, clock_.wall());
            stored_snapshot_[ev.track_id] = ev.snapshot_task_id;
          }
        }
        out.push_back(std::move(e));
      }
      if (u.change == TrackChange::confirmed || u.change == TrackChange::ended) {
        counts_changed = true;
      }
      if (u.change == TrackChange::ended) {
        best_.erase(u.track.id);
        stored_snapshot_.erase(u.track.id);
      }
    }
    if (counts_changed) publish_counts(tr.record.port);
  }
}

void EventEngine::keep_best_snapshots(const std::vector<TrackUpdate>& updates) {
  for (const auto& u : updates) {
    if (u.change == TrackChange::ended || u.track.best_task_id.empty()) continue;
    auto& best = best_[u.track.id];
    if (best.first == u.track.best_task_id) continue;
    if (auto jpeg = scheduler_.kept_image(u.track.best_task_id)) {
      best = {u.track.best_task_id, std::move(jpeg)};
    }
  }
}

void EventEngine::publish_counts(int port) {
  std::map<std::string, std::int64_t> counts;
  for (auto& [label, n] : counts_[port]) counts[label] = 0;  // labels that left go to 0
  for (const auto& t : tracker_->tracks(port)) counts[t.label]++;
  if (counts == counts_[port]) return;
  counts_[port] = counts;
  delivery_->publish_counts(port, counts);
}

void EventEngine::store(std::vector<EmittedEvent> events) {
  if (events.empty()) return;
  try {
    store_->add(events, clock_.wall());
  } catch (const std::exception& e) {
    log()->error("cannot store {} event(s): {}", events.size(), e.what());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    events_ += static_cast<std::int64_t>(events.size());
    for (const auto& e : events) by_type_[e.event.type]++;
  }
  delivery_->wake();
}

void EventEngine::end_open_tracks() {
  // Tracks of the last day with an object.start and no object.end (the newest 1,000 of each),
  // and the newest 1,000 object events: the stories of the tracks open at the stop.
  EventQuery q;
  q.since = clock_.wall() - 86400;
  q.limit = 1000;
  q.newest_first = true;
  q.type = event_type::object_start;
  const auto starts = store_->query(q);
  if (starts.empty()) return;
  q.type = event_type::object_end;
  std::set<std::int64_t> ended;
  for (const auto& e : store_->query(q)) ended.insert(e.track_id);
  q.type = "object.*";
  std::map<std::int64_t, std::vector<shared::api::Event>> story;  // each newest first
  for (auto& e : store_->query(q)) story[e.track_id].push_back(std::move(e));
  std::vector<EmittedEvent> out;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    for (const auto& s : starts) {
      if (ended.count(s.track_id)) continue;
      const auto& events = story[s.track_id];
      // The zones it was last inside and the rules that had its events, oldest first.
      std::vector<std::string> inside, rules = s.rules;
      for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (it->type == event_type::object_zone_enter) inside.push_back(it->zone);
        if (it->type == event_type::object_zone_leave) {
          inside.erase(std::remove(inside.begin(), inside.end(), it->zone), inside.end());
        }
        for (const auto& r : it->rules) {
          if (std::find(rules.begin(), rules.end(), r) == rules.end()) rules.push_back(r);
        }
      }
      rules_->restore_track(s.track_id, inside, rules);
      // The last known sighting is its newest stored event, not its object.start: the end
      // must not precede events already delivered.
      const shared::api::Event& last =
          !events.empty() && events.front().time >= s.time ? events.front() : s;
      TrackUpdate u;
      u.change = TrackChange::ended;
      u.time = last.time;
      Track& t = u.track;
      t.id = s.track_id;
      t.port = s.port;
      t.stream = s.stream;
      t.label = s.label;
      t.box = Box{double(last.x), double(last.y), double(last.w), double(last.h)};
      t.best_box = t.box;
      t.confidence = t.best_confidence = last.confidence;  // the best so far, as of that event
      t.best_task_id = last.snapshot_task_id;
      t.start = s.start;
      t.last_seen = last.time;
      t.confirmed = true;
      for (auto& e : rules_->on_track(u)) {  // zone_leave for each zone it was in, then end
        e.event.detail = "track lost: the master stopped before it ended (end = last known)";
        out.push_back(std::move(e));
      }
    }
  }
  if (!out.empty()) {
    log()->info("{} event(s) end the tracks the previous run left open (it stopped mid-track)",
                out.size());
  }
  store(std::move(out));
}

}  // namespace fh::master
