#include "framehive/master/rpc_server.hpp"

#include "native_server.hpp"
#include "rpc_methods.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
  if (::listen(fd, 128) != 0) {
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

}  // namespace

struct RpcServer::Impl {
  Scheduler& scheduler;                  ///< woken on stop (long polls)
  std::unique_ptr<NativeServer> server;  ///< the HTTP server
  int bound_port = 0;                    ///< the listening port
  std::atomic<bool> stopping{false};     ///< stop() was called

  explicit Impl(Scheduler& s) : scheduler(s) {}
};

RpcServer::RpcServer(Scheduler& scheduler, ResultStore* store, RpcServerConfig config)
    : impl_(std::make_unique<Impl>(scheduler)) {
  auto methods = rpc::make_methods(scheduler, store, config);
  const int fd = open_listen_socket(config.bind, config.port);
  impl_->bound_port = bound_port(fd);
  try {
    impl_->server = std::make_unique<NativeServer>(std::move(methods), config, fd);
  } catch (...) {
    ::close(fd);  // the server owns it only once constructed
    throw;
  }
}

RpcServer::~RpcServer() = default;

int RpcServer::port() const { return impl_->bound_port; }

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
