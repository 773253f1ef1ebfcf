#pragma once
// The scheduler's worker registry: who is registered, when each worker was last seen, which
// tasks it holds, and which workers missed too many heartbeats (dead).
// Not thread-safe: the Scheduler owns it and calls it only while holding Scheduler::mutex_.

#include "framehive/master/types.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fh::master {

class WorkerRegistry {
 public:
  /// A worker is dead after heartbeat_misses heartbeat intervals without a sign of life.
  WorkerRegistry(double heartbeat_interval, int heartbeat_misses);

  /// Registers a worker, or registers it again (it restarted): alive, seen now. Returns the
  /// task ids a returning worker still held; they are no longer held by it.
  std::set<std::string> register_worker(const std::string& worker_id, const std::string& address,
                                        std::vector<std::string> capabilities, double now_wall,
                                        double now_mono, const std::string& peer = {});
  /// The peer (network address) of the worker with this id when it is alive and not yet past
  /// its heartbeat deadline at now_mono and registered from a known peer; null otherwise.
  const std::string* live_peer(const std::string& worker_id, double now_mono) const;
  /// Removes workers dead for longer than retention seconds (they hold nothing), and beyond
  /// that the longest-silent dead workers while more than keep entries are listed. Returns
  /// how many were removed.
  std::size_t prune(double now_mono, double retention, std::size_t keep);
  /// Workers listed, dead ones included.
  std::size_t size() const { return workers_.size(); }
  /// Whether a worker with this id is listed.
  bool known(const std::string& worker_id) const { return workers_.count(worker_id) > 0; }
  /// Marks an alive worker as seen now; returns its capabilities, or null for an unknown or
  /// dead worker.
  const std::vector<std::string>* seen(const std::string& worker_id, double now_wall,
                                       double now_mono);

  /// The worker now holds task_id (counted as assigned).
  void hold(const std::string& worker_id, const std::string& task_id);
  /// The worker no longer holds task_id (unknown worker or task: nothing happens).
  void release(const std::string& worker_id, const std::string& task_id);
  /// Counts a completion by the worker (dead or alive) and marks it as seen now.
  void count_completed(const std::string& worker_id, double now_wall, double now_mono);
  /// Counts a job failure reported by the worker.
  void count_failed(const std::string& worker_id);

  /// Marks alive workers silent for too long at now_mono as dead (each logged on "rpc") and
  /// returns, per newly dead worker in id order, the task ids it holds.
  std::vector<std::set<std::string>> mark_dead(double now_mono);
  /// Every task id held by a worker, in worker id order then task id order.
  std::vector<std::string> held_tasks() const;

  /// One status row per worker, in id order, with the tasks it holds.
  std::vector<WorkerStatus> status_rows() const;
  /// The capabilities of the alive workers.
  std::set<std::string> offered_capabilities() const;
  /// Whether an alive worker offers the detector (no scan: counted on each change of state).
  bool offers(const std::string& detector) const { return offered_.count(detector) > 0; }

 private:
  struct Worker {
    WorkerStatus info;              ///< status row without current_tasks
    double last_seen_mono = 0.0;    ///< last sign of life, monotonic
    std::set<std::string> holding;  ///< task ids in progress with this worker
    std::string peer;               ///< network address it registered from; empty: unknown
  };

  /// Silent for longer than heartbeat_misses heartbeat intervals at now_mono.
  bool dead(const Worker& w, double now_mono) const;
  /// Adds (+1) or removes (-1) an alive worker's capabilities from offered_.
  void count_offered(const Worker& w, int delta);

  const double heartbeat_interval_;        ///< seconds between heartbeats a worker sends
  const int heartbeat_misses_;             ///< missed heartbeats after which a worker is dead
  std::map<std::string, Worker> workers_;  ///< worker id -> worker, dead ones included
  /// capability -> alive workers offering it (entries > 0 only)
  std::map<std::string, int> offered_;
};

}  // namespace fh::master
