#pragma once
// Clean shutdown on SIGINT/SIGTERM for programs that are not driven by an Asio signal_set.
// Construct it in main() before any other thread starts: it blocks the signals in every
// thread and waits for them on its own thread, then runs the callback once. SIGPIPE is ignored.
// With a reload callback, SIGHUP is blocked too and runs it (on the watcher's thread) each time.

#include <functional>
#include <thread>

namespace fh::shared {

class ShutdownWatcher {
 public:
  explicit ShutdownWatcher(std::function<void(int)> on_signal,
                           std::function<void()> on_reload = {});
  ~ShutdownWatcher();
  ShutdownWatcher(const ShutdownWatcher&) = delete;
  ShutdownWatcher& operator=(const ShutdownWatcher&) = delete;

 private:
  std::thread thread_;  ///< the sigwait thread
};

/// Blocks SIGINT/SIGTERM (and SIGHUP with_reload) in the calling thread (and threads it starts
/// later); ignores SIGPIPE.
void block_shutdown_signals(bool with_reload = false);

}  // namespace fh::shared
