#include "framehive/worker/detector_null.hpp"

namespace fh::worker {

std::vector<Detection> NullDetector::detect(const cv::Mat& /*bgr*/) { return {}; }

}  // namespace fh::worker
