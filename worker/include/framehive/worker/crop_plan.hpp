#pragma once
// Region planning for framehive-worker --motion-crop: from a frame's motion boxes (fractions of
// the frame, as the sender reports them) to the pixel regions a detector runs on.
// Pure functions on value types, thread-safe; never throw.

#include "framehive/shared/api/types.hpp"

#include <opencv2/core.hpp>

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace fh::worker {

/// How motion boxes become crops. The defaults are what framehive-worker uses.
struct CropParams {
  /// Each side of a motion box grows by this fraction of the box's width (left, right) or
  /// height (top, bottom): the pixels that changed are often only part of the object (the
  /// legs of a walker), and a detector's box is larger than the object (HOG's 64x128 window
  /// around a 96 px person). 1.0 keeps HOG's recall within 2 points of its own jitter on
  /// vtest.avi (docs/motion.md, "Region crops at the worker").
  double pad_fraction = 1.0;
  /// ... plus this many pixels on each side (room for the detector's own border, e.g. HOG's
  /// 8 px padding).
  int pad_pixels = 32;
  /// Regions that overlap or lie at most this many pixels apart become one (their bounding
  /// rectangle): one detector call instead of two, no object cut in half between them.
  int merge_gap = 16;
  /// Every region grows (about its centre, shifted to stay inside the frame) to at least the
  /// detector's minimum window, Detector::min_window().
  cv::Size min_window{1, 1};
  /// When the regions cover at least this share of the frame, the frame is run whole
  /// (cropping would save little and cut objects at the region borders).
  double full_frame_coverage = 0.6;
};

/// Why plan_crops() chose the full frame, or that it did not.
enum class CropDecision {
  cropped,           ///< regions holds the crops
  no_motion_info,    ///< the frame carries no motion (sender without motion detection)
  keepalive,         ///< the idle keep-alive frame: stationary objects are re-checked whole
  no_boxes,          ///< motion without boxes (e.g. the score only): nothing to crop to
  invalid_boxes,     ///< every box was unusable (non-finite, empty, outside the frame)
  window_too_large,  ///< the frame is smaller than the detector's minimum window
  coverage,          ///< the regions cover >= full_frame_coverage of the frame
};

/// A short name for logs and benchmarks ("cropped", "keepalive", ...).
const char* crop_decision_name(CropDecision d);
/// Writes crop_decision_name(d).
inline std::ostream& operator<<(std::ostream& os, CropDecision d) {
  return os << crop_decision_name(d);
}

/// Outcome of plan_crops().
struct CropPlan {
  CropDecision decision = CropDecision::no_motion_info;  ///< cropped or why not
  std::vector<cv::Rect> regions;  ///< when cropped: disjoint, inside the frame, non-empty
  std::size_t ignored_boxes = 0;  ///< motion boxes dropped as unusable (counted, not fatal)
  double coverage = 1.0;          ///< share of the frame the detector will see (1 = whole)
  bool cropped() const { return decision == CropDecision::cropped; }
};

/// Plans the crops of a frame of the given size from its motion info: the full frame for
/// keep-alive frames, frames without motion info or without usable boxes; otherwise each box
/// (fractions of the frame; at most shared::api::k_max_motion_boxes are looked at, the rest
/// are ignored and counted) in pixels, padded, grown to the minimum window, clamped to the
/// frame, merged with overlapping or close ones until none are, and the full frame again when
/// they cover full_frame_coverage or more. Boxes that are non-finite, empty, or outside the
/// frame are ignored and counted in ignored_boxes. Regions are sorted top-left first.
CropPlan plan_crops(const shared::api::Motion& motion, cv::Size frame, const CropParams& params);

/// The same from boxes in frame pixels (the benchmark's own motion boxes; tests).
CropPlan plan_crops_px(const std::vector<cv::Rect2d>& boxes, cv::Size frame,
                       const CropParams& params);

}  // namespace fh::worker
