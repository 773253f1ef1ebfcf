#pragma once
// The config file of capability "dnn:<file>": which detection model (YOLO or SSD) to load and
// how to run it.
// A plain value type; load_dnn_config() is thread-safe.
//
// Format: one key=value per line; blank lines and lines starting with '#' are ignored;
// spaces around keys and values are trimmed; relative paths are relative to the config
// file's directory; unknown or repeated keys are errors. Keys:
//   model=yolov4-tiny.weights  required: Darknet .weights (needs config=), an .onnx file, a
//                              Caffe .caffemodel (needs config=) or a TensorFlow frozen .pb
//   config=yolov4-tiny.cfg     Darknet .cfg or Caffe .prototxt (required with those), or the
//                              TensorFlow .pbtxt text graph (optional); omit for ONNX
//   names=coco.names           optional: class names, one per line (else labels "class<N>")
//   input=416                  network input width = height (default 416), or set
//   input_width=416            width and height separately
//   input_height=416
//   confidence=0.5             minimum confidence, 0..1 (default 0.5)
//   nms=0.4                    NMS IoU threshold, 0..1 (default 0.4; 1 disables NMS)
//   scale=0.00392157           pixel scale for the blob (default 1/255)
//   mean=0                     subtracted from each pixel before scaling: one value or three
//                              comma-separated, in the network's channel order (after
//                              swap_rb), e.g. mean=127.5 for MobileNet-SSD (default 0)
//   swap_rb=1                  feed RGB (1, default) or BGR (0); also true/false
//   format=darknet             output layout: darknet, yolov5, yolov8 (see YoloLayout) or ssd
//                              ([1, 1, N, 7], see detector_ssd.hpp); default: yolov5 for an
//                              .onnx model, ssd for .caffemodel and .pb, darknet otherwise
// Note: OpenCV runs each Darknet [yolo] layer with the .cfg's own thresh= (default 0.2:
// lower scores become 0) and nms_threshold= (default 0.4, per layer) before this detector's
// confidence and nms apply; set thresh=0 / nms_threshold=0 in the .cfg to leave both here.

#include "framehive/worker/detector_yolo.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

namespace fh::worker {

/// Output layout of a dnn model: one of the YOLO layouts, or SSD's detection rows.
enum class DnnFormat : std::uint8_t { darknet, yolov5, yolov8, ssd };

/// Parses "darknet", "yolov5", "yolov8" or "ssd"; false for anything else.
bool parse_dnn_format(const std::string& text, DnnFormat& out);
/// The name parse_dnn_format() reads.
const char* dnn_format_name(DnnFormat f);
/// The YOLO layout of a format; false for ssd.
bool yolo_layout_of(DnnFormat f, YoloLayout& out);

/// A parsed dnn config file; paths are absolute or relative to the working directory.
struct DnnConfig {
  std::string source;                     ///< the config file it came from
  std::string model;                      ///< weights file
  std::string config;                     ///< Darknet .cfg, empty for ONNX
  std::string names;                      ///< class names file, may be empty
  int input_width = 416;                  ///< network input width
  int input_height = 416;                 ///< network input height
  float confidence = 0.5f;                ///< minimum confidence
  float nms = 0.4f;                       ///< NMS IoU threshold
  double scale = 1.0 / 255.0;             ///< blob pixel scale
  cv::Scalar mean{0, 0, 0, 0};            ///< subtracted per channel before scaling
  bool swap_rb = true;                    ///< BGR -> RGB
  DnnFormat format = DnnFormat::darknet;  ///< output layout
};

/// Reads and checks a config file (format above): values in range, model/config/names
/// files present. Throws std::invalid_argument naming the file, line and key on any problem.
DnnConfig load_dnn_config(const std::string& path);

}  // namespace fh::worker
