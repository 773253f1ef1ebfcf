#include "framehive/shared/shutdown.hpp"

#include <pthread.h>
#include <csignal>

namespace fh::shared {
namespace {

sigset_t shutdown_set(bool with_reload) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // internal: wakes the waiter on destruction
  if (with_reload) sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void block_shutdown_signals(bool with_reload) {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set = shutdown_set(with_reload);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ShutdownWatcher::ShutdownWatcher(std::function<void(int)> on_signal,
                                 std::function<void()> on_reload) {
  const bool with_reload = static_cast<bool>(on_reload);
  block_shutdown_signals(with_reload);
  thread_ = std::thread([cb = std::move(on_signal), reload = std::move(on_reload), with_reload] {
    const sigset_t set = shutdown_set(with_reload);
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig != SIGUSR2) {
      if (sig == SIGHUP) {
        reload();
        continue;
      }
      cb(sig);
      return;
    }
  });
}

ShutdownWatcher::~ShutdownWatcher() {
  if (thread_.joinable()) {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
}

}  // namespace fh::shared
