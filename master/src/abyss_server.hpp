#pragma once
// The xmlrpc-c back end: the method table registered with an xmlrpc-c registry, served by
// Abyss (one thread per connection; past max_conn its accept loop waits). Kept selectable
// (--rpc-backend xmlrpc-c) as the reference implementation of the contract. Built on Abyss's C
// server API rather than xmlrpc_c::serverAbyss so that, with a secret, an HTTP Basic check runs
// as a request handler in front of the XML-RPC one (401 before the body is read). Construct
// before other threads start: it sets xmlrpc-c's process-global XML size limit and Abyss's
// global state. run()/stop() as RpcBackend.

#include "http_auth.hpp"
#include "rpc_backend.hpp"
#include "rpc_methods.hpp"

#include <xmlrpc-c/abyss.h>
#include <xmlrpc-c/util.h>
#include <xmlrpc-c/registry.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace fh::master {

class AbyssServer : public RpcBackend {
 public:
  /// Takes ownership of listen_fd (bound and listening) once constructed. Throws
  /// std::runtime_error when Abyss cannot be set up.
  AbyssServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config, int listen_fd);
  ~AbyssServer() override;
  AbyssServer(const AbyssServer&) = delete;
  AbyssServer& operator=(const AbyssServer&) = delete;

  void run() override;
  void stop() override;

 private:
  /// Abyss request handler (any connection thread): answers 401 and marks the request handled
  /// unless it carries the right credentials. Never throws.
  static void check_credentials(void* self, TSession* session, abyss_bool* handled);
  /// Abyss's XML-RPC call processor (any connection thread): runs the call through registry_.
  /// Errors become an env fault (Abyss answers 500); never throws.
  static void process_call(xmlrpc_env* env, void* self, const char* xml, std::size_t size,
                           TSession* session, xmlrpc_mem_block** response);
  /// Frees whatever the constructor set up so far.
  void release();

  xmlrpc_c::registry registry_;         ///< the methods, as xmlrpc-c wants them
  HttpAuth auth_;                       ///< credentials check; thread-safe
  TServer server_{};                    ///< Abyss; ServerTerminate() may come from any thread
  TChanSwitch* chan_switch_ = nullptr;  ///< wraps fd_ (does not close it)
  bool abyss_initialised_ = false;      ///< AbyssInit succeeded (AbyssTerm owed)
  bool server_created_ = false;         ///< ServerCreateSwitch succeeded (ServerFree owed)
  int fd_;                              ///< listening socket
};

}  // namespace fh::master
