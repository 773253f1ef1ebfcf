// Fuzz target: the worker's JPEG decoding (fh::worker::decode_jpeg: the shared header check
// fh::shared::check_jpeg on libturbojpeg, size guard, then OpenCV's imdecode) and the cheap
// structural check (looks_like_jpeg). Input: the bytes of one image, as a task carries them.
//
// Checked: no crash, no exception; a decoded image is 8-bit BGR of the size the frame header
// announces (check_jpeg reports the same size), within the pixel limit; an error comes with a
// message. OpenCV itself is not instrumented: coverage guides only our checks, but
// ASan still sees what imdecode does to our buffer.
#include "fuzz_util.hpp"

#include "framehive/shared/jpeg.hpp"
#include "framehive/worker/detector_jpeg.hpp"

#include <opencv2/core.hpp>

namespace {

constexpr std::size_t k_max_pixels = 1u << 22;  // 4 MP: keeps one input fast

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = [] {
    cv::setNumThreads(1);
    return true;
  }();
  (void)init;

  const auto r = fh::worker::decode_jpeg(data, size, k_max_pixels);
  if (!r.ok()) {
    FH_FUZZ_CHECK(r.bgr.empty() && !r.message.empty());
    return 0;
  }
  FH_FUZZ_CHECK(r.message.empty());
  FH_FUZZ_CHECK(r.bgr.type() == CV_8UC3 && !r.bgr.empty());
  FH_FUZZ_CHECK(static_cast<std::size_t>(r.bgr.cols) * r.bgr.rows <= k_max_pixels);
  const auto check = fh::shared::check_jpeg(data, size, {k_max_pixels});
  FH_FUZZ_CHECK(check.ok() && check.width == r.bgr.cols && check.height == r.bgr.rows);
  // A decoded buffer, trailing zero padding aside, passes the cheap structural check too.
  FH_FUZZ_CHECK(fh::shared::looks_like_jpeg(data, check.size));
  return 0;
}
