#pragma once
// check_jpeg(): the one JPEG header check of receiver, master and worker, built on
// libturbojpeg's header parser. Pure functions, thread-safe (a TurboJPEG handle per call).

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace fh::shared {

/// Largest image check_jpeg() accepts by default (width * height): 4K UHD, 3840 x 2160. The
/// default of every --max-pixels option (receiver, master, worker), a guard against
/// decompression bombs: a 367 KB progressive JPEG can declare 7900 x 7900 pixels.
constexpr std::size_t k_default_max_jpeg_pixels = 3840u * 2160u;
/// Smallest --max-pixels an option accepts (a 64 x 64 image).
constexpr std::size_t k_min_max_jpeg_pixels = 64u * 64u;
/// Largest --max-pixels an option accepts (16K x 16K).
constexpr std::size_t k_max_max_jpeg_pixels = std::size_t{16384} * 16384u;

/// What check_jpeg() accepts besides well-formed JPEG structure.
struct JpegLimits {
  std::size_t max_pixels = k_default_max_jpeg_pixels;  ///< width * height at most this
};

/// Why a buffer was refused. Order matches jpeg_error_name().
enum class JpegError : std::uint8_t {
  none = 0,
  empty,       ///< zero bytes
  not_jpeg,    ///< does not start with the JPEG SOI marker (FF D8 FF), e.g. a PNG
  truncated,   ///< does not end with the EOI marker (FF D9), trailing 0x00 padding aside
  bad_header,  ///< libjpeg-turbo could not parse the header, or warned while parsing it
  too_large,   ///< width * height over JpegLimits::max_pixels
  corrupt,     ///< the decoder rejected the data (set by decoders, never by check_jpeg)
};

/// Short stable name of a reason, e.g. "not_jpeg".
const char* jpeg_error_name(JpegError e);

inline std::ostream& operator<<(std::ostream& os, JpegError e) { return os << jpeg_error_name(e); }

/// Chroma subsampling of the frame header (TurboJPEG's TJSAMP values, same order).
enum class JpegSubsampling : std::uint8_t { s444, s422, s420, gray, s440, s411 };

/// Colour space of the frame header (TurboJPEG's TJCS values, same order).
enum class JpegColorspace : std::uint8_t { rgb, ycbcr, gray, cmyk, ycck };

/// Result of check_jpeg(): what the header says, or why the buffer was refused.
struct JpegCheck {
  JpegError error = JpegError::none;  ///< none when the header passed every check
  std::string message;                ///< human-readable reason, empty on success
  int width = 0;   ///< from the frame header libjpeg uses; 0 when not parsed that far
  int height = 0;  ///< from the frame header libjpeg uses; 0 when not parsed that far
  JpegSubsampling subsampling = JpegSubsampling::s444;  ///< valid when ok()
  JpegColorspace colorspace = JpegColorspace::ycbcr;    ///< valid when ok()
  int components = 0;    ///< 1 (gray), 3 or 4 (CMYK, YCCK); valid when ok()
  std::size_t size = 0;  ///< bytes up to and including EOI (trailing 0x00 padding excluded)
  bool ok() const { return error == JpegError::none; }
};

/// Checks JPEG bytes without decoding the scan data:
///  - SOI (FF D8 FF) at the start and EOI (FF D9) at the end, trailing 0x00 padding allowed;
///  - the header parsed by libjpeg-turbo (tjDecompressHeader3: jpeg_read_header, the same code
///    and version cv::imdecode decodes with on Debian 12), which must succeed without a
///    warning — a warning means libjpeg skipped or guessed (e.g. "extraneous bytes before
///    marker"), and libjpeg-turbo cannot classify exotic sampling factors (refused too);
///  - width * height of that frame header within limits.max_pixels, so the size checked is
///    the size the decoder allocates.
/// A fresh TurboJPEG handle per call (~2 us): a handle is left mid-header after an error and
/// a tables-only stream primes it for later images, so none is reused. Never throws.
JpegCheck check_jpeg(const std::uint8_t* data, std::size_t size,
                     const JpegLimits& limits = {}) noexcept;

/// Cheap structural test, no parsing: SOI (FF D8 FF) at the start and EOI (FF D9) as the
/// last two bytes. Not a substitute for check_jpeg().
bool looks_like_jpeg(const std::uint8_t* data, std::size_t size);

}  // namespace fh::shared
