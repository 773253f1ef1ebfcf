#include "framehive/shared/jpeg.hpp"

#include <turbojpeg.h>

#include <exception>
#include <iterator>
#include <memory>

namespace fh::shared {
namespace {

/// Owns a TurboJPEG decompressor handle.
struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

/// c with the reason; n is the buffer's size as given.
JpegCheck refuse(JpegCheck c, std::size_t n, JpegError e, const std::string& why) {
  c.error = e;
  c.message = "JPEG of " + std::to_string(n) + " bytes: " + why;
  return c;
}

int components_of(JpegColorspace cs) {
  switch (cs) {
    case JpegColorspace::gray:
      return 1;
    case JpegColorspace::cmyk:
    case JpegColorspace::ycck:
      return 4;
    case JpegColorspace::rgb:
    case JpegColorspace::ycbcr:
      return 3;
  }
  return 0;
}

/// The header as libjpeg-turbo parses it; data[0, c.size) holds SOI ... EOI of the n bytes.
JpegCheck parse_header(const std::uint8_t* data, std::size_t n, JpegCheck c,
                       const JpegLimits& limits) {
  const TjHandle tj(tjInitDecompress());
  if (!tj) {
    return refuse(c, n, JpegError::bad_header,
                  std::string("no TurboJPEG decompressor: ") + tjGetErrorStr2(nullptr));
  }
  int width = 0;
  int height = 0;
  int subsamp = -1;
  int colorspace = -1;
  const int rc =
      tjDecompressHeader3(tj.get(), data, c.size, &width, &height, &subsamp, &colorspace);
  // On a warning (rc -1, TJERR_WARNING) the header was read to the end and width and height
  // are the ones libjpeg would allocate for: the pixel limit applies to them as well.
  if (width > 0 && height > 0) {
    c.width = width;
    c.height = height;
    const std::size_t pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    if (pixels > limits.max_pixels) {
      return refuse(c, n, JpegError::too_large,
                    std::to_string(width) + "x" + std::to_string(height) +
                        " is over the limit of " + std::to_string(limits.max_pixels) + " pixels");
    }
  }
  if (rc != 0) {
    const bool warning = tjGetErrorCode(tj.get()) == TJERR_WARNING;
    return refuse(c, n, JpegError::bad_header,
                  std::string(warning ? "libjpeg-turbo warned on the header: "
                                      : "libjpeg-turbo refused the header: ") +
                      tjGetErrorStr2(tj.get()));
  }
  if (width <= 0 || height <= 0) {  // a tables-only stream: rc 0, nothing filled in
    return refuse(c, n, JpegError::bad_header, "no frame header (SOF): tables only");
  }
  c.subsampling = static_cast<JpegSubsampling>(subsamp);
  c.colorspace = static_cast<JpegColorspace>(colorspace);
  c.components = components_of(c.colorspace);
  return c;
}

}  // namespace

const char* jpeg_error_name(JpegError e) {
  static constexpr const char* k_names[] = {"none",       "empty",     "not_jpeg", "truncated",
                                            "bad_header", "too_large", "corrupt"};
  static_assert(std::size(k_names) == static_cast<std::size_t>(JpegError::corrupt) + 1,
                "one name per JpegError, in declaration order");
  const auto i = static_cast<std::size_t>(e);
  return i < std::size(k_names) ? k_names[i] : "unknown";
}

JpegCheck check_jpeg(const std::uint8_t* d, std::size_t n, const JpegLimits& limits) noexcept {
  JpegCheck c;
  c.size = n;
  try {
    if (d == nullptr || n == 0) return refuse(c, n, JpegError::empty, "empty buffer");
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8 || d[2] != 0xFF) {
      return refuse(c, n, JpegError::not_jpeg, "no JPEG SOI marker (FF D8 FF) at the start");
    }
    while (c.size > 4 && d[c.size - 1] == 0x00) --c.size;  // zero padding after EOI
    if (d[c.size - 2] != 0xFF || d[c.size - 1] != 0xD9) {
      return refuse(c, n, JpegError::truncated, "no EOI marker (FF D9) at the end (truncated?)");
    }
    return parse_header(d, n, c, limits);
  } catch (const std::exception& e) {  // std::bad_alloc from a message string
    c.error = JpegError::bad_header;
    c.message = e.what();
  } catch (...) {
    c.error = JpegError::bad_header;
    c.message = "JPEG check failed: unknown exception";
  }
  return c;
}

bool looks_like_jpeg(const std::uint8_t* d, std::size_t n) {
  return n >= 4 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF && d[n - 2] == 0xFF &&
         d[n - 1] == 0xD9;
}

}  // namespace fh::shared
