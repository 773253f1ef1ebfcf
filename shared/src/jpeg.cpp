#include "framehive/shared/jpeg.hpp"

namespace fh::shared {

bool looks_like_jpeg(const std::uint8_t* d, std::size_t n) {
  return n >= 4 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF && d[n - 2] == 0xFF &&
         d[n - 1] == 0xD9;
}

bool jpeg_dimensions(const std::uint8_t* d, std::size_t n, int& width, int& height) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return false;
  std::size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return false;
    const std::uint8_t marker = d[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;  // standalone markers
      continue;
    }
    const std::size_t len = static_cast<std::size_t>(d[i + 2] << 8 | d[i + 3]);
    if (len < 2 || i + 2 + len > n) return false;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;
    if (sof) {
      if (len < 7) return false;
      height = d[i + 5] << 8 | d[i + 6];
      width = d[i + 7] << 8 | d[i + 8];
      return width > 0 && height > 0;
    }
    if (marker == 0xDA || marker == 0xD9) return false;  // scan or end before any SOF
    i += 2 + len;
  }
  return false;
}

}  // namespace fh::shared
