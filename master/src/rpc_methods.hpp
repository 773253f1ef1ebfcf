#pragma once
// The master's XML-RPC methods (docs/api.md) as a table for the server: each method parses its
// parameters through the contract (shared/api/xmlrpc.hpp), calls the Scheduler or the store
// (both thread-safe) and builds the reply. invoke() turns every exception into an
// xmlrpc_c::fault with a clear message and a contract fault code, so no exception escapes into
// the server.

#include "framehive/master/result_store.hpp"
#include "framehive/master/rpc_server.hpp"
#include "framehive/master/scheduler.hpp"

#include <xmlrpc-c/base.hpp>

#include <functional>
#include <string>
#include <vector>

namespace fh::master::rpc {

using MethodBody = std::function<xmlrpc_c::value(const xmlrpc_c::paramList&)>;

struct MethodDef {
  std::string name;       ///< e.g. "add_task" (shared::api::method)
  std::string signature;  ///< xmlrpc-c signature string, e.g. "s:S"
  std::string help;       ///< one line for system.methodHelp
  MethodBody body;        ///< the work
};

/// The contract's methods bound to a scheduler and store (store may be null), in the order of
/// shared::api::method::all.
std::vector<MethodDef> make_methods(Scheduler& scheduler, ResultStore* store,
                                    const RpcServerConfig& config, EventEngine* events = nullptr);

/// Runs m on params; every failure comes out as xmlrpc_c::fault.
xmlrpc_c::value invoke(const MethodDef& m, const xmlrpc_c::paramList& params);

/// The network address (IP, no port) of the client whose request the calling thread runs;
/// empty outside a request or when unknown. register_worker uses it to keep a second process
/// from taking over a live worker's id.
const std::string& current_peer();

/// Sets current_peer() for the calling thread while it lives (the server, around a request).
class PeerScope {
 public:
  explicit PeerScope(const std::string& peer);
  ~PeerScope();
  PeerScope(const PeerScope&) = delete;
  PeerScope& operator=(const PeerScope&) = delete;

 private:
  std::string previous_;  ///< restored on destruction
};

/// Throws the fault that says a parameter is wrong (shared::api::fault::type).
[[noreturn]] void type_fault(const std::string& msg);

}  // namespace fh::master::rpc
