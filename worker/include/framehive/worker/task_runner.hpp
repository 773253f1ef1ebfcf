#pragma once
// TaskRunner: what a worker thread does with one task — check the frame's JPEG header against
// the pixel limit, decode, and run the task's detector, which must be one of the capabilities
// this worker offers. Nothing from the network becomes a file path: a task naming a detector
// this worker did not register is failed "unknown detector" without loading anything.
// Not thread-safe: one per task thread (it owns that thread's detectors).

#include "framehive/shared/api/types.hpp"
#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_options.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace fh::worker {

/// The outcome of one task: detections, or the failure reason sent with fail_task.
struct TaskOutcome {
  std::vector<Detection> detections;  ///< empty on failure
  std::string error;                  ///< empty on success
  bool ok() const { return error.empty(); }
};

class TaskRunner {
 public:
  /// capabilities: the detectors this worker registered (the only ones it runs);
  /// max_pixels: frames whose JPEG header declares more pixels are failed without decoding.
  TaskRunner(std::vector<std::string> capabilities, DetectorOptions options,
             std::size_t max_pixels);

  /// Runs frame.detector on frame.image. Never throws: every failure is TaskOutcome::error,
  /// e.g. "unknown detector 'dnn:/etc/x.cfg' (this worker offers: hog)" or
  /// "corrupt JPEG (too_large): ...".
  TaskOutcome run(const shared::api::Frame& frame) noexcept;

  /// The reason prefix of a task whose detector this worker does not offer.
  static constexpr const char* k_unknown_detector = "unknown detector";

 private:
  const std::set<std::string> capabilities_;                    ///< registered capabilities
  const DetectorOptions options_;                               ///< detector tuning
  const std::size_t max_pixels_;                                ///< header pixel limit
  std::map<std::string, std::unique_ptr<Detector>> detectors_;  ///< made on first use
};

}  // namespace fh::worker
