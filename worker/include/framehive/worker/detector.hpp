#pragma once
// The detector interface: one image in, a list of labelled boxes out.
// Not thread-safe: detectors hold OpenCV state; create one instance per worker thread.

#include "framehive/shared/api/types.hpp"

#include <opencv2/core.hpp>

#include <string>
#include <utility>
#include <vector>

namespace fh::worker {

/// One detected object, in pixels of the image given to detect(): the contract's Detection
/// (0 <= x < width, 0 <= y < height, w and h > 0 and inside the image; confidence 0..1, each
/// detector documents its mapping).
using Detection = shared::api::Detection;

/// Outcome of Detector::run(): the detections, or a message saying why detection failed.
struct DetectResult {
  std::vector<Detection> detections;  ///< empty on error
  std::string error;                  ///< empty on success
  bool ok() const { return error.empty(); }
};

/// Base class of all detectors. Made by make_detector() (detector_factory.hpp).
class Detector {
 public:
  virtual ~Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  /// Detects objects in an 8-bit image (BGR; 1- and 4-channel images are converted).
  /// An empty image gives no detections. Throws std::invalid_argument for an image that is
  /// not 8-bit with 1, 3 or 4 channels, and lets cv::Exception through on an OpenCV
  /// failure; run() never throws.
  virtual std::vector<Detection> detect(const cv::Mat& bgr) = 0;

  /// The capability string this detector was made for, e.g. "haar:frontalface".
  virtual const std::string& name() const { return name_; }

  /// The smallest image region worth running this detector on, in pixels: the detection
  /// window (HOG: 64x128), the cascade's window or minimum object size (Haar), the network
  /// input (DNN). framehive-worker --motion-crop grows every crop to at least this.
  /// Default 1x1 (no minimum).
  virtual cv::Size min_window() const { return {1, 1}; }

  /// Per-frame entry point: detect() with every failure (including an empty image) turned
  /// into DetectResult::error. Never throws.
  DetectResult run(const cv::Mat& bgr) noexcept;

 protected:
  explicit Detector(std::string name) : name_(std::move(name)) {}

  /// The image as 8-bit BGR (shares data when it already is). Throws std::invalid_argument
  /// for a depth other than CV_8U or a channel count other than 1, 3 or 4.
  static cv::Mat to_bgr(const cv::Mat& image);
  /// The image as 8-bit single-channel gray, same rules as to_bgr().
  static cv::Mat to_gray(const cv::Mat& image);

 private:
  std::string name_;  ///< capability string
};

}  // namespace fh::worker
