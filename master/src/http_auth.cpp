#include "http_auth.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <vector>

namespace fh::master {
namespace {

bool sha256(const void* data, std::size_t size, std::array<std::uint8_t, 32>& out) {
  unsigned int len = 0;
  return EVP_Digest(data, size, out.data(), &len, EVP_sha256(), nullptr) == 1 && len == 32;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

HttpAuth::HttpAuth(const std::string& secret) : required_(!secret.empty()) {
  if (!required_) return;
  const std::string credentials = std::string(shared::k_auth_user) + ":" + secret;
  if (!sha256(credentials.data(), credentials.size(), expected_)) {
    throw std::runtime_error("SHA-256 is not available in OpenSSL");
  }
}

bool HttpAuth::check(std::string_view authorization) const {
  if (!required_) return true;
  // "Basic" 1*SP token68 (RFC 7617); the scheme name is case-insensitive.
  constexpr std::string_view scheme = "basic";
  if (authorization.size() <= scheme.size() ||
      !iequals_ascii(authorization.substr(0, scheme.size()), scheme) ||
      authorization[scheme.size()] != ' ') {
    return false;
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty() || token.size() > 4096) return false;
  std::vector<unsigned char> decoded;
  try {
    shared::xmlrpc::base64_decode(token, decoded);
  } catch (const std::exception&) {
    return false;
  }
  std::array<std::uint8_t, 32> got{};
  if (!sha256(decoded.data(), decoded.size(), got)) return false;
  return CRYPTO_memcmp(got.data(), expected_.data(), got.size()) == 0;
}

bool HttpAuth::check_password(std::string_view password) const {
  if (!required_) return true;
  if (password.size() > 4096) return false;
  const std::string credentials = std::string(shared::k_auth_user) + ":" + std::string(password);
  std::array<std::uint8_t, 32> got{};
  if (!sha256(credentials.data(), credentials.size(), got)) return false;
  return CRYPTO_memcmp(got.data(), expected_.data(), got.size()) == 0;
}

std::string HttpAuth::peer_name(const sockaddr* a) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (a->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

void HttpAuth::note_refused(const std::string& peer, bool had_credentials) {
  if (!refused_.due()) return;
  shared::logger("rpc")->warn(
      "refused {} request(s) without valid credentials so far (HTTP 401); latest from {}: {}",
      refused_.calls(), peer, had_credentials ? "wrong secret" : "no credentials");
}

}  // namespace fh::master
