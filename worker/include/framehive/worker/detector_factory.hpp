#pragma once
// Making detectors from capability strings ("hog", "haar:frontalface", "dnn:/etc/yolo.conf").
// Thread-safe functions, but see DetectorOptions::threads; each detector is per thread.

#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_options.hpp"

#include <memory>
#include <string>

namespace fh::worker {

/// Makes the detector for a capability:
///   "hog"                 HogDetector (people)
///   "haar:<name>"         HaarDetector, e.g. haar:frontalface, haar:eye, haar:/abs/x.xml
///   "dnn:<config file>"   DnnDetector (YOLO or SSD), see detector_dnn_config.hpp
///   "null"                NullDetector (no detections; for benchmarks)
/// Applies opts.threads (cv::setNumThreads, process-wide) when it is > 0 and differs.
/// Throws std::invalid_argument with a message naming the capability for an unknown
/// capability, a missing cascade, config, model or names file, or one that does not load.
std::unique_ptr<Detector> make_detector(const std::string& capability,
                                        const DetectorOptions& opts = {});

/// Start-up check: makes the detector and drops it (so files are found and really load;
/// for dnn this loads the model and runs it once). Never throws: on failure returns false
/// and, when error is given, stores the reason there.
bool is_valid_capability(const std::string& capability, const DetectorOptions& opts = {},
                         std::string* error = nullptr) noexcept;

}  // namespace fh::worker
