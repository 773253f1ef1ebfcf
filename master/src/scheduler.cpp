#include "framehive/master/scheduler.hpp"

#include "framehive/shared/logging.hpp"
#include "port_metrics.hpp"
#include "worker_registry.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>

namespace fh::master {
namespace {

/// The config, or std::invalid_argument for what main() refuses as usage errors.
SchedulerConfig checked(SchedulerConfig c) {
  if (c.default_detector.empty()) throw std::invalid_argument("default detector: empty");
  for (const auto& [port, chain] : c.port_detectors) {
    if (chain.empty())
      throw std::invalid_argument("port " + std::to_string(port) + ": no detector");
    for (const auto& d : chain) {
      if (d.empty())
        throw std::invalid_argument("port " + std::to_string(port) + ": empty detector");
    }
  }
  for (const auto& [port, w] : c.port_weights) {
    if (w < 1 || w > k_max_port_weight) {
      throw std::invalid_argument("port " + std::to_string(port) + ": weight " + std::to_string(w) +
                                  " out of 1.." + std::to_string(k_max_port_weight));
    }
  }
  return c;
}

/// Each port's default detector: its chain's first choice.
std::map<int, std::string> first_choices(const std::map<int, std::vector<std::string>>& chains) {
  std::map<int, std::string> out;
  for (const auto& [port, chain] : chains) out[port] = chain.front();
  return out;
}

}  // namespace

Scheduler::Scheduler(SchedulerConfig config, const shared::Clock& clock, ResultStore* store,
                     std::string id_prefix)
    : config_(checked(std::move(config))),
      clock_(clock),
      store_(store),
      id_prefix_(std::move(id_prefix)),
      started_wall_(clock.wall()),
      workers_(
          std::make_unique<WorkerRegistry>(config_.heartbeat_interval, config_.heartbeat_misses)),
      metrics_(std::make_unique<PortMetrics>(
          config_.default_detector, first_choices(config_.port_detectors), config_.retain_results,
          config_.keep_frames, config_.keep_frames_bytes)) {
  if (store_) {
    for (auto& [p, records] : store_->load_recent(config_.retain_results)) {
      metrics_->load_results(p, std::move(records));
    }
  }
}

Scheduler::~Scheduler() = default;

const char* Scheduler::failure_reason(RequeueReason why) {
  switch (why) {
    case RequeueReason::timeout:
      return "timeout";
    case RequeueReason::worker_dead:
      return "worker_dead";
    case RequeueReason::worker_restarted:
      return "worker_restarted";
  }
  return "requeued";
}

Scheduler::Entry* Scheduler::find(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second;
}

const std::vector<std::string>* Scheduler::chain(int port) const {
  auto it = config_.port_detectors.find(port);
  return it != config_.port_detectors.end() && it->second.size() > 1 ? &it->second : nullptr;
}

const std::string& Scheduler::running_detector(const std::vector<std::string>& chain) const {
  for (const auto& d : chain) {
    if (workers_->offers(d)) return d;
  }
  return chain.front();
}

bool Scheduler::chain_alive(const std::vector<std::string>& chain) const {
  return std::any_of(chain.begin(), chain.end(),
                     [this](const std::string& d) { return workers_->offers(d); });
}

Scheduler::Queues& Scheduler::queues(int port) {
  metrics_->stats(port);  // a port with queues always has its books (status lists it)
  return pending_[port];
}

std::vector<std::string> Scheduler::add_frames(std::vector<Frame> frames) {
  std::vector<std::string> ids;
  ids.reserve(frames.size());
  const double now_wall = clock_.wall();
  std::uint64_t first_seq = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<int> fresh;
    for (const auto& f : frames) {
      if (!metrics_->has(f.port)) fresh.insert(f.port);
    }
    if (!fresh.empty() && metrics_->port_count() + fresh.size() > config_.max_ports) {
      throw LimitError("port " + std::to_string(*fresh.begin()) + ": the master keeps books for " +
                       std::to_string(metrics_->port_count()) + " ports, its limit (--max-ports)");
    }
    if (config_.max_pending_uploads > 0) {
      std::size_t uploads = 0;
      for (const auto& f : frames) uploads += f.port == shared::api::k_upload_port ? 1 : 0;
      if (uploads > 0 &&
          static_cast<std::size_t>(metrics_->stats(shared::api::k_upload_port).pending) + uploads >
              config_.max_pending_uploads) {
        throw LimitError(std::to_string(config_.max_pending_uploads) +
                         " uploaded images are waiting already (--max-pending-uploads): try "
                         "again when workers have processed some");
      }
    }
    for (int port : fresh) metrics_->stats(port);  // admitted now: concurrent calls see them
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
      Queues& q = queues(f.port);
      PortStatus& p = metrics_->stats(f.port);
      // A frame that names no detector gets its port's, or waits for its port's chain.
      const bool chained = f.detector.empty() && chain(f.port) != nullptr;
      if (f.detector.empty() && !chained) f.detector = p.detector;
      if (f.received_at <= 0.0) f.received_at = now_wall;
      if (!f.stream.empty()) p.stream = f.stream;
      p.received++;
      p.gated += f.gated;
      p.last_frame_id = f.frame_id;
      metrics_->record_received(f.port, now_mono, now_wall);
      if (f.port != shared::api::k_upload_port && config_.max_pending_per_port > 0 &&
          static_cast<std::size_t>(p.pending) >= config_.max_pending_per_port) {
        drop_oldest_pending(f.port, q);
      }
      Entry e;
      e.seq = first_seq + i;
      e.task.task_id = ids[i];
      e.task.attempt = 1;
      e.task.frame = std::move(f);
      e.added_mono = now_mono;
      e.chained = chained;
      q[chained ? k_chain_queue : e.task.frame.detector].push_back(ids[i]);
      p.pending++;
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

void Scheduler::drop_oldest_pending(int port, Queues& queues) {
  // The oldest pending task of the port over all its detector queues (stale heads skipped).
  std::deque<std::string>* oldest_q = nullptr;
  std::uint64_t oldest_seq = 0;
  for (auto& [det, q] : queues) {
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
  discard_pending(port, std::move(id), Discard::dropped);
}

void Scheduler::discard_pending(int port, std::string id, Discard why) {
  PortStatus& p = metrics_->stats(port);
  tasks_.erase(id);
  forgotten_.push_back(std::move(id));  // its journal row goes at the next forget()
  p.pending--;
  counters_.pending--;
  if (why == Discard::dropped) {
    p.dropped++;
    counters_.dropped++;
  } else {
    p.expired++;
    counters_.expired++;
  }
}

bool Scheduler::too_old(const Entry& e, double now_wall, double now_mono) const {
  // An upload waits for a worker however long it takes (max_pending_uploads bounds them).
  if (e.task.frame.port == shared::api::k_upload_port) return false;
  const double age = e.task.frame.captured_at > 0.0 ? now_wall - e.task.frame.captured_at
                                                    : now_mono - e.added_mono;
  return config_.max_frame_age > 0.0 && age > config_.max_frame_age;
}

Registration Scheduler::register_worker(const std::string& worker_id, const std::string& address,
                                        std::vector<std::string> capabilities,
                                        const std::string& peer) {
  std::vector<FailureRecord> failures;
  Registration reg{config_.heartbeat_interval, config_.task_timeout};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const double now_mono = clock_.mono();
    if (const std::string* owner = workers_->live_peer(worker_id, now_mono);
        owner && !peer.empty() && *owner != peer) {
      throw RequestError(
          "worker id '" + worker_id + "' belongs to a live worker at " + *owner + ", not " + peer +
          ": give this worker another --id, or wait until " + "that one is declared dead (" +
          std::to_string(static_cast<int>(config_.heartbeat_interval * config_.heartbeat_misses)) +
          " s without a heartbeat)");
    }
    if (!workers_->known(worker_id) && workers_->size() >= config_.max_workers) {
      workers_->prune(now_mono, config_.worker_retention, config_.max_workers - 1);
      if (workers_->size() >= config_.max_workers) {
        throw LimitError("the master lists " + std::to_string(workers_->size()) +
                         " workers, its limit (--max-workers): worker '" + worker_id +
                         "' is refused until dead ones are pruned");
      }
    }
    const std::set<std::string> held = workers_->register_worker(
        worker_id, address, std::move(capabilities), clock_.wall(), now_mono, peer);
    if (!held.empty()) {
      // A worker that registers again lost whatever it held (it restarted): put it back now.
      for (const auto& id : held) {
        if (Entry* e = find(id)) requeue(*e, RequeueReason::worker_restarted, failures);
      }
      task_ready_.notify_all();
    }
  }
  persist(failures);  // outside mutex_: a store error takes it to count itself
  return reg;
}

bool Scheduler::heartbeat(const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return workers_->seen(worker_id, clock_.wall(), clock_.mono()) != nullptr;
}

Scheduler::Entry* Scheduler::head_for(int port, Queues& queues,
                                      const std::vector<std::string>& capabilities,
                                      std::deque<std::string>*& best_q, double now_wall,
                                      double now_mono) {
  Entry* best = nullptr;
  const auto consider = [&](std::deque<std::string>& q) {
    while (!q.empty()) {
      Entry* e = find(q.front());
      if (!e || e->state != State::pending) {  // stale: finished late, dropped
        q.pop_front();
        continue;
      }
      if (too_old(*e, now_wall, now_mono)) {
        q.pop_front();
        discard_pending(port, e->task.task_id, Discard::expired);
        continue;
      }
      if (!best || e->seq < best->seq) {
        best = e;
        best_q = &q;
      }
      return;
    }
  };
  for (const auto& cap : capabilities) {
    if (cap == k_chain_queue) continue;  // not a detector name
    auto qi = queues.find(cap);
    if (qi != queues.end()) consider(qi->second);
  }
  if (const auto* c = chain(port)) {
    auto qi = queues.find(k_chain_queue);
    if (qi != queues.end() && std::find(capabilities.begin(), capabilities.end(),
                                        running_detector(*c)) != capabilities.end()) {
      consider(qi->second);
    }
  }
  return best;
}

bool Scheduler::runnable(int port, const Queues& queues,
                         const std::vector<std::string>& capabilities) const {
  for (const auto& cap : capabilities) {
    if (cap == k_chain_queue) continue;  // not a detector name
    auto qi = queues.find(cap);
    if (qi != queues.end() && !qi->second.empty()) return true;
  }
  if (const auto* c = chain(port)) {
    auto qi = queues.find(k_chain_queue);
    return qi != queues.end() && !qi->second.empty() &&
           std::find(capabilities.begin(), capabilities.end(), running_detector(*c)) !=
               capabilities.end();
  }
  return false;
}

bool Scheduler::take(const std::vector<std::string>& capabilities, Entry*& out) {
  if (pending_.empty()) return false;
  const double now_wall = clock_.wall();
  const double now_mono = clock_.mono();
  struct Candidate {
    int port;
    Queues* queues;
    std::int64_t weight;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(pending_.size());
  while (true) {
    // The ports with a queue this worker can run, from the one after the port served last
    // (ties go to the first: equal weights make a plain round robin). Smooth weighted round
    // robin picks one: each candidate gains its weight, the largest is served and loses the
    // total; over backlogged ports the shares follow the weights, interleaved. Queue entries
    // are checked only for the pick (a scan of every port's head would cost a task lookup
    // each).
    candidates.clear();
    std::int64_t total = 0;
    std::size_t best = 0;
    std::int64_t best_current = 0;
    auto it = pending_.upper_bound(rr_cursor_);
    for (std::size_t n = 0; n < pending_.size(); ++n, ++it) {
      if (it == pending_.end()) it = pending_.begin();
      const int port = it->first;
      Queues& queues = it->second;
      if (std::all_of(queues.begin(), queues.end(),
                      [](const auto& q) { return q.second.empty(); })) {
        rr_current_.erase(port);  // no backlog: it starts afresh when frames come
        continue;
      }
      if (!runnable(port, queues, capabilities)) continue;  // keeps its place
      const auto w = config_.port_weights.find(port);
      const std::int64_t weight = w == config_.port_weights.end() ? 1 : w->second;
      const auto cur = rr_current_.find(port);
      const std::int64_t current = (cur == rr_current_.end() ? 0 : cur->second) + weight;
      if (candidates.empty() || current > best_current) {
        best = candidates.size();
        best_current = current;
      }
      candidates.push_back({port, &queues, weight});
      total += weight;
    }
    if (candidates.empty()) return false;
    const Candidate& pick = candidates[best];
    std::deque<std::string>* q = nullptr;
    Entry* e = head_for(pick.port, *pick.queues, capabilities, q, now_wall, now_mono);
    if (!e) continue;  // only finished or expired entries, now gone from its queues: again
    for (const auto& c : candidates) rr_current_[c.port] += c.weight;
    rr_current_[pick.port] -= total;
    for (const auto& c : candidates) {  // bounded whatever the candidates were before
      std::int64_t& current = rr_current_[c.port];
      current = std::clamp(current, -total, total);
    }
    q->pop_front();
    rr_cursor_ = pick.port;
    out = e;
    if (out->chained) out->task.frame.detector = running_detector(*chain(pick.port));
    return true;
  }
}

std::optional<Task> Scheduler::request_task(const std::string& worker_id, int wait_ms) {
  wait_ms = std::clamp(wait_ms, 0, config_.max_wait_ms);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::optional<Task> out;
  std::vector<std::string> gone;  // frames expired on the way: out of the journal, unlocked
  {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      const auto* capabilities = workers_->seen(worker_id, clock_.wall(), clock_.mono());
      if (!capabilities) {
        gone.swap(forgotten_);
        lock.unlock();
        forget(gone);
        throw RequestError("unknown worker '" + worker_id + "': call register_worker first");
      }
      Entry* e = nullptr;
      if (!shutdown_ && take(*capabilities, e)) {
        e->state = State::in_progress;
        e->worker_id = worker_id;
        e->started_mono = clock_.mono();
        PortStatus& p = metrics_->stats(e->task.frame.port);
        p.pending--;
        p.in_progress++;
        counters_.pending--;
        counters_.in_progress++;
        workers_->hold(worker_id, e->task.task_id);
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
  workers_->release(e.worker_id, e.task.task_id);
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
  e.state = State::pending;
  e.worker_id.clear();
  // Back at the front: the frame is older than anything queued behind it. A chained task is
  // handed out again to the detector its chain names then.
  queues(e.task.frame.port)[e.chained ? k_chain_queue : e.task.frame.detector].push_front(
      e.task.task_id);
  metrics_->stats(e.task.frame.port).pending++;
  counters_.pending++;
}

void Scheduler::fail(Entry& e, const std::string& reason, const std::string& worker_id,
                     std::vector<FailureRecord>& persist) {
  PortStatus& p = metrics_->stats(e.task.frame.port);
  if (e.state == State::in_progress) {
    p.in_progress--;
    counters_.in_progress--;
  } else if (e.state == State::pending) {
    p.pending--;
    counters_.pending--;
  }
  remove_from_holder(e);
  e.state = State::failed;
  p.failed++;
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
  e.failure = f;
  persist.push_back(std::move(f));
  finish(e);
}

void Scheduler::requeue(Entry& e, RequeueReason why, std::vector<FailureRecord>& persist) {
  if (e.state != State::in_progress) return;
  const std::string holder = e.worker_id;
  if (e.task.attempt >= config_.max_attempts) {
    if (why == RequeueReason::timeout) counters_.failed_timeout++;
    fail(e, failure_reason(why), holder, persist);
    return;
  }
  metrics_->stats(e.task.frame.port).in_progress--;
  counters_.in_progress--;
  remove_from_holder(e);
  e.task.attempt++;
  if (why == RequeueReason::timeout) {
    counters_.requeued_timeout++;
  } else {
    counters_.requeued_dead_worker++;
  }
  to_pending(e);
}

bool Scheduler::complete_task(const std::string& worker_id, const std::string& task_id,
                              Result result) {
  ResultRecord rec;
  CompletedFrame frame;
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
    PortStatus& p = metrics_->stats(e->task.frame.port);
    if (e->state != State::in_progress || e->worker_id != worker_id) {
      counters_.late_completions++;  // after a reassignment: the first result wins
    }
    if (e->state == State::in_progress) {
      p.in_progress--;
      counters_.in_progress--;
    } else {
      p.pending--;  // its queue entry goes stale and is skipped
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
    frame.width = f.width;
    frame.height = f.height;
    frame.gated = f.gated;
    frame.motion = f.motion;
    metrics_->record_completion(rec, f.image, now_mono);
    workers_->count_completed(worker_id, now_wall, now_mono);
    finish(*e);
  }
  if (store_) {
    try {
      store_->add_result(rec);
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
  if (on_completed_) on_completed_(rec, frame);
  return true;
}

void Scheduler::set_completion_listener(CompletionListener listener) {
  on_completed_ = std::move(listener);
}

void Scheduler::set_track_ids(const std::string& task_id, int port,
                              const std::vector<std::int64_t>& ids) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_->set_track_ids(port, task_id, ids);
  }
  if (store_) {
    try {
      store_->set_track_ids(task_id, ids);
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
}

bool Scheduler::fail_task(const std::string& worker_id, const std::string& task_id,
                          const std::string& reason) {
  std::vector<FailureRecord> failures;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry* e = find(task_id);
    if (!e || e->state != State::in_progress) return false;
    workers_->count_failed(worker_id);
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

void Scheduler::note_lost_at_start(const std::map<int, std::int64_t>& per_port) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [p, n] : per_port) {
    metrics_->stats(p).lost_at_start += n;
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
    const auto dead = workers_->mark_dead(now_mono);
    for (const auto& held : dead) {
      for (const auto& tid : held) {
        if (Entry* e = find(tid)) {
          requeue(*e, RequeueReason::worker_dead, failures);
          ++requeued;
        }
      }
    }
    workers_->prune(now_mono, config_.worker_retention, config_.max_workers);
    // Stale tasks: in progress for longer than the timeout.
    for (const auto& tid : workers_->held_tasks()) {
      Entry* e = find(tid);
      if (e && now_mono - e->started_mono > config_.task_timeout) {
        requeue(*e, RequeueReason::timeout, failures);
        ++requeued;
      }
    }
    // Expiry of pending frames (queue heads; requeued frames sit at the front).
    if (config_.max_frame_age > 0.0) {
      for (auto& [pn, queues] : pending_) {
        for (auto& [det, q] : queues) {
          while (!q.empty()) {
            Entry* e = find(q.front());
            if (!e || e->state != State::pending) {
              q.pop_front();
              continue;
            }
            if (!too_old(*e, now_wall, now_mono)) break;
            q.pop_front();
            discard_pending(pn, e->task.task_id, Discard::expired);
          }
        }
      }
    }
    // A death may move a chain to its fallback: waiting workers look again.
    if (requeued || !dead.empty()) task_ready_.notify_all();
    gone.swap(forgotten_);
  }
  persist(failures);
  forget(gone);
  return requeued;
}

std::optional<KeptFrame> Scheduler::get_frame(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->kept_frame(task_id);
}

shared::api::Image Scheduler::kept_image(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->kept_image(task_id);
}

std::optional<KeptFrame> Scheduler::latest_frame(int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->latest_frame(port);
}

std::optional<TaskInfo> Scheduler::task_info(const std::string& task_id) {
  TaskInfo info;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Entry* e = find(task_id);
    if (!e) return std::nullopt;
    const Frame& f = e->task.frame;
    info.task_id = task_id;
    info.port = f.port;
    info.stream = f.stream;
    info.detector = e->chained && e->state == State::pending
                        ? running_detector(*chain(f.port))  // where it goes if handed out now
                        : f.detector;
    info.attempt = e->task.attempt;
    switch (e->state) {
      case State::pending:
        info.state = "pending";
        break;
      case State::in_progress:
        info.state = "in_progress";
        break;
      case State::completed:
        info.state = "completed";
        if (auto r = metrics_->find_result(f.port, task_id)) {
          info.record = std::move(*r);
          info.has_record = true;
        }
        break;
      case State::failed:
        info.state = "failed";
        if (e->failure) {
          info.failure = *e->failure;
          info.has_failure = true;
        }
        break;
    }
  }
  if (info.state == "completed" && !info.has_record && store_) {
    try {
      if (auto r = store_->result_by_task(task_id)) {
        info.record = std::move(*r);
        info.has_record = true;
      }
    } catch (const std::exception& ex) {
      store_failed(ex);
    }
  }
  return info;
}

shared::api::Image Scheduler::task_image(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Entry* e = find(task_id);
  if (!e || (e->state != State::pending && e->state != State::in_progress)) return nullptr;
  return e->task.frame.image;
}

void Scheduler::report_receiver(const std::string& receiver_id, const std::string& peer,
                                std::vector<shared::api::ReceiverPortCounters> ports) {
  constexpr std::size_t k_max_receivers = 64;
  if (ports.size() > config_.max_ports) {
    throw LimitError("report of " + std::to_string(ports.size()) + " ports, over --max-ports " +
                     std::to_string(config_.max_ports));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const double now = clock_.wall();
  for (auto it = receivers_.begin(); it != receivers_.end();) {
    it = now - it->second.last_seen > config_.worker_retention ? receivers_.erase(it)
                                                               : std::next(it);
  }
  if (!receivers_.count(receiver_id) && receivers_.size() >= k_max_receivers) {
    throw LimitError("the master lists " + std::to_string(k_max_receivers) +
                     " receivers, its limit: receiver '" + receiver_id + "' is not listed");
  }
  auto& r = receivers_[receiver_id];
  r.receiver_id = receiver_id;
  r.address = peer;
  r.last_seen = now;
  std::sort(ports.begin(), ports.end(),
            [](const auto& a, const auto& b) { return a.port < b.port; });
  r.ports = std::move(ports);
}

bool Scheduler::detector_offered(const std::string& detector) {
  std::lock_guard<std::mutex> lock(mutex_);
  return workers_->offers(detector);
}

bool Scheduler::knows_port(int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->has(port);
}

bool Scheduler::frame_kept(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->is_kept(task_id);
}

std::vector<PortCounters> Scheduler::port_counters() {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->counters();
}

std::vector<ResultRecord> Scheduler::get_results(int p, std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_->results(p, limit);
}

SchedulerStatus Scheduler::status() {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerStatus s = counters_;
  const double now_mono = clock_.mono();
  s.uptime_s = clock_.wall() - started_wall_;
  s.workers = workers_->status_rows();
  s.ports = metrics_->status_rows(now_mono);
  std::set<std::string> waiting;
  std::set<int> waiting_ports;
  for (const auto& [pn, queues] : pending_) {
    const auto* port_chain = chain(pn);
    for (const auto& [det, q] : queues) {
      std::int64_t n = 0;
      for (const auto& id : q) {
        auto it = tasks_.find(id);
        // a requeued task may sit twice in a queue (its stale entry is skipped on take)
        if (it != tasks_.end() && it->second.state == State::pending) ++n;
      }
      if (n == 0) continue;
      if (det == k_chain_queue) {
        if (!port_chain) continue;  // cannot be: only ports with a chain queue here
        s.queue[running_detector(*port_chain)] += n;
        // The port waits only when no detector of its chain has a live worker.
        if (!chain_alive(*port_chain)) {
          waiting.insert(port_chain->begin(), port_chain->end());
          waiting_ports.insert(pn);
        }
        continue;
      }
      s.queue[det] += n;
      if (!workers_->offers(det)) {
        waiting.insert(det);
        waiting_ports.insert(pn);
      }
    }
  }
  s.waiting_detectors.assign(waiting.begin(), waiting.end());
  const double now_wall = clock_.wall();
  for (auto& p : s.ports) {
    if (const auto* c = chain(p.port)) {
      p.detector_chain = *c;
      p.running_detector = running_detector(*c);
      p.fallback = p.running_detector != c->front();
    }
    const double silent = now_wall - p.last_received_at;
    if (waiting_ports.count(p.port)) {
      p.state = "waiting";
    } else if (p.received == 0 && p.last_received_at <= 0.0) {
      p.state = "idle";
    } else if (p.port != shared::api::k_upload_port && config_.stall_after > 0 &&
               silent > config_.stall_after) {
      p.state = "stalled";
      p.stalled_s = silent;
    } else {
      p.state = "live";
    }
  }
  std::map<int, std::int64_t> incomplete;
  for (const auto& [id, r] : receivers_) {
    s.receivers.push_back(r);
    for (const auto& c : r.ports) incomplete[c.port] += c.frames_incomplete;
  }
  for (auto& p : s.ports) {
    auto it = incomplete.find(p.port);
    if (it != incomplete.end()) p.incomplete = it->second;
  }
  for (auto& w : s.workers) {
    for (const auto& id : w.current_tasks) {
      if (const Entry* e = find(id))
        w.task_age_s = std::max(w.task_age_s, now_mono - e->started_mono);
    }
  }
  return s;
}

void Scheduler::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shutdown_ = true;
  task_ready_.notify_all();
}

}  // namespace fh::master
