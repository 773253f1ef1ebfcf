#include "framehive/worker/task_runner.hpp"

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
                       std::size_t max_pixels)
    : capabilities_(capabilities.begin(), capabilities.end()),
      options_(std::move(options)),
      max_pixels_(max_pixels) {}

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
    auto r = det->run(decoded.bgr);
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
