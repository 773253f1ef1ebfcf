#pragma once
// The thread pool that runs requests off the I/O threads (XML parsing, the methods, and long
// polls that block for up to their wait). It starts with no thread, adds one whenever a job
// arrives and no thread is idle, up to max_threads; beyond that jobs wait in a FIFO queue
// (unbounded here: the server submits at most one job per authenticated connection, so
// --max-conn bounds it). A thread idle for idle_exit ends. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace fh::master {

class DispatchPool {
 public:
  DispatchPool(std::size_t max_threads, std::chrono::milliseconds idle_exit);
  /// Runs the queued jobs, then joins every thread.
  ~DispatchPool();
  DispatchPool(const DispatchPool&) = delete;
  DispatchPool& operator=(const DispatchPool&) = delete;

  /// Queues job (which must not throw); false once shutdown() ran. Throws std::system_error
  /// when no thread exists and none can be started.
  bool submit(std::function<void()> job);
  /// Refuses new jobs, runs the queued ones, joins every thread.
  void shutdown();

  /// Threads alive now.
  std::size_t threads() const;
  /// Most threads alive at once so far.
  std::size_t peak_threads() const;

 private:
  struct Worker {
    std::thread thread;  ///< runs loop()
    bool done = false;   ///< loop() returned; join it
  };
  void loop(Worker& self);
  /// Joins the workers that ended (mutex_ held by the caller via lock).
  void reap(std::unique_lock<std::mutex>& lock);

  const std::size_t max_threads_;              ///< bound on workers_
  const std::chrono::milliseconds idle_exit_;  ///< a thread idle this long ends
  mutable std::mutex mutex_;                   ///< guards everything below
  std::condition_variable wake_;               ///< a job arrived or shutdown
  std::deque<std::function<void()>> jobs_;     ///< waiting jobs, FIFO
  std::list<Worker> workers_;                  ///< stable addresses; threads hold theirs
  std::size_t alive_ = 0;                      ///< workers not done
  std::size_t idle_ = 0;                       ///< workers waiting for a job
  std::size_t peak_ = 0;                       ///< most alive at once
  bool stopping_ = false;                      ///< shutdown() ran
};

}  // namespace fh::master
