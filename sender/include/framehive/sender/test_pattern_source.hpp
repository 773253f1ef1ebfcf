#pragma once
// TestPatternSource: the synthetic "test:WxH[@FPS][:SCENE]" source, an endless deterministic
// picture: the moving pattern, or scenes for motion detection. Not thread-safe.

#include <optional>

#include "framehive/sender/frame_source.hpp"

namespace fh::sender {

/// Scenes (frame n is a pure function of (width, height, scene, n), so runs are reproducible):
///   pattern (default)  a scrolling colour gradient, a bouncing box and the frame number:
///                      everything moves
///   still              a static room-like picture with sensor noise (Gaussian, sigma 4, new
///                      every frame): nothing moves
///   square             the still picture with a white square (1/8 of the height) crossing it
///                      back and forth: square_at(n)
///   bursts             cycles of k_burst_cycle frames: k_burst_still frames of the still
///                      picture, then the square crossing from the left edge
class TestPatternSource final : public FrameSource {
 public:
  static constexpr double k_default_fps = 30.0;
  enum class Scene { pattern, still, square, bursts };
  static constexpr std::int64_t k_burst_cycle = 100;
  static constexpr std::int64_t k_burst_still = 60;
  static constexpr double k_noise_sigma = 4.0;

  /// Throws FrameSourceError for sizes outside 16x16 .. 7680x4320 or fps outside (0, 1000].
  TestPatternSource(int width, int height, double fps = k_default_fps,
                    Scene scene = Scene::pattern);

  /// Parses "test:WxH", "test:WxH@FPS", optionally followed by ":SCENE" (pattern, still, square,
  /// bursts); throws FrameSourceError when malformed.
  static std::unique_ptr<TestPatternSource> from_spec(const std::string& spec);

  /// Draws frame n into image (allocated here).
  void render(std::int64_t n, cv::Mat& image) const;

  /// Where the moving square of the square and bursts scenes is in frame n (none in the other
  /// scenes and in the still part of a burst cycle).
  std::optional<cv::Rect> square_at(std::int64_t n) const;

  Scene scene() const { return scene_; }

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
  Scene scene_;            ///< what is drawn
  std::int64_t next_ = 0;  ///< index of the next frame
  std::string error_;      ///< always empty: the pattern never fails
};

}  // namespace fh::sender
