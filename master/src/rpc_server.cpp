#include "framehive/master/rpc_server.hpp"

#include "framehive/shared/logging.hpp"
#include "rpc_methods.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/girerr.hpp>
#include <xmlrpc-c/registry.hpp>
#include <xmlrpc-c/server_abyss.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace fh::master {
namespace {

using xmlrpc_c::paramList;
using xmlrpc_c::value;

/// One XML-RPC method of the shared table, as xmlrpc-c wants it.
class TableMethod : public xmlrpc_c::method2 {
 public:
  explicit TableMethod(rpc::MethodDef def) : def_(std::move(def)) {
    _signature = def_.signature;
    _help = def_.help;
  }
  void execute(const paramList& params, const xmlrpc_c::callInfo*, value* result) override {
    *result = rpc::invoke(def_, params);
  }

 private:
  rpc::MethodDef def_;  ///< name, help and body
};

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

}  // namespace

struct RpcServer::Impl {
  Scheduler& scheduler;
  ResultStore* store;
  RpcServerConfig config;
  xmlrpc_c::registry registry;
  int fd = -1;
  int bound_port = 0;
  std::unique_ptr<xmlrpc_c::serverAbyss> server;
  std::atomic<bool> stopping{false};

  Impl(Scheduler& s, ResultStore* st, RpcServerConfig c)
      : scheduler(s), store(st), config(std::move(c)) {}

  void register_methods() {
    for (auto& m : rpc::make_methods(scheduler, store, config)) {
      const std::string name = m.name;
      registry.addMethod(name, xmlrpc_c::methodPtr(new TableMethod(std::move(m))));
    }
  }
};

RpcServer::RpcServer(Scheduler& scheduler, ResultStore* store, RpcServerConfig config)
    : impl_(std::make_unique<Impl>(scheduler, store, std::move(config))) {
  xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, impl_->config.max_request_bytes);
  impl_->register_methods();
  impl_->fd = open_listen_socket(impl_->config.bind, impl_->config.port);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(impl_->fd, reinterpret_cast<sockaddr*>(&addr), &len);
  impl_->bound_port = ntohs(addr.sin_port);
  impl_->server = std::make_unique<xmlrpc_c::serverAbyss>(
      xmlrpc_c::serverAbyss::constrOpt()
          .registryP(&impl_->registry)
          .socketFd(impl_->fd)
          .maxConn(impl_->config.max_conn)
          .maxConnBacklog(128)
          .keepaliveTimeout(impl_->config.keepalive_timeout_s)
          .keepaliveMaxConn(100000)
          .timeout(impl_->config.request_timeout_s)
          .dontAdvertise(true)
          .serverOwnsSignals(false));
}

RpcServer::~RpcServer() {
  impl_->server.reset();
  if (impl_->fd >= 0) ::close(impl_->fd);
}

int RpcServer::port() const { return impl_->bound_port; }

void RpcServer::run() {
  if (impl_->stopping) return;
  impl_->server->run();
}

void RpcServer::stop() {
  impl_->stopping = true;
  impl_->scheduler.shutdown();
  impl_->server->terminate();
}

}  // namespace fh::master
