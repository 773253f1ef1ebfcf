#pragma once
// One decoded video frame as handed out by a FrameSource: a BGR image plus its timing.
// A plain value type; not synchronised (one thread owns a CapturedFrame at a time).

#include <cstdint>
#include <opencv2/core/mat.hpp>

namespace fh::sender {

struct CapturedFrame {
  cv::Mat image;           ///< CV_8UC3, BGR, continuous, freshly allocated per frame
  double pts = -1.0;       ///< presentation time in seconds from the stream start, < 0 if unknown
  std::int64_t index = 0;  ///< 0-based position within the source (restarts after rewind())
  std::uint64_t capture_us = 0;  ///< wall-clock Unix microseconds when the frame was decoded
};

}  // namespace fh::sender
