#pragma once
// A complete, reassembled video frame as the receiver hands it on (queue, sinks).
// Plain value type; not synchronised (move it between threads through FrameQueue).

#include "framehive/shared/protocol.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fh::receiver {

/// An allocator whose resize() leaves new bytes uninitialised: a frame buffer is filled chunk by
/// chunk, so zero-filling it first would only cost time (and, for a forged header claiming an
/// 8 MiB frame, 8 MiB of memset per datagram).
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialise: no zeroing for bytes
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// ReceivedFrame bytes: a vector that resize() does not zero.
using Bytes = std::vector<std::uint8_t, UninitAllocator<std::uint8_t>>;

inline bool operator==(const Bytes& a, const std::vector<std::uint8_t>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
inline bool operator==(const std::vector<std::uint8_t>& a, const Bytes& b) { return b == a; }

struct ReceivedFrame {
  std::uint16_t port = 0;         ///< UDP port it arrived on (one port = one camera)
  std::string stream;             ///< camera name from the datagram header
  std::uint64_t session = 0;      ///< sender session (random per sender run and stream)
  std::uint32_t frame_seq = 0;    ///< frame sequence number within the session
  std::uint64_t capture_us = 0;   ///< capture time at the sender, Unix microseconds
  std::uint64_t received_us = 0;  ///< time the last chunk arrived, Unix microseconds
  Bytes jpeg;                     ///< the JPEG bytes, exactly as sent
  int width = 0;   ///< from the JPEG header when the receiver's check accepted it, else 0
  int height = 0;  ///< from the JPEG header when the receiver's check accepted it, else 0
  /// The datagrams' motion extension (framehive-sender --motion flag|gate), identical in every
  /// chunk of the frame; empty when the sender sent none.
  std::optional<fh::shared::MotionExtension> motion;
};

}  // namespace fh::receiver
