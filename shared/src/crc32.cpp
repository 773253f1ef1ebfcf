// CRC-32 (IEEE 802.3, the polynomial and values of zlib) of datagram payloads, by libdeflate
// (which picks carry-less multiply folding at run time where the CPU has PCLMULQDQ).
#include "framehive/shared/protocol.hpp"

#include <libdeflate.h>

namespace fh::shared {

std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
  return static_cast<std::uint32_t>(libdeflate_crc32(crc, data, size));
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  return crc32_update(0, data, size);
}

}  // namespace fh::shared
