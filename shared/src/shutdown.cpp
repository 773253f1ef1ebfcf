#include "framehive/shared/shutdown.hpp"

#include <pthread.h>
#include <csignal>

namespace fh::shared {
namespace {

sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // internal: wakes the waiter on destruction
  return set;
}

}  // namespace

void block_shutdown_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ShutdownWatcher::ShutdownWatcher(std::function<void(int)> on_signal) {
  block_shutdown_signals();
  thread_ = std::thread([cb = std::move(on_signal)] {
    sigset_t set = shutdown_set();
    int sig = 0;
    if (sigwait(&set, &sig) == 0 && sig != SIGUSR2) cb(sig);
  });
}

ShutdownWatcher::~ShutdownWatcher() {
  if (thread_.joinable()) {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
}

}  // namespace fh::shared
