#pragma once
// Settings shared by all detectors, passed to make_detector() (detector_factory.hpp).
// A plain value type: copy it freely; not synchronised.

#include <string>

namespace fh::worker {

/// Options for make_detector(). The capability string picks the detector; these tune it.
struct DetectorOptions {
  /// OpenCV threads used inside one detect() call, applied with cv::setNumThreads when a
  /// detector is made. cv::setNumThreads is process-wide, so the last detector made decides.
  /// Default 1: parallelism comes from running one detector per worker thread. 0 leaves
  /// OpenCV's setting alone (all cores); make detectors before worker threads start.
  int threads = 1;

  /// Where `haar:<name>` looks for haarcascade_<name>.xml.
  std::string cascade_dir = "/usr/share/opencv4/haarcascades";

  /// Smallest object a Haar cascade reports, in pixels (square). 0 = the cascade's window.
  int haar_min_size = 30;
};

}  // namespace fh::worker
