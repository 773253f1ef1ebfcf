#include "framehive/worker/detector_factory.hpp"

#include "framehive/worker/detector_dnn.hpp"
#include "framehive/worker/detector_haar.hpp"
#include "framehive/worker/detector_hog.hpp"
#include "framehive/worker/detector_null.hpp"

#include <opencv2/core/utility.hpp>

#include <stdexcept>

namespace fh::worker {
namespace {

bool has_prefix(const std::string& s, const char* prefix, std::string& rest) {
  const std::string p(prefix);
  if (s.compare(0, p.size(), p) != 0) return false;
  rest = s.substr(p.size());
  return true;
}

}  // namespace

std::unique_ptr<Detector> make_detector(const std::string& capability,
                                        const DetectorOptions& opts) {
  if (opts.threads < 0) {
    throw std::invalid_argument("detector threads must be >= 0, got " +
                                std::to_string(opts.threads));
  }
  // Before making the detector: a dnn detector runs the network once while loading.
  if (opts.threads > 0 && cv::getNumThreads() != opts.threads) cv::setNumThreads(opts.threads);
  std::unique_ptr<Detector> d;
  std::string arg;
  if (capability == "hog") {
    d = std::make_unique<HogDetector>(capability);
  } else if (capability == "null") {
    d = std::make_unique<NullDetector>(capability);
  } else if (has_prefix(capability, "haar:", arg)) {
    d = std::make_unique<HaarDetector>(arg, opts);
  } else if (has_prefix(capability, "dnn:", arg)) {
    d = std::make_unique<DnnDetector>(arg);
  } else {
    throw std::invalid_argument("unknown detector capability '" + capability +
                                "' (expected hog, null, haar:<cascade> or dnn:<config file>)");
  }
  return d;
}

bool is_valid_capability(const std::string& capability, const DetectorOptions& opts,
                         std::string* error) noexcept {
  try {
    make_detector(capability, opts);
    return true;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = e.what();
  } catch (...) {
    if (error != nullptr) *error = "unknown error making detector '" + capability + "'";
  }
  return false;
}

}  // namespace fh::worker
