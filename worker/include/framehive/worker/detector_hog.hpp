#pragma once
// Capability "hog": OpenCV's HOG + linear SVM default people detector (label "person").
// Not thread-safe: one instance per worker thread.

#include "framehive/worker/detector.hpp"

#include <opencv2/objdetect.hpp>

#include <string>
#include <vector>

namespace fh::worker {

/// cv::HOGDescriptor with getDefaultPeopleDetector(), run as in the Python baseline:
/// detectMultiScale(hitThreshold 0, winStride 8x8, padding 8x8, scale 1.05, groupThreshold 2).
/// Finds people taller than about 128 px (the 64x128 window); smaller ones are missed, and
/// an image smaller than the window gives no detections (OpenCV 4.6 would crash on it).
/// confidence = 1 / (1 + exp(-w)), w the SVM margin OpenCV returns per grouped box
/// (foundWeights; 0 is the decision boundary, so 0.5 means "barely", ~0.95 a strong hit).
class HogDetector : public Detector {
 public:
  /// name: the capability string reported by name(), normally "hog".
  explicit HogDetector(std::string name = "hog");

  std::vector<Detection> detect(const cv::Mat& bgr) override;
  /// The detection window, 64x128.
  cv::Size min_window() const override { return hog_.winSize; }

 private:
  cv::HOGDescriptor hog_;        ///< descriptor with the people SVM set
  std::vector<cv::Rect> rects_;  ///< scratch: boxes of the last call
  std::vector<double> weights_;  ///< scratch: SVM margins of the last call
};

}  // namespace fh::worker
