#pragma once
// Running a detector on the regions of a CropPlan and mapping its boxes back to the frame.
// Functions, not thread-safe only in that the detector is not (one per thread).

#include "framehive/worker/detector.hpp"

#include <opencv2/core.hpp>

#include <vector>

namespace fh::worker {

/// IoU above which two same-label boxes from different crops are one object.
inline constexpr double k_crop_nms_iou = 0.5;

/// Runs det on each region of frame (a view, no copy), moves the boxes by the region's origin
/// into frame coordinates, and suppresses duplicates across overlapping or adjacent crops:
/// greedy per label, strongest first, a box goes when it overlaps a kept one by IoU > nms_iou
/// or lies mostly (> 80% of its area) inside it. Sorted by confidence, highest first.
/// Regions are clipped to the frame; empty ones are skipped. Never throws: the first failing
/// region's error is the result's error (no partial detections).
DetectResult detect_in_regions(Detector& det, const cv::Mat& frame,
                               const std::vector<cv::Rect>& regions,
                               double nms_iou = k_crop_nms_iou) noexcept;

/// The suppression step of detect_in_regions() on its own (boxes in one coordinate system).
std::vector<Detection> suppress_duplicates(std::vector<Detection> boxes, double nms_iou);

}  // namespace fh::worker
