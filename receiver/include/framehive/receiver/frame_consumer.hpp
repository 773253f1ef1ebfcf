#pragma once
// The consumer thread: pops batches of frames from the FrameQueue and hands them to the sink
// (or counts them discarded when there is none), counting frames_delivered / frames_failed.
// start()/stop() from one owning thread; the counters it writes are atomics in StatsTable.

#include "framehive/receiver/frame_queue.hpp"
#include "framehive/receiver/frame_sink.hpp"
#include "framehive/receiver/stats_table.hpp"

#include <cstddef>
#include <memory>
#include <thread>

namespace fh::receiver {

class FrameConsumer {
 public:
  /// sink may be null: frames are then counted frames_discarded. max_batch >= 1.
  FrameConsumer(FrameQueue& queue, std::unique_ptr<FrameSink> sink, StatsTable& stats,
                std::size_t max_batch = 32);
  ~FrameConsumer();
  FrameConsumer(const FrameConsumer&) = delete;
  FrameConsumer& operator=(const FrameConsumer&) = delete;

  void start();
  /// Tells the sink that shutdown has begun (FrameSink::request_stop). Thread-safe.
  void request_stop();
  /// Closes the queue, delivers what is still queued, closes the sink, joins the thread.
  void stop();

 private:
  void run();
  void deliver(std::vector<ReceivedFrame>& batch);

  FrameQueue& queue_;                ///< where frames come from
  std::unique_ptr<FrameSink> sink_;  ///< where they go; null = discard
  StatsTable& stats_;                ///< counters
  const std::size_t max_batch_;      ///< frames per deliver() call at most
  std::thread thread_;               ///< the consumer thread
};

}  // namespace fh::receiver
