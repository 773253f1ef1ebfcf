#pragma once
// The master's XML-RPC endpoint (http[s]://HOST:PORT/RPC2): the methods of docs/api.md bound to
// a Scheduler, served over HTTP/1.1 (optionally TLS) by an asynchronous Boost.Beast server with
// framehive's XML-RPC codec, optionally behind HTTP Basic authentication with a shared secret.
// A few I/O threads serve every connection; requests run on a growing thread pool; the
// Scheduler does the locking. run() blocks; stop() may be called from any thread.

#include "framehive/master/result_store.hpp"
#include "framehive/master/scheduler.hpp"
#include "framehive/shared/jpeg.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace fh::master {

class EventEngine;

struct RpcServerConfig {
  std::string bind = "127.0.0.1";  ///< listen address
  int port = 8000;                 ///< TCP port; 0 picks a free one (see port())
  /// Authenticated connections at once (each long-polling worker holds one), and the bound of
  /// the request thread pool; beyond it a request on a new connection is answered 503.
  unsigned max_conn = 256;
  unsigned max_conn_per_address = 256;  ///< connections from one client address
  /// Connections that have not presented valid credentials yet; beyond it the oldest is closed.
  unsigned max_unauth_conn = 1024;
  std::size_t max_request_bytes = 64u << 20;  ///< XML size limit of one request or response
  std::size_t max_image_bytes = 16u << 20;    ///< largest accepted JPEG
  /// Frames whose JPEG header declares more pixels are refused with a fault (--max-pixels).
  std::size_t max_pixels = shared::k_default_max_jpeg_pixels;
  std::size_t max_batch = 1000;       ///< frames in one add_tasks call
  double header_timeout_s = 2.0;      ///< a new connection's TLS handshake + first header
  unsigned request_timeout_s = 15;    ///< a request's body, from the end of its header
  unsigned keepalive_timeout_s = 15;  ///< idle keep-alive connections are closed after this
  unsigned response_timeout_s = 30;   ///< writing one response (slow readers are cut)
  unsigned io_threads = 2;            ///< threads running the sockets (1..16)
  std::string tls_cert_file;          ///< PEM certificate chain; with tls_key_file: HTTPS only
  std::string tls_key_file;           ///< PEM private key
  /// HTTP Basic password (user "framehive") every request must carry; empty: no
  /// authentication. Requests without it are answered 401 (docs/api.md, "Authentication").
  std::string auth_secret;
};

class RpcServer {
 public:
  /// Binds the socket; throws std::runtime_error when the address is unusable.
  /// events (may be null: no events) serves get_events, /api/v1/events and the snapshots.
  RpcServer(Scheduler& scheduler, ResultStore* store, RpcServerConfig config,
            EventEngine* events = nullptr);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  /// The bound TCP port.
  int port() const;
  /// "http" or "https".
  const char* scheme() const;
  /// Serves until stop().
  void run();
  /// Makes run() return (idle keep-alive connections are closed at once).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  ///< the server (keeps xmlrpc-c and Beast out of this header)
};

}  // namespace fh::master
