#include "framehive/worker/worker_app.hpp"

#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "framehive/shared/stats_line.hpp"
#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/task_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fh::worker {
namespace {

using shared::RpcAuthError;
using shared::RpcFault;
using shared::RpcTransportError;
using shared::api::MasterClient;

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "worker";
  return buf;
}

/// A task thread's second connection, on a thread of its own: it sends the reports
/// (complete_task / fail_task) and asks for the next task (request_task without waiting) while
/// the task thread runs its detector, so neither round trip sits between two detections
/// (docs/benchmarks.md, *End to end*). Jobs run in the order posted; at most two wait or run
/// (a report and a prefetch): post() blocks while two are queued (back-pressure, no growth).
/// The destructor runs what was posted before it joins. Thread-safe.
class RpcThread {
 public:
  RpcThread() : thread_([this] { loop(); }) {}
  ~RpcThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  RpcThread(const RpcThread&) = delete;
  RpcThread& operator=(const RpcThread&) = delete;

  /// Queues a job; waits while two are queued or running.
  void post(std::function<void()> job) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return jobs_.size() < k_max_jobs; });
    jobs_.push_back(std::move(job));
    cv_.notify_all();
  }

 private:
  static constexpr std::size_t k_max_jobs = 2;

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return !jobs_.empty() || done_; });
      if (jobs_.empty()) return;  // done, and nothing left to run
      auto& job = jobs_.front();  // stays queued while it runs: drain() and post() see it
      lock.unlock();
      try {
        job();
      } catch (...) {
        shared::logger("rpc")->error("task thread's second connection: unexpected exception");
      }
      lock.lock();
      jobs_.pop_front();
      cv_.notify_all();
    }
  }

  std::mutex mutex_;                        ///< guards jobs_ and done_
  std::condition_variable cv_;              ///< a job queued or finished, or done_
  std::deque<std::function<void()>> jobs_;  ///< the running job first, then the waiting one
  bool done_ = false;                       ///< the destructor runs: end after the last job
  std::thread thread_;                      ///< last member: starts after the others exist
};

}  // namespace

WorkerApp::WorkerApp(WorkerConfig config) : config_(std::move(config)) {
  if (config_.detectors.empty()) throw std::invalid_argument("--detector: at least one");
  if (config_.threads < 1 || config_.threads > 256) {
    throw std::invalid_argument("--threads: 1..256");
  }
  if (!(config_.crop_pad >= 0.0 && config_.crop_pad <= 4.0)) {
    throw std::invalid_argument("--crop-pad: 0..4");
  }
  if (config_.id.empty()) config_.id = host_name() + "-" + std::to_string(::getpid());
  for (const auto& d : config_.detectors) make_detector(d, config_.detector_options);
}

bool WorkerApp::register_now() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (registered_) return true;
  MasterClient client(config_.master_url, 10000, config_.auth_secret);
  const auto reply = client.register_worker(
      config_.id, host_name() + ":" + std::to_string(::getpid()), config_.detectors);
  heartbeat_interval_ = config_.heartbeat_interval > 0 ? config_.heartbeat_interval
                                                       : std::max(0.1, reply.heartbeat_interval);
  registered_ = true;
  counters_.registrations++;
  shared::logger("rpc")->info("registered as {} with {} (heartbeat every {:.1f} s)", config_.id,
                              config_.master_url, heartbeat_interval_.load());
  return true;
}

bool WorkerApp::ensure_registered() {
  int attempt = 0;
  while (!stopping()) {
    try {
      if (register_now()) return true;
    } catch (const RpcAuthError&) {
      auth_refused(shared::api::method::register_worker);
    } catch (const RpcTransportError& e) {
      counters_.rpc_errors++;
      if (attempt == 0) shared::logger("rpc")->warn("master unreachable: {}; retrying", e.what());
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("register_worker: {}", e.what());
    }
    backoff(attempt);
  }
  return false;
}

void WorkerApp::backoff(int& attempt) {
  const double delay = std::min(5.0, 0.1 * (1 << std::min(attempt, 6)));
  ++attempt;
  std::unique_lock<std::mutex> lock(mutex_);
  stop_cv_.wait_for(lock, std::chrono::duration<double>(delay), [this] { return stopping(); });
}

void WorkerApp::auth_refused(const char* call) {
  counters_.auth_errors++;
  if (auth_log_.due()) {
    shared::logger("rpc")->error("{}: {} ({} time(s) so far; retrying with backoff)", call,
                                 RpcAuthError::k_message, auth_log_.calls());
  }
}

void WorkerApp::run() {
  std::vector<std::thread> threads;
  std::thread heartbeat([this] { heartbeat_loop(); });
  for (int i = 0; i < config_.threads; ++i) threads.emplace_back([this, i] { task_loop(i); });
  for (auto& t : threads) t.join();
  stop();  // task threads ended (stop or max_tasks): end the heartbeat too
  heartbeat.join();
}

void WorkerApp::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

void WorkerApp::heartbeat_loop() {
  MasterClient client(config_.master_url, 10000, config_.auth_secret);
  int attempt = 0;
  while (!stopping()) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      stop_cv_.wait_for(lock, std::chrono::duration<double>(heartbeat_interval_.load()),
                        [this] { return stopping(); });
    }
    if (stopping()) break;
    if (!registered_) continue;  // a task thread is registering
    try {
      const bool known = client.heartbeat(config_.id);
      attempt = 0;
      if (!known) {
        shared::logger("rpc")->warn("master forgot this worker; registering again");
        registered_ = false;
        ensure_registered();
      }
    } catch (const RpcAuthError&) {
      auth_refused(shared::api::method::heartbeat);
    } catch (const RpcTransportError& e) {
      counters_.rpc_errors++;
      if (attempt++ == 0) shared::logger("rpc")->warn("heartbeat: {}", e.what());
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("heartbeat: {}", e.what());
    }
  }
}

void WorkerApp::task_loop(int index) {
  // The long poll plus a margin: curl rounds the timeout up to whole seconds.
  MasterClient client(config_.master_url, config_.wait_ms + 15000, config_.auth_secret);
  CropParams crop;
  crop.pad_fraction = config_.crop_pad;
  TaskRunner runner(config_.detectors, config_.detector_options, config_.max_pixels,
                    config_.motion_crop, crop);
  // Reports and prefetches go on a connection and a thread of their own (see RpcThread);
  // declared in this order so that the thread runs its last jobs before its client goes.
  MasterClient second(config_.master_url, 10000, config_.auth_secret);
  RpcThread rpc;
  std::optional<shared::api::Task> next;  // the prefetched task
  int attempt = 0;
  auto log = shared::logger("rpc");
  while (next || !stopping()) {  // a prefetched task is held: it is run even when stopping
    std::optional<shared::api::Task> task;
    if (next) {
      task = std::move(next);
      next.reset();
    } else {
      if (!registered_ && !ensure_registered()) break;
      if (config_.max_tasks > 0 && tasks_taken_.load() >= config_.max_tasks) break;
      try {
        task = client.request_task(config_.id, config_.wait_ms);
        attempt = 0;
      } catch (const RpcFault& f) {
        if (f.code == shared::api::fault::refused) {
          registered_ = false;  // the master restarted or declared us dead
          continue;
        }
        log->error("request_task: fault {}: {}", f.code, f.what());
        backoff(attempt);
        continue;
      } catch (const RpcAuthError&) {
        auth_refused(shared::api::method::request_task);
        backoff(attempt);
        continue;
      } catch (const std::exception& e) {
        counters_.rpc_errors++;
        if (attempt == 0) log->warn("request_task: {}; retrying with backoff", e.what());
        backoff(attempt);
        continue;
      }
      if (!task) continue;  // nothing to do within wait_ms
      tasks_taken_++;
    }

    // Ask for the next task now, without waiting: the master hands one out only if one is
    // pending at that moment, and while idle workers long-poll a frame stays pending only when
    // all of them are busy. So a prefetch takes a frame that would have waited in the master's
    // queue anyway (it waits here for this detection instead), not one an idle worker wanted.
    const bool prefetch = config_.prefetch && !stopping() &&
                          (config_.max_tasks == 0 || tasks_taken_.load() < config_.max_tasks);
    std::promise<std::optional<shared::api::Task>> fetched;
    auto fetched_later = fetched.get_future();
    if (prefetch) {
      rpc.post([this, &second, &fetched] {
        std::optional<shared::api::Task> t;
        try {
          t = prefetch_task(second);
        } catch (...) {  // never leave the promise unset: the task thread waits for it
        }
        fetched.set_value(std::move(t));
      });
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto outcome = runner.run(task->frame);
    if (outcome.crop == CropDecision::cropped) counters_.cropped++;
    counters_.ignored_motion_boxes += static_cast<std::int64_t>(outcome.ignored_motion_boxes);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    rpc.post([this, &second, task_id = std::move(task->task_id), outcome = std::move(outcome),
              ms]() mutable { report(second, task_id, outcome, ms); });
    // The prefetch runs before the report (jobs run in order), usually long before the
    // detection ended; the report is still on its way while the next detection starts.
    if (prefetch) next = fetched_later.get();
  }
  log->debug("task thread {} ends", index);
}

std::optional<shared::api::Task> WorkerApp::prefetch_task(MasterClient& client) {
  try {
    auto task = client.request_task(config_.id, 0);
    if (task) {
      tasks_taken_++;
      counters_.prefetched++;
    }
    return task;
  } catch (const RpcFault& f) {
    // A refused worker re-registers on the task thread's next long poll.
    if (f.code == shared::api::fault::refused) registered_ = false;
  } catch (const RpcAuthError&) {
    auth_refused(shared::api::method::request_task);
  } catch (const std::exception&) {
    counters_.rpc_errors++;  // the task thread's own request_task will log and back off
  }
  return std::nullopt;
}

void WorkerApp::report(shared::api::MasterClient& client, const std::string& task_id,
                       TaskOutcome& outcome, double ms) {
  auto log = shared::logger("rpc");
  const std::string& error = outcome.error;
  // Report, retrying while the master is briefly unreachable; after that the master's
  // timeout hands the task to someone else.
  for (int tries = 0; tries < 6; ++tries) {
    try {
      if (error.empty()) {
        const bool ok = client.complete_task(config_.id, task_id, {outcome.detections, ms});
        (ok ? counters_.completed : counters_.rejected)++;
      } else {
        client.fail_task(config_.id, task_id, error);
        counters_.failed++;
        log->warn("task {} failed: {}", task_id, error);
      }
      break;
    } catch (const RpcFault& f) {
      log->error("reporting task {}: fault {}: {}", task_id, f.code, f.what());
      break;
    } catch (const RpcAuthError&) {
      auth_refused("reporting a task");
      int a = tries;
      backoff(a);
      if (stopping() && tries >= 2) break;
    } catch (const std::exception& e) {
      counters_.rpc_errors++;
      int a = tries;
      backoff(a);
      if (stopping() && tries >= 2) break;
    }
  }
}

std::string WorkerApp::summary() const {
  return shared::StatsLine("worker")
      .add("id", config_.id)
      .add("completed", counters_.completed.load())
      .add("rejected", counters_.rejected.load())
      .add("failed", counters_.failed.load())
      .add("registrations", counters_.registrations.load())
      .add("rpc_errors", counters_.rpc_errors.load())
      .add("auth_errors", counters_.auth_errors.load())
      .add("cropped", counters_.cropped.load())
      .add("ignored_motion_boxes", counters_.ignored_motion_boxes.load())
      .add("prefetched", counters_.prefetched.load())
      .str();
}

}  // namespace fh::worker
