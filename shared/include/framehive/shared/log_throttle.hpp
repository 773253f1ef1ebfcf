#pragma once
// Rate limit for a repeated log line (e.g. a configuration error a retry loop meets every few
// seconds): due() is true at most once per interval. Thread-safe (lock-free).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fh::shared {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  /// True for the first call and then at most once per interval; counts every call.
  bool due() {
    ++calls_;
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_.load();
    if (last != k_never && now - last < interval_.count()) return false;
    return last_.compare_exchange_strong(last, now);
  }

  /// Calls of due() so far (the events, logged or not).
  std::uint64_t calls() const { return calls_.load(); }

 private:
  static constexpr std::int64_t k_never = INT64_MIN;
  const std::chrono::steady_clock::duration interval_;  ///< least time between two true
  std::atomic<std::int64_t> last_{k_never};             ///< steady ticks of the last true
  std::atomic<std::uint64_t> calls_{0};                 ///< calls of due()
};

}  // namespace fh::shared
