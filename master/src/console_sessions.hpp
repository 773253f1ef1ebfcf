#pragma once
// The console's login sessions (docs/http-api.md, "Authentication"): a correct password at
// POST /login makes a session, named by a random 256-bit token the browser keeps in the
// HttpOnly cookie fh_session, with a second random token (cookie fh_csrf, readable by the
// page) that every state-changing request must echo in X-CSRF-Token. Sessions expire after
// `lifetime` seconds unused; at most `max_sessions` live (the least recently used goes first).
// Failed logins are paced: at most `max_failures_per_s` are checked each second.
// Time from the injected clock. Thread-safe.

#include "framehive/shared/clock.hpp"
#include "http_auth.hpp"

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace fh::master {

class ConsoleSessions {
 public:
  static constexpr const char* k_session_cookie = "fh_session";
  static constexpr const char* k_csrf_cookie = "fh_csrf";

  struct Limits {
    double lifetime = 12 * 3600.0;  ///< seconds a session lives unused
    std::size_t max_sessions = 4096;
    int max_failures_per_s = 10;  ///< wrong passwords checked per second, all clients together
  };

  ConsoleSessions(const HttpAuth& auth, const shared::Clock& clock);
  ConsoleSessions(const HttpAuth& auth, const shared::Clock& clock, Limits limits);

  /// Whether a secret is configured (without one there are no sessions to check).
  bool required() const { return auth_.required(); }

  enum class Login { ok, wrong, throttled };
  struct Session {
    std::string token;  ///< fh_session's value
    std::string csrf;   ///< fh_csrf's value
  };
  /// Checks the password; on success a new session in out.
  Login login(std::string_view password, Session& out);

  /// The CSRF token of the live session named by the request's Cookie header (renewing it);
  /// nullopt when there is none.
  std::optional<std::string> check(std::string_view cookie_header);

  /// Ends the session named by the Cookie header, if any.
  void logout(std::string_view cookie_header);

  /// Live sessions (for tests).
  std::size_t size();

  /// The value of cookie name in a Cookie header ("a=1; b=2"); empty when absent.
  static std::string cookie_value(std::string_view header, std::string_view name);

 private:
  struct Entry {
    std::string csrf;
    double last_used = 0.0;  ///< monotonic seconds
  };
  void expire(double now);  ///< caller holds mutex_

  const HttpAuth& auth_;
  const shared::Clock& clock_;
  const Limits limits_;
  std::mutex mutex_;                       ///< guards everything below
  std::map<std::string, Entry> sessions_;  ///< token -> session
  double failure_window_ = -1.0;           ///< the second (monotonic, floored) counted
  int failures_in_window_ = 0;             ///< wrong passwords checked in it
};

}  // namespace fh::master
