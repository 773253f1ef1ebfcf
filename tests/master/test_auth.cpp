// HTTP Basic authentication of the master's XML-RPC endpoint, against both back ends over real
// sockets on 127.0.0.1: without the right credentials every call (introspection included) is
// refused with 401 and a Basic challenge before its body is read; with them everything works,
// from framehive's own client and from Python's xmlrpc.client with user:password in the URL.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "http_auth.hpp"
#include "master_under_test.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

using fh::shared::RpcAuthError;
using fh::shared::RpcClient;
using fh::test::call_xml;
using fh::test::http_post;
using fh::test::RawConnection;
using namespace std::chrono_literals;

namespace {

const std::string k_secret = "correct-horse-battery-staple-42";

std::string basic(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string out = "Basic ";
  fh::shared::xmlrpc::base64_encode(reinterpret_cast<const unsigned char*>(plain.data()),
                                    plain.size(), out);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// The response to one request on a fresh connection.
std::string round_trip(int port, const std::string& request) {
  RawConnection c(port);
  if (!c.connected() || !c.send(request)) return "";
  return c.read_response();
}

bool is_401_with_challenge(const std::string& response) {
  return starts_with(response, "HTTP/1.1 401") &&
         lower(response).find("www-authenticate: basic realm=\"framehive\"") != std::string::npos;
}

auto with_secret(const std::string& secret) {
  return [secret](fh::master::MasterConfig& c) { c.rpc.auth_secret = secret; };
}

xmlrpc_c::paramList none() { return xmlrpc_c::paramList(); }

xmlrpc_c::value tiny_frame(int port, int id) {
  const auto jpeg = fh::test::tiny_jpeg();
  return xmlrpc_c::value_struct(
      std::map<std::string, xmlrpc_c::value>{{"port", xmlrpc_c::value_int(port)},
                                             {"frame_id", xmlrpc_c::value_int(id)},
                                             {"captured_at", xmlrpc_c::value_double(1.7e9)},
                                             {"image", xmlrpc_c::value_bytestring(jpeg)}});
}

int pending_of(RpcClient& c) {
  const auto st = static_cast<std::map<std::string, xmlrpc_c::value>>(
      xmlrpc_c::value_struct(c.call("status", none())));
  return static_cast<int>(xmlrpc_c::value_int(st.at("pending")));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(credentials_check_accepts_only_the_framehive_user_and_the_secret) {
  const fh::master::HttpAuth auth(k_secret);
  BOOST_TEST(auth.required());
  BOOST_TEST(auth.check(basic("framehive", k_secret)));
  BOOST_TEST(auth.check("basic " + basic("framehive", k_secret).substr(6)));  // scheme: any case
  BOOST_TEST(auth.check("Basic   " + basic("framehive", k_secret).substr(6) + " "));
  BOOST_TEST(!auth.check(""));
  BOOST_TEST(!auth.check("Basic"));
  BOOST_TEST(!auth.check("Basic "));
  BOOST_TEST(!auth.check(basic("framehive", k_secret + "x")));
  BOOST_TEST(!auth.check(basic("framehive", k_secret.substr(1))));
  BOOST_TEST(!auth.check(basic("admin", k_secret)));
  BOOST_TEST(!auth.check(basic("", k_secret)));
  BOOST_TEST(!auth.check("Bearer " + basic("framehive", k_secret).substr(6)));
  BOOST_TEST(!auth.check("Basic !!!not-base64!!!"));
  BOOST_TEST(!auth.check("Basic" + basic("framehive", k_secret).substr(6)));
  // a secret may contain colons and spaces: only the first colon separates the user
  const fh::master::HttpAuth colons("a:b c:d-0123456789");
  BOOST_TEST(colons.check(basic("framehive", "a:b c:d-0123456789")));
  BOOST_TEST(!colons.check(basic("framehive:a", "b c:d-0123456789x")));
  // no secret: everything passes
  const fh::master::HttpAuth open("");
  BOOST_TEST(!open.required());
  BOOST_TEST(open.check(""));
}

BOOST_AUTO_TEST_CASE(without_the_right_credentials_every_call_is_refused) {
  fh::test::MasterUnderTest srv(":memory:", with_secret(k_secret));
  // framehive's client: no secret, a wrong one -> RpcAuthError with the one-line message
  for (const std::string& secret : {std::string(), std::string("not-the-secret-0123456789")}) {
    RpcClient c(srv.url, 10000, secret);
    try {
      c.call("add_task", [] {
        xmlrpc_c::paramList p;
        p.add(tiny_frame(5000, 1));
        return p;
      }());
      BOOST_TEST(false, "a call with secret '" << secret << "' must be refused");
    } catch (const RpcAuthError& e) {
      BOOST_TEST(std::string(e.what()) ==
                 "the master refused the credentials (HTTP 401): check --auth-file");
    }
    BOOST_CHECK_THROW(c.call("system.listMethods", none()), RpcAuthError);
    BOOST_CHECK_THROW(c.call("status", none()), RpcAuthError);
  }
  // raw HTTP: every request without the right Authorization is a 401 with the Basic challenge
  const std::string status = call_xml("status");
  const std::vector<std::string> refused_headers = {
      "",
      "Authorization: " + basic("framehive", "wrong") + "\r\n",
      "Authorization: " + basic("someone", k_secret) + "\r\n",
      "Authorization: Bearer " + k_secret + "\r\n",
      "Authorization: Basic %%%\r\n",
  };
  for (const auto& h : refused_headers) {
    const auto r = round_trip(srv.port, http_post(status, h));
    BOOST_TEST(is_401_with_challenge(r), "with '" << h << "':\n" << r);
    BOOST_TEST(r.find("<methodResponse>") == std::string::npos);
  }
  BOOST_TEST(
      is_401_with_challenge(round_trip(srv.port, http_post(call_xml("system.listMethods")))));
  // the right credentials work, on the raw socket and through the client
  const auto ok = round_trip(
      srv.port, http_post(status, "Authorization: " + basic("framehive", k_secret) + "\r\n"));
  BOOST_TEST(starts_with(ok, "HTTP/1.1 200"), ok);
  BOOST_TEST(ok.find("<name>pending</name>") != std::string::npos);
  RpcClient right(srv.url, 10000, k_secret);
  BOOST_TEST(pending_of(right) == 0);  // nothing refused above was queued
  xmlrpc_c::paramList add;
  add.add(tiny_frame(5000, 2));
  right.call("add_task", add);
  BOOST_TEST(pending_of(right) == 1);
  const auto methods =
      xmlrpc_c::value_array(right.call("system.listMethods", none())).vectorValueValue();
  BOOST_TEST(methods.size() > 5u);
}

BOOST_AUTO_TEST_CASE(a_refused_request_is_answered_before_its_body_is_sent) {
  fh::test::MasterUnderTest srv(":memory:", with_secret(k_secret));
  // The headers announce a large body; none of it is sent: the 401 must not wait for it.
  RawConnection c(srv.port);
  BOOST_REQUIRE(
      c.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
             "Content-Length: 1000000\r\n\r\n"));
  const auto r = c.read_response();
  BOOST_TEST(is_401_with_challenge(r), r);
  // and the server goes on serving authenticated clients
  RpcClient right(srv.url, 10000, k_secret);
  BOOST_TEST(pending_of(right) == 0);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_without_credentials_gets_401_not_100) {
  fh::test::MasterUnderTest srv(":memory:", with_secret(k_secret));
  RawConnection c(srv.port);
  BOOST_REQUIRE(
      c.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 5000000\r\n\r\n"));
  const auto r = c.read_response();
  BOOST_TEST(is_401_with_challenge(r), r);
  BOOST_TEST(c.wait_closed(5000ms));
}

BOOST_AUTO_TEST_CASE(without_a_secret_no_credentials_are_needed_and_any_are_ignored) {
  fh::test::MasterUnderTest srv(":memory:");
  RpcClient plain(srv.url, 10000);
  BOOST_TEST(pending_of(plain) == 0);
  RpcClient with(srv.url, 10000, "a-secret-the-master-does-not-have");
  BOOST_TEST(pending_of(with) == 0);
}

BOOST_AUTO_TEST_CASE(python_xmlrpc_client_with_credentials_in_the_url) {
  fh::test::MasterUnderTest srv(":memory:", with_secret(k_secret));
  const std::string script = std::string(FH_SOURCE_DIR) + "/tests/master/foreign_client.py";
  // foreign_client.py checks that the URL without (or with wrong) credentials gets a 401,
  // then drives every method with them
  const std::string url =
      "http://framehive:" + k_secret + "@127.0.0.1:" + std::to_string(srv.port) + "/RPC2";
  const std::string cmd = "python3 " + script + " " + url;
  BOOST_TEST(std::system(cmd.c_str()) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
