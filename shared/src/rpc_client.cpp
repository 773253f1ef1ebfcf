#include "framehive/shared/rpc_client.hpp"

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.hpp>
#include <xmlrpc-c/client_transport.hpp>
#include <xmlrpc-c/girerr.hpp>

namespace fh::shared {

struct RpcClient::Impl {
  xmlrpc_c::clientXmlTransport_curl transport;
  xmlrpc_c::client_xml client;
  xmlrpc_c::carriageParm_curl0 carriage;
  Impl(const std::string& url, int timeout_ms, const std::string& secret)
      : transport(xmlrpc_c::clientXmlTransport_curl::constrOpt()
                      .timeout(static_cast<unsigned>(timeout_ms))
                      .dont_advertise(true)),
        client(&transport),
        carriage(url) {
    if (!secret.empty()) {
      // Basic only: curl then sends the credentials with the first request (no 401 round trip)
      carriage.setUser(k_auth_user, secret);
      carriage.allowAuthBasic();
    }
  }
};

namespace {

/// xmlrpc-c's curl transport reports a non-200 answer as "HTTP response code is N, not 200".
bool is_http_401(const std::string& message) {
  return message.find("HTTP response code is 401") != std::string::npos;
}

}  // namespace

RpcClient::RpcClient(std::string url, int timeout_ms, std::string auth_secret)
    : url_(std::move(url)), timeout_ms_(timeout_ms), auth_secret_(std::move(auth_secret)) {
  reset();
}

RpcClient::~RpcClient() = default;

void RpcClient::reset() { impl_ = std::make_unique<Impl>(url_, timeout_ms_, auth_secret_); }

xmlrpc_c::value RpcClient::call(const std::string& method, const xmlrpc_c::paramList& params) {
  xmlrpc_c::rpcPtr rpc(method, params);
  try {
    rpc->call(&impl_->client, &impl_->carriage);
  } catch (const std::exception& e) {
    reset();  // a fresh connection for the next call
    if (is_http_401(e.what())) throw RpcAuthError();
    throw RpcTransportError(method + " at " + url_ + ": " + e.what());
  }
  if (!rpc->isSuccessful()) {
    const auto f = rpc->getFault();
    throw RpcFault(static_cast<int>(f.getCode()), f.getDescription());
  }
  return rpc->getResult();
}

void set_xmlrpc_size_limit(std::size_t bytes) { xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes); }

}  // namespace fh::shared
