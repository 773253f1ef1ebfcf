#include "dispatch_pool.hpp"

#include <algorithm>

namespace fh::master {

DispatchPool::DispatchPool(std::size_t max_threads, std::chrono::milliseconds idle_exit)
    : max_threads_(std::max<std::size_t>(1, max_threads)), idle_exit_(idle_exit) {}

DispatchPool::~DispatchPool() { shutdown(); }

bool DispatchPool::submit(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return false;
  reap(lock);
  jobs_.push_back(std::move(job));
  // An idle thread takes it; otherwise a new thread, if the bound allows.
  if (idle_ >= jobs_.size() || alive_ >= max_threads_) {
    wake_.notify_one();
    return true;
  }
  Worker& w = workers_.emplace_back();
  try {
    w.thread = std::thread([this, &w] { loop(w); });
  } catch (...) {
    workers_.pop_back();
    if (alive_ == 0) {  // nobody would ever run the job
      jobs_.pop_back();
      throw;
    }
    return true;  // a running thread takes it later
  }
  ++alive_;
  peak_ = std::max(peak_, alive_);
  return true;
}

void DispatchPool::loop(Worker& self) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) break;
      ++idle_;
      const bool woke =
          wake_.wait_for(lock, idle_exit_, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (!woke) break;  // idle for idle_exit_
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // its captures are released outside the lock
    lock.lock();
  }
  --alive_;
  self.done = true;
}

void DispatchPool::reap(std::unique_lock<std::mutex>& lock) {
  std::list<Worker> finished;
  for (auto it = workers_.begin(); it != workers_.end();) {
    const auto next = std::next(it);
    if (it->done) finished.splice(finished.end(), workers_, it);
    it = next;
  }
  if (finished.empty()) return;
  lock.unlock();  // a done thread only has its return left; join outside the lock
  for (auto& w : finished) w.thread.join();
  lock.lock();
}

void DispatchPool::shutdown() {
  std::list<Worker> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    all.splice(all.end(), workers_);
  }
  wake_.notify_all();
  for (auto& w : all) {
    if (w.thread.joinable()) w.thread.join();
  }
}

std::size_t DispatchPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return alive_;
}

std::size_t DispatchPool::peak_threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace fh::master
