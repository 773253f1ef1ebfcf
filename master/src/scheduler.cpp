#include "framehive/master/scheduler.hpp"

#include "framehive/shared/logging.hpp"

#include <algorithm>
#include <chrono>

namespace fh::master {
namespace {

constexpr std::size_t k_latency_window = 1000;  // latencies kept per port for percentiles
constexpr double k_fps_window_s = 10.0;         // completions window for fps

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.5);
  k = std::min(v.size() - 1, k == 0 ? 0 : k - 1);
  return v[k];
}

}  // namespace

Scheduler::Scheduler(SchedulerConfig config, const shared::Clock& clock, ResultStore* store,
                     std::string id_prefix)
    : config_(std::move(config)),
      clock_(clock),
      store_(store),
      id_prefix_(std::move(id_prefix)),
      started_wall_(clock.wall()) {
  if (store_) {
    for (auto& [p, records] : store_->load_recent(config_.retain_results)) {
      auto& port_state = port(p);
      for (auto& r : records) {
        if (port_state.stats.stream.empty()) port_state.stats.stream = r.stream;
        port_state.results.push_back(std::move(r));
      }
    }
  }
}

Scheduler::Entry* Scheduler::find(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second;
}

Scheduler::Port& Scheduler::port(int p) {
  auto it = ports_.find(p);
  if (it == ports_.end()) {
    it = ports_.emplace(p, Port{}).first;
    it->second.stats.port = p;
    auto d = config_.port_detectors.find(p);
    it->second.stats.detector =
        d == config_.port_detectors.end() ? config_.default_detector : d->second;
  }
  return it->second;
}

std::vector<std::string> Scheduler::add_frames(std::vector<Frame> frames) {
  std::vector<std::string> ids;
  ids.reserve(frames.size());
  const double now_wall = clock_.wall();
  std::uint64_t first_seq = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first_seq = next_seq_;
    next_seq_ += frames.size();
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ids.push_back(id_prefix_ + "-" + std::to_string(first_seq + i));
  }
  if (store_) {
    // Journal the frames before any worker can see them, so a completion's delete from the
    // journal always comes after the insert. A database error is counted; the frames are
    // still queued (only the crash record of them is missing).
    std::vector<std::pair<std::string, const Frame*>> rows;
    rows.reserve(frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) rows.emplace_back(ids[i], &frames[i]);
    try {
      store_->journal_accepted(rows);
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
  std::vector<std::string> gone;
  {
    const double now_mono = clock_.mono();
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      Frame& f = frames[i];
      Port& p = port(f.port);
      if (f.detector.empty()) f.detector = p.stats.detector;
      if (f.received_at <= 0.0) f.received_at = now_wall;
      if (!f.stream.empty()) p.stats.stream = f.stream;
      p.stats.received++;
      p.stats.last_frame_id = f.frame_id;
      if (config_.max_pending_per_port > 0 &&
          static_cast<std::size_t>(p.stats.pending) >= config_.max_pending_per_port) {
        drop_oldest_pending(p);
      }
      Entry e;
      e.seq = first_seq + i;
      e.task.task_id = ids[i];
      e.task.attempt = 1;
      e.task.frame = std::move(f);
      e.added_mono = now_mono;
      p.pending[e.task.frame.detector].push_back(ids[i]);
      p.stats.pending++;
      counters_.pending++;
      tasks_.emplace(ids[i], std::move(e));
    }
    gone.swap(forgotten_);
  }
  task_ready_.notify_all();
  forget(gone);
  return ids;
}

void Scheduler::store_failed(const std::exception& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_.store_errors++;
  shared::logger("rpc")->error("{}", e.what());
}

void Scheduler::forget(const std::vector<std::string>& task_ids) {
  if (!store_ || task_ids.empty()) return;
  try {
    store_->journal_forget(task_ids);
  } catch (const std::exception& ex) {
    store_failed(ex);
  }
}

void Scheduler::drop_oldest_pending(Port& p) {
  // The oldest pending task of the port over all its detector queues (stale heads skipped).
  std::deque<std::string>* oldest_q = nullptr;
  std::uint64_t oldest_seq = 0;
  for (auto& [det, q] : p.pending) {
    while (!q.empty()) {
      Entry* e = find(q.front());
      if (e && e->state == State::pending) break;
      q.pop_front();
    }
    if (q.empty()) continue;
    Entry* e = find(q.front());
    if (!oldest_q || e->seq < oldest_seq) {
      oldest_q = &q;
      oldest_seq = e->seq;
    }
  }
  if (!oldest_q) return;
  std::string id = oldest_q->front();
  oldest_q->pop_front();
  discard_pending(p, std::move(id), Discard::dropped);
}

void Scheduler::discard_pending(Port& p, std::string id, Discard why) {
  tasks_.erase(id);
  forgotten_.push_back(std::move(id));  // its journal row goes at the next forget()
  p.stats.pending--;
  counters_.pending--;
  if (why == Discard::dropped) {
    p.stats.dropped++;
    counters_.dropped++;
  } else {
    p.stats.expired++;
    counters_.expired++;
  }
}

bool Scheduler::too_old(const Entry& e, double now_wall, double now_mono) const {
  const double age = e.task.frame.captured_at > 0.0 ? now_wall - e.task.frame.captured_at
                                                    : now_mono - e.added_mono;
  return config_.max_frame_age > 0.0 && age > config_.max_frame_age;
}

Registration Scheduler::register_worker(const std::string& worker_id, const std::string& address,
                                        std::vector<std::string> capabilities) {
  std::vector<FailureRecord> failures;
  Registration reg{config_.heartbeat_interval, config_.task_timeout};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Worker& w = workers_[worker_id];
    const bool returning = !w.info.worker_id.empty();
    if (returning && !w.holding.empty()) {
      // A worker that registers again lost whatever it held (it restarted): put it back now.
      for (const auto& id : std::set<std::string>(w.holding)) {
        if (Entry* e = find(id)) requeue(*e, "worker_restarted", failures);
      }
      w.holding.clear();
      task_ready_.notify_all();
    }
    w.info.worker_id = worker_id;
    w.info.address = address;
    w.info.capabilities = std::move(capabilities);
    w.info.alive = true;
    w.info.registered_at = clock_.wall();
    w.info.last_seen = w.info.registered_at;
    w.last_seen_mono = clock_.mono();
  }
  persist(failures);  // outside mutex_: a store error takes it to count itself
  return reg;
}

bool Scheduler::heartbeat(const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.info.alive) return false;
  it->second.info.last_seen = clock_.wall();
  it->second.last_seen_mono = clock_.mono();
  return true;
}

bool Scheduler::take(Worker& w, Entry*& out) {
  if (ports_.empty()) return false;
  const double now_wall = clock_.wall();
  const double now_mono = clock_.mono();
  // Round robin: start with the port after the one served last, wrap around.
  auto start = ports_.upper_bound(rr_cursor_);
  for (std::size_t n = 0; n < ports_.size(); ++n, ++start) {
    if (start == ports_.end()) start = ports_.begin();
    Port& p = start->second;
    if (p.stats.pending == 0) continue;
    std::deque<std::string>* best_q = nullptr;
    Entry* best = nullptr;
    for (const auto& cap : w.info.capabilities) {
      auto qi = p.pending.find(cap);
      if (qi == p.pending.end()) continue;
      auto& q = qi->second;
      while (!q.empty()) {
        Entry* e = find(q.front());
        if (!e || e->state != State::pending) {  // stale: finished late, dropped
          q.pop_front();
          continue;
        }
        if (too_old(*e, now_wall, now_mono)) {
          q.pop_front();
          discard_pending(p, e->task.task_id, Discard::expired);
          continue;
        }
        if (!best || e->seq < best->seq) {
          best = e;
          best_q = &q;
        }
        break;
      }
    }
    if (best) {
      best_q->pop_front();
      rr_cursor_ = start->first;
      out = best;
      return true;
    }
  }
  return false;
}

std::optional<Task> Scheduler::request_task(const std::string& worker_id, int wait_ms) {
  wait_ms = std::clamp(wait_ms, 0, config_.max_wait_ms);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::optional<Task> out;
  std::vector<std::string> gone;  // frames expired on the way: out of the journal, unlocked
  {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      auto it = workers_.find(worker_id);
      if (it == workers_.end() || !it->second.info.alive) {
        gone.swap(forgotten_);
        lock.unlock();
        forget(gone);
        throw RequestError("unknown worker '" + worker_id + "': call register_worker first");
      }
      Worker& w = it->second;
      w.info.last_seen = clock_.wall();
      w.last_seen_mono = clock_.mono();
      Entry* e = nullptr;
      if (!shutdown_ && take(w, e)) {
        e->state = State::in_progress;
        e->worker_id = worker_id;
        e->started_mono = clock_.mono();
        Port& p = port(e->task.frame.port);
        p.stats.pending--;
        p.stats.in_progress++;
        counters_.pending--;
        counters_.in_progress++;
        w.holding.insert(e->task.task_id);
        w.info.assigned++;
        out = e->task;
        break;
      }
      if (shutdown_ || std::chrono::steady_clock::now() >= deadline) break;
      task_ready_.wait_until(lock, deadline);
    }
    gone.swap(forgotten_);
  }
  forget(gone);
  return out;
}

void Scheduler::remove_from_holder(Entry& e) {
  if (e.worker_id.empty()) return;
  auto it = workers_.find(e.worker_id);
  if (it != workers_.end()) it->second.holding.erase(e.task.task_id);
  e.worker_id.clear();
}

void Scheduler::finish(Entry& e) {
  e.task.frame.image.reset();  // free the JPEG; keep the entry to recognise duplicates
  finished_order_.push_back(e.task.task_id);
  while (finished_order_.size() > config_.retain_tasks) {
    tasks_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void Scheduler::to_pending(Entry& e) {
  Port& p = port(e.task.frame.port);
  e.state = State::pending;
  e.worker_id.clear();
  // Back at the front: the frame is older than anything queued behind it.
  p.pending[e.task.frame.detector].push_front(e.task.task_id);
  p.stats.pending++;
  counters_.pending++;
}

void Scheduler::fail(Entry& e, const std::string& reason, const std::string& worker_id,
                     std::vector<FailureRecord>& persist) {
  Port& p = port(e.task.frame.port);
  if (e.state == State::in_progress) {
    p.stats.in_progress--;
    counters_.in_progress--;
  } else if (e.state == State::pending) {
    p.stats.pending--;
    counters_.pending--;
  }
  remove_from_holder(e);
  e.state = State::failed;
  p.stats.failed++;
  counters_.failed++;
  FailureRecord f;
  f.task_id = e.task.task_id;
  f.port = e.task.frame.port;
  f.stream = e.task.frame.stream;
  f.frame_id = e.task.frame.frame_id;
  f.captured_at = e.task.frame.captured_at;
  f.failed_at = clock_.wall();
  f.worker_id = worker_id;
  f.reason = reason;
  persist.push_back(std::move(f));
  finish(e);
}

void Scheduler::requeue(Entry& e, const char* why, std::vector<FailureRecord>& persist) {
  if (e.state != State::in_progress) return;
  const std::string holder = e.worker_id;
  if (e.task.attempt >= config_.max_attempts) {
    if (std::string(why) == "timeout") counters_.failed_timeout++;
    fail(e, why, holder, persist);
    return;
  }
  Port& p = port(e.task.frame.port);
  p.stats.in_progress--;
  counters_.in_progress--;
  remove_from_holder(e);
  e.task.attempt++;
  if (std::string(why) == "timeout") {
    counters_.requeued_timeout++;
  } else {
    counters_.requeued_dead_worker++;
  }
  to_pending(e);
}

bool Scheduler::complete_task(const std::string& worker_id, const std::string& task_id,
                              Result result) {
  ResultRecord rec;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry* e = find(task_id);
    if (!e) {
      counters_.unknown_completions++;
      return false;
    }
    if (e->state == State::completed || e->state == State::failed) {
      counters_.duplicate_completions++;
      return false;
    }
    Port& p = port(e->task.frame.port);
    if (e->state != State::in_progress || e->worker_id != worker_id) {
      counters_.late_completions++;  // after a reassignment: the first result wins
    }
    if (e->state == State::in_progress) {
      p.stats.in_progress--;
      counters_.in_progress--;
    } else {
      p.stats.pending--;  // its queue entry goes stale and is skipped
      counters_.pending--;
    }
    remove_from_holder(*e);
    e->state = State::completed;
    counters_.completed++;
    const double now_wall = clock_.wall();
    const double now_mono = clock_.mono();
    const Frame& f = e->task.frame;
    rec.task_id = task_id;
    rec.port = f.port;
    rec.stream = f.stream;
    rec.frame_id = f.frame_id;
    rec.captured_at = f.captured_at;
    rec.received_at = f.received_at;
    rec.completed_at = now_wall;
    rec.worker_id = worker_id;
    rec.detector = f.detector;
    rec.detections = std::move(result.detections);
    rec.processing_ms = result.processing_ms;
    p.stats.completed++;
    p.completions_mono.push_back(now_mono);
    while (!p.completions_mono.empty() && now_mono - p.completions_mono.front() > k_fps_window_s) {
      p.completions_mono.pop_front();
    }
    if (f.captured_at > 0.0) {
      p.latencies_ms.push_back((now_wall - f.captured_at) * 1000.0);
      if (p.latencies_ms.size() > k_latency_window) p.latencies_ms.pop_front();
    }
    p.results.push_front(rec);
    if (p.results.size() > config_.retain_results) p.results.pop_back();
    if (config_.keep_frames > 0 && f.image) {
      kept_[task_id] = KeptFrame{rec, f.image};
      p.kept_order.push_back(task_id);
      while (p.kept_order.size() > config_.keep_frames) {
        kept_.erase(p.kept_order.front());
        p.kept_order.pop_front();
      }
    }
    auto w = workers_.find(worker_id);
    if (w != workers_.end()) {
      w->second.info.completed++;
      w->second.info.last_seen = now_wall;
      w->second.last_seen_mono = now_mono;
    }
    finish(*e);
  }
  if (store_) {
    try {
      store_->add_result(rec);
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
  return true;
}

bool Scheduler::fail_task(const std::string& worker_id, const std::string& task_id,
                          const std::string& reason) {
  std::vector<FailureRecord> failures;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry* e = find(task_id);
    if (!e || e->state != State::in_progress) return false;
    auto w = workers_.find(worker_id);
    if (w != workers_.end()) w->second.info.failed++;
    fail(*e, "worker: " + reason, worker_id, failures);
  }
  persist(failures);
  return true;
}

void Scheduler::persist(const std::vector<FailureRecord>& failures) {
  if (!store_) return;
  for (const auto& f : failures) {
    try {
      store_->add_failure(f);
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
}

bool Scheduler::worker_dead(const Worker& w, double now) const {
  return now - w.last_seen_mono > config_.heartbeat_interval * config_.heartbeat_misses;
}

void Scheduler::note_lost_at_start(const std::map<int, std::int64_t>& per_port) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [p, n] : per_port) {
    port(p).stats.lost_at_start += n;
    counters_.lost_at_start += n;
  }
}

std::size_t Scheduler::tick() {
  std::vector<FailureRecord> failures;
  std::vector<std::string> gone;
  std::size_t requeued = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const double now_mono = clock_.mono();
    const double now_wall = clock_.wall();
    // Dead workers: everything they hold goes back at once.
    for (auto& [id, w] : workers_) {
      if (!w.info.alive || !worker_dead(w, now_mono)) continue;
      w.info.alive = false;
      shared::logger("rpc")->warn("worker {} missed {} heartbeats: dead, {} task(s) reassigned", id,
                                  config_.heartbeat_misses, w.holding.size());
      for (const auto& tid : std::set<std::string>(w.holding)) {
        if (Entry* e = find(tid)) {
          requeue(*e, "worker_dead", failures);
          ++requeued;
        }
      }
    }
    // Stale tasks: in progress for longer than the timeout.
    for (auto& [id, w] : workers_) {
      for (const auto& tid : std::set<std::string>(w.holding)) {
        Entry* e = find(tid);
        if (e && now_mono - e->started_mono > config_.task_timeout) {
          requeue(*e, "timeout", failures);
          ++requeued;
        }
      }
    }
    // Expiry of pending frames (queue heads; requeued frames sit at the front).
    if (config_.max_frame_age > 0.0) {
      for (auto& [pn, p] : ports_) {
        for (auto& [det, q] : p.pending) {
          while (!q.empty()) {
            Entry* e = find(q.front());
            if (!e || e->state != State::pending) {
              q.pop_front();
              continue;
            }
            if (!too_old(*e, now_wall, now_mono)) break;
            q.pop_front();
            discard_pending(p, e->task.task_id, Discard::expired);
          }
        }
      }
    }
    if (requeued) task_ready_.notify_all();
    gone.swap(forgotten_);
  }
  persist(failures);
  forget(gone);
  return requeued;
}

std::optional<KeptFrame> Scheduler::get_frame(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = kept_.find(task_id);
  if (it == kept_.end()) return std::nullopt;
  return it->second;
}

std::vector<ResultRecord> Scheduler::get_results(int p, std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = ports_.find(p);
  if (it == ports_.end()) return {};
  const auto& r = it->second.results;
  const std::size_t n = limit == 0 ? r.size() : std::min(limit, r.size());
  return std::vector<ResultRecord>(r.begin(), r.begin() + static_cast<long>(n));
}

SchedulerStatus Scheduler::status() {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerStatus s = counters_;
  const double now_mono = clock_.mono();
  s.uptime_s = clock_.wall() - started_wall_;
  std::set<std::string> offered;
  for (const auto& [id, w] : workers_) {
    WorkerStatus ws = w.info;
    ws.current_tasks.assign(w.holding.begin(), w.holding.end());
    if (w.info.alive) offered.insert(w.info.capabilities.begin(), w.info.capabilities.end());
    s.workers.push_back(std::move(ws));
  }
  std::set<std::string> waiting;
  for (auto& [pn, p] : ports_) {
    PortStatus ps = p.stats;
    std::size_t recent = 0;
    for (double t : p.completions_mono) recent += (now_mono - t <= k_fps_window_s) ? 1 : 0;
    ps.fps = static_cast<double>(recent) / k_fps_window_s;
    std::vector<double> lat(p.latencies_ms.begin(), p.latencies_ms.end());
    ps.latency_p50_ms = percentile(lat, 50);
    ps.latency_p99_ms = percentile(std::move(lat), 99);
    for (const auto& [det, q] : p.pending) {
      bool any = false;
      for (const auto& id : q) {
        auto it = tasks_.find(id);
        if (it != tasks_.end() && it->second.state == State::pending) {
          any = true;
          break;
        }
      }
      if (any && !offered.count(det)) waiting.insert(det);
    }
    s.ports.push_back(std::move(ps));
  }
  s.waiting_detectors.assign(waiting.begin(), waiting.end());
  return s;
}

void Scheduler::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shutdown_ = true;
  task_ready_.notify_all();
}

}  // namespace fh::master
