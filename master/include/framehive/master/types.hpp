#pragma once
// Plain value types of the master's contract (docs/api.md): frames, tasks, detections, results.
// No XML-RPC types here; conversion lives in the RPC layer. Values, not thread-safe by themselves.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fh::master {

/// A JPEG frame submitted by a receiver (or any client) with add_task/add_tasks.
struct Frame {
  int port = 0;                ///< UDP port = camera
  std::string stream;          ///< camera name, may be empty
  std::int64_t frame_id = 0;   ///< sender's frame sequence number
  double captured_at = 0.0;    ///< Unix seconds
  double received_at = 0.0;    ///< Unix seconds; 0 = set by the master on arrival
  int width = 0;               ///< pixels, 0 = unknown
  int height = 0;              ///< pixels, 0 = unknown
  std::shared_ptr<const std::vector<std::uint8_t>> image;  ///< JPEG bytes (shared, immutable)
  std::string detector;        ///< capability needed; empty = the port's default
};

/// What a worker gets from request_task.
struct Task {
  std::string task_id;  ///< unique across master restarts
  int attempt = 1;      ///< 1 on first hand-out
  Frame frame;          ///< the frame to process
};

struct Detection {
  std::string label;        ///< class name, e.g. "person"
  double confidence = 0.0;  ///< 0..1
  int x = 0, y = 0, w = 0, h = 0;  ///< box in pixels
};

/// What a worker reports with complete_task.
struct Result {
  std::vector<Detection> detections;  ///< may be empty
  double processing_ms = 0.0;         ///< decode + detect time on the worker
};

/// A completed frame, as returned by get_results and persisted.
struct ResultRecord {
  std::string task_id;
  int port = 0;
  std::string stream;
  std::int64_t frame_id = 0;
  double captured_at = 0.0;
  double received_at = 0.0;
  double completed_at = 0.0;
  std::string worker_id;
  std::string detector;
  std::vector<Detection> detections;
  double processing_ms = 0.0;
};

/// A task that ended failed (job failure or attempts exhausted), persisted for review.
struct FailureRecord {
  std::string task_id;
  int port = 0;
  std::string stream;
  std::int64_t frame_id = 0;
  double captured_at = 0.0;
  double failed_at = 0.0;
  std::string worker_id;
  std::string reason;  ///< "timeout", "worker: <message>", "worker_dead", ...
};

}  // namespace fh::master
