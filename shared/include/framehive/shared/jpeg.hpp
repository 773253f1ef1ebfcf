#pragma once
// Cheap structural checks of JPEG bytes (no decoding). Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>

namespace fh::shared {

/// True when the buffer starts with the JPEG SOI marker (FF D8 FF) and ends with EOI (FF D9).
bool looks_like_jpeg(const std::uint8_t* data, std::size_t size);

/// Reads width and height from the first SOF marker without decoding; false when the
/// marker segments are malformed or there is no SOF.
bool jpeg_dimensions(const std::uint8_t* data, std::size_t size, int& width, int& height);

}  // namespace fh::shared
