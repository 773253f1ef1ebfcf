#pragma once
// The framehive-receiver application: UDP ports -> Reassembler (one io_context thread) ->
// FrameQueue -> FrameConsumer thread -> FrameSink, with periodic and final statistics and a
// clean stop on SIGINT/SIGTERM. run() from one thread; stop() and stats() from any thread.

#include "framehive/receiver/frame_queue.hpp"
#include "framehive/receiver/frame_sink.hpp"
#include "framehive/receiver/receiver_config.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"

#include <iosfwd>
#include <memory>

namespace fh::receiver {

class Receiver {
 public:
  /// Binds every port now: throws std::runtime_error when one is in use or the address is not
  /// local. sink may be null (frames counted frames_discarded). Catches SIGINT/SIGTERM from now.
  Receiver(const ReceiverConfig& config, std::unique_ptr<FrameSink> sink,
           const fh::shared::Clock& clock = fh::shared::SystemClock::instance());
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  /// Receives until SIGINT/SIGTERM or stop(); then delivers every frame already complete,
  /// writes the final per-port statistics lines to out and returns exit code 0.
  int run(std::ostream& out);

  /// Asks run() to finish. Thread-safe.
  void stop();

  /// Live counters, per port.
  const StatsTable& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;  ///< keeps Asio out of this header
};

/// Process-wide malloc settings for a receiving process (call once, early in main): frame
/// buffers up to `max_frame_bytes` come from the heap and freed ones stay mapped (up to 64 MiB
/// kept free), so that a new frame reuses memory instead of page-faulting fresh pages in; at
/// 64 KB datagrams the faults cost more than the copy.
void tune_allocator(std::size_t max_frame_bytes);

}  // namespace fh::receiver
