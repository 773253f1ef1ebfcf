#pragma once
// TestPatternSource: the synthetic "test:WxH[@FPS]" source, an endless deterministic moving
// picture. Not thread-safe.

#include "framehive/sender/frame_source.hpp"

namespace fh::sender {

/// A scrolling colour gradient, a bouncing box and the frame number; frame n is a pure
/// function of (width, height, n), so runs are reproducible.
class TestPatternSource final : public FrameSource {
 public:
  static constexpr double k_default_fps = 30.0;

  /// Throws FrameSourceError for sizes outside 16x16 .. 7680x4320 or fps outside (0, 1000].
  TestPatternSource(int width, int height, double fps = k_default_fps);

  /// Parses "test:WxH" or "test:WxH@FPS"; throws FrameSourceError when malformed.
  static std::unique_ptr<TestPatternSource> from_spec(const std::string& spec);

  /// Draws frame n into image (allocated here).
  void render(std::int64_t n, cv::Mat& image) const;

  bool next(CapturedFrame& frame) override;
  bool rewind() override;
  double fps() const override { return fps_; }
  cv::Size size() const override { return {width_, height_}; }
  bool live() const override { return false; }
  const std::string& error() const override { return error_; }
  std::uint64_t decode_errors() const override { return 0; }
  std::string describe() const override;

 private:
  int width_;              ///< frame width in pixels
  int height_;             ///< frame height in pixels
  double fps_;             ///< nominal rate, used for pts
  std::int64_t next_ = 0;  ///< index of the next frame
  std::string error_;      ///< always empty: the pattern never fails
};

}  // namespace fh::sender
