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

TestPatternSource::TestPatternSource(int width, int height, double fps, Scene scene)
    : width_(width), height_(height), fps_(fps), scene_(scene) {
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
                            "': expected test:WIDTHxHEIGHT[@FPS][:SCENE] (SCENE: pattern, "
                            "still, square or bursts), e.g. test:640x480 or "
                            "test:320x240@10:still");
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
  Scene scene = Scene::pattern;
  const auto colon = spec.find(':', pos);
  if (colon != std::string::npos) {
    const std::string name = spec.substr(colon + 1);
    if (name == "pattern") {
      scene = Scene::pattern;
    } else if (name == "still") {
      scene = Scene::still;
    } else if (name == "square") {
      scene = Scene::square;
    } else if (name == "bursts") {
      scene = Scene::bursts;
    } else {
      throw bad();
    }
  }
  const std::size_t end = colon == std::string::npos ? spec.size() : colon;
  if (pos < end) {
    if (spec[pos] != '@') throw bad();
    const std::string rate = spec.substr(pos + 1, end - pos - 1);
    const bool plain = !rate.empty() && rate.size() <= 10 &&
                       rate.find_first_not_of("0123456789.") == std::string::npos &&
                       std::isdigit(static_cast<unsigned char>(rate.front())) &&
                       std::count(rate.begin(), rate.end(), '.') <= 1;
    if (!plain) throw bad();
    fps = std::strtod(rate.c_str(), nullptr);
  }
  return std::make_unique<TestPatternSource>(w, h, fps, scene);
}

std::optional<cv::Rect> TestPatternSource::square_at(std::int64_t n) const {
  const int side = std::max(4, height_ / 8);
  const int speed = std::max(1, width_ / 80);  // crosses a 640-wide frame in ~80 frames
  const int y =
      std::max(0, height_ / 2 - side / 2 + triangle(n * speed / 4, height_ / 6) - height_ / 12);
  if (scene_ == Scene::square) {
    return cv::Rect(triangle(n * speed, width_ - side), std::min(y, height_ - side), side, side);
  }
  if (scene_ == Scene::bursts) {
    const std::int64_t k = n % k_burst_cycle;
    if (k < k_burst_still) return std::nullopt;
    const int x =
        static_cast<int>(std::min<std::int64_t>((k - k_burst_still) * speed * 2, width_ - side));
    return cv::Rect(x, std::min(y, height_ - side), side, side);
  }
  return std::nullopt;
}

void TestPatternSource::render(std::int64_t n, cv::Mat& image) const {
  const int w = width_;
  const int h = height_;
  if (scene_ != Scene::pattern) {
    // A static room: wall, floor, two pieces of furniture, a sign.
    image = cv::Mat(h, w, CV_8UC3, cv::Scalar(110, 100, 90));
    cv::rectangle(image, cv::Rect(0, 2 * h / 3, w, h - 2 * h / 3), cv::Scalar(140, 150, 150),
                  cv::FILLED);
    cv::rectangle(image, cv::Rect(w / 10, h / 3, w / 6, h / 2), cv::Scalar(40, 60, 90), cv::FILLED);
    cv::rectangle(image, cv::Rect(3 * w / 5, h / 5, w / 4, h / 6), cv::Scalar(60, 120, 60),
                  cv::FILLED);
    cv::putText(image, "framehive", cv::Point(w / 20, h / 10), cv::FONT_HERSHEY_SIMPLEX,
                std::max(0.3, w / 640.0), cv::Scalar(20, 20, 20), std::max(1, w / 320),
                cv::LINE_AA);
    if (const auto sq = square_at(n)) {
      cv::rectangle(image, *sq, cv::Scalar(245, 245, 245), cv::FILLED);
    }
    // Sensor noise, new in every frame (seeded by the frame number: reproducible).
    cv::Mat noise(h, w, CV_16SC3);
    cv::RNG rng(static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15ULL + 1);
    rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(k_noise_sigma));
    cv::Mat sum;
    image.convertTo(sum, CV_16SC3);
    sum += noise;
    sum.convertTo(image, CV_8UC3);
    return;
  }
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
  static const char* const names[] = {"", ", scene still", ", scene square", ", scene bursts"};
  std::snprintf(buf, sizeof buf, "test pattern %dx%d %.2f fps%s", width_, height_, fps_,
                names[static_cast<int>(scene_)]);
  return buf;
}

}  // namespace fh::sender
