#pragma once
// HTTP Basic authentication of the XML-RPC endpoint (docs/api.md, "Authentication"): user
// "framehive", password the shared secret. Holds only a digest of the expected credentials and
// compares digests in constant time; counts refused requests and logs them at most every 10 s
// (a misconfigured client retries forever). Every member is thread-safe.

#include "framehive/shared/log_throttle.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

struct sockaddr;

namespace fh::master {

class HttpAuth {
 public:
  /// The whole WWW-Authenticate value of a 401 answer.
  static constexpr const char* k_challenge = "Basic realm=\"framehive\"";

  /// secret empty: no authentication (every request passes).
  explicit HttpAuth(const std::string& secret);

  /// Whether requests need credentials.
  bool required() const { return required_; }

  /// True when no authentication is required, or authorization (the Authorization header
  /// value, e.g. "Basic ZnJhbWVoaXZlOnNlY3JldA==") carries user "framehive" and the secret.
  /// Never throws.
  bool check(std::string_view authorization) const;

  /// True when no authentication is required or password is the secret (the console's login
  /// form). Constant time in the password's content.
  bool check_password(std::string_view password) const;

  /// Counts a request answered 401 (peer: "address:port"; had_credentials: wrong rather than
  /// missing) and logs a warning on the "rpc" logger at most every 10 s.
  void note_refused(const std::string& peer, bool had_credentials);

  /// "a.b.c.d:port" or "[v6]:port" of a peer address; "?" for other families.
  static std::string peer_name(const sockaddr* address);

  /// Requests answered 401 so far.
  std::uint64_t refused() const { return refused_.calls(); }

 private:
  bool required_ = false;                                  ///< a secret is configured
  std::array<std::uint8_t, 32> expected_{};                ///< SHA-256 of "framehive:<secret>"
  shared::LogThrottle refused_{std::chrono::seconds(10)};  ///< counts 401s, paces their warning
};

}  // namespace fh::master
