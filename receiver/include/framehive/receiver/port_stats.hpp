#pragma once
// Per-port receiver counters. PortStats is written by the receive thread and the consumer
// thread and read by anyone (stats reporter, a future status endpoint): all atomics, so it is
// thread-safe; snapshot() gives a plain copy (fields read one by one, not as one transaction).

#include "framehive/shared/protocol.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace fh::receiver {

/// A plain copy of one port's counters.
struct PortStatsSnapshot {
  std::uint16_t port = 0;              ///< the UDP port
  std::uint64_t datagrams = 0;         ///< datagrams received, malformed included
  std::uint64_t bytes = 0;             ///< bytes received, malformed included
  std::uint64_t frames_complete = 0;   ///< frames reassembled completely
  std::uint64_t frames_dropped = 0;    ///< complete frames dropped by the queue (oldest first)
  std::uint64_t frames_delivered = 0;  ///< complete frames a sink accepted
  std::uint64_t frames_failed = 0;     ///< complete frames a sink could not hand on
  std::uint64_t frames_discarded = 0;  ///< complete frames thrown away: no sink configured
  std::uint64_t too_large = 0;         ///< complete frames dropped: JPEG header over --max-pixels
  std::uint64_t duplicate_datagrams = 0;  ///< chunks received twice (ignored)
  std::uint64_t late_datagrams = 0;       ///< chunks of frames already given up on (ignored)
  std::uint64_t timed_out = 0;            ///< incomplete: --frame-timeout passed (or shutdown)
  std::uint64_t superseded = 0;           ///< incomplete: newer frame or new session completed
  std::uint64_t evicted = 0;              ///< incomplete: pushed out by the partial-frame caps
  std::int64_t missing = 0;               ///< incomplete: never seen (sequence gap)
  /// Frames the sender gated (motion gating: not sent), summed from the motion extension of
  /// each frame's first chunk seen (so a frame that ends incomplete still counts its share).
  std::uint64_t gated = 0;
  /// Malformed datagrams by DecodeError; entry [none] is unused.
  std::array<std::uint64_t, fh::shared::k_decode_error_count> malformed_by_reason{};
  double first_complete = 0;  ///< monotonic time of the first complete frame, 0 if none
  double last_complete = 0;   ///< monotonic time of the last complete frame

  /// timed_out + superseded + evicted + missing.
  std::uint64_t frames_incomplete() const;
  /// Sum of the malformed reasons.
  std::uint64_t malformed() const;
  /// Average complete frames per second between the first and the last complete frame.
  double average_fps() const;
};

struct PortStats {
  explicit PortStats(std::uint16_t p) : port(p) {}

  // Each counter means what the PortStatsSnapshot field of the same name says. Relaxed
  // atomics: counters are independent, nobody synchronises through them.
  const std::uint16_t port;  ///< the UDP port
  std::atomic<std::uint64_t> datagrams{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> frames_complete{0};
  std::atomic<std::uint64_t> frames_dropped{0};
  std::atomic<std::uint64_t> frames_delivered{0};
  std::atomic<std::uint64_t> frames_failed{0};
  std::atomic<std::uint64_t> frames_discarded{0};
  std::atomic<std::uint64_t> too_large{0};
  std::atomic<std::uint64_t> duplicate_datagrams{0};
  std::atomic<std::uint64_t> late_datagrams{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> superseded{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::int64_t> missing{0};  ///< signed: a late arrival undoes a count
  std::atomic<std::uint64_t> gated{0};
  std::array<std::atomic<std::uint64_t>, fh::shared::k_decode_error_count> malformed_by_reason{};
  std::atomic<double> first_complete{0};  ///< monotonic seconds; written by the receive thread
  std::atomic<double> last_complete{0};   ///< monotonic seconds; written by the receive thread

  /// Counts one malformed datagram.
  void count_malformed(fh::shared::DecodeError reason) {
    malformed_by_reason[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  PortStatsSnapshot snapshot() const;
};

/// The machine-readable line, e.g. "receiver-stats port=5000 datagrams=... fps=12.50".
std::string format_stats_line(const PortStatsSnapshot& s, double fps);

}  // namespace fh::receiver
