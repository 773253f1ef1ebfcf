#pragma once
// Capability "null": finds nothing. For benchmarks of everything but detection (transport,
// JPEG decode). Stateless; not meant to be shared, like every detector.

#include "framehive/worker/detector.hpp"

#include <string>
#include <vector>

namespace fh::worker {

/// A detector that always returns no detections.
class NullDetector : public Detector {
 public:
  explicit NullDetector(std::string name = "null") : Detector(std::move(name)) {}

  std::vector<Detection> detect(const cv::Mat& bgr) override;
};

}  // namespace fh::worker
