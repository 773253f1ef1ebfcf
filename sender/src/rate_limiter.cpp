#include "framehive/sender/rate_limiter.hpp"

#include <algorithm>

namespace fh::sender {

RateLimiter::RateLimiter(double bytes_per_second, double burst_bytes)
    : rate_(bytes_per_second), burst_(std::max(1.0, burst_bytes)), tokens_(burst_) {}

double RateLimiter::reserve(std::size_t bytes, double now) {
  if (rate_ <= 0) return 0.0;
  if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  if (last_ < 0 || now > last_) last_ = now;
  tokens_ -= static_cast<double>(bytes);
  return tokens_ >= 0 ? 0.0 : -tokens_ / rate_;
}

}  // namespace fh::sender
