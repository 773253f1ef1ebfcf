#pragma once
// Where complete frames go: the consumer thread hands batches to one FrameSink (DumpSink for
// --dump, MasterSink for --master). Implementations are called from one thread only.

#include "framehive/receiver/port_stats.hpp"
#include "framehive/receiver/received_frame.hpp"

#include <string>
#include <vector>

namespace fh::receiver {

class FrameSink {
 public:
  virtual ~FrameSink() = default;

  /// Hands on a batch of complete frames (any ports, in queue order). Called from the
  /// consumer thread only, never concurrently. On entry failed.size() == batch.size() and
  /// every entry is false; set failed[i] = true for each frame that could not be handed on
  /// (it is counted frames_failed, the others frames_delivered). May move from the frames;
  /// the caller reads only ReceivedFrame::port afterwards. Must not throw (the caller catches and
  /// counts the whole batch as failed if it does).
  virtual void deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) = 0;

  /// Called from another thread (the receive thread) as soon as shutdown begins, possibly
  /// while deliver() is blocked; the queued frames are flushed through deliver() afterwards.
  /// A sink that can block (retries, back-off) should give up within a bounded grace period
  /// from now. Must be thread-safe. Default: nothing to do.
  virtual void request_stop() {}

  /// Called once, after the last batch at shutdown: finish or abandon pending work in
  /// bounded time. Default: nothing to do.
  virtual void close() {}

  /// The receiver's counters of every port, every --report-interval seconds, from the receive
  /// thread: must not block (a sink that sends them does it on a thread of its own, the newest
  /// report replacing one not yet sent). Default: nothing to do.
  virtual void report(const std::vector<PortStatsSnapshot>& /*ports*/) {}

  /// Short name for logs, e.g. "dump".
  virtual std::string name() const = 0;
};

}  // namespace fh::receiver
