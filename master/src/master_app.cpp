#include "framehive/master/master_app.hpp"

#include "event_engine.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/stats_line.hpp"

#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <thread>

namespace fh::master {
namespace {

std::string random_prefix() {
  std::random_device rd;
  std::ostringstream os;
  os << "r" << std::hex << (static_cast<std::uint64_t>(rd()) << 32 | rd());
  return os.str();
}

constexpr const char* k_lost_reason = "lost: master stopped before the frame was processed";

/// Moves the journalled frames to failures and logs how many per port; returns the counts.
std::map<int, std::int64_t> record_lost(ResultStore& store, const char* when) {
  auto lost = store.fail_journalled(k_lost_reason, shared::SystemClock::instance().wall());
  std::int64_t total = 0;
  std::ostringstream ports;
  for (const auto& [port, n] : lost) {
    total += n;
    ports << (total == n ? "" : ", ") << "port " << port << ": " << n;
  }
  if (total > 0) {
    shared::logger("rpc")->warn(
        "{} {} frame(s) were queued or in progress ({}); recorded as failed ('{}', see "
        "get_failures)",
        when, total, ports.str(), k_lost_reason);
  }
  return lost;
}

}  // namespace

MasterApp::MasterApp(MasterConfig config) : config_(std::move(config)) {
  store_ = std::make_unique<ResultStore>(config_.db_path);
  // Task ids carry the start counter of the database, so they never collide across restarts;
  // without a file the counter restarts, so a random prefix is used instead.
  const std::string prefix =
      config_.db_path == ":memory:" ? random_prefix() : "e" + std::to_string(store_->next_epoch());
  // Frames the previous run held when it was killed are in the journal still.
  const auto lost = record_lost(*store_, "when the master last stopped,");
  scheduler_ = std::make_unique<Scheduler>(config_.scheduler, shared::SystemClock::instance(),
                                           store_.get(), prefix);
  scheduler_->note_lost_at_start(lost);
  EventEngineConfig events;
  events.config_path = config_.events_config;
  events_ = std::make_unique<EventEngine>(*scheduler_, config_.db_path, prefix,
                                          store_->max_track_id() + 1, events,
                                          shared::SystemClock::instance());
  scheduler_->set_completion_listener(
      [ev = events_.get()](const ResultRecord& r, const CompletedFrame& f) {
        ev->on_completed(r, f);
      });
  server_ = std::make_unique<RpcServer>(*scheduler_, store_.get(), config_.rpc, events_.get());
  shared::logger("rpc")->info(
      "listening on {}://{}:{}/RPC2 ({}, database {}, task ids {}-N)", server_->scheme(),
      config_.rpc.bind, server_->port(),
      config_.rpc.auth_secret.empty() ? "no authentication" : "HTTP Basic authentication",
      config_.db_path, prefix);
}

MasterApp::~MasterApp() {
  if (events_) events_->stop();
}

std::string MasterApp::reload_events() { return events_->reload(); }

void MasterApp::run() {
  events_->start();
  std::thread monitor([this] { monitor_loop(); });
  server_->run();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  monitor.join();
  events_->stop();  // tracks what completed before the stop, stores and hands over its events
  try {
    record_lost(*store_, "at this stop");
  } catch (const std::exception& e) {
    shared::logger("rpc")->error("{}", e.what());
  }
}

void MasterApp::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  server_->stop();
}

void MasterApp::monitor_loop() {
  using clock = std::chrono::steady_clock;
  auto next_stats = clock::now() + std::chrono::duration<double>(config_.stats_interval);
  auto next_prune = clock::now() + std::chrono::duration<double>(config_.prune_interval);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    stop_cv_.wait_for(lock, std::chrono::duration<double>(config_.monitor_interval));
    if (stop_) break;
    lock.unlock();
    try {
      scheduler_->tick();
      const auto now = clock::now();
      if (config_.stats_interval > 0 && now >= next_stats) {
        shared::logger("rpc")->info("{}", summary());
        next_stats = now + std::chrono::duration<double>(config_.stats_interval);
      }
      if (now >= next_prune) {
        store_->prune(config_.scheduler.retain_results);
        next_prune = now + std::chrono::duration<double>(config_.prune_interval);
      }
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("monitor: {}", e.what());
    }
    lock.lock();
  }
}

std::string MasterApp::summary() {
  const auto s = scheduler_->status();
  std::size_t alive = 0;
  for (const auto& w : s.workers) alive += w.alive ? 1 : 0;
  shared::StatsLine line("master");
  line.add("pending", s.pending)
      .add("in_progress", s.in_progress)
      .add("completed", s.completed)
      .add("failed", s.failed)
      .add("dropped", s.dropped)
      .add("expired", s.expired)
      .add("requeued_timeout", s.requeued_timeout)
      .add("requeued_dead_worker", s.requeued_dead_worker)
      .add("duplicate_completions", s.duplicate_completions)
      .add("late_completions", s.late_completions)
      .add("store_errors", s.store_errors)
      .add("workers_alive", alive);
  for (const auto& p : s.ports) {  // received/completed/failed per port
    line.add("port" + std::to_string(p.port), std::to_string(p.received) + "/" +
                                                  std::to_string(p.completed) + "/" +
                                                  std::to_string(p.failed));
  }
  return line.str();
}

}  // namespace fh::master
