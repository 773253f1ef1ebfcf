#include "abyss_server.hpp"

#include <unistd.h>
#include <xmlrpc-c/base.h>

namespace fh::master {
namespace {

/// One XML-RPC method of the shared table, as xmlrpc-c wants it.
class TableMethod : public xmlrpc_c::method2 {
 public:
  explicit TableMethod(rpc::MethodDef def) : def_(std::move(def)) {
    _signature = def_.signature;
    _help = def_.help;
  }
  void execute(const xmlrpc_c::paramList& params, const xmlrpc_c::callInfo*,
               xmlrpc_c::value* result) override {
    *result = rpc::invoke(def_, params);
  }

 private:
  rpc::MethodDef def_;  ///< name, help and body
};

}  // namespace

AbyssServer::AbyssServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config,
                         int listen_fd)
    : fd_(listen_fd) {
  xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, config.max_request_bytes);
  for (auto& m : methods) {
    const std::string name = m.name;
    registry_.addMethod(name, xmlrpc_c::methodPtr(new TableMethod(std::move(m))));
  }
  server_ =
      std::make_unique<xmlrpc_c::serverAbyss>(xmlrpc_c::serverAbyss::constrOpt()
                                                  .registryP(&registry_)
                                                  .socketFd(fd_)
                                                  .maxConn(config.max_conn)
                                                  .maxConnBacklog(128)
                                                  .keepaliveTimeout(config.keepalive_timeout_s)
                                                  .keepaliveMaxConn(100000)
                                                  .timeout(config.request_timeout_s)
                                                  .dontAdvertise(true)
                                                  .serverOwnsSignals(false));
}

AbyssServer::~AbyssServer() {
  server_.reset();
  ::close(fd_);
}

void AbyssServer::run() { server_->run(); }

void AbyssServer::stop() { server_->terminate(); }

}  // namespace fh::master
