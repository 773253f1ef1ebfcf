#include "framehive/master/rpc_server.hpp"

#include "console_sessions.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "http_api.hpp"
#include "http_auth.hpp"
#include "http_router.hpp"
#include "http_server.hpp"
#include "rpc_dispatcher.hpp"
#include "rpc_methods.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fh::master {
namespace {

int open_listen_socket(const std::string& bind, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("--bind: '" + bind + "' is not an IPv4 address");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot listen on " + bind + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  // bursts of new connections wait in the backlog, not in SYN retries
  if (::listen(fd, 4096) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("listen: ") + std::strerror(err));
  }
  return fd;
}

int bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

/// Calls that never wait and do bounded work (a few table updates, at most one small SQLite
/// write), in a small body: these run on the I/O thread. request_task (a long poll), the
/// queries (get_results, export_results, get_summary ...) and multicall go to the pool.
bool quick_call(std::string_view body) {
  constexpr std::size_t k_small = 64 * 1024;
  if (body.size() > k_small) return false;
  static constexpr std::string_view k_open = "<methodName>";
  static constexpr std::string_view k_close = "</methodName>";
  const auto open = body.find(k_open);
  if (open == std::string_view::npos) return false;
  const auto start = open + k_open.size();
  const auto end = body.find(k_close, start);
  if (end == std::string_view::npos) return false;
  std::string_view name = body.substr(start, end - start);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) {
    name.remove_prefix(1);
  }
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) {
    name.remove_suffix(1);
  }
  namespace m = shared::api::method;
  for (std::string_view quick : {m::complete_task, m::fail_task, m::heartbeat, m::add_task,
                                 m::add_tasks, m::report_receiver}) {
    if (name == quick) return true;
  }
  return false;
}

/// POST /RPC2: one XML-RPC call; a response over max_bytes becomes a fault.
HttpRoute xmlrpc_route(const rpc::RpcDispatcher& dispatcher, std::size_t max_bytes) {
  namespace http = boost::beast::http;
  return {"/RPC2",
          {http::verb::post},
          [&dispatcher, max_bytes](const HttpRequest& request) {
            HttpReply reply;
            reply.content_type = "text/xml";
            try {
              reply.body = dispatcher.handle(request.body, request.peer_address);
              if (reply.body.size() > max_bytes) {
                reply.body = shared::xmlrpc::serialize_fault(
                    shared::api::fault::limit_exceeded,
                    "response of " + std::to_string(reply.body.size()) +
                        " bytes, over the limit of " + std::to_string(max_bytes) +
                        " (--max-request-bytes)");
              }
            } catch (const std::exception& e) {  // std::bad_alloc
              reply.body = shared::xmlrpc::serialize_fault(
                  shared::api::fault::internal, std::string("internal error: ") + e.what());
            }
            return reply;
          },
          [](const HttpRequest& request) { return quick_call(request.body); },
          false,
          {}};
}

}  // namespace

struct RpcServer::Impl {
  Scheduler& scheduler;                                  ///< woken on stop (long polls)
  const RpcServerConfig config;                          ///< what the routes read
  HttpAuth auth;                                         ///< the shared secret's check
  ConsoleSessions sessions;                              ///< the console's logins
  ApiContext api;                                        ///< the JSON API, console, metrics
  std::unique_ptr<const rpc::RpcDispatcher> dispatcher;  ///< the methods; thread-safe
  std::unique_ptr<HttpServer> server;                    ///< the HTTP server
  int bound_port = 0;                                    ///< the listening port
  std::atomic<bool> stopping{false};                     ///< stop() was called

  Impl(Scheduler& s, ResultStore* store, RpcServerConfig c, EventEngine* events)
      : scheduler(s),
        config(std::move(c)),
        auth(config.auth_secret),
        sessions(auth, shared::SystemClock::instance()),
        api{s, store, config, sessions, events} {}
};

RpcServer::RpcServer(Scheduler& scheduler, ResultStore* store, RpcServerConfig config,
                     EventEngine* events)
    : impl_(std::make_unique<Impl>(scheduler, store, std::move(config), events)) {
  raise_file_limit();
  const RpcServerConfig& c = impl_->config;
  impl_->dispatcher =
      std::make_unique<const rpc::RpcDispatcher>(rpc::make_methods(scheduler, store, c, events));
  HttpRouter router;
  router.add(xmlrpc_route(*impl_->dispatcher, c.max_request_bytes));
  router.add(api_route(impl_->api));
  router.add(metrics_route(impl_->api));
  for (auto& route : console_routes(impl_->api)) router.add(std::move(route));  // "/" last
  const int fd = open_listen_socket(c.bind, c.port);
  impl_->bound_port = bound_port(fd);
  try {
    impl_->server =
        std::make_unique<HttpServer>(std::move(router), c, fd, impl_->auth, impl_->sessions);
  } catch (...) {
    ::close(fd);  // the server owns it only once constructed
    throw;
  }
}

RpcServer::~RpcServer() = default;

int RpcServer::port() const { return impl_->bound_port; }

const char* RpcServer::scheme() const { return impl_->server->tls() ? "https" : "http"; }

void RpcServer::run() {
  if (impl_->stopping) return;
  impl_->server->run();
}

void RpcServer::stop() {
  impl_->stopping = true;
  impl_->scheduler.shutdown();
  impl_->server->stop();
}

}  // namespace fh::master
