#include "framehive/worker/detector_hog.hpp"

#include <algorithm>
#include <cmath>

namespace fh::worker {

HogDetector::HogDetector(std::string name) : Detector(std::move(name)) {
  hog_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
}

std::vector<Detection> HogDetector::detect(const cv::Mat& bgr) {
  std::vector<Detection> out;
  if (bgr.empty()) return out;
  const cv::Mat image = to_bgr(bgr);
  // No person fits, and OpenCV 4.6's detectMultiScale reads out of bounds (crashes or
  // corrupts the heap) on images smaller than the window.
  if (image.cols < hog_.winSize.width || image.rows < hog_.winSize.height) return out;
  rects_.clear();
  weights_.clear();
  hog_.detectMultiScale(image, rects_, weights_, /*hitThreshold=*/0.0, cv::Size(8, 8),
                        cv::Size(8, 8), /*scale=*/1.05, /*groupThreshold=*/2.0,
                        /*useMeanshiftGrouping=*/false);
  const cv::Rect frame(0, 0, image.cols, image.rows);
  out.reserve(rects_.size());
  for (std::size_t i = 0; i < rects_.size(); ++i) {
    // HOG boxes often stick out of the frame (padding, grouping): clip them.
    const cv::Rect r = rects_[i] & frame;
    if (r.width <= 0 || r.height <= 0) continue;
    const double w = i < weights_.size() ? weights_[i] : 0.0;
    out.push_back({"person", 1.0 / (1.0 + std::exp(-w)), r.x, r.y, r.width, r.height});
  }
  std::stable_sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) {
    return a.confidence > b.confidence;
  });
  // HOG's grouping leaves overlapping boxes on one person (often one box nested in a larger
  // one). Greedy suppression, best first: drop a box that overlaps a kept one by IoU > 0.4 or
  // lies mostly (> 80% of its area) inside it.
  std::vector<Detection> kept;
  kept.reserve(out.size());
  for (const auto& d : out) {
    const cv::Rect a(d.x, d.y, d.w, d.h);
    bool suppressed = false;
    for (const auto& k : kept) {
      const cv::Rect b(k.x, k.y, k.w, k.h);
      const double inter = (a & b).area();
      const double iou = inter / (a.area() + b.area() - inter);
      if (iou > 0.4 || inter > 0.8 * std::min(a.area(), b.area())) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(d);
  }
  return kept;
}

}  // namespace fh::worker
