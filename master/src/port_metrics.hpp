#pragma once
// The scheduler's per-port books: counters, the fps and latency windows, the retained results
// (newest first) and the kept frames (JPEG and record) of recent completions.
// Not thread-safe: the Scheduler owns it and calls it only while holding Scheduler::mutex_.

#include "framehive/master/types.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fh::master {

class PortMetrics {
 public:
  /// A port's default detector is port_detectors' entry or default_detector. retain_results
  /// results and keep_frames frames (0: none) are kept per port.
  PortMetrics(std::string default_detector, std::map<int, std::string> port_detectors,
              std::size_t retain_results, std::size_t keep_frames);

  /// The counters of a port, created with its default detector on first use.
  PortStatus& stats(int port);
  /// Appends results loaded from the store (newest first); the first one names the stream
  /// when the port has none yet.
  void load_results(int port, std::vector<ResultRecord> records);
  /// Books a completion at now_mono: counted, in the fps and latency windows, retained, and
  /// its frame kept when it has an image.
  void record_completion(const ResultRecord& record, const shared::api::Image& image,
                         double now_mono);

  /// A kept frame with its record, if still kept.
  std::optional<KeptFrame> kept_frame(const std::string& task_id) const;
  /// The newest results of a port (limit 0: all retained), newest first.
  std::vector<ResultRecord> results(int port, std::size_t limit) const;
  /// One status row per port, in port order, with fps and latency percentiles at now_mono.
  std::vector<PortStatus> status_rows(double now_mono) const;

 private:
  struct Port {
    PortStatus stats;                     ///< counters; fps and latencies filled in by status_rows
    std::deque<double> completions_mono;  ///< recent completion times, for fps
    std::deque<double> latencies_ms;      ///< recent capture -> completion latencies
    std::deque<ResultRecord> results;     ///< newest first, retained
    std::deque<std::string> kept_order;   ///< kept frames of this port, oldest first
  };

  /// The books of a port, created with its default detector on first use.
  Port& books(int port);

  const std::string default_detector_;               ///< detector of ports without an entry
  const std::map<int, std::string> port_detectors_;  ///< per-port default detector
  const std::size_t retain_results_;                 ///< results kept per port
  const std::size_t keep_frames_;                    ///< frames kept per port (0: none)
  std::map<int, Port> ports_;                        ///< port number -> its books
  std::unordered_map<std::string, KeptFrame> kept_;  ///< task id -> kept frame
};

}  // namespace fh::master
