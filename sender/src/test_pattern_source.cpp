#include "framehive/sender/test_pattern_source.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <opencv2/imgproc.hpp>

#include "framehive/shared/clock.hpp"

namespace fh::sender {
namespace {

/// Bounces t back and forth over [0, range].
int triangle(std::int64_t t, int range) {
  if (range <= 0) return 0;
  const std::int64_t period = 2 * static_cast<std::int64_t>(range);
  const std::int64_t m = t % period;
  return static_cast<int>(m <= range ? m : period - m);
}

}  // namespace

TestPatternSource::TestPatternSource(int width, int height, double fps)
    : width_(width), height_(height), fps_(fps) {
  if (width < 16 || height < 16 || width > 7680 || height > 4320) {
    throw FrameSourceError("test pattern size " + std::to_string(width) + "x" +
                           std::to_string(height) + " is outside 16x16 .. 7680x4320");
  }
  if (!(fps > 0 && fps <= 1000)) {
    throw FrameSourceError("test pattern rate must be in (0, 1000] frames per second");
  }
}

std::unique_ptr<TestPatternSource> TestPatternSource::from_spec(const std::string& spec) {
  const auto bad = [&spec]() {
    return FrameSourceError("bad test pattern '" + spec +
                            "': expected test:WIDTHxHEIGHT or test:WIDTHxHEIGHT@FPS, e.g. "
                            "test:640x480");
  };
  // Reads 1..5 digits at pos.
  const auto number = [&](std::size_t& pos) {
    const std::size_t start = pos;
    int v = 0;
    while (pos < spec.size() && pos - start < 5 &&
           std::isdigit(static_cast<unsigned char>(spec[pos]))) {
      v = v * 10 + (spec[pos++] - '0');
    }
    if (pos == start) throw bad();
    return v;
  };
  if (spec.rfind("test:", 0) != 0) throw bad();
  std::size_t pos = 5;
  const int w = number(pos);
  if (pos >= spec.size() || spec[pos] != 'x') throw bad();
  ++pos;
  const int h = number(pos);
  double fps = k_default_fps;
  if (pos < spec.size()) {
    if (spec[pos] != '@') throw bad();
    const std::string rate = spec.substr(pos + 1);
    const bool plain = !rate.empty() && rate.size() <= 10 &&
                       rate.find_first_not_of("0123456789.") == std::string::npos &&
                       std::isdigit(static_cast<unsigned char>(rate.front())) &&
                       std::count(rate.begin(), rate.end(), '.') <= 1;
    if (!plain) throw bad();
    fps = std::strtod(rate.c_str(), nullptr);
  }
  return std::make_unique<TestPatternSource>(w, h, fps);
}

void TestPatternSource::render(std::int64_t n, cv::Mat& image) const {
  const int w = width_;
  const int h = height_;
  image = cv::Mat(h, w, CV_8UC3);
  // Scrolling gradient: blue across, green down, red along the diagonal.
  for (int y = 0; y < h; ++y) {
    auto* row = image.ptr<std::uint8_t>(y);
    const int g = static_cast<int>((static_cast<std::int64_t>(y) * 256 / h + n) & 255);
    for (int x = 0; x < w; ++x) {
      row[3 * x + 0] =
          static_cast<std::uint8_t>((static_cast<std::int64_t>(x) * 256 / w + 2 * n) & 255);
      row[3 * x + 1] = static_cast<std::uint8_t>(g);
      row[3 * x + 2] = static_cast<std::uint8_t>(
          (static_cast<std::int64_t>(x + y) * 128 / (w + h) + 3 * n) & 255);
    }
  }
  // A bouncing box with a border.
  const int bw = std::max(4, w / 6);
  const int bh = std::max(4, h / 6);
  const int bx = triangle(n * 7, w - bw);
  const int by = triangle(n * 5, h - bh);
  cv::rectangle(image, cv::Rect(bx, by, bw, bh), cv::Scalar(240, 240, 240), cv::FILLED);
  cv::rectangle(image, cv::Rect(bx, by, bw, bh), cv::Scalar(0, 0, 200), std::max(1, w / 320));
  // The frame number.
  char text[48];
  std::snprintf(text, sizeof text, "framehive #%06lld", static_cast<long long>(n));
  const double scale = std::max(0.3, w / 640.0);
  const int thickness = std::max(1, w / 320);
  const cv::Point origin(w / 20, h - h / 12);
  cv::putText(image, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0),
              thickness + 2, cv::LINE_AA);
  cv::putText(image, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255),
              thickness, cv::LINE_AA);
}

bool TestPatternSource::next(CapturedFrame& frame) {
  render(next_, frame.image);
  frame.index = next_;
  frame.pts = static_cast<double>(next_) / fps_;
  frame.capture_us = fh::shared::unix_micros();
  ++next_;
  return true;
}

bool TestPatternSource::rewind() {
  next_ = 0;
  return true;
}

std::string TestPatternSource::describe() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "test pattern %dx%d %.2f fps", width_, height_, fps_);
  return buf;
}

}  // namespace fh::sender
