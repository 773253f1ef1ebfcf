#pragma once
// JpegEncoder: BGR frame -> JPEG bytes, optionally scaled to a width; deterministic (same image
// and options, same bytes). Stateless and const: thread-safe.

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <vector>

namespace fh::sender {

/// Scaling keeps the aspect ratio with an even height (cv::resize, INTER_AREA when shrinking,
/// INTER_LINEAR when enlarging), then cv::imencode(".jpg", {IMWRITE_JPEG_QUALITY, quality}).
/// The sender uses exactly this, so a test can rebuild the bytes it sent:
///   FrameSource::open(path)->next(frame); JpegEncoder(options).encode(frame.image)
class JpegEncoder {
 public:
  struct Options {
    int quality = 80;  ///< JPEG quality 1..100
    int width = 0;     ///< output width in pixels; 0 = native size
  };

  JpegEncoder() : JpegEncoder(Options{}) {}
  /// Throws std::invalid_argument for quality outside 1..100 or a negative width.
  explicit JpegEncoder(Options options);

  /// Encodes a CV_8UC3 BGR image into out (replaced). False (out empty) when the image is
  /// empty or not 8-bit BGR, or the codec fails; never throws on bad input.
  bool encode(const cv::Mat& bgr, std::vector<std::uint8_t>& out) const;

  /// Convenience form; empty vector on failure.
  std::vector<std::uint8_t> encode(const cv::Mat& bgr) const;

  /// The output size for an input size: unchanged when width is 0 or equal to the input's,
  /// otherwise (width, round(height * width / in.width) rounded to even, at least 2).
  static cv::Size output_size(cv::Size in, int width);

  const Options& options() const { return options_; }

 private:
  Options options_;  ///< quality and target width
};

}  // namespace fh::sender
