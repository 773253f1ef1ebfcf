#pragma once
// Capability "dnn:<config file>": a YOLO model (Darknet or YOLOv5 ONNX) run by OpenCV DNN.
// Not thread-safe: one instance (one cv::dnn::Net) per worker thread.

#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_dnn_config.hpp"

#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace fh::worker {

/// Loads the model of a DnnConfig (cv::dnn::readNet, OpenCV back end, CPU) and checks it
/// with one forward pass on a black image: every output must have YOLO rows (>= 6 values)
/// and, when a names file is given, as many classes as names. detect(): blobFromImage
/// (plain resize to the input size, scale, swap_rb), forward, decode_yolo() with the
/// config's thresholds. Labels come from the names file, else "class<N>".
/// Confidence: Darknet's class score (objectness * class probability), or for YOLOv5
/// objectness * class score.
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
  /// Number of classes the model outputs.
  int class_count() const { return class_count_; }

 private:
  /// Runs the network on image; fills outs_.
  void forward(const cv::Mat& image);

  DnnConfig config_;                    ///< the config
  std::vector<std::string> names_;      ///< class names
  cv::dnn::Net net_;                    ///< the network
  std::vector<std::string> out_names_;  ///< names of its output layers
  int class_count_ = 0;                 ///< classes per row of the outputs
  cv::Mat blob_;                        ///< scratch: input blob
  std::vector<cv::Mat> outs_;           ///< scratch: outputs
};

}  // namespace fh::worker
