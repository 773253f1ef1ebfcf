// YOLO and SSD detectors on OpenCV DNN, capability "dnn:<config file>".
//
// The config file is key=value lines ('#' comments; relative paths are relative to the
// config's directory), for example:
//   model=yolov4-tiny.weights   # Darknet weights (with config=) or an .onnx model
//   config=yolov4-tiny.cfg      # Darknet cfg; omit for ONNX
//   names=coco.names            # optional class names, one per line
//   input=416                   # or input_width= / input_height=
//   confidence=0.5
//   nms=0.4
//   scale=0.00392157
//   swap_rb=1
//   mean=0                      # or mean=127.5, or mean=104,117,123
//   format=darknet              # or yolov5, yolov8, ssd; default from the model's extension
// (comments must be on lines of their own; see detector_dnn_config.hpp for every rule.)
#include "framehive/worker/detector_dnn.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/worker/detector_ssd.hpp"

#include <fstream>
#include <stdexcept>

namespace fh::worker {
namespace {

std::vector<std::string> read_names(const std::string& path) {
  std::vector<std::string> names;
  if (path.empty()) return names;
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("dnn: cannot open names file " + path);
  for (std::string line; std::getline(in, line);) {
    const auto b = line.find_first_not_of(" \t\r");
    const auto e = line.find_last_not_of(" \t\r");
    names.push_back(b == std::string::npos ? std::string() : line.substr(b, e - b + 1));
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (names.empty()) throw std::invalid_argument("dnn: names file " + path + " is empty");
  return names;
}

}  // namespace

DnnDetector::DnnDetector(const std::string& config_path)
    : DnnDetector(load_dnn_config(config_path), "dnn:" + config_path) {}

DnnDetector::DnnDetector(DnnConfig config, std::string name)
    : Detector(std::move(name)), config_(std::move(config)), names_(read_names(config_.names)) {
  const std::string what = "dnn config " + config_.source + ": model " + config_.model;
  try {
    net_ = cv::dnn::readNet(config_.model, config_.config);
  } catch (const cv::Exception& e) {
    throw std::invalid_argument(what + " does not load: " + e.what());
  }
  if (net_.empty()) throw std::invalid_argument(what + " does not load (empty network)");
  net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  out_names_ = net_.getUnconnectedOutLayersNames();

  // One pass on a black image: shapes are checked now rather than on the first frame, and
  // the first real frame does not pay for allocation.
  try {
    forward(cv::Mat::zeros(config_.input_height, config_.input_width, CV_8UC3));
  } catch (const cv::Exception& e) {
    throw std::invalid_argument(what + " fails on a " + std::to_string(config_.input_width) + "x" +
                                std::to_string(config_.input_height) + " input: " + e.what());
  }
  check_outputs(what);
  // An SSD model numbers its classes itself (class_count_ 0: unknown); names map ids to labels.
  if (class_count_ > 0 && !names_.empty() && static_cast<int>(names_.size()) != class_count_) {
    throw std::invalid_argument(what + " has " + std::to_string(class_count_) +
                                " classes but names file " + config_.names + " has " +
                                std::to_string(names_.size()) + " names");
  }
  fh::shared::logger("detect")->debug(
      "{}: {} {} output layers, {} classes, input {}x{}", Detector::name(), out_names_.size(),
      dnn_format_name(config_.format), class_count_, config_.input_width, config_.input_height);
}

namespace {

std::string shape_of(const cv::Mat& m) {
  std::string s = "[";
  for (int i = 0; i < m.dims; ++i) s += (i ? ", " : "") + std::to_string(m.size[i]);
  return s + "]" + (m.depth() == CV_32F ? "" : " (not float)");
}

}  // namespace

void DnnDetector::check_outputs(const std::string& what) {
  if (outs_.empty()) throw std::invalid_argument(what + ": the network has no outputs");
  const char* format = dnn_format_name(config_.format);
  const auto bad = [&](const cv::Mat& out, const std::string& expected) {
    return std::invalid_argument(what + ": output " + shape_of(out) + " is not a " + format +
                                 " output (" + expected +
                                 "); set format= to the model's layout (docs/operations.md)");
  };
  for (const cv::Mat& out : outs_) {
    switch (config_.format) {
      case DnnFormat::ssd:
        if (!is_ssd_output(out)) throw bad(out, "[1, 1, N, 7]");
        break;
      case DnnFormat::yolov8: {
        const int k = out.dims >= 2 ? out.size[out.dims - 2] : 0;
        const bool batch1 = out.dims >= 2 && out.total() == std::size_t(k) * out.size[out.dims - 1];
        if (out.depth() != CV_32F || out.dims != 3 || !batch1 || k < 5 ||
            (class_count_ != 0 && k - 4 != class_count_)) {
          throw bad(out, "[1, 4 + classes, N]");
        }
        class_count_ = k - 4;
        break;
      }
      case DnnFormat::darknet:
      case DnnFormat::yolov5: {
        const int cols = out.dims >= 2 ? out.size[out.dims - 1] : 0;
        if (out.depth() != CV_32F || cols < 6 || (class_count_ != 0 && cols - 5 != class_count_)) {
          throw bad(out, "rows of 5 + classes");
        }
        class_count_ = cols - 5;
        break;
      }
    }
  }
}

void DnnDetector::forward(const cv::Mat& image) {
  cv::dnn::blobFromImage(image, blob_, config_.scale,
                         cv::Size(config_.input_width, config_.input_height), config_.mean,
                         config_.swap_rb, /*crop=*/false, CV_32F);
  net_.setInput(blob_);
  outs_.clear();
  net_.forward(outs_, out_names_);
}

std::vector<Detection> DnnDetector::detect(const cv::Mat& bgr) {
  std::vector<Detection> out;
  if (bgr.empty()) return out;
  const cv::Mat image = to_bgr(bgr);
  forward(image);
  std::vector<YoloBox> boxes;
  YoloDecodeParams params;
  if (yolo_layout_of(config_.format, params.layout)) {
    params.input_size = cv::Size(config_.input_width, config_.input_height);
    params.frame_size = image.size();
    params.confidence = config_.confidence;
    params.nms = config_.nms;
    boxes = decode_yolo(outs_, params);
  } else {
    boxes = decode_ssd(outs_, {image.size(), config_.confidence, config_.nms});
  }
  out.reserve(boxes.size());
  for (const YoloBox& b : boxes) {
    std::string label = b.class_id < static_cast<int>(names_.size())
                            ? names_[static_cast<std::size_t>(b.class_id)]
                            : "class" + std::to_string(b.class_id);
    out.push_back({std::move(label), b.confidence, b.box.x, b.box.y, b.box.width, b.box.height});
  }
  return out;
}

}  // namespace fh::worker
