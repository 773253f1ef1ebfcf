#include "framehive/worker/crop_plan.hpp"

#include <algorithm>
#include <cmath>

namespace fh::worker {
namespace {

/// One axis of a region: grows [lo, lo + len) to at least min_len about its centre, then
/// shifts it to lie inside [0, limit) (min_len <= limit).
void grow_axis(double& lo, double& len, double min_len, double limit) {
  if (len < min_len) {
    lo -= (min_len - len) / 2;
    len = min_len;
  }
  if (lo < 0) lo = 0;
  if (lo + len > limit) lo = std::max(0.0, limit - len);
  len = std::min(len, limit - lo);
}

/// True when a and b overlap or lie at most gap pixels apart on both axes.
bool near(const cv::Rect& a, const cv::Rect& b, int gap) {
  return a.x <= b.x + b.width + gap && b.x <= a.x + a.width + gap && a.y <= b.y + b.height + gap &&
         b.y <= a.y + a.height + gap;
}

CropPlan full_frame(CropDecision why, std::size_t ignored = 0) {
  CropPlan plan;
  plan.decision = why;
  plan.ignored_boxes = ignored;
  plan.coverage = 1.0;
  return plan;
}

}  // namespace

const char* crop_decision_name(CropDecision d) {
  switch (d) {
    case CropDecision::cropped:
      return "cropped";
    case CropDecision::no_motion_info:
      return "no_motion_info";
    case CropDecision::keepalive:
      return "keepalive";
    case CropDecision::no_boxes:
      return "no_boxes";
    case CropDecision::invalid_boxes:
      return "invalid_boxes";
    case CropDecision::window_too_large:
      return "window_too_large";
    case CropDecision::coverage:
      return "coverage";
  }
  return "unknown";
}

CropPlan plan_crops(const shared::api::Motion& motion, cv::Size frame, const CropParams& params) {
  if (!motion.present) return full_frame(CropDecision::no_motion_info);
  if (motion.keepalive) return full_frame(CropDecision::keepalive);
  if (motion.boxes.empty()) return full_frame(CropDecision::no_boxes);
  const std::size_t n = std::min(motion.boxes.size(), shared::api::k_max_motion_boxes);
  std::vector<cv::Rect2d> px;
  px.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = shared::api::to_pixels(motion.boxes[i], frame.width, frame.height);
    px.emplace_back(b.x, b.y, b.w, b.h);
  }
  CropPlan plan = plan_crops_px(px, frame, params);
  plan.ignored_boxes += motion.boxes.size() - n;
  return plan;
}

CropPlan plan_crops_px(const std::vector<cv::Rect2d>& boxes, cv::Size frame,
                       const CropParams& params) {
  if (boxes.empty()) return full_frame(CropDecision::no_boxes);
  if (frame.width <= 0 || frame.height <= 0) {
    return full_frame(CropDecision::invalid_boxes, boxes.size());
  }
  const int min_w = std::max(params.min_window.width, 1);
  const int min_h = std::max(params.min_window.height, 1);
  if (frame.width < min_w || frame.height < min_h) {
    return full_frame(CropDecision::window_too_large);
  }
  const double pad_f = std::isfinite(params.pad_fraction) ? std::max(params.pad_fraction, 0.0) : 0;
  const double pad_px = std::max(params.pad_pixels, 0);
  const int gap = std::max(params.merge_gap, 0);
  const double fw = frame.width;
  const double fh = frame.height;

  std::size_t ignored = 0;
  std::vector<cv::Rect> regions;
  regions.reserve(boxes.size());
  for (const cv::Rect2d& b : boxes) {
    if (!std::isfinite(b.x) || !std::isfinite(b.y) || !std::isfinite(b.width) ||
        !std::isfinite(b.height) || !(b.width > 0) || !(b.height > 0)) {
      ++ignored;
      continue;
    }
    // Clip to the frame first: a box reaching far outside would otherwise pad to the frame.
    const double x0 = std::clamp(b.x, 0.0, fw);
    const double y0 = std::clamp(b.y, 0.0, fh);
    const double x1 = std::clamp(b.x + b.width, 0.0, fw);
    const double y1 = std::clamp(b.y + b.height, 0.0, fh);
    if (!(x1 > x0) || !(y1 > y0)) {
      ++ignored;
      continue;
    }
    const double px = pad_f * (x1 - x0) + pad_px;
    const double py = pad_f * (y1 - y0) + pad_px;
    double x = std::max(0.0, x0 - px);
    double y = std::max(0.0, y0 - py);
    double w = std::min(fw, x1 + px) - x;
    double h = std::min(fh, y1 + py) - y;
    grow_axis(x, w, min_w, fw);
    grow_axis(y, h, min_h, fh);
    // Outward to whole pixels, then clamp (rounding must not shrink below the window).
    const int ix0 = static_cast<int>(std::floor(x));
    const int iy0 = static_cast<int>(std::floor(y));
    const int ix1 = std::min(frame.width, static_cast<int>(std::ceil(x + w)));
    const int iy1 = std::min(frame.height, static_cast<int>(std::ceil(y + h)));
    regions.emplace_back(ix0, iy0, ix1 - ix0, iy1 - iy0);
  }
  if (regions.empty()) return full_frame(CropDecision::invalid_boxes, ignored);

  // Merge until no two regions are near each other; a merged region can reach a third.
  for (bool merged = true; merged;) {
    merged = false;
    for (std::size_t i = 0; i < regions.size() && !merged; ++i) {
      for (std::size_t j = i + 1; j < regions.size(); ++j) {
        if (near(regions[i], regions[j], gap)) {
          regions[i] |= regions[j];
          regions.erase(regions.begin() + static_cast<std::ptrdiff_t>(j));
          merged = true;
          break;
        }
      }
    }
  }

  double area = 0;  // disjoint after merging: the sum is the union
  for (const cv::Rect& r : regions) area += double(r.area());
  const double coverage = area / (fw * fh);
  if (coverage >= params.full_frame_coverage) {
    return full_frame(CropDecision::coverage, ignored);
  }
  std::sort(regions.begin(), regions.end(), [](const cv::Rect& a, const cv::Rect& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  CropPlan plan;
  plan.decision = CropDecision::cropped;
  plan.regions = std::move(regions);
  plan.ignored_boxes = ignored;
  plan.coverage = coverage;
  return plan;
}

}  // namespace fh::worker
