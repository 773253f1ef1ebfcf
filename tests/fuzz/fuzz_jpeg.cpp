// Fuzz target: the worker's JPEG decoding (fh::worker::decode_jpeg: marker walk, size guard,
// then OpenCV's imdecode) and the shared structural checks (looks_like_jpeg,
// jpeg_dimensions). Input: the bytes of one image, as a task carries them.
//
// Checked: no crash, no exception; a decoded image is 8-bit BGR of the size the frame header
// announces (which jpeg_dimensions reads the same way), within the pixel limit; an error comes
// with a message. OpenCV itself is not instrumented: coverage guides only our checks, but
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
  int w = 0;
  int h = 0;
  FH_FUZZ_CHECK(fh::shared::jpeg_dimensions(data, size, w, h));
  FH_FUZZ_CHECK(w == r.bgr.cols && h == r.bgr.rows);
  // A decoded buffer, trailing zero padding aside, passes the cheap structural check too.
  std::size_t end = size;
  while (end > 4 && data[end - 1] == 0x00) --end;
  FH_FUZZ_CHECK(fh::shared::looks_like_jpeg(data, end));
  return 0;
}
