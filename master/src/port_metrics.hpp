#pragma once
// The scheduler's per-port books: counters, the fps and latency windows, the retained results
// (newest first) and the kept frames (JPEG and record) of recent completions.
// Not thread-safe: the Scheduler owns it and calls it only while holding Scheduler::mutex_.

#include "framehive/master/scheduler.hpp"
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
  /// results and keep_frames frames (0: none) are kept per port, and kept frames of all ports
  /// hold at most keep_frames_bytes JPEG bytes (the oldest kept frame goes first).
  PortMetrics(std::string default_detector, std::map<int, std::string> port_detectors,
              std::size_t retain_results, std::size_t keep_frames,
              std::size_t keep_frames_bytes = std::size_t{256} << 20);

  /// Whether the port has books.
  bool has(int port) const { return ports_.count(port) > 0; }
  /// Ports with books.
  std::size_t port_count() const { return ports_.size(); }
  /// JPEG bytes of the frames kept now, all ports together.
  std::size_t kept_bytes() const { return kept_bytes_; }
  /// Frames kept now, all ports together.
  std::size_t kept_count() const { return kept_.size(); }

  /// The counters of a port, created with its default detector on first use.
  PortStatus& stats(int port);
  /// Books a frame's arrival (for fps_in and last_received_at).
  void record_received(int port, double now_mono, double now_wall);
  /// Appends results loaded from the store (newest first); the first one names the stream
  /// when the port has none yet.
  void load_results(int port, std::vector<ResultRecord> records);
  /// Books a completion at now_mono: counted, in the fps and latency windows, retained, and
  /// its frame kept when it has an image.
  void record_completion(const ResultRecord& record, const shared::api::Image& image,
                         double now_mono);

  /// Sets the track ids of a retained result's detections and of its kept frame's record
  /// (searched from the newest: tracking lags completion by at most the reorder window).
  void set_track_ids(int port, const std::string& task_id,
                     const std::vector<std::int64_t>& track_ids);
  /// Whether a frame is kept.
  bool is_kept(const std::string& task_id) const { return kept_.count(task_id) > 0; }
  /// A kept frame with its record, if still kept.
  std::optional<KeptFrame> kept_frame(const std::string& task_id) const;
  /// Only the JPEG of a kept frame (a shared buffer: no copy); null when not kept.
  shared::api::Image kept_image(const std::string& task_id) const;
  /// The newest results of a port (limit 0: all retained), newest first.
  std::vector<ResultRecord> results(int port, std::size_t limit) const;
  /// One status row per port, in port order, with fps and latency percentiles at now_mono.
  std::vector<PortStatus> status_rows(double now_mono) const;
  /// The latency histogram and detections per label of every port, in port order.
  std::vector<PortCounters> counters() const;
  /// The newest kept frame of a port.
  std::optional<KeptFrame> latest_frame(int port) const;
  /// A result the port still retains in memory.
  std::optional<ResultRecord> find_result(int port, const std::string& task_id) const;

 private:
  struct Port {
    PortStatus stats;                     ///< counters; fps and latencies filled in by status_rows
    std::deque<double> completions_mono;  ///< recent completion times, for fps
    std::deque<double> latencies_ms;      ///< recent capture -> completion latencies
    std::deque<ResultRecord> results;     ///< newest first, retained
    std::deque<std::string> kept_order;   ///< kept frame ids of this port, oldest first; ids
                                          ///< already evicted by the byte cap are skipped
    std::size_t kept = 0;                 ///< frames of this port in kept_
    std::deque<double> received_mono;     ///< recent arrival times, for fps_in
    PortCounters counters;                ///< cumulative latency histogram, detections
    std::string latest_kept;              ///< newest kept frame's task id
  };

  /// Forgets a kept frame if still kept; true when it was.
  bool unkeep(const std::string& task_id);
  /// Drops ids of frames no longer kept from the front of order, and rebuilds it when most
  /// of it is such ids (so the byte cap's evictions cannot make it grow without bound).
  void compact(std::deque<std::string>& order, std::size_t live);

  /// The books of a port, created with its default detector on first use.
  Port& books(int port);

  const std::string default_detector_;               ///< detector of ports without an entry
  const std::map<int, std::string> port_detectors_;  ///< per-port default detector
  const std::size_t retain_results_;                 ///< results kept per port
  const std::size_t keep_frames_;                    ///< frames kept per port (0: none)
  const std::size_t keep_frames_bytes_;              ///< JPEG bytes kept, all ports
  std::map<int, Port> ports_;                        ///< port number -> its books
  std::unordered_map<std::string, KeptFrame> kept_;  ///< task id -> kept frame
  std::deque<std::string> kept_all_;  ///< kept frame ids of all ports, oldest first (lazy)
  std::size_t kept_bytes_ = 0;        ///< JPEG bytes of the frames in kept_
};

}  // namespace fh::master
