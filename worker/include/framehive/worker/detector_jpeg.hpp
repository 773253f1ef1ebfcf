#pragma once
// Decoding of a task's JPEG bytes into the BGR image a detector takes.
// Pure functions, thread-safe. Never throws: bad input yields a JpegError and a message.

#include "framehive/shared/jpeg.hpp"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fh::worker {

/// The reasons and the default pixel limit are the shared check's (framehive/shared/jpeg.hpp).
using shared::jpeg_error_name;
using shared::JpegError;
using shared::k_default_max_jpeg_pixels;

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
/// Checks first, without decoding, with shared::check_jpeg(): SOI at the start, EOI at the end
/// (trailing 0x00 padding allowed), a header libjpeg-turbo parses without a warning, and
/// width * height <= max_pixels. Never throws.
JpegDecodeResult decode_jpeg(const std::uint8_t* data, std::size_t size,
                             std::size_t max_pixels = k_default_max_jpeg_pixels) noexcept;

/// Same, for a byte vector (e.g. an XML-RPC base64 value).
JpegDecodeResult decode_jpeg(const std::vector<std::uint8_t>& jpeg,
                             std::size_t max_pixels = k_default_max_jpeg_pixels) noexcept;

}  // namespace fh::worker
