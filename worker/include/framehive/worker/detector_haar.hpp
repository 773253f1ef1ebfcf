#pragma once
// Capability "haar:<name>": an OpenCV Haar cascade (faces, eyes, bodies...).
// Not thread-safe: one instance per worker thread.

#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_options.hpp"

#include <opencv2/objdetect.hpp>

#include <string>
#include <vector>

namespace fh::worker {

/// cv::CascadeClassifier on the equalised gray image: detectMultiScale(scaleFactor 1.1,
/// minNeighbors 3, minSize DetectorOptions::haar_min_size). Label from label_for().
/// confidence = 1 / (1 + exp(-s)), s the cascade's last-stage score for the box (the
/// levelWeights of the outputRejectLevels overload, which returns the same boxes; roughly
/// -2..9 for frontal faces, so 0.5 means "barely passed").
class HaarDetector : public Detector {
 public:
  /// spec: what follows "haar:" (see find_cascade()). Throws std::invalid_argument when the
  /// cascade is not found or does not load.
  HaarDetector(const std::string& spec, const DetectorOptions& opts);

  std::vector<Detection> detect(const cv::Mat& bgr) override;
  /// The larger of the cascade's window (24x24 for frontalface) and the minimum object
  /// size (DetectorOptions::haar_min_size).
  cv::Size min_window() const override;

  /// Path of the loaded cascade file.
  const std::string& cascade_path() const { return path_; }
  /// Label given to every detection.
  const std::string& label() const { return label_; }

  /// Resolves a cascade spec to a file. An absolute path ending in ".xml" is used as is;
  /// otherwise the spec must be a name of letters, digits and '_', looked up in dir as
  /// haarcascade_<name>.xml, haarcascade_<name>_default.xml, then <name>.xml
  /// ("frontalface" -> haarcascade_frontalface_default.xml, "frontalface_alt2" ->
  /// haarcascade_frontalface_alt2.xml). Throws std::invalid_argument (listing the cascades
  /// in dir) when nothing matches.
  static std::string find_cascade(const std::string& spec, const std::string& dir);

  /// Label for a cascade path or name: the file stem without "haarcascade_", then
  /// frontalface* and profileface* -> "face", frontalcatface* -> "cat_face",
  /// fullbody -> "person", eye* / lefteye* / righteye* -> "eye", otherwise the stem.
  static std::string label_for(const std::string& cascade);

 private:
  cv::CascadeClassifier cascade_;  ///< the loaded cascade
  std::string path_;               ///< its file
  std::string label_;              ///< label of every detection
  cv::Size min_size_;              ///< smallest box reported
  cv::Mat gray_;                   ///< scratch: equalised gray image
  std::vector<cv::Rect> rects_;    ///< scratch: boxes
  std::vector<int> levels_;        ///< scratch: reject levels (unused)
  std::vector<double> scores_;     ///< scratch: last-stage scores
};

}  // namespace fh::worker
