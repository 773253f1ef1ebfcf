#pragma once
// Decoding of a task's JPEG bytes into the BGR image a detector takes.
// Pure functions, thread-safe. Never throws: bad input yields a JpegError and a message.

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace fh::worker {

/// Largest image decode_jpeg() accepts by default (width * height), a guard against
/// decompression bombs: 8K UHD is ~33 MP.
constexpr std::size_t k_default_max_jpeg_pixels = 64u * 1000u * 1000u;

/// Why a buffer was not decoded. Order matches jpeg_error_name().
enum class JpegError : std::uint8_t {
  none = 0,
  empty,      ///< zero bytes
  not_jpeg,   ///< does not start with the JPEG SOI marker (FF D8 FF), e.g. a PNG
  truncated,  ///< does not end with the EOI marker (FF D9)
  bad_header, ///< marker segments malformed, or no frame header (SOF) before the scan
  too_large,  ///< width * height over the limit
  corrupt,    ///< the decoder rejected the data
};

/// Short stable name of a reason, e.g. "not_jpeg".
const char* jpeg_error_name(JpegError e);

inline std::ostream& operator<<(std::ostream& os, JpegError e) {
  return os << jpeg_error_name(e);
}

/// Result of decode_jpeg(): an 8-bit 3-channel BGR image, or an error and a message.
struct JpegDecodeResult {
  cv::Mat bgr;                        ///< empty on error
  JpegError error = JpegError::none;  ///< why it failed
  std::string message;                ///< human-readable detail, empty on success
  bool ok() const { return error == JpegError::none; }
};

/// Decodes JPEG bytes to BGR (cv::imdecode with IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION:
/// gray JPEGs come out 3-channel, EXIF orientation is not applied so boxes are in the stored
/// pixel grid).
/// Checks first, without decoding: SOI at the start, EOI at the end (trailing 0x00 padding
/// allowed), well-formed marker segments up to a frame header, and width * height <=
/// max_pixels. Never throws.
JpegDecodeResult decode_jpeg(const std::uint8_t* data, std::size_t size,
                             std::size_t max_pixels = k_default_max_jpeg_pixels) noexcept;

/// Same, for a byte vector (e.g. an XML-RPC base64 value).
JpegDecodeResult decode_jpeg(const std::vector<std::uint8_t>& jpeg,
                             std::size_t max_pixels = k_default_max_jpeg_pixels) noexcept;

}  // namespace fh::worker
