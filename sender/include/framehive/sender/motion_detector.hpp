#pragma once
// MotionDetector: finds the moving regions of a camera's frames against a running-average
// background, on a small grayscale copy; mask polygons are left out. Not thread-safe: one per
// stream, fed its frames in order.

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>
#include <string>
#include <vector>

namespace fh::sender {

/// A polygon in normalized frame coordinates (x, y in 0..1, x to the right, y down).
using NormPolygon = std::vector<cv::Point2f>;

/// Parses a mask polygon "x,y x,y x,y ...": at least 3 and at most 64 points separated by
/// spaces or ";" (for places where a value cannot hold spaces), each coordinate a number in 0..1.
/// Throws std::invalid_argument with a message that names the problem and quotes the text.
NormPolygon parse_polygon(const std::string& text);

/// What the detector saw in one frame.
struct MotionResult {
  bool moving = false;            ///< at least one moving region (boxes not empty)
  double score = 0.0;             ///< share of the frame's pixels that moved, 0..1
  std::vector<cv::Rect2f> boxes;  ///< moving regions, normalized 0..1, merged, at most max_boxes
  bool scene_change = false;      ///< most of the frame changed at once: background restarted
};

/// Per frame: grayscale, shrunk by the smallest integer factor that makes it at most
/// Options::width pixels wide (INTER_AREA: block averages; 768x576 -> 256x192, 1920x1080 ->
/// 320x180), 5x5 Gaussian blur; pixels differing from the background by more than `threshold` are
/// foreground (mask polygons excluded); foreground is dilated (3x3, twice) into regions
/// (8-connected). A region moves when it holds at least min_area of the frame in foreground
/// pixels and some of them also changed since the previous frame (a region that differs from
/// the background but stands still, such as the "ghost" an object leaves or a parked car, is
/// not motion and is learnt into the background quickly). Regions closer than 2% of the width
/// are merged; more than max_boxes are merged pairwise (smallest growth first). The background
/// learns at `alpha` per frame outside moving regions and at alpha / 10 inside. When more than
/// `scene_change` of the unmasked frame is foreground at once (lights switched, camera moved)
/// the frame is reported as moving with one full-frame box and the background restarts from it.
/// The first frame (and the first after a size change) only seeds the background: no motion.
class MotionDetector {
 public:
  struct Options {
    int width = 320;                 ///< analysis width in pixels, 16..320 (never enlarged)
    int threshold = 25;              ///< per-pixel difference to the background, 1..255
    double min_area = 0.0005;        ///< smallest moving region, share of the frame, (0, 1]
    double alpha = 0.05;             ///< background learning rate per frame, (0, 1]
    double scene_change = 0.8;       ///< foreground share that restarts the background, (0, 1]
    int max_boxes = 16;              ///< most boxes reported, 1..16
    std::vector<NormPolygon> masks;  ///< regions never reported as motion
  };

  MotionDetector() : MotionDetector(Options{}) {}
  /// Throws std::invalid_argument for options outside their ranges or a polygon with fewer
  /// than 3 points or coordinates outside 0..1.
  explicit MotionDetector(Options options);

  /// Analyses one frame (CV_8UC3 BGR or CV_8UC1 gray). An empty frame or another type gives
  /// no motion and counts as bad_frames(); never throws on bad input.
  MotionResult detect(const cv::Mat& frame);

  /// Forgets the background: the next frame seeds it again.
  void reset();

  /// Frames that could not be analysed (empty or of an unsupported type).
  std::uint64_t bad_frames() const { return bad_frames_; }

  const Options& options() const { return options_; }

 private:
  /// Prepares the analysis size and the mask for a frame size.
  void configure(cv::Size frame_size);

  Options options_;               ///< thresholds and masks
  cv::Size frame_size_;           ///< size of the frames analysed so far (empty: none yet)
  int factor_ = 1;                ///< frame size / analysis size (an integer)
  double scale_x_ = 1.0;          ///< an analysis pixel's width as a share of the frame's
  double scale_y_ = 1.0;          ///< an analysis pixel's height as a share of the frame's
  cv::Size small_;                ///< analysis size
  cv::Mat mask_;                  ///< CV_8U, 255 where masked; empty without masks
  cv::Mat background_;            ///< CV_32F running average
  cv::Mat previous_;              ///< CV_8U previous blurred frame
  std::uint64_t bad_frames_ = 0;  ///< see bad_frames()
};

}  // namespace fh::sender
