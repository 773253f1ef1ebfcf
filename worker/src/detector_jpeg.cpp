#include "framehive/worker/detector_jpeg.hpp"

#include <opencv2/imgcodecs.hpp>

#include <exception>
#include <limits>

namespace fh::worker {
namespace {

JpegDecodeResult fail(JpegError e, std::string message) {
  JpegDecodeResult r;
  r.error = e;
  r.message = std::move(message);
  return r;
}

}  // namespace

JpegDecodeResult decode_jpeg(const std::uint8_t* data, std::size_t size,
                             std::size_t max_pixels) noexcept {
  try {
    const std::string what = "JPEG of " + std::to_string(size) + " bytes: ";
    if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return fail(JpegError::too_large, what + "buffer too large");  // cv::Mat counts in int
    }
    // The header check refuses what libjpeg would refuse, warn about, or allocate too much
    // for; it parses the same frame header imdecode then trusts.
    const auto check = shared::check_jpeg(data, size, shared::JpegLimits{max_pixels});
    if (!check.ok()) return fail(check.error, check.message);
    // imdecode only reads the buffer; the Mat header does not copy it.
    const cv::Mat buf(1, static_cast<int>(check.size), CV_8UC1, const_cast<std::uint8_t*>(data));
    JpegDecodeResult r;
    r.bgr = cv::imdecode(buf, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (r.bgr.empty()) return fail(JpegError::corrupt, what + "the decoder rejected the data");
    if (r.bgr.cols != check.width || r.bgr.rows != check.height) {
      return fail(JpegError::corrupt, what + "decoded size differs from the frame header");
    }
    return r;
  } catch (const std::exception& e) {
    return fail(JpegError::corrupt, std::string("JPEG decode failed: ") + e.what());
  } catch (...) {
    return fail(JpegError::corrupt, "JPEG decode failed: unknown exception");
  }
}

JpegDecodeResult decode_jpeg(const std::vector<std::uint8_t>& jpeg,
                             std::size_t max_pixels) noexcept {
  return decode_jpeg(jpeg.data(), jpeg.size(), max_pixels);
}

}  // namespace fh::worker
