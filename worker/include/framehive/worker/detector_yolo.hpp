#pragma once
// Decoding of YOLO network outputs into boxes in frame pixels, with per-class NMS.
// Pure function, thread-safe; used by DnnDetector and testable on hand-built outputs.

#include <opencv2/core.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fh::worker {

/// How a YOLO output is laid out. darknet and yolov5 have rows
/// [cx, cy, w, h, objectness, score_0 .. score_{C-1}], C >= 1; yolov8 has no objectness.
enum class YoloLayout : std::uint8_t {
  /// Darknet through OpenCV's Region layer ([yolo]/[region]): 2-D Mat [N, 5+C] per output
  /// layer; box values are fractions of the network input (0..1); the class scores already
  /// include objectness (score = objectness * class probability), so confidence = score.
  darknet,
  /// YOLOv5 ONNX export: Mat [1, N, 5+C]; box values are in network input pixels; scores
  /// are class probabilities, so confidence = objectness * score.
  yolov5,
  /// YOLOv8 / YOLO11 ONNX export: Mat [1, 4+C, N], one column per candidate (transposed
  /// against yolov5): cx, cy, w, h in network input pixels, then C class scores, no
  /// objectness, so confidence = the best class score. (OpenCV 4.6 does not run the stock
  /// Ultralytics export of this layout: docs/operations.md.)
  yolov8,
};

/// Parses "darknet", "yolov5" or "yolov8"; false for anything else.
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

/// Candidates of one class before NMS.
struct ClassCandidates {
  std::vector<cv::Rect2d> boxes;  ///< frame pixels, unclipped
  std::vector<float> scores;      ///< confidences, one per box
};

/// The last step of decode_yolo() and decode_ssd(): cv::dnn::NMSBoxes per class (a box
/// overlapping a stronger one of its class by IoU > nms goes; nms >= 1 keeps all), boxes
/// clipped to the frame (empty ones dropped), sorted by confidence, highest first.
std::vector<YoloBox> nms_per_class(const std::map<int, ClassCandidates>& by_class, cv::Size frame,
                                   float nms);

/// Decodes YOLO outputs (one Mat per output layer, each with rows as in YoloLayout; any
/// shape whose last dimension is the row length; for yolov8 [.., 4+C, N] with a batch of 1). Per
/// row: class = argmax of the scores, confidence per the layout (clamped to 1), rows under
/// params.confidence dropped; boxes scaled from the input to frame_size (plain resize, no
/// letterbox); then cv::dnn::NMSBoxes per class over all outputs together; boxes clipped to the
/// frame. Sorted by confidence, highest first. Never throws on odd outputs: Mats that are empty,
/// not CV_32F, not continuous or with rows shorter than 6 values (5 for yolov8) are skipped, as are
/// rows with non-finite or empty boxes.
std::vector<YoloBox> decode_yolo(const std::vector<cv::Mat>& outputs,
                                 const YoloDecodeParams& params);

}  // namespace fh::worker
