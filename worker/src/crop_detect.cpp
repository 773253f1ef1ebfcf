#include "framehive/worker/crop_detect.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace fh::worker {

std::vector<Detection> suppress_duplicates(std::vector<Detection> boxes, double nms_iou) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const Detection& a, const Detection& b) {
    return a.confidence > b.confidence;
  });
  std::vector<Detection> kept;
  kept.reserve(boxes.size());
  for (auto& d : boxes) {
    const cv::Rect a(d.x, d.y, d.w, d.h);
    bool duplicate = false;
    for (const auto& k : kept) {
      if (k.label != d.label) continue;
      const cv::Rect b(k.x, k.y, k.w, k.h);
      const double inter = (a & b).area();
      const double uni = double(a.area()) + double(b.area()) - inter;
      if ((uni > 0 && inter / uni > nms_iou) ||
          inter > 0.8 * double(std::min(a.area(), b.area()))) {
        duplicate = true;
        break;
      }
    }
    if (!duplicate) kept.push_back(std::move(d));
  }
  return kept;
}

DetectResult detect_in_regions(Detector& det, const cv::Mat& frame,
                               const std::vector<cv::Rect>& regions, double nms_iou) noexcept {
  DetectResult result;
  try {
    if (frame.empty()) {
      result.error = "empty image";
      return result;
    }
    const cv::Rect whole(0, 0, frame.cols, frame.rows);
    std::vector<Detection> all;
    for (const cv::Rect& region : regions) {
      const cv::Rect r = region & whole;
      if (r.empty()) continue;
      DetectResult part = det.run(frame(r));
      if (!part.ok()) {
        result.error = std::move(part.error);
        return result;
      }
      for (Detection& d : part.detections) {
        d.x += r.x;
        d.y += r.y;
        all.push_back(std::move(d));
      }
    }
    result.detections = suppress_duplicates(std::move(all), nms_iou);
  } catch (const std::exception& e) {
    result.detections.clear();
    result.error = std::string("crop detection: ") + e.what();
  } catch (...) {
    result.detections.clear();
    result.error = "crop detection: unknown exception";
  }
  return result;
}

}  // namespace fh::worker
