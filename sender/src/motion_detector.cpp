#include "framehive/sender/motion_detector.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <stdexcept>

namespace fh::sender {
namespace {

constexpr std::size_t k_max_polygon_points = 64;
/// Boxes closer than this share of the analysis width are merged.
constexpr double k_merge_gap = 0.02;
/// Inside moving regions the background learns this much slower.
constexpr double k_moving_learn_factor = 0.1;
/// A region moves when at least this share of min_area also changed since the previous frame.
constexpr double k_frame_change_share = 0.1;

std::string quote(const std::string& text) {
  return "'" + (text.size() > 200 ? text.substr(0, 200) + "..." : text) + "'";
}

/// Parses a whole token as a finite number; false otherwise.
bool parse_number(const std::string& s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

void check_polygon(const NormPolygon& p) {
  if (p.size() < 3 || p.size() > k_max_polygon_points) {
    throw std::invalid_argument("a mask polygon needs 3 .. 64 points (got " +
                                std::to_string(p.size()) + ")");
  }
  for (const auto& pt : p) {
    if (!(pt.x >= 0 && pt.x <= 1 && pt.y >= 0 && pt.y <= 1)) {
      throw std::invalid_argument("mask polygon coordinates must be in 0..1");
    }
  }
}

struct PixelBox {
  int x0, y0, x1, y1;  ///< inclusive corners
  long long area() const { return static_cast<long long>(x1 - x0 + 1) * (y1 - y0 + 1); }
};

PixelBox unite(const PixelBox& a, const PixelBox& b) {
  return {std::min(a.x0, b.x0), std::min(a.y0, b.y0), std::max(a.x1, b.x1), std::max(a.y1, b.y1)};
}

/// Merges boxes until at most max remain: halving passes over boxes sorted by position while
/// there are many (bounded work), then the pair whose union grows least.
void limit_boxes(std::vector<PixelBox>& boxes, std::size_t max) {
  while (boxes.size() > 64 && boxes.size() > max) {
    std::sort(boxes.begin(), boxes.end(), [](const PixelBox& a, const PixelBox& b) {
      return a.y0 != b.y0 ? a.y0 < b.y0 : a.x0 < b.x0;
    });
    std::vector<PixelBox> half;
    half.reserve(boxes.size() / 2 + 1);
    for (std::size_t i = 0; i < boxes.size(); i += 2) {
      half.push_back(i + 1 < boxes.size() ? unite(boxes[i], boxes[i + 1]) : boxes[i]);
    }
    boxes.swap(half);
  }
  while (boxes.size() > max) {
    std::size_t bi = 0, bj = 1;
    long long best = std::numeric_limits<long long>::max();
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      for (std::size_t j = i + 1; j < boxes.size(); ++j) {
        const long long growth =
            unite(boxes[i], boxes[j]).area() - boxes[i].area() - boxes[j].area();
        if (growth < best) {
          best = growth;
          bi = i;
          bj = j;
        }
      }
    }
    boxes[bi] = unite(boxes[bi], boxes[bj]);
    boxes.erase(boxes.begin() + static_cast<std::ptrdiff_t>(bj));
  }
}

}  // namespace

NormPolygon parse_polygon(const std::string& text) {
  const auto fail = [&text](const std::string& why) {
    return std::invalid_argument("mask polygon " + quote(text) + ": " + why +
                                 " (expected \"x,y x,y x,y ...\" or \"x,y;x,y;x,y;...\": 3 .. 64 "
                                 "points, coordinates "
                                 "0..1 as shares of the frame's width and height, e.g. "
                                 "\"0,0 0.3,0 0.3,0.1 0,0.1\")");
  };
  std::string points = text;  // ";" separates points as well as spaces (for env files)
  std::replace(points.begin(), points.end(), ';', ' ');
  std::istringstream in(points);
  std::string token;
  NormPolygon out;
  while (in >> token) {
    if (out.size() == k_max_polygon_points) throw fail("more than 64 points");
    const auto comma = token.find(',');
    double x = 0, y = 0;
    if (comma == std::string::npos || !parse_number(token.substr(0, comma), x) ||
        !parse_number(token.substr(comma + 1), y)) {
      throw fail("point " + std::to_string(out.size() + 1) + " " + quote(token) +
                 " is not two numbers x,y");
    }
    if (x < 0 || x > 1 || y < 0 || y > 1) {
      throw fail("point " + std::to_string(out.size() + 1) + " " + quote(token) +
                 " lies outside 0..1");
    }
    out.emplace_back(static_cast<float>(x), static_cast<float>(y));
  }
  if (out.size() < 3) {
    throw fail("needs at least 3 points, got " + std::to_string(out.size()));
  }
  return out;
}

MotionDetector::MotionDetector(Options options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.width < 16 || o.width > 320) throw std::invalid_argument("motion width must be 16..320");
  if (o.threshold < 1 || o.threshold > 255) {
    throw std::invalid_argument("motion threshold must be 1..255");
  }
  if (!(o.min_area > 0 && o.min_area <= 1)) {
    throw std::invalid_argument("motion min_area must be in (0, 1]");
  }
  if (!(o.alpha > 0 && o.alpha <= 1)) throw std::invalid_argument("motion alpha must be in (0, 1]");
  if (!(o.scene_change > 0 && o.scene_change <= 1)) {
    throw std::invalid_argument("motion scene_change must be in (0, 1]");
  }
  if (o.max_boxes < 1 || o.max_boxes > 16) {
    throw std::invalid_argument("motion max_boxes must be 1..16");
  }
  for (const auto& p : o.masks) check_polygon(p);
}

void MotionDetector::reset() {
  background_.release();
  previous_.release();
}

void MotionDetector::configure(cv::Size frame_size) {
  frame_size_ = frame_size;
  // An integer shrink factor: INTER_AREA then averages k x k blocks (OpenCV's fast path, several
  // times cheaper than a fractional factor); the last < k columns and rows are left out.
  factor_ = std::max(1, (frame_size.width + options_.width - 1) / options_.width);
  const int w = std::max(1, frame_size.width / factor_);
  const int h = std::max(1, frame_size.height / factor_);
  small_ = cv::Size(w, h);
  // Coordinates of the analysed picture as shares of the whole frame.
  scale_x_ = static_cast<double>(factor_) / frame_size.width;
  scale_y_ = static_cast<double>(factor_) / frame_size.height;
  mask_.release();
  if (!options_.masks.empty()) {
    mask_ = cv::Mat::zeros(small_, CV_8U);
    for (const auto& poly : options_.masks) {
      std::vector<cv::Point> pts;
      pts.reserve(poly.size());
      for (const auto& p : poly) {
        pts.emplace_back(static_cast<int>(std::lround(p.x / scale_x_)),
                         static_cast<int>(std::lround(p.y / scale_y_)));
      }
      cv::fillPoly(mask_, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(255));
    }
  }
  reset();
}

MotionResult MotionDetector::detect(const cv::Mat& frame) {
  MotionResult r;
  if (frame.empty() || (frame.type() != CV_8UC3 && frame.type() != CV_8UC1)) {
    ++bad_frames_;
    return r;
  }
  if (frame.size() != frame_size_) configure(frame.size());
  cv::Mat blurred;
  try {
    // Gray first: shrinking one channel costs a third of shrinking three.
    const cv::Mat whole = frame(cv::Rect(0, 0, small_.width * factor_, small_.height * factor_));
    cv::Mat gray;
    if (whole.channels() == 3) {
      cv::cvtColor(whole, gray, cv::COLOR_BGR2GRAY);
    } else {
      gray = whole;
    }
    if (factor_ > 1) {
      cv::Mat small;
      cv::resize(gray, small, small_, 0, 0, cv::INTER_AREA);
      gray = small;
    }
    cv::GaussianBlur(gray, blurred, cv::Size(5, 5), 0);
  } catch (const cv::Exception&) {
    ++bad_frames_;
    return r;
  }
  if (background_.empty()) {
    blurred.convertTo(background_, CV_32F);
    previous_ = blurred;
    return r;
  }

  cv::Mat bg8, fg, fd;
  background_.convertTo(bg8, CV_8U);
  cv::absdiff(blurred, bg8, fg);
  cv::threshold(fg, fg, options_.threshold, 255, cv::THRESH_BINARY);
  cv::absdiff(blurred, previous_, fd);
  cv::threshold(fd, fd, options_.threshold, 255, cv::THRESH_BINARY);
  if (!mask_.empty()) {
    fg.setTo(0, mask_);
    fd.setTo(0, mask_);
  }
  const double total = static_cast<double>(small_.area());
  const double unmasked = total - (mask_.empty() ? 0.0 : cv::countNonZero(mask_));
  const int fg_count = cv::countNonZero(fg);
  if (unmasked > 0 && fg_count > options_.scene_change * unmasked) {
    // Lights switched or the camera moved: report the new scene once and start over from it.
    blurred.convertTo(background_, CV_32F);
    previous_ = blurred;
    r.moving = true;
    r.scene_change = true;
    r.score = std::min(1.0, fg_count / total);
    r.boxes.emplace_back(0.f, 0.f, 1.f, 1.f);
    return r;
  }

  cv::Mat dilated, labels, stats, centroids;
  cv::dilate(fg, dilated, cv::Mat(), cv::Point(-1, -1), 2);
  const int n = cv::connectedComponentsWithStats(dilated, labels, stats, centroids, 8, CV_32S);
  std::vector<int> fg_px(static_cast<std::size_t>(n), 0);
  std::vector<int> fd_px(static_cast<std::size_t>(n), 0);
  for (int y = 0; y < small_.height; ++y) {
    const auto* lab = labels.ptr<int>(y);
    const auto* f = fg.ptr<std::uint8_t>(y);
    const auto* d = fd.ptr<std::uint8_t>(y);
    for (int x = 0; x < small_.width; ++x) {
      if (lab[x] == 0) continue;
      if (f[x]) ++fg_px[static_cast<std::size_t>(lab[x])];
      if (d[x]) ++fd_px[static_cast<std::size_t>(lab[x])];
    }
  }
  const double min_px = std::max(1.0, options_.min_area * total);
  const double min_changed = std::max(1.0, k_frame_change_share * min_px);
  std::vector<std::uint8_t> moving(static_cast<std::size_t>(n), 0);
  long long moving_px = 0;
  for (int i = 1; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (fg_px[k] >= min_px && fd_px[k] >= min_changed) {
      moving[k] = 1;
      moving_px += fg_px[k];
    }
  }
  cv::Mat moving_map = cv::Mat::zeros(small_, CV_8U);
  if (moving_px > 0) {
    for (int y = 0; y < small_.height; ++y) {
      const auto* lab = labels.ptr<int>(y);
      auto* m = moving_map.ptr<std::uint8_t>(y);
      for (int x = 0; x < small_.width; ++x) {
        if (moving[static_cast<std::size_t>(lab[x])]) m[x] = 255;
      }
    }
    // Regions closer than the gap become one box: components of the map dilated by the gap,
    // each box the extent of the moving pixels it holds.
    const int gap = std::max(1, static_cast<int>(std::lround(k_merge_gap * small_.width)));
    cv::Mat grown, merged;
    cv::dilate(moving_map, grown,
               cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * gap + 1, 2 * gap + 1)));
    const int m = cv::connectedComponents(grown, merged, 8, CV_32S);
    std::vector<PixelBox> extent(static_cast<std::size_t>(m),
                                 PixelBox{small_.width, small_.height, -1, -1});
    for (int y = 0; y < small_.height; ++y) {
      const auto* lab = merged.ptr<int>(y);
      const auto* mm = moving_map.ptr<std::uint8_t>(y);
      for (int x = 0; x < small_.width; ++x) {
        if (!mm[x]) continue;
        auto& b = extent[static_cast<std::size_t>(lab[x])];
        b.x0 = std::min(b.x0, x);
        b.y0 = std::min(b.y0, y);
        b.x1 = std::max(b.x1, x);
        b.y1 = std::max(b.y1, y);
      }
    }
    std::vector<PixelBox> boxes;
    for (int i = 1; i < m; ++i) {
      const auto& b = extent[static_cast<std::size_t>(i)];
      if (b.x1 >= b.x0) boxes.push_back(b);
    }
    limit_boxes(boxes, static_cast<std::size_t>(options_.max_boxes));
    for (const auto& b : boxes) {
      r.boxes.emplace_back(static_cast<float>(b.x0 * scale_x_), static_cast<float>(b.y0 * scale_y_),
                           static_cast<float>((b.x1 - b.x0 + 1) * scale_x_),
                           static_cast<float>((b.y1 - b.y0 + 1) * scale_y_));
    }
    r.moving = !r.boxes.empty();
    r.score = std::min(1.0, static_cast<double>(moving_px) / total);
  }

  // Learn: fast where nothing moves, slowly under moving regions (a stopped object is absorbed).
  if (moving_px > 0) {
    cv::Mat still;
    cv::bitwise_not(moving_map, still);
    cv::accumulateWeighted(blurred, background_, options_.alpha, still);
    cv::accumulateWeighted(blurred, background_, options_.alpha * k_moving_learn_factor,
                           moving_map);
  } else {
    cv::accumulateWeighted(blurred, background_, options_.alpha);
  }
  previous_ = blurred;
  return r;
}

}  // namespace fh::sender
