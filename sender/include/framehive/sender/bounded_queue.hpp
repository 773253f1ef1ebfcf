#pragma once
// BoundedQueue: a blocking FIFO of at most `capacity` items between two pipeline threads.
// Overflow policy: push() waits for room (back-pressure, nothing is dropped). Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace fh::sender {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  /// Appends an item, waiting while the queue is full; false (item dropped) once closed.
  bool push(T&& item) {
    std::unique_lock<std::mutex> lock(mutex_);
    space_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  /// Takes the oldest item, waiting for one; false when the queue is closed and empty.
  bool pop(T& out) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    out = std::move(items_.front());
    items_.pop_front();
    space_.notify_one();
    return true;
  }

  /// No more pushes; pop() drains what is queued, then returns false. Idempotent.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_.notify_all();
    space_.notify_all();
  }

 private:
  const std::size_t capacity_;     ///< most items held
  std::mutex mutex_;               ///< guards items_ and closed_
  std::condition_variable ready_;  ///< an item arrived, or closed
  std::condition_variable space_;  ///< room freed, or closed
  std::deque<T> items_;            ///< oldest first
  bool closed_ = false;            ///< push() refuses from now on
};

}  // namespace fh::sender
