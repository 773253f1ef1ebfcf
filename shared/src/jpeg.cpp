#include "framehive/shared/jpeg.hpp"

namespace fh::shared {

bool looks_like_jpeg(const std::uint8_t* d, std::size_t n) {
  return n >= 4 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF && d[n - 2] == 0xFF &&
         d[n - 1] == 0xD9;
}

}  // namespace fh::shared
