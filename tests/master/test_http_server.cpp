// The master's HTTP server (http_server.hpp) at the HTTP level, over raw sockets: size limit,
// slow clients, idle keep-alive, wrong paths and methods, the --max-conn cap, Expect:
// 100-continue, HTTP/1.0, pipelining, parse faults, and a prompt stop with open connections.
// The hostile-client cases (idle floods, caps per address, slow readers, TLS) are in
// test_http_server_limits.cpp.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "master_under_test.hpp"
#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

using fh::test::call_xml;
using fh::test::http_post;
using fh::test::MasterUnderTest;
using fh::test::RawConnection;
using namespace std::chrono_literals;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const std::string kStatusCall = call_xml("status");

/// A fresh connection answers status() with 200.
bool serves(int port) {
  RawConnection c(port);
  if (!c.connected() || !c.send(http_post(kStatusCall))) return false;
  const auto r = c.read_response();
  return starts_with(r, "HTTP/1.1 200") && r.find("<name>pending</name>") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(oversized_bodies_are_refused_unread_and_the_server_keeps_serving) {
  MasterUnderTest srv(":memory:",
                      [](fh::master::MasterConfig& c) { c.rpc.max_request_bytes = 1u << 20; });
  {
    // The headers announce 64 MiB; none of it is sent: the answer must not wait for it.
    RawConnection c(srv.port);
    BOOST_REQUIRE(c.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n"));
    const auto r = c.read_response();
    BOOST_TEST(starts_with(r, "HTTP/1.1 413"), r);
    BOOST_TEST(c.wait_closed(5000ms));
  }
  {
    // A client that sends the whole oversized body anyway: the server answers 413 without
    // reading the body and then discards what arrives (its linger) before it closes, so the
    // whole send succeeds and the 413 is not lost to a reset.
    RawConnection c(srv.port);
    BOOST_TEST(c.send(http_post(std::string(3u << 20, 'x'))));
    const auto r = c.read_response();
    BOOST_TEST(starts_with(r, "HTTP/1.1 413"), r.substr(0, 40));
  }
  {
    // The same through the xmlrpc-c client: an error, not a hang.
    fh::shared::RpcClient client(srv.url, 10000);
    std::vector<unsigned char> big(2u << 20, 0x55);
    xmlrpc_c::paramList p;
    p.add(xmlrpc_c::value_bytestring(big));
    BOOST_CHECK_EXCEPTION(client.call("add_task", p), fh::shared::RpcTransportError,
                          [](const fh::shared::RpcTransportError& e) {
                            return std::string(e.what()).find("HTTP response code is 413") !=
                                   std::string::npos;
                          });
  }
  BOOST_TEST(serves(srv.port));
}

BOOST_AUTO_TEST_CASE(slow_and_idle_clients_are_dropped) {
  MasterUnderTest srv(":memory:", [](fh::master::MasterConfig& c) {
    c.rpc.request_timeout_s = 1;
    c.rpc.keepalive_timeout_s = 1;
  });
  const auto t0 = std::chrono::steady_clock::now();
  RawConnection half_headers(srv.port);
  BOOST_REQUIRE(half_headers.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Le"));
  RawConnection half_body(srv.port);
  BOOST_REQUIRE(
      half_body.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                     "<?xml version=\"1.0\"?><methodCall>"));
  RawConnection idle(srv.port);
  // A client that trickles a byte every 300 ms never finishes within the 1 s budget.
  RawConnection trickle(srv.port);
  std::atomic<bool> trickle_done{false};
  std::thread trickler([&] {
    const std::string req = http_post(kStatusCall);
    for (std::size_t i = 0; i < req.size() && !trickle_done; ++i) {
      if (!trickle.send(req.substr(i, 1))) break;
      std::this_thread::sleep_for(300ms);
    }
  });
  BOOST_TEST(half_headers.wait_closed(5000ms));
  BOOST_TEST(half_body.wait_closed(5000ms));
  BOOST_TEST(idle.wait_closed(5000ms));
  BOOST_TEST(trickle.wait_closed(5000ms));
  trickle_done = true;
  trickler.join();
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  BOOST_TEST(elapsed_ms >= 900);  // not before the timeout
  BOOST_TEST(elapsed_ms < 5000);
  // a keep-alive connection in use is not idle: two requests 0.5 s apart both answered
  RawConnection busy(srv.port);
  BOOST_REQUIRE(busy.send(http_post(kStatusCall)));
  BOOST_TEST(starts_with(busy.read_response(), "HTTP/1.1 200"));
  std::this_thread::sleep_for(500ms);
  BOOST_REQUIRE(busy.send(http_post(kStatusCall)));
  BOOST_TEST(starts_with(busy.read_response(), "HTTP/1.1 200"));
  BOOST_TEST(serves(srv.port));
}

BOOST_AUTO_TEST_CASE(wrong_paths_methods_and_framing_get_http_errors) {
  MasterUnderTest srv(":memory:");
  auto reply = [&](const std::string& request) {
    RawConnection c(srv.port);
    c.send(request);
    return c.read_response();
  };
  const auto get = reply("GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(starts_with(get, "HTTP/1.1 405"), get);
  BOOST_TEST(get.find("Allow: POST") != std::string::npos);
  // everything outside /RPC2, /api/v1/ and /metrics is the console's: GET only, 404 for what
  // it does not have
  BOOST_TEST(starts_with(reply("POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
                         "HTTP/1.1 405"));
  BOOST_TEST(starts_with(reply("GET /other HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404"));
  BOOST_TEST(starts_with(reply("POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "\r\n5\r\nhello\r\n0\r\n\r\n"),
                         "HTTP/1.1 411"));
  BOOST_TEST(starts_with(reply("this is not HTTP\r\n\r\n"), "HTTP/1.1 400"));
  BOOST_TEST(starts_with(
      reply("POST /RPC2 HTTP/1.1\r\nHost: x\r\n" + std::string(20000, 'X') + ": y\r\n\r\n"),
      "HTTP/1.1 431"));
  // only /RPC2 is the XML-RPC endpoint ("/" was one too before the asynchronous server: it is
  // the console's page now); malformed XML is a fault (-503) in a 200 response
  BOOST_TEST(starts_with(reply("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
                         "HTTP/1.1 405"));
  const auto fault = reply("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\ngarbage");
  BOOST_TEST(starts_with(fault, "HTTP/1.1 200"), fault);
  BOOST_TEST(fault.find("Content-Type: text/xml") != std::string::npos);
  BOOST_TEST(fault.find("<int>-503</int>") != std::string::npos, fault);
  BOOST_TEST(serves(srv.port));
}

BOOST_AUTO_TEST_CASE(connections_beyond_max_conn_are_refused) {
  MasterUnderTest srv(":memory:", [](fh::master::MasterConfig& c) { c.rpc.max_conn = 4; });
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(srv.port));
    BOOST_REQUIRE(held.back()->send(http_post(kStatusCall)));
    BOOST_REQUIRE(starts_with(held.back()->read_response(), "HTTP/1.1 200"));
  }
  {
    // the fifth: accepted (an unauthenticated connection costs only memory), its request is
    // answered 503 and the connection closed. (The thread-per-connection server answered 503 at
    // accept, before any request.)
    RawConnection extra(srv.port);
    BOOST_REQUIRE(extra.send(http_post(kStatusCall)));
    BOOST_TEST(extra.wait_closed(5000ms));
    BOOST_TEST(starts_with(extra.pending(), "HTTP/1.1 503"), extra.pending());
  }
  for (auto& c : held) {
    BOOST_REQUIRE(c->send(http_post(kStatusCall)));
    BOOST_TEST(starts_with(c->read_response(), "HTTP/1.1 200"));
  }
  // once one closes, a new connection is served again
  held.pop_back();
  BOOST_TEST(fh::test::poll_until([&] { return serves(srv.port); }, 5000ms));
}

BOOST_AUTO_TEST_CASE(http_details_continue_http10_close_and_pipelining) {
  MasterUnderTest srv(":memory:");
  {
    RawConnection c(srv.port);
    const std::string req = http_post(kStatusCall, "Expect: 100-continue\r\n");
    const auto split = req.find("\r\n\r\n") + 4;
    BOOST_REQUIRE(c.send(req.substr(0, split)));
    BOOST_TEST(starts_with(c.read_response(), "HTTP/1.1 100 Continue"));
    BOOST_REQUIRE(c.send(req.substr(split)));
    BOOST_TEST(starts_with(c.read_response(), "HTTP/1.1 200"));
  }
  {
    RawConnection c(srv.port);
    BOOST_REQUIRE(c.send(http_post(kStatusCall, "", "HTTP/1.0")));
    const auto r = c.read_response();
    BOOST_TEST(starts_with(r, "HTTP/1.0 200"), r);
    BOOST_TEST(c.wait_closed(5000ms));  // HTTP/1.0 without keep-alive: closed after the reply
  }
  {
    RawConnection c(srv.port);
    BOOST_REQUIRE(c.send(http_post(kStatusCall, "Connection: keep-alive\r\n", "HTTP/1.0")));
    BOOST_TEST(starts_with(c.read_response(), "HTTP/1.0 200"));
    BOOST_REQUIRE(c.send(http_post(kStatusCall, "Connection: keep-alive\r\n", "HTTP/1.0")));
    BOOST_TEST(starts_with(c.read_response(), "HTTP/1.0 200"));
  }
  {
    RawConnection c(srv.port);
    BOOST_REQUIRE(c.send(http_post(kStatusCall, "Connection: close\r\n")));
    const auto r = c.read_response();
    BOOST_TEST(starts_with(r, "HTTP/1.1 200"));
    BOOST_TEST(r.find("Connection: close") != std::string::npos);
    BOOST_TEST(c.wait_closed(5000ms));
  }
  {
    // two requests in one write: two responses, in order
    RawConnection c(srv.port);
    BOOST_REQUIRE(
        c.send(http_post(call_xml("system.methodExist", "<param><value>status</value></param>")) +
               http_post(call_xml("system.methodExist", "<param><value>nope</value></param>"))));
    const auto r1 = c.read_response();
    const auto r2 = c.read_response();
    BOOST_TEST(r1.find("<boolean>1</boolean>") != std::string::npos, r1);
    BOOST_TEST(r2.find("<boolean>0</boolean>") != std::string::npos, r2);
  }
}

BOOST_AUTO_TEST_CASE(stop_is_prompt_with_idle_and_long_polling_connections) {
  auto srv = std::make_unique<MasterUnderTest>(":memory:");
  RawConnection idle(srv->port);
  BOOST_REQUIRE(idle.send(http_post(kStatusCall)));
  BOOST_REQUIRE(starts_with(idle.read_response(), "HTTP/1.1 200"));
  std::atomic<bool> poll_returned{false};
  // The poller gets its own copy of the URL: srv is destroyed while it runs.
  std::thread poller([&poll_returned, url = srv->url] {
    try {
      fh::shared::RpcClient c(url, 60000);
      xmlrpc_c::paramList reg;
      reg.add(xmlrpc_c::value_string("w"));
      reg.add(xmlrpc_c::value_string(""));
      reg.add(xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{xmlrpc_c::value_string("hog")}));
      c.call("register_worker", reg);
      xmlrpc_c::paramList p;
      p.add(xmlrpc_c::value_string("w"));
      p.add(xmlrpc_c::value_int(30000));
      c.call("request_task", p);
    } catch (const std::exception&) {
    }
    poll_returned = true;
  });
  // Wait until the long poll waits: request_task stamps the worker's last_seen and keeps the
  // scheduler's lock until its wait releases it, and status() takes that lock.
  auto& scheduler = srv->app->scheduler();
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        const auto st = scheduler.status();
        return st.workers.size() == 1 && st.workers[0].last_seen > st.workers[0].registered_at;
      },
      10000ms));
  const auto t0 = std::chrono::steady_clock::now();
  srv.reset();
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  BOOST_TEST(elapsed_ms < 2000);
  BOOST_TEST(idle.wait_closed(2000ms));
  BOOST_TEST(fh::test::poll_until([&] { return poll_returned.load(); }, 5000ms));
  poller.join();
}

BOOST_AUTO_TEST_SUITE_END()
