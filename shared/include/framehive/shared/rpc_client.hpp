#pragma once
// A synchronous XML-RPC client for workers, receivers and tools: libcurl (one keep-alive
// connection) and the native codec (xmlrpc_codec.hpp) for the documents, xmlrpc-c values for
// the data. Not thread-safe: one instance per thread. Include only from .cpp files: it
// exposes xmlrpc-c value types.

#include <xmlrpc-c/base.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace fh::shared {

/// The server answered with an XML-RPC fault.
struct RpcFault : std::runtime_error {
  RpcFault(int code, const std::string& msg) : std::runtime_error(msg), code(code) {}
  int code;  ///< xmlrpc_c::fault::code_t value
};

/// The call did not reach the server or got no valid answer (connection refused, timeout,
/// malformed response).
struct RpcTransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The server answered HTTP 401: the client's secret is missing or wrong. A configuration
/// error, not an outage: retrying does not help until the secret is fixed.
struct RpcAuthError : RpcTransportError {
  RpcAuthError() : RpcTransportError(k_message) {}
  static constexpr const char* k_message =
      "the master refused the credentials (HTTP 401): check --auth-file";
};

class RpcClient {
 public:
  /// url: http://HOST:PORT/RPC2 or https://HOST:PORT/RPC2 (other schemes fail). timeout_ms:
  /// whole-call limit (connection included). auth_secret: sent with every call as HTTP Basic
  /// credentials (user "framehive", see docs/api.md); empty: no credentials.
  RpcClient(std::string url, int timeout_ms = 30000, std::string auth_secret = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  /// Calls method; throws RpcFault, RpcAuthError (HTTP 401) or RpcTransportError (no answer,
  /// another HTTP status, a malformed or oversized response), std::invalid_argument for
  /// parameters XML-RPC cannot carry (a non-finite double).
  xmlrpc_c::value call(const std::string& method, const xmlrpc_c::paramList& params);
  const std::string& url() const { return url_; }

 private:
  void reset();

  std::string url_;          ///< endpoint
  int timeout_ms_;           ///< per call
  std::string auth_secret_;  ///< HTTP Basic password; empty: none
  struct Impl;
  std::unique_ptr<Impl> impl_;  ///< transport + client, recreated after a transport error
};

/// The user name of the HTTP Basic credentials (the password is the shared secret).
constexpr const char* k_auth_user = "framehive";

/// CA certificates (PEM file) that https:// URLs are verified against, for clients created
/// from now on; empty: the system's trusted CAs. The --ca-file option of every client program.
void set_tls_ca_file(const std::string& path);

/// Sets the largest XML-RPC response RpcClient accepts (16 MiB by default) and xmlrpc-c's
/// process-global XML size limit. Call from main() before threads start.
void set_xmlrpc_size_limit(std::size_t bytes);

}  // namespace fh::shared
