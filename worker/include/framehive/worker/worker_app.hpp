#pragma once
// The framehive-worker process: registers with the master, heartbeats on its own thread,
// long-polls for tasks on N task threads (one XML-RPC client and one detector set per thread;
// a second client and thread per task thread sends the reports and asks for the next task
// while the detector runs),
// decodes, detects, and completes or fails each task. Re-registers when the master forgot it,
// backs off and reconnects while the master is down; when the master refuses its credentials
// (HTTP 401) it keeps backing off and logs that error every 30 s. run() blocks until stop() and the
// threads have finished the tasks they hold; stop() is thread-safe.

#include "framehive/shared/api/types.hpp"
#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/log_throttle.hpp"
#include "framehive/worker/crop_plan.hpp"
#include "framehive/worker/detector_options.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fh::shared::api {
class MasterClient;
}

namespace fh::worker {

struct TaskOutcome;

struct WorkerConfig {
  std::string master_url = "http://127.0.0.1:8000/RPC2";
  std::vector<std::string> detectors;  ///< capabilities offered, e.g. {"hog"}
  int threads = 1;                     ///< task threads
  std::string id;                      ///< worker id; empty = hostname-pid
  int wait_ms = 1000;                  ///< long-poll wait per request_task
  double heartbeat_interval = 0.0;     ///< 0: the master's value from register_worker
  DetectorOptions detector_options;    ///< detector tuning
  std::int64_t max_tasks = 0;          ///< exit after this many tasks (0: no limit), for tests
  std::string auth_secret;             ///< HTTP Basic password for the master; empty: none
  /// Frames whose JPEG header declares more pixels are failed without decoding.
  std::size_t max_pixels = shared::k_default_max_jpeg_pixels;
  /// Ask for the next task (without waiting) while a detection runs; the master hands one out
  /// only if one is pending, i.e. while every worker is busy (docs/benchmarks.md).
  bool prefetch = true;
  /// --motion-crop: frames with motion boxes run on their motion regions only.
  bool motion_crop = false;
  /// --crop-pad: each side of a motion box grows by this fraction of its size (+ 32 px).
  double crop_pad = CropParams{}.pad_fraction;
};

/// Counters of one worker process; readable from any thread.
struct WorkerCounters {
  std::atomic<std::int64_t> completed{0};      ///< complete_task accepted
  std::atomic<std::int64_t> rejected{0};       ///< complete_task returned false (late duplicate)
  std::atomic<std::int64_t> failed{0};         ///< fail_task sent (corrupt JPEG, detector error)
  std::atomic<std::int64_t> registrations{0};  ///< register_worker calls that succeeded
  std::atomic<std::int64_t> rpc_errors{0};     ///< transport errors (master unreachable)
  std::atomic<std::int64_t> auth_errors{0};    ///< calls the master refused with HTTP 401
  std::atomic<std::int64_t> cropped{0};        ///< tasks run on motion regions (--motion-crop)
  std::atomic<std::int64_t> ignored_motion_boxes{0};  ///< unusable motion boxes in tasks
  std::atomic<std::int64_t> prefetched{0};            ///< tasks taken while a detection ran
};

class WorkerApp {
 public:
  /// Validates the configuration and builds one detector per capability (so a bad
  /// capability fails at start); throws std::invalid_argument.
  explicit WorkerApp(WorkerConfig config);

  void run();
  void stop();
  const WorkerCounters& counters() const { return counters_; }
  const std::string& id() const { return config_.id; }
  std::string summary() const;

 private:
  void task_loop(int index);
  /// Sends one task's outcome (complete_task or fail_task), retrying while the master is
  /// briefly unreachable; runs on the task thread's report thread.
  /// request_task without waiting, on the task thread's second connection; nothing on error
  /// (counted; the task thread's own long poll logs and backs off).
  std::optional<shared::api::Task> prefetch_task(shared::api::MasterClient& client);
  void report(shared::api::MasterClient& client, const std::string& task_id, TaskOutcome& outcome,
              double ms);
  void heartbeat_loop();
  /// Registers (retrying with backoff until it works or stop); returns false on stop.
  bool ensure_registered();
  bool register_now();
  void backoff(int& attempt);
  /// Counts an HTTP 401 and logs it at error level at most every 30 s.
  void auth_refused(const char* call);
  bool stopping() const { return stop_.load(); }

  WorkerConfig config_;  ///< immutable after construction
  WorkerCounters counters_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> registered_{false};  ///< false: the next call must register first
  std::atomic<std::int64_t> tasks_taken_{0};
  std::atomic<double> heartbeat_interval_{2.0};
  std::mutex mutex_;                 ///< guards registration and the stop wait
  std::condition_variable stop_cv_;  ///< wakes sleepers on stop
  shared::LogThrottle auth_log_{std::chrono::seconds(30)};  ///< paces the 401 error line
};

}  // namespace fh::worker
