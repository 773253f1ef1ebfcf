#pragma once
// SenderApp: the framehive-sender process: one StreamPublisher thread per source, periodic and
// final stats. run() once from main(); stop() is thread-safe (called by the signal watcher).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <ostream>
#include <vector>

#include "framehive/sender/sender_options.hpp"
#include "framehive/sender/stream_publisher.hpp"

namespace fh::sender {

/// Opens every socket and source first (so a bad one fails before anything is sent), then
/// runs the publishers, logs their counters every --stats-interval seconds and writes one
/// final "sender-stats" line per stream to the given stream (stdout in the binary).
class SenderApp {
 public:
  explicit SenderApp(SenderOptions options);

  /// Opens everything (throws FrameSourceError / std::runtime_error: exit code 1), publishes
  /// until all streams end or stop() is called, writes the final lines to out. Returns the
  /// exit code: 0 when every stream ended cleanly, 1 when a source failed at run time.
  int run(std::ostream& out);

  /// Ends every stream after its current frame. Thread-safe; may come before run().
  void stop();

 private:
  void log_periodic(std::vector<StreamStats>& last, double dt) const;

  SenderOptions options_;          ///< validated flags
  std::atomic<bool> stop_{false};  ///< stop requested (also interrupts libav)
  std::mutex mutex_;               ///< guards publishers_ and done_
  std::condition_variable cv_;     ///< wakes run() on stop or a stream end
  std::vector<std::unique_ptr<StreamPublisher>> publishers_;  ///< one per stream
  std::size_t done_ = 0;                                      ///< streams that have ended
};

}  // namespace fh::sender
