#pragma once
// Capability "dnn:<config file>": a YOLO (Darknet, YOLOv5/v8 ONNX) or SSD (Caffe, TensorFlow,
// ONNX) detection model run by OpenCV DNN.
// Not thread-safe: one instance (one cv::dnn::Net) per worker thread.

#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_dnn_config.hpp"

#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace fh::worker {

/// Loads the model of a DnnConfig (cv::dnn::readNet, OpenCV back end, CPU) and checks it
/// with one forward pass on a black image: every output must have the config's format
/// (darknet/yolov5: rows of >= 6 values; yolov8: [1, 4+C, N]; ssd: [1, 1, N, 7]) and, for
/// the YOLO formats with a names file, as many classes as names. detect(): blobFromImage
/// (plain resize to the input size, mean, scale, swap_rb), forward, decode_yolo() or
/// decode_ssd() with the config's thresholds. Labels come from the names file (index =
/// class id), else "class<N>".
/// Confidence: Darknet's class score (objectness * class probability), for YOLOv5
/// objectness * class score, for YOLOv8 the class score, for SSD the row's confidence.
class DnnDetector : public Detector {
 public:
  /// config_path: what follows "dnn:" (see detector_dnn_config.hpp for the format).
  /// Throws std::invalid_argument when the config, model or names are missing or bad.
  explicit DnnDetector(const std::string& config_path);
  /// From an already loaded config; name is what name() reports.
  DnnDetector(DnnConfig config, std::string name);

  std::vector<Detection> detect(const cv::Mat& bgr) override;
  /// The network input size (input_width x input_height).
  cv::Size min_window() const override { return {config_.input_width, config_.input_height}; }

  /// The config it was made from.
  const DnnConfig& config() const { return config_; }
  /// Class names, index = class id (may be empty).
  const std::vector<std::string>& class_names() const { return names_; }
  /// Number of classes the model outputs (0 for ssd: the model numbers them itself).
  int class_count() const { return class_count_; }

 private:
  /// Runs the network on image; fills outs_.
  void forward(const cv::Mat& image);
  /// Checks outs_ against the config's format and sets class_count_; throws
  /// std::invalid_argument starting with what.
  void check_outputs(const std::string& what);

  DnnConfig config_;                    ///< the config
  std::vector<std::string> names_;      ///< class names
  cv::dnn::Net net_;                    ///< the network
  std::vector<std::string> out_names_;  ///< names of its output layers
  int class_count_ = 0;                 ///< classes per row of the outputs
  cv::Mat blob_;                        ///< scratch: input blob
  std::vector<cv::Mat> outs_;           ///< scratch: outputs
};

}  // namespace fh::worker
