// Secrets handed over in the environment do not stay there: a running framehive-receiver
// given FRAMEHIVE_DATAGRAM_KEY and FRAMEHIVE_AUTH_SECRET shows neither in /proc/PID/environ
// (the bytes of its original environment block are overwritten) nor passes them on.
#include "process_util.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

using namespace fh::receiver::test;

BOOST_AUTO_TEST_CASE(environment_secrets_are_gone_from_proc_environ) {
  const std::string key = "datagram-key-in-the-environment-0123";
  const std::string secret = "auth-secret-in-the-environment-4567";
  ::setenv("FRAMEHIVE_DATAGRAM_KEY", key.c_str(), 1);
  ::setenv("FRAMEHIVE_AUTH_SECRET", secret.c_str(), 1);
  const int port = fh::test::free_udp_port();
  ReceiverProcess rx({"--bind", "127.0.0.1", "--ports", std::to_string(port), "--master",
                      "http://127.0.0.1:1/RPC2", "--stats-interval", "0"},
                     "recv-environ");
  ::unsetenv("FRAMEHIVE_DATAGRAM_KEY");  // the child has its copy
  ::unsetenv("FRAMEHIVE_AUTH_SECRET");
  BOOST_REQUIRE(rx.wait_ready());
  BOOST_TEST(rx.output().find("integrity tags required") != std::string::npos, rx.output());
  const std::string environ = fh::test::read_file("/proc/" + std::to_string(rx.pid()) + "/environ");
  BOOST_TEST(!environ.empty());
  BOOST_TEST(environ.find(key) == std::string::npos);
  BOOST_TEST(environ.find(secret) == std::string::npos);
  BOOST_TEST(environ.find("PATH=") != std::string::npos);  // the rest is still there
  BOOST_TEST(rx.stop() == 0);
}
