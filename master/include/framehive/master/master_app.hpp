#pragma once
// The framehive-master process: result store, scheduler, monitor thread and XML-RPC server
// wired together. run() blocks until stop(); stop() may be called from any thread (signals).

#include "framehive/master/result_store.hpp"
#include "framehive/master/rpc_server.hpp"
#include "framehive/master/scheduler.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace fh::master {

class EventEngine;

struct MasterConfig {
  SchedulerConfig scheduler;
  RpcServerConfig rpc;
  std::string db_path = "framehive-master.db";  ///< ":memory:" persists nothing
  double monitor_interval = 0.25;               ///< seconds between monitor passes
  double stats_interval = 10.0;                 ///< seconds between status log lines (0: off)
  double prune_interval = 60.0;                 ///< seconds between database retention passes
  /// --events-config: zones, rules, MQTT (docs/events.md); empty: events are made and kept,
  /// nothing is delivered.
  std::string events_config;
};

class MasterApp {
 public:
  /// Opens the database and binds the server; throws std::runtime_error on failure.
  explicit MasterApp(MasterConfig config);
  ~MasterApp();

  int port() const { return server_->port(); }
  /// Serves until stop(); returns after the monitor thread ended.
  void run();
  void stop();
  /// One-line summary of the counters, for logs and the final line.
  std::string summary();
  Scheduler& scheduler() { return *scheduler_; }
  /// Reloads --events-config (SIGHUP); returns the error, "" when reloaded.
  std::string reload_events();

 private:
  void monitor_loop();

  MasterConfig config_;                   ///< immutable after construction
  std::unique_ptr<ResultStore> store_;    ///< persistence
  std::unique_ptr<Scheduler> scheduler_;  ///< task state
  std::unique_ptr<EventEngine> events_;   ///< tracks, rules, events, delivery
  std::unique_ptr<RpcServer> server_;     ///< XML-RPC endpoint
  std::mutex mutex_;                      ///< guards stop_
  std::condition_variable stop_cv_;       ///< wakes the monitor on stop
  bool stop_ = false;
};

}  // namespace fh::master
