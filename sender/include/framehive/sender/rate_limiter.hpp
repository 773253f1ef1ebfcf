#pragma once
// RateLimiter: a token bucket (time passed in) that spreads a frame's datagrams over time
// instead of one burst. Not thread-safe: one per stream.

#include <cstddef>

namespace fh::sender {

class RateLimiter {
 public:
  /// bytes_per_second <= 0 disables limiting. burst_bytes: bucket depth (at least one datagram).
  RateLimiter(double bytes_per_second, double burst_bytes);

  /// Takes `bytes` from the bucket at time `now` and returns how many seconds the caller must
  /// wait before sending them (0 when the bucket had enough). The bucket may go into debt, so
  /// oversleeping is paid back by the next refill and the long-run rate stays exact.
  double reserve(std::size_t bytes, double now);

  bool enabled() const { return rate_ > 0; }

 private:
  double rate_;         ///< bytes per second
  double burst_;        ///< bucket depth in bytes
  double tokens_;       ///< current fill (negative = debt)
  double last_ = -1.0;  ///< time of the last refill, < 0 before the first call
};

}  // namespace fh::sender
