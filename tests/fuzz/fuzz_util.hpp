#pragma once
// Helpers shared by the fuzz targets: a reader that turns fuzz bytes into values (never reads
// past the end: missing bytes read as zero) and FH_FUZZ_CHECK, an invariant that aborts, so
// libFuzzer and the replay driver both report it. Not thread-safe (one input at a time).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace fh::fuzz {

/// Consumes the fuzz input from the front.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}

  bool empty() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

  std::uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
  std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) << 32 | u32(); }

  /// Up to n bytes as a view into the input; size says how many there were.
  const std::uint8_t* bytes(std::size_t n, std::size_t& size) {
    size = n < remaining() ? n : remaining();
    const std::uint8_t* b = p_;
    p_ += size;
    return b;
  }

 private:
  const std::uint8_t* p_;    ///< next unread byte
  const std::uint8_t* end_;  ///< end of the input
};

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, expr);
  std::abort();
}

}  // namespace fh::fuzz

/// An invariant of the code under test; a violation is a finding (abort, not an exception).
#define FH_FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::fh::fuzz::check_failed(#cond, __FILE__, __LINE__))
