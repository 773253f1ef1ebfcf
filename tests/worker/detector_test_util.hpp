#pragma once
// Helpers for the detector tests: frames from the sample videos, sent through JPEG as in
// production. Not thread-safe (use from the test thread).

#include "framehive/worker/detector_jpeg.hpp"

#include "test_util.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fh::worker::test {

/// Frame number index (0-based) of a video, read sequentially.
inline cv::Mat video_frame(const std::string& path, int index) {
  cv::VideoCapture cap(path);
  BOOST_TEST_REQUIRE(cap.isOpened(), "cannot open " << path);
  cv::Mat frame;
  for (int i = 0; i <= index; ++i) {
    BOOST_TEST_REQUIRE(cap.read(frame), path << " has no frame " << i);
  }
  return frame.clone();
}

/// JPEG bytes of an image.
inline std::vector<std::uint8_t> to_jpeg(const cv::Mat& image, int quality = 80) {
  std::vector<std::uint8_t> bytes;
  BOOST_TEST_REQUIRE(cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}));
  return bytes;
}

/// The image after a JPEG q80 round trip through decode_jpeg(), as a worker receives it.
inline cv::Mat via_jpeg(const cv::Mat& image) {
  const auto r = decode_jpeg(to_jpeg(image));
  BOOST_TEST_REQUIRE(r.ok(), r.message);
  return r.bgr;
}

/// Milliseconds per call of f, averaged over n calls.
template <typename F>
double ms_per_call(int n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f();
  const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
  return dt.count() / n;
}

}  // namespace fh::worker::test
