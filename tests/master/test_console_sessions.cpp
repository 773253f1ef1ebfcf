// The console's login sessions (master/src/console_sessions.*) with a manual clock: expiry
// after the idle lifetime, renewal on use, the session cap, the pace of failed logins, cookie
// parsing; and, over a live master, what a client without credentials may send.
#include <boost/test/unit_test.hpp>

#include "console_sessions.hpp"
#include "framehive/shared/clock.hpp"
#include "http_auth.hpp"
#include "master_under_test.hpp"

namespace {

using fh::master::ConsoleSessions;
using fh::master::HttpAuth;

const std::string k_secret = "correct horse battery staple";

}  // namespace

namespace fh::master {
std::ostream& operator<<(std::ostream& os, ConsoleSessions::Login l) {
  return os << (l == ConsoleSessions::Login::ok      ? "ok"
                : l == ConsoleSessions::Login::wrong ? "wrong"
                                                     : "throttled");
}
}  // namespace fh::master

namespace {

std::string cookie_of(const ConsoleSessions::Session& s) {
  return "theme=dark; fh_session=" + s.token + "; fh_csrf=" + s.csrf;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(console_sessions)

BOOST_AUTO_TEST_CASE(a_session_lives_while_used_and_ends_after_the_idle_lifetime) {
  HttpAuth auth(k_secret);
  fh::shared::ManualClock clock;
  ConsoleSessions sessions(auth, clock, {100.0, 16, 10});
  ConsoleSessions::Session s;
  BOOST_TEST(sessions.login("wrong", s) == ConsoleSessions::Login::wrong);
  BOOST_TEST(sessions.size() == 0u);
  BOOST_REQUIRE(sessions.login(k_secret, s) == ConsoleSessions::Login::ok);
  BOOST_TEST(s.token.size() == 64u);
  BOOST_TEST(s.csrf.size() == 64u);
  BOOST_TEST(s.token != s.csrf);
  const auto csrf = sessions.check(cookie_of(s));
  BOOST_REQUIRE(csrf.has_value());
  BOOST_TEST(*csrf == s.csrf);
  for (int i = 0; i < 5; ++i) {  // used every 90 s: renewed each time, 450 s in all
    clock.advance(90);
    BOOST_TEST(sessions.check(cookie_of(s)).has_value());
  }
  clock.advance(101);  // unused longer than the lifetime
  BOOST_TEST(!sessions.check(cookie_of(s)).has_value());
  BOOST_TEST(sessions.size() == 0u);
  BOOST_TEST(!sessions.check("fh_session=" + std::string(64, 'a')).has_value());
  BOOST_TEST(!sessions.check("").has_value());
}

BOOST_AUTO_TEST_CASE(logout_ends_only_its_session_and_the_cap_evicts_the_least_recently_used) {
  HttpAuth auth(k_secret);
  fh::shared::ManualClock clock;
  ConsoleSessions sessions(auth, clock, {3600.0, 3, 10});
  ConsoleSessions::Session a, b, c, d;
  BOOST_REQUIRE(sessions.login(k_secret, a) == ConsoleSessions::Login::ok);
  clock.advance(1);
  BOOST_REQUIRE(sessions.login(k_secret, b) == ConsoleSessions::Login::ok);
  clock.advance(1);
  BOOST_REQUIRE(sessions.login(k_secret, c) == ConsoleSessions::Login::ok);
  clock.advance(1);
  BOOST_TEST(sessions.check(cookie_of(a)).has_value());  // a is now the most recent
  BOOST_REQUIRE(sessions.login(k_secret, d) == ConsoleSessions::Login::ok);
  BOOST_TEST(sessions.size() == 3u);
  BOOST_TEST(!sessions.check(cookie_of(b)).has_value());  // b was the least recently used
  BOOST_TEST(sessions.check(cookie_of(a)).has_value());
  sessions.logout(cookie_of(c));
  BOOST_TEST(!sessions.check(cookie_of(c)).has_value());
  BOOST_TEST(sessions.check(cookie_of(d)).has_value());
}

BOOST_AUTO_TEST_CASE(wrong_passwords_are_checked_at_most_n_per_second) {
  HttpAuth auth(k_secret);
  fh::shared::ManualClock clock;
  ConsoleSessions sessions(auth, clock, {3600.0, 16, 3});
  ConsoleSessions::Session s;
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(sessions.login("guess", s) == ConsoleSessions::Login::wrong);
  BOOST_TEST(sessions.login("guess", s) == ConsoleSessions::Login::throttled);
  BOOST_TEST(sessions.login(k_secret, s) == ConsoleSessions::Login::throttled);  // even right
  clock.advance(1.0);
  BOOST_TEST(sessions.login(k_secret, s) == ConsoleSessions::Login::ok);
}

BOOST_AUTO_TEST_CASE(cookie_values_are_found_by_exact_name) {
  BOOST_TEST(ConsoleSessions::cookie_value("a=1; fh_session=xyz; b=2", "fh_session") == "xyz");
  BOOST_TEST(ConsoleSessions::cookie_value("xfh_session=no; fh_session=yes", "fh_session") ==
             "yes");
  BOOST_TEST(ConsoleSessions::cookie_value("fh_session", "fh_session").empty());
  BOOST_TEST(ConsoleSessions::cookie_value("fh_session=" + std::string(300, 'x'), "fh_session")
                 .empty());  // longer than any token: ignored
}

BOOST_AUTO_TEST_CASE(without_credentials_only_the_login_form_is_served_with_a_small_body) {
  fh::test::MasterUnderTest srv(":memory:", [](auto& c) { c.rpc.auth_secret = k_secret; });
  auto reply = [&](const std::string& request) {
    fh::test::RawConnection c(srv.port);
    c.send(request);
    return c.read_response();
  };
  const auto starts_with = [](const std::string& s, const std::string& p) {
    return s.compare(0, p.size(), p) == 0;
  };
  const auto big = reply("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  BOOST_TEST(starts_with(big, "HTTP/1.1 413"), big);
  const auto wrong =
      reply("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\npassword=wrong");
  BOOST_TEST(starts_with(wrong, "HTTP/1.1 303"), wrong);
  BOOST_TEST(wrong.find("Location: /login?failed=1") != std::string::npos, wrong);
  const auto form = "password=correct%20horse%20battery%20staple&next=%2F%23%2Fupload";
  const auto right = reply("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(std::string(form).size()) + "\r\n\r\n" + form);
  BOOST_TEST(starts_with(right, "HTTP/1.1 303"), right);
  BOOST_TEST(right.find("Location: /#/upload") != std::string::npos, right);
  BOOST_TEST(right.find("HttpOnly; SameSite=Strict") != std::string::npos, right);
  const auto api = reply("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(starts_with(api, "HTTP/1.1 401"), api);
  BOOST_TEST(api.find("application/json") != std::string::npos, api);
  const auto page = reply("GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n");
  BOOST_TEST(starts_with(page, "HTTP/1.1 303"), page);
  BOOST_TEST(page.find("Location: /login?next=/") != std::string::npos, page);
  const auto css = reply("GET /assets/app.css HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(starts_with(css, "HTTP/1.1 200"), css.substr(0, 200));
  const auto redirect = reply(
      "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 61\r\n\r\n"
      "password=correct%20horse%20battery%20staple&next=//evil.example");
  BOOST_TEST(redirect.find("Location: /\r\n") != std::string::npos, redirect);  // no open redirect
}

BOOST_AUTO_TEST_SUITE_END()
