#pragma once
// The master's HTTP/1.1 server (optionally HTTPS): Boost.Beast on an io_context run by a few
// I/O threads (a strand per connection); an idle connection costs only its socket and
// buffers. Requests run on a DispatchPool; the HttpRouter says what runs. Deadlines: TLS
// handshake + first request header (header_timeout_s), the idle wait for a keep-alive request
// (keepalive_timeout_s), a body (request_timeout_s), a whole response (response_timeout_s).
// Caps: ConnectionLimiter (per address, unauthenticated, --max-conn). Bodies grow as they
// arrive, up to max_request_bytes (413 beyond, before any body byte is read); credentials
// (HTTP Basic, or a console session cookie) are checked on the header (401 before any body,
// or a redirect to the login form for a browser); POSTs from another origin, and cookie
// POSTs without the session's CSRF token, are refused (403). A reply may be a stream
// (HttpStream): pieces written as they are produced until it ends or the client goes. run() serves
// until stop(); stop() may be called from any thread.

#include "framehive/master/rpc_server.hpp"

#include <memory>

namespace fh::master {

class HttpRouter;
class HttpAuth;
class ConsoleSessions;

class HttpServer {
 public:
  /// Takes ownership of listen_fd (bound, listening) once constructed; throws
  /// std::runtime_error for an unusable TLS certificate or key. auth and sessions (the console's
  /// login sessions, built on auth) must outlive the server.
  HttpServer(HttpRouter router, const RpcServerConfig& config, int listen_fd, HttpAuth& auth,
             ConsoleSessions& sessions);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Serves until stop(); returns once every connection is closed and every request ended.
  void run();
  /// Makes run() return; any thread.
  void stop();
  bool tls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  ///< keeps Asio out of this header
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (once per process) and logs both.
void raise_file_limit();

}  // namespace fh::master
