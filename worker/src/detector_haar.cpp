#include "framehive/worker/detector_haar.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace fh::worker {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_plain_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// "a, b, c" of the cascade names (without prefix) found in dir, or a note if none.
std::string available_cascades(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (starts_with(file, "haarcascade_") && ends_with(file, ".xml")) {
      names.insert(file.substr(12, file.size() - 12 - 4));
    }
  }
  if (names.empty()) return "no haarcascade_*.xml files in " + dir;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return "available in " + dir + ": " + list;
}

}  // namespace

std::string HaarDetector::find_cascade(const std::string& spec, const std::string& dir) {
  if (spec.empty()) {
    throw std::invalid_argument("haar: needs a cascade name, e.g. haar:frontalface");
  }
  if (spec.find('/') != std::string::npos) {
    if (spec.front() != '/' || !ends_with(spec, ".xml")) {
      throw std::invalid_argument("haar:" + spec +
                                  ": a cascade path must be absolute and end in .xml");
    }
    if (!is_file(spec)) throw std::invalid_argument("haar:" + spec + ": no such cascade file");
    return spec;
  }
  if (!is_plain_name(spec)) {
    throw std::invalid_argument("haar:" + spec +
                                ": a cascade name has only letters, digits and '_'");
  }
  const fs::path base(dir);
  for (const auto& file :
       {"haarcascade_" + spec + ".xml", "haarcascade_" + spec + "_default.xml", spec + ".xml"}) {
    if (is_file(base / file)) return (base / file).string();
  }
  throw std::invalid_argument("haar:" + spec + ": no cascade named '" + spec + "' (" +
                              available_cascades(dir) + ")");
}

std::string HaarDetector::label_for(const std::string& cascade) {
  std::string stem = fs::path(cascade).stem().string();
  if (starts_with(stem, "haarcascade_")) stem = stem.substr(12);
  if (starts_with(stem, "frontalface") || starts_with(stem, "profileface")) return "face";
  if (starts_with(stem, "frontalcatface")) return "cat_face";
  if (stem == "fullbody") return "person";
  if (starts_with(stem, "eye") || starts_with(stem, "lefteye") || starts_with(stem, "righteye")) {
    return "eye";
  }
  return stem;
}

HaarDetector::HaarDetector(const std::string& spec, const DetectorOptions& opts)
    : Detector("haar:" + spec),
      path_(find_cascade(spec, opts.cascade_dir)),
      label_(label_for(path_)),
      min_size_(std::max(opts.haar_min_size, 0), std::max(opts.haar_min_size, 0)) {
  bool loaded = false;
  try {
    loaded = cascade_.load(path_);
  } catch (const cv::Exception& e) {
    throw std::invalid_argument("haar:" + spec + ": cannot load cascade " + path_ + ": " +
                                e.what());
  }
  if (!loaded || cascade_.empty()) {
    throw std::invalid_argument("haar:" + spec + ": " + path_ + " is not a usable cascade");
  }
}

cv::Size HaarDetector::min_window() const {
  const cv::Size window = cascade_.getOriginalWindowSize();
  return {std::max({window.width, min_size_.width, 1}),
          std::max({window.height, min_size_.height, 1})};
}

std::vector<Detection> HaarDetector::detect(const cv::Mat& bgr) {
  std::vector<Detection> out;
  if (bgr.empty()) return out;
  cv::equalizeHist(to_gray(bgr), gray_);
  rects_.clear();
  levels_.clear();
  scores_.clear();
  cascade_.detectMultiScale(gray_, rects_, levels_, scores_, /*scaleFactor=*/1.1,
                            /*minNeighbors=*/3, /*flags=*/0, min_size_, cv::Size(),
                            /*outputRejectLevels=*/true);
  const cv::Rect frame(0, 0, gray_.cols, gray_.rows);
  out.reserve(rects_.size());
  for (std::size_t i = 0; i < rects_.size(); ++i) {
    const cv::Rect r = rects_[i] & frame;
    if (r.width <= 0 || r.height <= 0) continue;
    const double s = i < scores_.size() ? scores_[i] : 0.0;
    out.push_back({label_, 1.0 / (1.0 + std::exp(-s)), r.x, r.y, r.width, r.height});
  }
  std::stable_sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) {
    return a.confidence > b.confidence;
  });
  return out;
}

}  // namespace fh::worker
