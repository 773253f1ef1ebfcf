#pragma once
// Cheap structural checks of JPEG bytes (no decoding). Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>

namespace fh::shared {

/// True when the buffer starts with the JPEG SOI marker (FF D8 FF) and ends with EOI (FF D9).
bool looks_like_jpeg(const std::uint8_t* data, std::size_t size);

}  // namespace fh::shared
