#pragma once
// FrameSink that forwards complete frames to a framehive-master with add_tasks, in batches.
// While the master is unreachable it retries with exponential backoff, blocking the consumer
// thread, so the receiver's bounded queue drops its oldest frames (counted) meanwhile: memory
// stays bounded and fresh frames go first once the master is back. A batch the master refuses
// with a fault is retried frame by frame so one bad frame cannot sink the others. A master that
// refuses the credentials (HTTP 401) is treated like an unreachable one (backoff, oldest frames
// dropped), but logged at error level every 30 s: it is a configuration error. The per-port
// counters go to the master every --report-interval on a thread of their own.
// deliver() runs on the consumer thread; request_stop() may be called from any thread.

#include "framehive/receiver/frame_sink.hpp"
#include "framehive/shared/log_throttle.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fh::shared {
namespace api {
class MasterClient;
}
}  // namespace fh::shared

namespace fh::receiver {

struct MasterSinkConfig {
  std::string url;                ///< http://HOST:PORT/RPC2
  std::size_t batch_max = 16;     ///< frames per add_tasks call
  int timeout_ms = 10000;         ///< per call
  double max_backoff_s = 5.0;     ///< cap of the retry delay
  double shutdown_grace_s = 3.0;  ///< after request_stop, how long a batch may still be retried
  std::string auth_secret;        ///< HTTP Basic password for the master; empty: none
  std::string receiver_id;        ///< the name its reports carry (report_receiver)
};

/// Counters of the forwarding path; readable from any thread.
struct MasterSinkCounters {
  std::atomic<std::int64_t> calls{0};        ///< add_tasks calls that succeeded
  std::atomic<std::int64_t> retries{0};      ///< transport errors retried
  std::atomic<std::int64_t> refused{0};      ///< frames the master refused with a fault
  std::atomic<std::int64_t> abandoned{0};    ///< frames given up at shutdown, master unreachable
  std::atomic<std::int64_t> auth_errors{0};  ///< calls the master refused with HTTP 401
};

class MasterSink final : public FrameSink {
 public:
  explicit MasterSink(MasterSinkConfig config);
  ~MasterSink() override;

  void deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) override;
  void close() override;
  std::string name() const override { return "master " + config_.url; }

  /// Makes retries give up after the shutdown grace period.
  void request_stop() override;
  /// Hands the counters to the reporting thread (started on the first report), which sends
  /// them with report_receiver; a report the master cannot take is logged (every 30 s at most)
  /// and replaced by the next.
  void report(const std::vector<PortStatsSnapshot>& ports) override;
  const MasterSinkCounters& counters() const { return counters_; }

 private:
  /// Sends frames [begin, end); returns false when the master stayed unreachable.
  bool send(std::vector<ReceivedFrame>& batch, std::size_t begin, std::size_t end,
            std::vector<bool>& failed);
  void report_loop();  ///< the reporting thread
  void wait_backoff(int attempt);

  MasterSinkConfig config_;                            ///< immutable
  std::unique_ptr<shared::api::MasterClient> client_;  ///< used by the consumer thread only
  MasterSinkCounters counters_;
  std::atomic<bool> stop_{false};
  std::atomic<double> stop_deadline_{0.0};  ///< steady seconds after which retries stop
  std::mutex mutex_;                        ///< guards nothing but the wait below
  std::condition_variable wake_;            ///< wakes a backoff wait on stop
  bool logged_down_ = false;                ///< one warning per outage
  shared::LogThrottle auth_log_{std::chrono::seconds(30)};  ///< paces the 401 error line

  std::mutex report_mutex_;                                   ///< guards the members below
  std::condition_variable report_wake_;                       ///< a report is waiting, or stop
  std::optional<std::vector<PortStatsSnapshot>> report_;      ///< the newest report not yet sent
  bool report_stop_ = false;                                  ///< the destructor runs
  std::thread reporter_;                                      ///< started on the first report
  shared::LogThrottle report_log_{std::chrono::seconds(30)};  ///< paces failed-report lines
};

}  // namespace fh::receiver
