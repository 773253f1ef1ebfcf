#pragma once
// The master's task state machine: pending -> in progress -> completed | failed, with
// capability routing, detector fallback chains, weighted round-robin fairness across ports,
// bounded per-port queues, frame expiry, stale-task reassignment, dead-worker detection, and result
// retention. Thread-safe: every public method takes mutex_. Time comes from the injected Clock;
// tick() is the monitor's step and is called periodically by the master (or by tests). The worker
// registry and the per-port books (metrics, results, kept frames) live in WorkerRegistry and
// PortMetrics (master/src), guarded by mutex_ too.

#include "framehive/master/result_store.hpp"
#include "framehive/master/types.hpp"
#include "framehive/shared/clock.hpp"

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fh::master {

/// The largest --priority weight of a port.
inline constexpr int k_max_port_weight = 1000;

struct SchedulerConfig {
  double task_timeout = 10.0;            ///< seconds in progress before a task goes back to pending
  int max_attempts = 3;                  ///< hand-outs before a timing-out task is failed
  double heartbeat_interval = 2.0;       ///< seconds between worker heartbeats
  int heartbeat_misses = 3;              ///< missed heartbeats after which a worker is dead
  std::size_t max_pending_per_port = 8;  ///< pending frames per port; oldest dropped beyond
  double max_frame_age = 10.0;  ///< seconds since capture; older pending frames expire (0: off)
  std::string default_detector = "hog";  ///< detector for frames that name none (not empty)
  /// Per-port detector, or fallback chain (first choice first): a frame of the port that names
  /// no detector goes to the first detector of the list that a live worker offers, chosen when
  /// it is handed out (again after a requeue). One name: that detector, no fallback.
  std::map<int, std::vector<std::string>> port_detectors;
  /// Per-port weight (1..1000, default 1) of the weighted round robin across backlogged ports.
  std::map<int, int> port_weights;
  std::size_t retain_results = 10000;  ///< results kept per port (memory and database)
  std::size_t retain_tasks = 100000;   ///< finished task ids remembered for duplicate detection
  int max_wait_ms = 30000;             ///< cap on request_task long polls
  std::size_t keep_frames = 200;       ///< completed frames (JPEG + result) kept per port
  /// JPEG bytes of kept frames, all ports together; the oldest kept frame goes beyond.
  std::size_t keep_frames_bytes = std::size_t{256} << 20;
  std::size_t max_ports = 256;     ///< ports the master keeps books for; frames for more refused
  std::size_t max_workers = 4096;  ///< worker table entries (dead ones are pruned first)
  double worker_retention = 3600;  ///< seconds a dead worker stays listed before it is pruned
  double stall_after = 20;         ///< seconds without a frame after which a port is "stalled"
  /// Uploaded images (port 0) waiting at once; more are refused (LimitError), never dropped.
  std::size_t max_pending_uploads = 256;
};

/// Upper bounds (seconds) of the latency histogram buckets of PortCounters (+Inf after).
inline constexpr std::array<double, 12> k_latency_buckets_s = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};
/// Distinct labels counted per port; detections of further labels count as "other".
inline constexpr std::size_t k_max_labels_per_port = 256;

/// Cumulative counters of a port for /metrics: capture -> completion latency histogram and
/// detections per label, since the master started.
struct PortCounters {
  int port = 0;
  std::array<std::int64_t, k_latency_buckets_s.size() + 1> latency_buckets{};  ///< not cumulative
  double latency_sum_s = 0.0;
  std::int64_t latency_count = 0;
  std::map<std::string, std::int64_t> detections;  ///< per label
};

/// Error thrown for contract violations the RPC layer turns into faults.
struct RequestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A request over one of the master's bounds (--max-pixels, --max-ports, the worker table):
/// the fault limit_exceeded.
struct LimitError : RequestError {
  using RequestError::RequestError;
};

class PortMetrics;
class WorkerRegistry;

/// What a completion listener learns of the completed frame besides its record.
struct CompletedFrame {
  int width = 0, height = 0;   ///< pixels, 0 = unknown
  std::int64_t gated = 0;      ///< frames the camera gated just before this one (Frame.gated)
  shared::api::Motion motion;  ///< the camera's motion detector on it (Frame.motion)
};

class Scheduler {
 public:
  /// store may be null (nothing persisted). id_prefix makes task ids unique across restarts.
  Scheduler(SchedulerConfig config, const shared::Clock& clock, ResultStore* store,
            std::string id_prefix);
  ~Scheduler();

  /// Adds frames (already validated by the caller), returns their task ids in order. All or
  /// none: throws LimitError when they would make the master keep books for more than
  /// max_ports ports.
  std::vector<std::string> add_frames(std::vector<Frame> frames);

  /// peer: the network address (IP) the call came from, empty when unknown. Throws
  /// RequestError when a live worker with this id registered from another peer (a second
  /// process would take over its tasks), LimitError when the worker table is full of live
  /// workers.
  Registration register_worker(const std::string& worker_id, const std::string& address,
                               std::vector<std::string> capabilities, const std::string& peer = {});
  /// False for an unknown or dead worker (it must register again).
  bool heartbeat(const std::string& worker_id);
  /// A task for this worker, waiting up to wait_ms (real time) when none is pending.
  /// Throws RequestError for an unknown worker.
  std::optional<Task> request_task(const std::string& worker_id, int wait_ms);
  /// True when recorded; false when the task is unknown or already finished.
  bool complete_task(const std::string& worker_id, const std::string& task_id, Result result);
  /// A job failure: the task ends failed with the reason. False when not in progress.
  bool fail_task(const std::string& worker_id, const std::string& task_id,
                 const std::string& reason);

  /// A recently completed frame with its JPEG, if still kept (--keep-frames per port).
  std::optional<KeptFrame> get_frame(const std::string& task_id);
  /// Only the JPEG of a kept frame (no copy of its record); null when not kept.
  shared::api::Image kept_image(const std::string& task_id);
  /// The newest kept frame of a port.
  std::optional<KeptFrame> latest_frame(int port);
  /// Where a task is and, once it ended, its record or failure; nullopt when the master does
  /// not know the id (never seen, or finished longer ago than the last retain_tasks). The
  /// record comes from memory, else from the store.
  std::optional<TaskInfo> task_info(const std::string& task_id);
  /// The JPEG of a task that waits or runs (an upload, say); null otherwise.
  shared::api::Image task_image(const std::string& task_id);
  /// Keeps a receiver's latest counters (status().receivers, /metrics) under its id, replacing
  /// its previous report. Throws LimitError when 64 other receivers reported within
  /// worker_retention, or for more than max_ports ports in one report.
  void report_receiver(const std::string& receiver_id, const std::string& peer,
                       std::vector<shared::api::ReceiverPortCounters> ports);
  /// Whether a live worker offers the detector now.
  bool detector_offered(const std::string& detector);
  /// Whether the master keeps books for the port (it received frames or has results).
  bool knows_port(int port);
  /// Whether a completed frame is still kept (get_frame would find it).
  bool frame_kept(const std::string& task_id);
  /// Per-port latency histograms and detections per label, for /metrics.
  std::vector<PortCounters> port_counters();

  /// Called after each completion is recorded (outside the scheduler's lock, on the thread of
  /// complete_task) with the record and the frame's size: the event engine's input. Set once,
  /// before the master serves.
  using CompletionListener = std::function<void(const ResultRecord&, const CompletedFrame&)>;
  void set_completion_listener(CompletionListener listener);
  /// Sets the track ids of a completed result's detections, in memory and in the store (by
  /// detection index; a 0 leaves that detection as it is).
  void set_track_ids(const std::string& task_id, int port, const std::vector<std::int64_t>& ids);

  /// The newest results of a port (limit 0: all retained), newest first.
  std::vector<ResultRecord> get_results(int port, std::size_t limit);
  SchedulerStatus status();

  /// Records, for status, the frames a previous run of the master held when it stopped (moved
  /// from the in-flight journal to failures at start-up), per port.
  void note_lost_at_start(const std::map<int, std::int64_t>& per_port);

  /// The monitor's step: the tasks of workers that missed heartbeat_misses heartbeats go back
  /// to pending; tasks in progress longer than task_timeout go back too, or fail once they
  /// were handed out max_attempts times; pending frames older than max_frame_age expire.
  /// Returns the number of tasks taken from their workers (requeued, or failed at max_attempts).
  std::size_t tick();
  /// Wakes every long poll and makes new ones return at once.
  void shutdown();

 private:
  enum class State { pending, in_progress, completed, failed };
  struct Entry {
    std::uint64_t seq = 0;
    Task task;
    State state = State::pending;
    std::string worker_id;      ///< holder while in progress
    double started_mono = 0.0;  ///< when handed out
    double added_mono = 0.0;
    std::optional<FailureRecord> failure;  ///< once failed
    /// Goes to its port's fallback chain: task.frame.detector is set at each hand-out.
    bool chained = false;
  };
  /// A port's pending task ids per detector, each queue FIFO (requeued tasks at the front).
  /// Tasks of the port's fallback chain wait under k_chain_queue.
  using Queues = std::map<std::string, std::deque<std::string>>;
  /// The queue key of chained tasks: no frame has an empty detector once added (frames that
  /// name none get their port's, and default_detector is not empty).
  static constexpr const char* k_chain_queue = "";
  /// Why a task in progress goes back to pending (or fails after max_attempts).
  enum class RequeueReason { timeout, worker_dead, worker_restarted };
  /// The failure reason recorded when a requeue fails the task ("timeout", ...).
  static const char* failure_reason(RequeueReason why);

  Entry* find(const std::string& task_id);
  /// The pending queues of a port, created (with the port's books) on first use.
  Queues& queues(int port);
  /// The oldest pending task of one port that a worker with these capabilities can run (its
  /// queue in *q), skipping stale entries and expiring old frames on the way; null if none.
  Entry* head_for(int port, Queues& queues, const std::vector<std::string>& capabilities,
                  std::deque<std::string>*& q, double now_wall, double now_mono);
  /// Whether some queue of the port that a worker with these capabilities can run is not
  /// empty (its entries not checked: some may have finished).
  bool runnable(int port, const Queues& queues, const std::vector<std::string>& capabilities) const;
  /// The pending task a worker with these capabilities gets, popped from its queue: among the
  /// ports with a task it can run, smooth weighted round robin (port_weights), the port's
  /// oldest such task. A chained task gets its detector here.
  bool take(const std::vector<std::string>& capabilities, Entry*& out);
  /// The port's fallback chain (2 or more detectors), or null.
  const std::vector<std::string>* chain(int port) const;
  /// The first detector of a chain a live worker offers; the first one when none is offered.
  const std::string& running_detector(const std::vector<std::string>& chain) const;
  /// Whether some detector of the chain has a live worker.
  bool chain_alive(const std::vector<std::string>& chain) const;
  void drop_oldest_pending(int port, Queues& queues);
  enum class Discard { dropped, expired };
  /// Takes a pending task, already popped from its queue, out of the books as dropped or
  /// expired, and queues its id for the store's in-flight journal (forgotten_).
  void discard_pending(int port, std::string id, Discard why);
  /// Pending longer than max_frame_age (since capture, or since added without a capture time).
  bool too_old(const Entry& e, double now_wall, double now_mono) const;
  void to_pending(Entry& e);
  void finish(Entry& e);
  void fail(Entry& e, const std::string& reason, const std::string& worker_id,
            std::vector<FailureRecord>& persist);
  void requeue(Entry& e, RequeueReason why, std::vector<FailureRecord>& persist);
  void remove_from_holder(Entry& e);
  void persist(const std::vector<FailureRecord>& failures);
  /// Counts and logs a database error (call unlocked: takes mutex_).
  void store_failed(const std::exception& e);
  /// Takes dropped or expired frames out of the store's in-flight journal (call unlocked).
  void forget(const std::vector<std::string>& task_ids);

  const SchedulerConfig config_;  ///< immutable after construction
  const shared::Clock& clock_;    ///< time source
  ResultStore* store_;            ///< persistence, may be null; has its own lock
  const std::string id_prefix_;   ///< task id prefix, unique per start
  const double started_wall_;     ///< for uptime

  std::mutex mutex_;                    ///< guards everything below
  std::condition_variable task_ready_;  ///< signalled when tasks become pending or on shutdown
  bool shutdown_ = false;
  std::uint64_t next_seq_ = 1;
  std::unordered_map<std::string, Entry> tasks_;  ///< every live and recently finished task
  std::deque<std::string> finished_order_;        ///< finished ids, oldest first, for pruning
  std::unique_ptr<WorkerRegistry> workers_;       ///< registered workers, what they hold
  std::unique_ptr<PortMetrics> metrics_;          ///< per-port counters, results, kept frames
  std::map<int, Queues> pending_;                 ///< port -> its pending queues
  int rr_cursor_ = 0;                             ///< last port served, for round-robin
  /// port -> its current weight in the smooth weighted round robin (nginx's upstream
  /// algorithm): 0 for a port without pending frames, bounded by the sum of the weights.
  std::map<int, std::int64_t> rr_current_;
  SchedulerStatus counters_;            ///< global counters (lists unused)
  std::vector<std::string> forgotten_;  ///< dropped/expired ids not yet out of the journal
  /// receiver id -> its latest report (last_seen in wall time)
  std::map<std::string, shared::api::ReceiverStatus> receivers_;
  CompletionListener on_completed_;  ///< set before serving, then read only
};

}  // namespace fh::master
