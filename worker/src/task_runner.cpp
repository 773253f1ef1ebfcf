#include "framehive/worker/task_runner.hpp"

#include "framehive/worker/crop_detect.hpp"
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_jpeg.hpp"

#include <exception>

namespace fh::worker {
namespace {

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// A name from the network, quoted and cut so a hostile one cannot flood the logs.
std::string quoted(const std::string& name) {
  constexpr std::size_t k_max = 80;
  return "'" + (name.size() <= k_max ? name : name.substr(0, k_max) + "...") + "'";
}

}  // namespace

TaskRunner::TaskRunner(std::vector<std::string> capabilities, DetectorOptions options,
                       std::size_t max_pixels, bool motion_crop, CropParams crop)
    : capabilities_(capabilities.begin(), capabilities.end()),
      options_(std::move(options)),
      max_pixels_(max_pixels),
      motion_crop_(motion_crop),
      crop_(crop) {}

TaskOutcome TaskRunner::run(const shared::api::Frame& frame) noexcept {
  TaskOutcome out;
  try {
    const std::string& detector = frame.detector;
    if (capabilities_.count(detector) == 0) {
      out.error = std::string(k_unknown_detector) + " " + quoted(detector) +
                  " (this worker offers: " + joined(capabilities_) + ")";
      return out;
    }
    if (!frame.image) {
      out.error = "task without an image";
      return out;
    }
    auto decoded = decode_jpeg(*frame.image, max_pixels_);
    if (!decoded.ok()) {
      out.error =
          std::string("corrupt JPEG (") + jpeg_error_name(decoded.error) + "): " + decoded.message;
      return out;
    }
    auto& det = detectors_[detector];
    if (!det) det = make_detector(detector, options_);
    DetectResult r;
    if (motion_crop_) {
      CropParams params = crop_;
      params.min_window = det->min_window();
      const CropPlan plan = plan_crops(frame.motion, decoded.bgr.size(), params);
      out.crop = plan.decision;
      out.ignored_motion_boxes = plan.ignored_boxes;
      out.coverage = plan.coverage;
      out.crop_regions = plan.regions.size();
      r = plan.cropped() ? detect_in_regions(*det, decoded.bgr, plan.regions)
                         : det->run(decoded.bgr);
    } else {
      r = det->run(decoded.bgr);
    }
    if (r.ok()) {
      out.detections = std::move(r.detections);
    } else {
      out.error = "detector " + detector + ": " + r.error;
    }
  } catch (const std::exception& e) {
    out.error = std::string("cannot process task: ") + e.what();
  } catch (...) {
    out.error = "cannot process task: unknown exception";
  }
  return out;
}

}  // namespace fh::worker
