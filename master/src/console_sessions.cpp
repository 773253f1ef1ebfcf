#include "console_sessions.hpp"

#include <openssl/rand.h>

#include <cmath>
#include <stdexcept>

namespace fh::master {
namespace {

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no session can be made");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof bytes);
  for (unsigned char b : bytes) {
    out += k_hex[b >> 4];
    out += k_hex[b & 15];
  }
  return out;
}

}  // namespace

ConsoleSessions::ConsoleSessions(const HttpAuth& auth, const shared::Clock& clock)
    : ConsoleSessions(auth, clock, Limits{}) {}

ConsoleSessions::ConsoleSessions(const HttpAuth& auth, const shared::Clock& clock, Limits limits)
    : auth_(auth), clock_(clock), limits_(limits) {}

ConsoleSessions::Login ConsoleSessions::login(std::string_view password, Session& out) {
  const double now = clock_.mono();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const double second = std::floor(now);
    if (second != failure_window_) {
      failure_window_ = second;
      failures_in_window_ = 0;
    }
    if (failures_in_window_ >= limits_.max_failures_per_s) return Login::throttled;
  }
  if (!auth_.check_password(password)) {
    std::lock_guard<std::mutex> lock(mutex_);
    failures_in_window_++;
    return Login::wrong;
  }
  out.token = random_token();
  out.csrf = random_token();
  std::lock_guard<std::mutex> lock(mutex_);
  expire(now);
  while (sessions_.size() >= limits_.max_sessions && !sessions_.empty()) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    sessions_.erase(oldest);
  }
  sessions_[out.token] = Entry{out.csrf, now};
  return Login::ok;
}

std::optional<std::string> ConsoleSessions::check(std::string_view cookie_header) {
  const std::string token = cookie_value(cookie_header, k_session_cookie);
  if (token.empty()) return std::nullopt;
  const double now = clock_.mono();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.last_used > limits_.lifetime) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.csrf;
}

void ConsoleSessions::logout(std::string_view cookie_header) {
  const std::string token = cookie_value(cookie_header, k_session_cookie);
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.erase(token);
}

std::size_t ConsoleSessions::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  expire(clock_.mono());
  return sessions_.size();
}

void ConsoleSessions::expire(double now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = now - it->second.last_used > limits_.lifetime ? sessions_.erase(it) : std::next(it);
  }
}

std::string ConsoleSessions::cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (value.size() > 256) return {};
      return std::string(value);
    }
  }
  return {};
}

}  // namespace fh::master
