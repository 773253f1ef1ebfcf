#pragma once
// Replay protection of one keyed sender session (docs/protocol.md, "Replay"): a sliding window
// over the session's datagram counters, as IPsec (RFC 4303 §3.4.3) and SRTP keep one. A counter
// is accepted once; counters more than k_size below the highest seen are refused.
// Not thread-safe: owned by the Reassembler's session state.

#include <array>
#include <cstddef>
#include <cstdint>

namespace fh::receiver {

class ReplayWindow {
 public:
  /// Counters remembered below the highest one (a frame's datagrams may arrive out of order).
  static constexpr std::size_t k_size = 1024;

  /// True (and remembers c) when counter c was not seen and is inside the window; false for a
  /// repeat or a counter older than the window.
  bool accept(std::uint64_t c);

  /// Forgets everything, then treats every counter up to and including top as seen: a session
  /// the receiver had forgotten and remembers again accepts only newer counters.
  void restore(std::uint64_t top);

  /// Highest counter accepted, meaningful once any() is true.
  std::uint64_t top() const { return top_; }
  bool any() const { return any_; }

 private:
  static constexpr std::size_t k_words = k_size / 64;

  bool bit(std::uint64_t c) const { return (bits_[(c / 64) % k_words] >> (c % 64)) & 1u; }
  void set(std::uint64_t c) { bits_[(c / 64) % k_words] |= std::uint64_t{1} << (c % 64); }
  void clear(std::uint64_t c) { bits_[(c / 64) % k_words] &= ~(std::uint64_t{1} << (c % 64)); }

  bool any_ = false;                           ///< a counter was accepted (or restored)
  std::uint64_t top_ = 0;                      ///< highest counter accepted
  std::array<std::uint64_t, k_words> bits_{};  ///< ring: bit c % k_size = counter c seen
};

}  // namespace fh::receiver
