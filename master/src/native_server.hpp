#pragma once
// The master's XML-RPC server: HTTP/1.1 parsed by Boost.Beast, one thread per
// connection (a long poll blocks only its own connection), requests run by an RpcDispatcher.
// Keep-alive with an idle timeout, a whole-request timeout, a request size limit (413, never
// read into memory), a connection cap (beyond it a new connection gets 503 and is closed) and,
// with a secret, HTTP Basic authentication of every request (401 before any body is read).
// run() accepts until stop(); stop() may be called from any thread.

#include "framehive/master/rpc_server.hpp"
#include "http_auth.hpp"
#include "rpc_dispatcher.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fh::master {

class NativeServer {
 public:
  /// Takes ownership of listen_fd (bound and listening) once constructed.
  NativeServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config, int listen_fd);
  ~NativeServer();
  NativeServer(const NativeServer&) = delete;
  NativeServer& operator=(const NativeServer&) = delete;

  /// Serves until stop(); returns once no request is being served any more.
  void run();
  /// Makes run() return; any thread.
  void stop();

 private:
  struct Connection {
    int fd = -1;         ///< the socket; -1 once closed
    bool done = false;   ///< the thread has finished (join it)
    std::thread thread;  ///< serves the connection
  };

  void accept_one();
  /// Answers 503 and closes (the accept thread, never blocks).
  void refuse(int fd);
  /// At most one accept-loop warning per 10 s (accept thread only).
  bool warning_due();
  /// Thread body: serves, then closes the socket.
  void serve(Connection& c, int fd);
  /// The HTTP request loop of one connection.
  void serve_http(int fd);
  /// Wakes every connection thread blocked on its socket.
  void shutdown_connections();
  /// Joins finished threads (all threads when all is set).
  void reap(bool all);

  const rpc::RpcDispatcher dispatcher_;         ///< methods; thread-safe
  HttpAuth auth_;                               ///< credentials check; thread-safe
  const RpcServerConfig config_;                ///< limits and timeouts
  const std::chrono::seconds idle_timeout_;     ///< keep-alive wait for the next request
  const std::chrono::seconds request_timeout_;  ///< whole request, and writes without progress
  std::shared_ptr<spdlog::logger> log_;         ///< "rpc"
  int listen_fd_;                               ///< accept thread only; closed when run() ends
  int wake_fd_ = -1;                            ///< eventfd written by stop()
  std::atomic<bool> stopping_{false};           ///< set by stop()
  std::uint64_t refused_ = 0;                   ///< connections answered 503; accept thread only
  std::chrono::steady_clock::time_point last_warning_{};  ///< accept thread only

  std::mutex mutex_;                   ///< guards connections_ (fd and done of each) and active_
  std::list<Connection> connections_;  ///< stable addresses: threads hold references
  std::size_t active_ = 0;             ///< connections not done
};

}  // namespace fh::master
