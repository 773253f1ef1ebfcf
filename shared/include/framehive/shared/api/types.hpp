#pragma once
// The contract's value types: what crosses a process boundary between receivers, the master,
// workers and tools (docs/api.md). The one definition of each; xmlrpc.hpp converts them to and
// from XML-RPC values, names.hpp holds the method and field names and the fault codes.
// Plain values, not thread-safe by themselves.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fh::shared::api {

/// JPEG bytes, shared and immutable once made (a frame's image travels through queues).
using Image = std::shared_ptr<const std::vector<std::uint8_t>>;

/// Most motion boxes a frame carries (datagram extension and contract alike).
inline constexpr std::size_t k_max_motion_boxes = 16;

/// A region of a frame where the camera saw motion, as fractions of the frame (0..1).
struct MotionBox {
  double x = 0.0, y = 0.0, w = 0.0, h = 0.0;
};

/// A MotionBox in pixels of a frame: not rounded, not clipped.
struct PixelBox {
  double x = 0.0, y = 0.0, w = 0.0, h = 0.0;
};

/// b scaled to a width x height frame.
constexpr PixelBox to_pixels(const MotionBox& b, int width, int height) {
  return PixelBox{b.x * width, b.y * height, b.w * width, b.h * height};
}

/// What the sender's motion detector (framehive-sender --motion flag|gate) said about a frame
/// (docs/motion.md). Absent (present false) for senders without motion detection.
struct Motion {
  bool present = false;          ///< the sender ran motion detection on this frame
  double score = 0.0;            ///< share of the frame's area that moved, 0..1
  bool keepalive = false;        ///< sent without motion: the idle interval's keep-alive frame
  std::vector<MotionBox> boxes;  ///< moving regions (at most 16); empty when nothing moved
};

/// A JPEG frame submitted by a receiver (or any client) with add_task/add_tasks.
struct Frame {
  int port = 0;               ///< UDP port = camera
  std::string stream;         ///< camera name, may be empty
  std::int64_t frame_id = 0;  ///< sender's frame sequence number
  double captured_at = 0.0;   ///< Unix seconds
  double received_at = 0.0;   ///< Unix seconds; 0 = set by the master on arrival
  int width = 0;              ///< pixels, 0 = unknown
  int height = 0;             ///< pixels, 0 = unknown
  Image image;                ///< JPEG bytes
  std::string detector;       ///< capability needed; empty = the port's default
  /// Frames the sender gated (motion gating: not sent, nothing moved) since the frame before
  /// this one. Optional member "gated" (0 when absent).
  std::int64_t gated = 0;
  Motion motion;  ///< optional member "motion": the sender's motion score and boxes
};

/// What a worker gets from request_task.
struct Task {
  std::string task_id;  ///< unique across master restarts
  int attempt = 1;      ///< 1 on first hand-out
  Frame frame;          ///< the frame to process (detector always set)
};

/// One detected object, in pixels of the frame.
struct Detection {
  std::string label;        ///< class name, e.g. "person", "face"
  double confidence = 0.0;  ///< 0..1, higher is surer
  int x = 0;                ///< left edge
  int y = 0;                ///< top edge
  int w = 0;                ///< width
  int h = 0;                ///< height
  /// The master's track of this object (events, docs/events.md); 0: not tracked (a worker's
  /// report, a tentative or late detection). Optional member "track_id" on the wire.
  std::int64_t track_id = 0;
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
  std::string reason;  ///< "timeout", "worker: <message>", "worker_dead", "lost: ...", ...
};

/// A completed frame kept for review (get_frame): its record and its JPEG.
struct KeptFrame {
  ResultRecord record;
  Image image;
};

/// Reply to get_task: where a task is, and its record or failure once it ended.
struct TaskInfo {
  std::string task_id;
  std::string state;  ///< "pending", "in_progress", "completed" or "failed"
  int port = 0;
  std::string stream;
  std::string detector;
  int attempt = 1;
  bool has_record = false;
  ResultRecord record;  ///< when completed (and has_record)
  bool has_failure = false;
  FailureRecord failure;  ///< when failed (and has_failure)
};

/// The port of uploaded still images (add_image): not a camera; UDP ports start at 1.
inline constexpr int k_upload_port = 0;

/// Reply to register_worker.
struct Registration {
  double heartbeat_interval = 0.0;  ///< seconds between heartbeats the master expects
  double task_timeout = 0.0;        ///< seconds a task may stay in progress
};

/// One worker in status().
struct WorkerStatus {
  std::string worker_id, address;
  std::vector<std::string> capabilities;
  bool alive = true;
  double registered_at = 0.0, last_seen = 0.0;  ///< Unix seconds
  std::int64_t assigned = 0, completed = 0, failed = 0;
  std::vector<std::string> current_tasks;
  double task_age_s = 0.0;  ///< seconds the oldest task it holds has been in progress (0: none)
};

/// One port (camera) in status(). received = pending + in_progress + completed + failed +
/// dropped + expired.
struct PortStatus {
  int port = 0;
  std::string stream;
  std::string detector;       ///< default detector of the port
  std::int64_t received = 0;  ///< frames added
  std::int64_t pending = 0, in_progress = 0;
  std::int64_t completed = 0, failed = 0;
  std::int64_t dropped = 0;        ///< dropped: pending queue of the port full
  std::int64_t expired = 0;        ///< pending longer than max_frame_age
  std::int64_t lost_at_start = 0;  ///< frames a previous run held when it stopped (failures)
  std::int64_t last_frame_id = -1;
  double fps = 0.0;                                   ///< completions per second, last 10 s
  double latency_p50_ms = 0.0, latency_p99_ms = 0.0;  ///< capture -> completion, recent
  double fps_in = 0.0;                                ///< frames received per second, last 10 s
  double last_received_at = 0.0;  ///< Unix seconds of the newest frame received (0: none)
  std::string latest_task_id;     ///< newest completed frame still kept ("": none)
  /// "live", "stalled" (no frame for --stall-after s), "waiting" (frames pending, no live
  /// worker offers the detector) or "idle" (no frame yet).
  std::string state;
  double stalled_s = 0.0;  ///< seconds since the last frame, when stalled
  std::string source;      ///< "camera", or "upload" for the reserved port 0 of uploaded images
  /// Frames of this port the receivers gave up on (chunks missing), from their reports.
  std::int64_t incomplete = 0;
  /// Frames the camera's sender gated (nothing moved, not sent), as the frames received said.
  std::int64_t gated = 0;
  /// The port's detector fallback chain (--detector PORT=A,B), first choice first; empty when
  /// the port has a single detector.
  std::vector<std::string> detector_chain;
  /// The detector the port's frames go to now: the first of the chain with a live worker (the
  /// first of the chain when none has one); "" without a chain.
  std::string running_detector;
  bool fallback = false;  ///< running_detector is not the chain's first choice
};

/// A receiver's counters of one UDP port since it started (report_receiver): what happened
/// before frames reach the master.
struct ReceiverPortCounters {
  int port = 0;
  std::int64_t datagrams = 0;          ///< received, malformed included
  std::int64_t bytes = 0;              ///< received, malformed included
  std::int64_t frames_complete = 0;    ///< reassembled completely
  std::int64_t frames_incomplete = 0;  ///< given up on: chunks missing (or never seen)
  std::int64_t frames_dropped = 0;     ///< complete, dropped by its queue (master slow or down)
  std::int64_t too_large = 0;          ///< complete, over its --max-pixels
  std::int64_t malformed = 0;          ///< datagrams refused (bad header, tag, replay ...)
  std::int64_t gated = 0;  ///< frames the sender gated, as the frames' first chunks said
};

/// A receiver that reports to the master, in status().
struct ReceiverStatus {
  std::string receiver_id;
  std::string address;     ///< the network address its reports came from
  double last_seen = 0.0;  ///< Unix seconds of its latest report
  std::vector<ReceiverPortCounters> ports;
};

/// Reply to status().
struct Status {
  std::int64_t pending = 0, in_progress = 0, completed = 0, failed = 0;
  std::int64_t dropped = 0, expired = 0;
  std::int64_t requeued_timeout = 0, requeued_dead_worker = 0, failed_timeout = 0;
  std::int64_t duplicate_completions = 0, late_completions = 0, unknown_completions = 0;
  std::int64_t store_errors = 0;
  std::int64_t lost_at_start = 0;  ///< frames the previous run held when it stopped: failures
  std::vector<std::string> waiting_detectors;  ///< detectors with pending tasks, no live worker
  std::map<std::string, std::int64_t> queue;   ///< pending tasks per detector
  std::vector<ReceiverStatus> receivers;       ///< receivers that reported (report_receiver)
  std::vector<WorkerStatus> workers;
  std::vector<PortStatus> ports;
  double uptime_s = 0.0;
};

/// One time bucket of get_summary: frames completed and detections per label.
struct SummaryBucket {
  double start = 0.0;                          ///< Unix seconds, multiple of the interval
  double end = 0.0;                            ///< start + interval
  std::int64_t frames = 0;                     ///< results captured in the bucket
  std::map<std::string, std::int64_t> labels;  ///< detections per label
  /// Distinct tracks (objects) per label seen in the bucket; optional member, older masters
  /// leave it out.
  std::map<std::string, std::int64_t> tracks;
};

/// An event (docs/events.md): a tracked object's start, zone entry and exit, stationary and end,
/// or a camera's, detector's or worker's health change. Stored by the master and delivered to
/// the webhooks and MQTT of the rules it matches.
struct Event {
  std::string id;        ///< unique, stable across delivery retries and master restarts
  std::string type;      ///< "object.start", "camera.stalled", ... (docs/events.md)
  double time = 0.0;     ///< Unix seconds (an object event: the frame's capture time)
  int port = 0;          ///< camera; 0 for events of no camera (worker.*, detector.*)
  std::string stream;    ///< camera name, may be empty
  std::int64_t seq = 0;  ///< order in the master's store (a cursor); 0 before it is stored
  // object.* events
  std::int64_t track_id = 0;       ///< the track (0 for other events)
  std::string label;               ///< its label
  double confidence = 0.0;         ///< its best confidence so far
  int x = 0, y = 0, w = 0, h = 0;  ///< its box in pixels of the frame (member "box")
  std::string zone;                ///< object.zone_enter / zone_leave: the zone's name
  double start = 0.0;              ///< Unix seconds of the track's first sighting
  double end = 0.0;                ///< of its last sighting (object.end), else 0
  std::string snapshot_task_id;  ///< the task of its best frame (GET /api/v1/tasks/{id}/frame.jpg)
  /// Other events: what happened, e.g. the worker id, the detector, the loss ratio.
  std::string detail;
  std::vector<std::string> rules;  ///< names of the rules it matched (delivered to their actions)
};

/// Reply to export_results: one page of persisted results and the cursor to continue from.
struct ExportPage {
  std::vector<ResultRecord> results;  ///< oldest first
  std::int64_t cursor = 0;            ///< pass back to continue; unchanged when results is empty
};

}  // namespace fh::shared::api
