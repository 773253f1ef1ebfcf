#pragma once
// TaskRunner: what a worker thread does with one task — check the frame's JPEG header against
// the pixel limit, decode, and run the task's detector, which must be one of the capabilities
// this worker offers. Nothing from the network becomes a file path: a task naming a detector
// this worker did not register is failed "unknown detector" without loading anything.
// With motion_crop (framehive-worker --motion-crop) a frame with motion boxes runs on its motion
// regions only (crop_plan.hpp, crop_detect.hpp); every other frame runs whole.
// Not thread-safe: one per task thread (it owns that thread's detectors).

#include "framehive/shared/api/types.hpp"
#include "framehive/worker/crop_plan.hpp"
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
  /// With motion_crop: cropped, or why the frame ran whole (no_motion_info without it).
  CropDecision crop = CropDecision::no_motion_info;
  std::size_t crop_regions = 0;          ///< regions the detector ran on when cropped
  double coverage = 1.0;                 ///< share of the frame the detector saw
  std::size_t ignored_motion_boxes = 0;  ///< unusable motion boxes of the task (counted)
  bool ok() const { return error.empty(); }
};

class TaskRunner {
 public:
  /// capabilities: the detectors this worker registered (the only ones it runs);
  /// max_pixels: frames whose JPEG header declares more pixels are failed without decoding;
  /// motion_crop: run frames with motion boxes on their regions (crop.min_window is replaced
  /// by each detector's own Detector::min_window()).
  TaskRunner(std::vector<std::string> capabilities, DetectorOptions options, std::size_t max_pixels,
             bool motion_crop = false, CropParams crop = {});

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
  const bool motion_crop_;                                      ///< crop to motion regions
  const CropParams crop_;                                       ///< crop planning parameters
  std::map<std::string, std::unique_ptr<Detector>> detectors_;  ///< made on first use
};

}  // namespace fh::worker
