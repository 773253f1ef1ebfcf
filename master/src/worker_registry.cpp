#include "worker_registry.hpp"

#include "framehive/shared/logging.hpp"

#include <algorithm>

namespace fh::master {

WorkerRegistry::WorkerRegistry(double heartbeat_interval, int heartbeat_misses)
    : heartbeat_interval_(heartbeat_interval), heartbeat_misses_(heartbeat_misses) {}

std::set<std::string> WorkerRegistry::register_worker(const std::string& worker_id,
                                                      const std::string& address,
                                                      std::vector<std::string> capabilities,
                                                      double now_wall, double now_mono,
                                                      const std::string& peer) {
  Worker& w = workers_[worker_id];
  if (w.info.alive) count_offered(w, -1);  // its capabilities may change
  w.peer = peer;
  std::set<std::string> held;
  held.swap(w.holding);  // a worker that registers again lost whatever it held
  w.info.worker_id = worker_id;
  w.info.address = address;
  w.info.capabilities = std::move(capabilities);
  w.info.alive = true;
  w.info.registered_at = now_wall;
  w.info.last_seen = now_wall;
  w.last_seen_mono = now_mono;
  count_offered(w, +1);
  return held;
}

void WorkerRegistry::count_offered(const Worker& w, int delta) {
  for (const auto& c : w.info.capabilities) {
    auto it = offered_.emplace(c, 0).first;
    it->second += delta;
    if (it->second <= 0) offered_.erase(it);
  }
}

const std::vector<std::string>* WorkerRegistry::seen(const std::string& worker_id, double now_wall,
                                                     double now_mono) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.info.alive) return nullptr;
  it->second.info.last_seen = now_wall;
  it->second.last_seen_mono = now_mono;
  return &it->second.info.capabilities;
}

void WorkerRegistry::hold(const std::string& worker_id, const std::string& task_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  it->second.holding.insert(task_id);
  it->second.info.assigned++;
}

void WorkerRegistry::release(const std::string& worker_id, const std::string& task_id) {
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.holding.erase(task_id);
}

void WorkerRegistry::count_completed(const std::string& worker_id, double now_wall,
                                     double now_mono) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  it->second.info.completed++;
  it->second.info.last_seen = now_wall;
  it->second.last_seen_mono = now_mono;
}

void WorkerRegistry::count_failed(const std::string& worker_id) {
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.info.failed++;
}

std::vector<std::set<std::string>> WorkerRegistry::mark_dead(double now_mono) {
  std::vector<std::set<std::string>> held;
  for (auto& [id, w] : workers_) {
    if (!w.info.alive || !dead(w, now_mono)) continue;
    w.info.alive = false;
    count_offered(w, -1);
    shared::logger("rpc")->warn("worker {} missed {} heartbeats: dead, {} task(s) reassigned", id,
                                heartbeat_misses_, w.holding.size());
    held.push_back(w.holding);
  }
  return held;
}

const std::string* WorkerRegistry::live_peer(const std::string& worker_id, double now_mono) const {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.info.alive || dead(it->second, now_mono)) return nullptr;
  return it->second.peer.empty() ? nullptr : &it->second.peer;
}

std::size_t WorkerRegistry::prune(double now_mono, double retention, std::size_t keep) {
  std::size_t removed = 0;
  std::vector<std::pair<double, std::string>> dead_ones;  // last seen, id
  for (auto it = workers_.begin(); it != workers_.end();) {
    const Worker& w = it->second;
    if (w.info.alive || !w.holding.empty()) {
      ++it;
    } else if (now_mono - w.last_seen_mono > retention) {
      it = workers_.erase(it);
      ++removed;
    } else {
      dead_ones.emplace_back(w.last_seen_mono, it->first);
      ++it;
    }
  }
  if (workers_.size() > keep) {
    std::sort(dead_ones.begin(), dead_ones.end());
    for (const auto& [seen, id] : dead_ones) {
      if (workers_.size() <= keep) break;
      workers_.erase(id);
      ++removed;
    }
  }
  return removed;
}

bool WorkerRegistry::dead(const Worker& w, double now_mono) const {
  return now_mono - w.last_seen_mono > heartbeat_interval_ * heartbeat_misses_;
}

std::vector<std::string> WorkerRegistry::held_tasks() const {
  std::vector<std::string> ids;
  for (const auto& [id, w] : workers_) ids.insert(ids.end(), w.holding.begin(), w.holding.end());
  return ids;
}

std::vector<WorkerStatus> WorkerRegistry::status_rows() const {
  std::vector<WorkerStatus> rows;
  rows.reserve(workers_.size());
  for (const auto& [id, w] : workers_) {
    WorkerStatus ws = w.info;
    ws.current_tasks.assign(w.holding.begin(), w.holding.end());
    rows.push_back(std::move(ws));
  }
  return rows;
}

std::set<std::string> WorkerRegistry::offered_capabilities() const {
  std::set<std::string> offered;
  for (const auto& [c, n] : offered_) offered.insert(c);
  return offered;
}

}  // namespace fh::master
