#pragma once
// One XML-RPC request body in, one response body out, for the native back end: the shared
// method table plus system.listMethods/methodExist/methodHelp/methodSignature/multicall, with
// the same strings and fault codes as xmlrpc-c's registry. Thread-safe (the table is immutable;
// the methods do their own locking). handle() never throws except std::bad_alloc. The work of
// one request is bounded by DispatchLimits: a request over one is answered fault -509.

#include "framehive/shared/xmlrpc_codec.hpp"
#include "rpc_methods.hpp"

#include <xmlrpc-c/base.hpp>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fh::master::rpc {

/// Bounds on one request (docs/api.md, "Limits"); over one, the reply is fault limit_exceeded.
struct DispatchLimits {
  shared::xmlrpc::ParseLimits parse = shared::xmlrpc::kCallLimits;  ///< the request document
  std::size_t max_multicall = 1000;  ///< calls in one system.multicall
};

class RpcDispatcher {
 public:
  explicit RpcDispatcher(std::vector<MethodDef> methods, DispatchLimits limits = {});
  RpcDispatcher(const RpcDispatcher&) = delete;  // the system methods point back at this
  RpcDispatcher& operator=(const RpcDispatcher&) = delete;

  /// Parses a <methodCall>, runs it, returns the <methodResponse> (a fault on any error).
  /// peer: the client's IP address, seen by the methods as current_peer().
  std::string handle(std::string_view request_xml, const std::string& peer = {}) const;
  /// Runs one method; failures come out as xmlrpc_c::fault (-506 for an unknown method).
  xmlrpc_c::value call(const std::string& method, const xmlrpc_c::paramList& params) const;

 private:
  const MethodDef* find(const std::string& name) const;
  xmlrpc_c::value multicall(const xmlrpc_c::paramList& params) const;

  const DispatchLimits limits_;                         ///< bounds on one request
  std::vector<MethodDef> methods_;                      ///< system.* first, then the table
  std::unordered_map<std::string, std::size_t> index_;  ///< name -> position in methods_
};

}  // namespace fh::master::rpc
