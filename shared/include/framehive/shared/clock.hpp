#pragma once
// Time sources. Clock is the injectable interface the state machines take; SystemClock is the
// real one, ManualClock the one tests advance by hand. All are thread-safe.

#include <atomic>
#include <cstdint>

namespace fh::shared {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time, Unix seconds.
  virtual double wall() const = 0;
  /// Monotonic time, seconds from an arbitrary origin.
  virtual double mono() const = 0;
};

class SystemClock final : public Clock {
 public:
  double wall() const override;
  double mono() const override;
  /// A process-wide instance.
  static SystemClock& instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(double wall_start = 1'700'000'000.0) : wall_(wall_start) {}
  double wall() const override { return wall_.load(); }
  double mono() const override { return mono_.load(); }
  /// Moves both clocks forward by seconds.
  void advance(double seconds) {
    wall_.store(wall_.load() + seconds);
    mono_.store(mono_.load() + seconds);
  }

 private:
  std::atomic<double> wall_;       ///< current wall time
  std::atomic<double> mono_{0.0};  ///< current monotonic time
};

/// Unix time in microseconds from the system clock.
std::uint64_t unix_micros();

}  // namespace fh::shared
