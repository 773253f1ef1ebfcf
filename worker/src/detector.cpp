#include "framehive/worker/detector.hpp"

#include <opencv2/imgproc.hpp>

#include <exception>
#include <stdexcept>

namespace fh::worker {
namespace {

void check_image_type(const cv::Mat& image) {
  if (image.depth() != CV_8U) {
    throw std::invalid_argument("image must be 8-bit (CV_8U), got " +
                                cv::typeToString(image.type()));
  }
  const int ch = image.channels();
  if (ch != 1 && ch != 3 && ch != 4) {
    throw std::invalid_argument("image must have 1, 3 or 4 channels, got " + std::to_string(ch));
  }
}

}  // namespace

DetectResult Detector::run(const cv::Mat& bgr) noexcept {
  DetectResult result;
  try {
    if (bgr.empty()) {
      result.error = "empty image";
      return result;
    }
    result.detections = detect(bgr);
  } catch (const std::exception& e) {
    result.detections.clear();
    result.error = name_ + ": " + e.what();
  } catch (...) {
    result.detections.clear();
    result.error = name_ + ": unknown exception";
  }
  return result;
}

cv::Mat Detector::to_bgr(const cv::Mat& image) {
  check_image_type(image);
  if (image.channels() == 3) return image;
  cv::Mat out;
  cv::cvtColor(image, out, image.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
  return out;
}

cv::Mat Detector::to_gray(const cv::Mat& image) {
  check_image_type(image);
  if (image.channels() == 1) return image;
  cv::Mat out;
  cv::cvtColor(image, out, image.channels() == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  return out;
}

}  // namespace fh::worker
