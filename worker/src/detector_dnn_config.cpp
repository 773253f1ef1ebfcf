// Parser of the dnn detector's key=value config file; the format is documented in
// framehive/worker/detector_dnn_config.hpp.
#include "framehive/worker/detector_dnn_config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <vector>

namespace fh::worker {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Parses the whole of text as a double, or throws with where.
double to_double(const std::string& text, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v)) {
    throw std::invalid_argument(where + ": '" + text + "' is not a number");
  }
  return v;
}

int to_int(const std::string& text, const std::string& where, int lo, int hi) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || v < lo || v > hi) {
    throw std::invalid_argument(where + ": '" + text + "' is not an integer in " +
                                std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int>(v);
}

bool to_bool(const std::string& text, const std::string& where) {
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  throw std::invalid_argument(where + ": '" + text + "' is not 0/1/true/false");
}

float to_unit(const std::string& text, const std::string& where) {
  const double v = to_double(text, where);
  if (v < 0.0 || v > 1.0) throw std::invalid_argument(where + ": must be in 0..1");
  return static_cast<float>(v);
}

/// A path from the file, made relative to the config's directory.
std::string resolve(const std::string& value, const fs::path& dir) {
  const fs::path p(value);
  return (p.is_absolute() ? p : dir / p).lexically_normal().string();
}

void require_file(const std::string& path, const std::string& key, const std::string& source) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::invalid_argument("dnn config " + source + ": " + key + " file " + path +
                                " not found");
  }
}

/// "127.5" or "104,117,123": one value for every channel, or one per channel.
cv::Scalar to_mean(const std::string& text, const std::string& where) {
  std::vector<double> values;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    values.push_back(to_double(trim(text.substr(start, comma - start)), where));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (double v : values) {
    if (std::abs(v) > 1e6) throw std::invalid_argument(where + ": out of range");
  }
  if (values.size() == 1) return cv::Scalar::all(values[0]);
  if (values.size() == 3) return {values[0], values[1], values[2], 0};
  throw std::invalid_argument(where + ": '" + text + "' is not one value or three (R,G,B)");
}

}  // namespace

bool parse_dnn_format(const std::string& text, DnnFormat& out) {
  if (text == "darknet") {
    out = DnnFormat::darknet;
  } else if (text == "yolov5") {
    out = DnnFormat::yolov5;
  } else if (text == "yolov8") {
    out = DnnFormat::yolov8;
  } else if (text == "ssd") {
    out = DnnFormat::ssd;
  } else {
    return false;
  }
  return true;
}

const char* dnn_format_name(DnnFormat f) {
  switch (f) {
    case DnnFormat::darknet:
      return "darknet";
    case DnnFormat::yolov5:
      return "yolov5";
    case DnnFormat::yolov8:
      return "yolov8";
    case DnnFormat::ssd:
      return "ssd";
  }
  return "unknown";
}

bool yolo_layout_of(DnnFormat f, YoloLayout& out) {
  switch (f) {
    case DnnFormat::darknet:
      out = YoloLayout::darknet;
      return true;
    case DnnFormat::yolov5:
      out = YoloLayout::yolov5;
      return true;
    case DnnFormat::yolov8:
      out = YoloLayout::yolov8;
      return true;
    case DnnFormat::ssd:
      return false;
  }
  return false;
}

DnnConfig load_dnn_config(const std::string& path) {
  if (path.empty()) {
    throw std::invalid_argument("dnn: needs a config file, e.g. dnn:/etc/framehive/yolo.conf");
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::invalid_argument("dnn config " + path + " not found");
  }
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("dnn config " + path + " cannot be opened");

  DnnConfig cfg;
  cfg.source = path;
  const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  bool format_set = false;
  bool have_input = false;
  std::set<std::string> seen;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string at = "dnn config " + path + ":" + std::to_string(line_no);
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(at + ": expected key=value");
    const std::string key = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    const std::string where = at + ": " + key;
    if (!seen.insert(key).second) throw std::invalid_argument(where + ": given twice");
    if (value.empty()) throw std::invalid_argument(where + ": empty value");
    if (key == "model") {
      cfg.model = resolve(value, dir);
    } else if (key == "config") {
      cfg.config = resolve(value, dir);
    } else if (key == "names") {
      cfg.names = resolve(value, dir);
    } else if (key == "input") {
      cfg.input_width = cfg.input_height = to_int(value, where, 1, 4096);
      have_input = true;
    } else if (key == "input_width") {
      cfg.input_width = to_int(value, where, 1, 4096);
    } else if (key == "input_height") {
      cfg.input_height = to_int(value, where, 1, 4096);
    } else if (key == "confidence") {
      cfg.confidence = to_unit(value, where);
    } else if (key == "nms") {
      cfg.nms = to_unit(value, where);
    } else if (key == "scale") {
      cfg.scale = to_double(value, where);
      if (!(cfg.scale > 0)) throw std::invalid_argument(where + ": must be > 0");
    } else if (key == "mean") {
      cfg.mean = to_mean(value, where);
    } else if (key == "swap_rb") {
      cfg.swap_rb = to_bool(value, where);
    } else if (key == "format") {
      if (!parse_dnn_format(value, cfg.format)) {
        throw std::invalid_argument(where + ": '" + value +
                                    "' is not darknet, yolov5, yolov8 or ssd");
      }
      format_set = true;
    } else {
      throw std::invalid_argument(where +
                                  ": unknown key (known: model, config, names, input, input_width, "
                                  "input_height, confidence, nms, scale, mean, swap_rb, format)");
    }
  }
  if (have_input && (seen.count("input_width") || seen.count("input_height"))) {
    throw std::invalid_argument("dnn config " + path +
                                ": give either input or input_width/input_height");
  }
  if (cfg.model.empty()) throw std::invalid_argument("dnn config " + path + ": no model=");
  require_file(cfg.model, "model", path);
  const bool onnx = ends_with(cfg.model, ".onnx");
  const bool caffe = ends_with(cfg.model, ".caffemodel");
  const bool tf = ends_with(cfg.model, ".pb");
  if (!format_set) {
    cfg.format = onnx ? DnnFormat::yolov5 : (caffe || tf) ? DnnFormat::ssd : DnnFormat::darknet;
  }
  if (ends_with(cfg.model, ".weights") && cfg.config.empty()) {
    throw std::invalid_argument("dnn config " + path +
                                ": a Darknet .weights model needs config=<file.cfg>");
  }
  if (caffe && cfg.config.empty()) {
    throw std::invalid_argument("dnn config " + path +
                                ": a Caffe .caffemodel needs config=<deploy.prototxt>");
  }
  if (!cfg.config.empty()) require_file(cfg.config, "config", path);
  if (!cfg.names.empty()) require_file(cfg.names, "names", path);
  return cfg;
}

}  // namespace fh::worker
