#include "framehive/sender/jpeg_encoder.hpp"

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace fh::sender {

JpegEncoder::JpegEncoder(Options options) : options_(options) {
  if (options_.quality < 1 || options_.quality > 100) {
    throw std::invalid_argument("JPEG quality must be 1..100");
  }
  if (options_.width < 0) throw std::invalid_argument("JPEG width must be >= 0");
}

cv::Size JpegEncoder::output_size(cv::Size in, int width) {
  if (width <= 0 || in.width <= 0 || width == in.width) return in;
  const double h = static_cast<double>(in.height) * width / in.width;
  const int even = static_cast<int>(std::lround(h / 2.0)) * 2;
  return {width, std::max(2, even)};
}

bool JpegEncoder::encode(const cv::Mat& bgr, std::vector<std::uint8_t>& out) const {
  out.clear();
  if (bgr.empty() || bgr.type() != CV_8UC3) return false;
  const cv::Size target = output_size(bgr.size(), options_.width);
  try {
    bool ok = false;
    const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, options_.quality};
    if (target == bgr.size()) {
      ok = cv::imencode(".jpg", bgr, out, params);
    } else {
      cv::Mat scaled;
      const bool shrink = target.width < bgr.cols;
      cv::resize(bgr, scaled, target, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
      ok = cv::imencode(".jpg", scaled, out, params);
    }
    if (!ok) out.clear();
    return ok && !out.empty();
  } catch (const cv::Exception&) {
    out.clear();
    return false;
  }
}

std::vector<std::uint8_t> JpegEncoder::encode(const cv::Mat& bgr) const {
  std::vector<std::uint8_t> out;
  encode(bgr, out);
  return out;
}

}  // namespace fh::sender
