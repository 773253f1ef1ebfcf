#pragma once
// Decoding of YOLO network outputs into boxes in frame pixels, with per-class NMS.
// Pure function, thread-safe; used by DnnDetector and testable on hand-built outputs.

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fh::worker {

/// How the rows of a YOLO output are laid out. Both have rows
/// [cx, cy, w, h, objectness, score_0 .. score_{C-1}], C >= 1.
enum class YoloLayout : std::uint8_t {
  /// Darknet through OpenCV's Region layer ([yolo]/[region]): 2-D Mat [N, 5+C] per output
  /// layer; box values are fractions of the network input (0..1); the class scores already
  /// include objectness (score = objectness * class probability), so confidence = score.
  darknet,
  /// YOLOv5 ONNX export: Mat [1, N, 5+C]; box values are in network input pixels; scores
  /// are class probabilities, so confidence = objectness * score.
  yolov5,
};

/// Parses "darknet" or "yolov5"; false for anything else.
bool parse_yolo_layout(const std::string& text, YoloLayout& out);

/// Parameters of decode_yolo().
struct YoloDecodeParams {
  YoloLayout layout = YoloLayout::darknet;  ///< row layout of the outputs
  cv::Size input_size{416, 416};            ///< network input size (the blob was resized to it)
  cv::Size frame_size;                      ///< the image the boxes map back to
  float confidence = 0.5f;                  ///< keep boxes with confidence >= this (and > 0)
  float nms = 0.4f;  ///< same-class boxes overlapping more than this IoU lose
                     ///< to the stronger one; >= 1 disables NMS
};

/// One decoded box.
struct YoloBox {
  int class_id = 0;         ///< index into the class names
  float confidence = 0.0f;  ///< 0..1
  cv::Rect box;             ///< frame pixels, clipped to the frame, non-empty
};

/// Decodes YOLO outputs (one Mat per output layer, each with rows as in YoloLayout; any
/// shape whose last dimension is the row length). Per row: class = argmax of the scores,
/// confidence per the layout (clamped to 1), rows under params.confidence dropped; boxes
/// scaled from the input to frame_size (plain resize, no letterbox); then cv::dnn::NMSBoxes
/// per class over all outputs together; boxes clipped to the frame. Sorted by confidence,
/// highest first. Never throws on odd outputs: Mats that are empty, not CV_32F, not
/// continuous or with rows shorter than 6 values are skipped, as are rows with non-finite
/// or empty boxes.
std::vector<YoloBox> decode_yolo(const std::vector<cv::Mat>& outputs,
                                 const YoloDecodeParams& params);

}  // namespace fh::worker
