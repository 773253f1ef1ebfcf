#include "framehive/receiver/frame_queue.hpp"

#include <algorithm>

namespace fh::receiver {

FrameQueue::FrameQueue(std::size_t per_port) : per_port_(std::max<std::size_t>(per_port, 1)) {}

std::size_t FrameQueue::push(ReceivedFrame&& frame) {
  std::size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      ++dropped_;
      return 1;
    }
    auto& q = queues_[frame.port];
    if (q.size() >= per_port_) {
      q.pop_front();
      --size_;
      ++dropped_;
      dropped = 1;
    }
    q.push_back(std::move(frame));
    ++size_;
  }
  ready_.notify_one();
  return dropped;
}

std::size_t FrameQueue::push_batch(std::vector<ReceivedFrame>& frames,
                                   std::vector<std::uint16_t>& dropped_ports) {
  if (frames.empty()) return 0;
  std::size_t dropped = 0;
  std::size_t done = 0;  // frames of the batch taken (queued or dropped)
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    for (; done < frames.size(); ++done) {
      auto& frame = frames[done];
      const std::uint16_t port = frame.port;
      if (closed_) {
        dropped_ports.push_back(port);
        ++dropped_;
        ++dropped;
        continue;
      }
      auto& q = queues_[port];
      if (q.size() >= per_port_) {
        dropped_ports.push_back(port);
        q.pop_front();
        --size_;
        ++dropped_;
        ++dropped;
      }
      q.push_back(std::move(frame));
      ++size_;
    }
  } catch (...) {
    // Out of memory part-way: what was taken is gone from frames, the rest stays for a retry.
    frames.erase(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(done));
    ready_.notify_one();
    throw;
  }
  frames.clear();
  ready_.notify_one();
  return dropped;
}

bool FrameQueue::pop_batch(std::vector<ReceivedFrame>& out, std::size_t max,
                           std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, wait, [this] { return size_ > 0 || closed_; });
  if (size_ == 0) return !closed_;
  std::size_t taken = 0;
  while (taken < max && size_ > 0) {
    // Next non-empty port after the one served last, wrapping around.
    auto it = last_port_ ? queues_.upper_bound(*last_port_) : queues_.begin();
    for (std::size_t n = 0; n < queues_.size(); ++n, ++it) {
      if (it == queues_.end()) it = queues_.begin();
      if (!it->second.empty()) break;
    }
    out.push_back(std::move(it->second.front()));
    it->second.pop_front();
    --size_;
    ++taken;
    last_port_ = it->first;
  }
  return true;
}

void FrameQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

std::size_t FrameQueue::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return size_;
}

std::size_t FrameQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace fh::receiver
