#pragma once
// Decoding of SSD-style detection outputs (Caffe/TensorFlow MobileNet-SSD through OpenCV's
// DetectionOutput layer, or any model ending in that layout) into boxes in frame pixels.
// Pure function, thread-safe; used by DnnDetector and testable on hand-built outputs.

#include "framehive/worker/detector_yolo.hpp"

#include <opencv2/core.hpp>

#include <vector>

namespace fh::worker {

/// Values per row of an SSD output: image_id, class, confidence, x1, y1, x2, y2.
inline constexpr int k_ssd_row = 7;

/// True when m has the SSD layout: 4-D [1, 1, N, 7], CV_32F (N may be 0).
bool is_ssd_output(const cv::Mat& m);

/// Parameters of decode_ssd().
struct SsdDecodeParams {
  cv::Size frame_size;      ///< the image the boxes map back to
  float confidence = 0.5f;  ///< keep rows with confidence >= this (and > 0)
  float nms = 0.4f;         ///< per-class NMS IoU after the model's own; >= 1 disables
};

/// Decodes outputs of the SSD layout ([1, 1, N, 7] rows of image_id, class, confidence and
/// the box corners x1, y1, x2, y2 as fractions of the image, as OpenCV's DetectionOutput
/// layer writes them). Class = the row's class value rounded (the model's own numbering:
/// MobileNet-SSD counts background as 0, so its names file starts with "background").
/// Rows of another image (image_id != 0, e.g. OpenCV's -1 padding), with a negative or
/// non-finite class, a confidence under params.confidence, or a non-finite or empty box are
/// skipped; Mats of another shape are skipped. Then nms_per_class(). Never throws.
std::vector<YoloBox> decode_ssd(const std::vector<cv::Mat>& outputs, const SsdDecodeParams& params);

}  // namespace fh::worker
