#pragma once
// Bounded hand-off of complete frames from the receive thread to the consumer thread, fair
// across ports: one deque per port (at most per_port frames), popped round-robin. Overflow
// policy: when a port's deque is full its OLDEST frame is dropped (fresh frames matter for live
// video). Thread-safe (any number of producers and consumers).

#include "framehive/receiver/received_frame.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace fh::receiver {

class FrameQueue {
 public:
  /// per_port: capacity of each port's deque (>= 1).
  explicit FrameQueue(std::size_t per_port);

  /// Queues a frame. Returns the number of older frames of the same port dropped to make room
  /// (0 or 1). After close() the frame itself is dropped and 1 is returned.
  std::size_t push(ReceivedFrame&& frame);

  /// Queues every frame of frames, in order, under one lock and with one wake-up of the
  /// consumer (the receive thread hands over a burst's frames at once); frames is left empty.
  /// Appends to dropped_ports the port of each frame dropped (an older frame of that port to
  /// make room, or after close() the frame itself); returns how many were dropped.
  std::size_t push_batch(std::vector<ReceivedFrame>& frames,
                         std::vector<std::uint16_t>& dropped_ports);

  /// Moves up to max frames into out (appended), taking one frame per port in turn. Waits up to
  /// wait for the first frame. Returns false only when the queue is closed and empty.
  bool pop_batch(std::vector<ReceivedFrame>& out, std::size_t max, std::chrono::milliseconds wait);

  /// No more pushes; wakes waiting consumers, who still get the frames queued so far.
  void close();

  /// Frames queued now, all ports.
  std::size_t size() const;

  /// Frames dropped so far by the overflow policy, all ports.
  std::size_t dropped() const;

 private:
  const std::size_t per_port_;  ///< capacity of each port's deque
  /// Guards queues_, last_port_, size_, dropped_ and closed_.
  mutable std::mutex mutex_;
  std::condition_variable ready_;                              ///< signalled on push and close
  std::map<std::uint16_t, std::deque<ReceivedFrame>> queues_;  ///< per-port frames, oldest first
  std::optional<std::uint16_t> last_port_;  ///< port served last (round-robin cursor)
  std::size_t size_ = 0;                    ///< frames in all deques
  std::size_t dropped_ = 0;                 ///< frames dropped by overflow
  bool closed_ = false;                     ///< close() was called
};

}  // namespace fh::receiver
