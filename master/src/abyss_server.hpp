#pragma once
// The xmlrpc-c back end: the method table registered with an xmlrpc-c registry, served by
// Abyss (one thread per connection; past max_conn its accept loop waits). Kept selectable
// (--rpc-backend xmlrpc-c) as the reference implementation of the contract. Construct before
// other threads start: it sets xmlrpc-c's process-global XML size limit. run()/stop() as
// RpcBackend.

#include "rpc_backend.hpp"
#include "rpc_methods.hpp"

#include <xmlrpc-c/registry.hpp>
#include <xmlrpc-c/server_abyss.hpp>

#include <memory>
#include <vector>

namespace fh::master {

class AbyssServer : public RpcBackend {
 public:
  /// Takes ownership of listen_fd (bound and listening) once constructed.
  AbyssServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config, int listen_fd);
  ~AbyssServer() override;

  void run() override;
  void stop() override;

 private:
  xmlrpc_c::registry registry_;                    ///< the methods, as xmlrpc-c wants them
  std::unique_ptr<xmlrpc_c::serverAbyss> server_;  ///< Abyss; terminate() is thread-safe
  int fd_;                                         ///< listening socket
};

}  // namespace fh::master
