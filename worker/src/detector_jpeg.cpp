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

std::size_t be16(const std::uint8_t* p) { return (std::size_t{p[0]} << 8) | p[1]; }

bool is_sof(std::uint8_t m) {
  // SOF0..SOF15 are C0..CF, except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/// Walks the marker segments from after SOI to the first SOF; fills width and height.
JpegError read_frame_size(const std::uint8_t* d, std::size_t n, std::size_t& width,
                          std::size_t& height, std::string& why) {
  std::size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) {
      why = "expected a marker at offset " + std::to_string(i);
      return JpegError::bad_header;
    }
    const std::uint8_t m = d[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x00) {
      // Not a marker: libjpeg skips such bytes one by one looking for the next marker, so
      // reading a length here would skip over a frame header libjpeg then finds and trusts
      // (found by fuzz_jpeg: a 710-byte input made imdecode allocate 2.5 GB).
      why = "stray 0xFF 0x00 at offset " + std::to_string(i) + " where a marker belongs";
      return JpegError::bad_header;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // TEM, RSTn, SOI: no length
      i += 2;
      continue;
    }
    if (m == 0xDA || m == 0xD9) {
      why = "no frame header (SOF) before the scan";
      return JpegError::bad_header;
    }
    const std::size_t len = be16(d + i + 2);
    if (len < 2 || i + 2 + len > n) {
      why = "marker segment at offset " + std::to_string(i) + " has a bad length";
      return JpegError::bad_header;
    }
    if (is_sof(m)) {
      if (len < 8) {
        why = "frame header too short";
        return JpegError::bad_header;
      }
      height = be16(d + i + 5);
      width = be16(d + i + 7);
      if (width == 0 || height == 0) {
        why = "frame header gives a zero width or height";
        return JpegError::bad_header;
      }
      return JpegError::none;
    }
    i += 2 + len;
  }
  why = "no frame header (SOF) found";
  return JpegError::bad_header;
}

}  // namespace

const char* jpeg_error_name(JpegError e) {
  switch (e) {
    case JpegError::none: return "none";
    case JpegError::empty: return "empty";
    case JpegError::not_jpeg: return "not_jpeg";
    case JpegError::truncated: return "truncated";
    case JpegError::bad_header: return "bad_header";
    case JpegError::too_large: return "too_large";
    case JpegError::corrupt: return "corrupt";
  }
  return "unknown";
}

JpegDecodeResult decode_jpeg(const std::uint8_t* data, std::size_t size,
                             std::size_t max_pixels) noexcept {
  try {
    const std::string what = "JPEG of " + std::to_string(size) + " bytes: ";
    if (data == nullptr || size == 0) return fail(JpegError::empty, "empty JPEG buffer");
    if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return fail(JpegError::too_large, what + "buffer too large");
    }
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
      return fail(JpegError::not_jpeg, what + "no JPEG SOI marker (FF D8 FF) at the start");
    }
    std::size_t end = size;
    while (end > 4 && data[end - 1] == 0x00) --end;  // tolerate zero padding after EOI
    if (data[end - 2] != 0xFF || data[end - 1] != 0xD9) {
      return fail(JpegError::truncated, what + "no EOI marker (FF D9) at the end (truncated?)");
    }
    std::size_t width = 0;
    std::size_t height = 0;
    std::string why;
    if (const auto e = read_frame_size(data, end, width, height, why); e != JpegError::none) {
      return fail(e, what + why);
    }
    if (width * height > max_pixels) {
      return fail(JpegError::too_large, what + std::to_string(width) + "x" +
                                            std::to_string(height) + " is over the limit of " +
                                            std::to_string(max_pixels) + " pixels");
    }
    // imdecode only reads the buffer; the Mat header does not copy it.
    const cv::Mat buf(1, static_cast<int>(end), CV_8UC1, const_cast<std::uint8_t*>(data));
    JpegDecodeResult r;
    r.bgr = cv::imdecode(buf, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (r.bgr.empty()) return fail(JpegError::corrupt, what + "the decoder rejected the data");
    if (static_cast<std::size_t>(r.bgr.cols) != width ||
        static_cast<std::size_t>(r.bgr.rows) != height) {
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
