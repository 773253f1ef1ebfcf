#include "framehive/receiver/port_stats.hpp"
#include "framehive/shared/stats_line.hpp"

#include <fmt/format.h>

namespace fh::receiver {

using fh::shared::DecodeError;

std::uint64_t PortStatsSnapshot::frames_incomplete() const {
  const std::int64_t m = missing > 0 ? missing : 0;
  return timed_out + superseded + evicted + static_cast<std::uint64_t>(m);
}

std::uint64_t PortStatsSnapshot::malformed() const {
  std::uint64_t sum = 0;
  for (std::size_t i = 1; i < malformed_by_reason.size(); ++i) sum += malformed_by_reason[i];
  return sum;
}

double PortStatsSnapshot::average_fps() const {
  const double span = last_complete - first_complete;
  if (frames_complete < 2 || span <= 0) return 0.0;
  return static_cast<double>(frames_complete - 1) / span;
}

PortStatsSnapshot PortStats::snapshot() const {
  constexpr auto r = std::memory_order_relaxed;
  PortStatsSnapshot s;
  s.port = port;
  s.datagrams = datagrams.load(r);
  s.bytes = bytes.load(r);
  s.frames_complete = frames_complete.load(r);
  s.frames_dropped = frames_dropped.load(r);
  s.frames_delivered = frames_delivered.load(r);
  s.frames_failed = frames_failed.load(r);
  s.frames_discarded = frames_discarded.load(r);
  s.too_large = too_large.load(r);
  s.duplicate_datagrams = duplicate_datagrams.load(r);
  s.late_datagrams = late_datagrams.load(r);
  s.timed_out = timed_out.load(r);
  s.superseded = superseded.load(r);
  s.evicted = evicted.load(r);
  s.missing = missing.load(r);
  s.gated = gated.load(r);
  for (std::size_t i = 0; i < malformed_by_reason.size(); ++i) {
    s.malformed_by_reason[i] = malformed_by_reason[i].load(r);
  }
  s.first_complete = first_complete.load(r);
  s.last_complete = last_complete.load(r);
  return s;
}

std::string format_stats_line(const PortStatsSnapshot& s, double fps) {
  shared::StatsLine line("receiver");
  line.add("port", s.port)
      .add("datagrams", s.datagrams)
      .add("bytes", s.bytes)
      .add("frames_complete", s.frames_complete)
      .add("frames_incomplete", s.frames_incomplete())
      .add("gated", s.gated)
      .add("frames_dropped", s.frames_dropped)
      .add("frames_delivered", s.frames_delivered)
      .add("duplicate_datagrams", s.duplicate_datagrams)
      .add("timed_out", s.timed_out)
      .add("superseded", s.superseded)
      .add("evicted", s.evicted)
      .add("missing", s.missing > 0 ? s.missing : 0)
      .add("malformed", s.malformed());
  for (std::size_t i = 1; i < fh::shared::k_decode_error_count; ++i) {
    line.add(std::string("malformed_") + fh::shared::decode_error_name(static_cast<DecodeError>(i)),
             s.malformed_by_reason[i]);
  }
  return line.add("frames_failed", s.frames_failed)
      .add("frames_discarded", s.frames_discarded)
      .add("too_large", s.too_large)
      .add("late_datagrams", s.late_datagrams)
      .add("fps", fps, 2)
      .str();
}

}  // namespace fh::receiver
