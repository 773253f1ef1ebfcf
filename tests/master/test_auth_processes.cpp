// The security flags end to end with the real binaries on 127.0.0.1: a master with --auth-file;
// a worker, a receiver (--master, plus --key-file against a tagging sender) and framehive-ctl
// with the right --auth-file get every frame through; with a wrong or no secret framehive-ctl
// exits 1 with one clear line, and a worker or receiver logs the 401 as an error without
// spinning. Unsafe secret files are refused at start.
#include <boost/test/unit_test.hpp>

#include "stats_line.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

using fh::test::bin;
using fh::test::Child;
using fh::test::poll_until;
using namespace std::chrono_literals;

namespace {

const std::string k_refused = "the master refused the credentials (HTTP 401): check --auth-file";

/// Writes a one-line secret file with the given mode; returns its path.
std::string secret_file(const std::string& dir, const std::string& name, const std::string& text,
                        mode_t mode = 0600) {
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  BOOST_REQUIRE(fd >= 0);
  const std::string line = text + "\n";
  BOOST_REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  ::close(fd);
  ::chmod(path.c_str(), mode);
  return path;
}

using fh::test::stats_line;

/// A number field from framehive-ctl's one-line JSON.
long json_num(const std::string& obj, const std::string& key) {
  const auto at = obj.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return static_cast<long>(std::stod(obj.substr(at + key.size() + 3)));
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_processes)

BOOST_AUTO_TEST_CASE(authenticated_pipeline_with_tagged_datagrams) {
  const auto dir = fh::test::make_temp_dir("auth");
  const std::string secret = secret_file(dir, "secret", "s3cret-for-the-test-0123456789");
  const std::string wrong = secret_file(dir, "wrong", "not-the-secret-0123456789");
  const std::string key = secret_file(dir, "key", "datagram-key-for-the-test-0123");
  const int mport = fh::test::free_tcp_port();
  const int good_port = fh::test::free_udp_port();
  int bad_port = fh::test::free_udp_port();
  while (bad_port == good_port) bad_port = fh::test::free_udp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  const std::string ctl = bin("framehive-ctl") + " --master " + url + " ";

  Child master(bin("framehive-master"),
               {"--port", std::to_string(mport), "--db", ":memory:", "--auth-file", secret,
                "--default-detector", "null", "--max-pending-per-port", "1000", "--max-frame-age",
                "0", "--stats-interval", "0"},
               dir + "/master.log");
  std::string out;
  BOOST_REQUIRE_MESSAGE(poll_until(
                            [&] {
                              return fh::test::run_command(
                                         ctl + "--auth-file " + secret + " status >/dev/null 2>&1",
                                         out) == 0;
                            },
                            10s),
                        fh::test::read_file(dir + "/master.log"));

  // framehive-ctl without the secret or with a wrong one: exit 1, one clear line
  BOOST_TEST(fh::test::run_command(ctl + "status 2>&1", out) == 1);
  BOOST_TEST(out == "framehive-ctl: " + k_refused + "\n", out);
  BOOST_TEST(fh::test::run_command(ctl + "--auth-file " + wrong + " status 2>&1", out) == 1);
  BOOST_TEST(out == "framehive-ctl: " + k_refused + "\n", out);
  // the secret through the environment works too (and --auth-file wins over it)
  BOOST_TEST(
      fh::test::run_command(
          "FRAMEHIVE_AUTH_SECRET=s3cret-for-the-test-0123456789 " + ctl + "status 2>&1", out) == 0,
      out);
  BOOST_TEST(
      fh::test::run_command("FRAMEHIVE_AUTH_FILE=" + secret + " " + ctl + "status 2>&1", out) == 0,
      out);
  BOOST_TEST(fh::test::run_command("FRAMEHIVE_AUTH_SECRET=wrong-wrong-wrong-wrong " + ctl +
                                       "--auth-file " + secret + " status 2>&1",
                                   out) == 0,
             out);

  // The good path: a worker, a receiver forwarding to the master, a sender tagging datagrams.
  Child worker(bin("framehive-worker"),
               {"--master", url, "--detector", "null", "--id", "good", "--auth-file", secret},
               dir + "/worker.log");
  Child receiver(
      bin("framehive-receiver"),
      {"--bind", "127.0.0.1", "--ports", std::to_string(good_port), "--master", url, "--auth-file",
       secret, "--key-file", key, "--queue-per-port", "1000", "--stats-interval", "0"},
      dir + "/receiver.log");
  // The bad path: a worker and a receiver with the wrong secret.
  Child bad_worker(bin("framehive-worker"),
                   {"--master", url, "--detector", "null", "--id", "bad", "--auth-file", wrong},
                   dir + "/bad-worker.log");
  Child bad_receiver(bin("framehive-receiver"),
                     {"--bind", "127.0.0.1", "--ports", std::to_string(bad_port), "--master", url,
                      "--auth-file", wrong, "--stats-interval", "0"},
                     dir + "/bad-receiver.log");
  BOOST_REQUIRE(poll_until(
      [&] {
        fh::test::run_command(ctl + "--auth-file " + secret + " status --json", out);
        return out.find("\"good\"") != std::string::npos &&
               fh::test::read_file(dir + "/receiver.log").find("listening on") !=
                   std::string::npos &&
               fh::test::read_file(dir + "/bad-receiver.log").find("listening on") !=
                   std::string::npos;
      },
      20s));

  const int frames = 20;
  Child sender(bin("framehive-sender"),
               {"--source", "test:320x240", "--port", std::to_string(good_port), "--receiver",
                "127.0.0.1", "--fps", "50", "--frames", std::to_string(frames), "--key-file", key,
                "--stats-interval", "0", "--motion", "off"},
               dir + "/sender.log");
  Child bad_sender(
      bin("framehive-sender"),
      {"--source", "test:320x240", "--port", std::to_string(bad_port), "--receiver", "127.0.0.1",
       "--fps", "50", "--frames", "5", "--stats-interval", "0", "--motion", "off"},
      dir + "/bad-sender.log");
  BOOST_REQUIRE(sender.wait(30s) == 0);
  BOOST_REQUIRE(bad_sender.wait(30s) == 0);
  BOOST_REQUIRE_MESSAGE(poll_until(
                            [&] {
                              fh::test::run_command(
                                  ctl + "--auth-file " + secret + " status --json", out);
                              return json_num(out, "completed") == frames;
                            },
                            30s),
                        out);
  BOOST_TEST(fh::test::run_command(ctl + "--auth-file " + secret + " results --port " +
                                       std::to_string(good_port) + " --limit 100 --json",
                                   out) == 0);
  BOOST_TEST(count_of(out, "\"task_id\"") == static_cast<std::size_t>(frames));

  // Stop everything and read the final lines.
  for (Child* c : {&receiver, &bad_receiver, &worker, &bad_worker}) c->signal(SIGTERM);
  for (Child* c : {&receiver, &bad_receiver, &worker, &bad_worker}) BOOST_TEST(c->wait(20s) == 0);
  const auto receiver_log = fh::test::read_file(dir + "/receiver.log");
  const auto r = stats_line(receiver_log, "receiver-stats", good_port);
  BOOST_TEST(r.at("frames_complete") == std::to_string(frames), receiver_log);
  BOOST_TEST(r.at("malformed_bad_tag") == "0");
  BOOST_TEST(receiver_log.find("refused") == std::string::npos, receiver_log);

  // The wrong secret: logged as an error (once: every 30 s), backed off, nothing delivered.
  const auto bad_worker_log = fh::test::read_file(dir + "/bad-worker.log");
  // (twice at most: the line repeats every 30 s, should this test be slow)
  BOOST_TEST(count_of(bad_worker_log, k_refused) >= 1u, bad_worker_log);
  BOOST_TEST(count_of(bad_worker_log, k_refused) <= 2u, bad_worker_log);
  const auto w = stats_line(bad_worker_log, "worker-stats");
  BOOST_TEST(w.at("completed") == "0");
  BOOST_TEST(w.at("registrations") == "0");
  // a few seconds of exponential backoff (0.1 s .. 5 s), not a spin
  const long auth_errors = std::stol(w.at("auth_errors"));
  BOOST_TEST(auth_errors >= 1);
  BOOST_TEST(auth_errors <= 40, bad_worker_log);
  const auto bad_receiver_log = fh::test::read_file(dir + "/bad-receiver.log");
  BOOST_TEST(count_of(bad_receiver_log, k_refused) >= 1u, bad_receiver_log);
  BOOST_TEST(count_of(bad_receiver_log, k_refused) <= 2u, bad_receiver_log);
  const auto br = stats_line(bad_receiver_log, "receiver-stats", bad_port);
  BOOST_TEST(br.at("frames_delivered") == "0", bad_receiver_log);
  // the good worker did the work
  const auto w_good = stats_line(fh::test::read_file(dir + "/worker.log"), "worker-stats");
  BOOST_TEST(w_good.at("completed") == std::to_string(frames));
  BOOST_TEST(w_good.at("auth_errors") == "0");
  // the master counted and logged the refusals without the secret in its log
  const auto master_log = fh::test::read_file(dir + "/master.log");
  BOOST_TEST(master_log.find("without valid credentials") != std::string::npos, master_log);
  BOOST_TEST(master_log.find("s3cret-for-the-test") == std::string::npos);
  master.signal(SIGTERM);
  BOOST_TEST(master.wait(20s) == 0);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(unsafe_or_empty_secret_files_are_refused_at_start) {
  const auto dir = fh::test::make_temp_dir("auth-files");
  const std::string open_file = secret_file(dir, "open", "readable-by-everyone-0123456789", 0644);
  const std::string empty = secret_file(dir, "empty", "   ");
  std::string out;
  for (const char* program :
       {"framehive-master", "framehive-worker --detector null", "framehive-ctl status"}) {
    BOOST_TEST_CONTEXT(program) {
      // (timeout: a binary that wrongly started serving must not hang the test)
      BOOST_TEST(fh::test::run_command(
                     "timeout 20 " + bin(program) + " --auth-file " + open_file + " 2>&1", out) ==
                 2);
      BOOST_TEST(out.find("readable by group or others") != std::string::npos, out);
      BOOST_TEST(out.find("chmod 600 " + open_file) != std::string::npos, out);
      BOOST_TEST(fh::test::run_command(
                     "timeout 20 " + bin(program) + " --auth-file " + empty + " 2>&1", out) == 2);
      BOOST_TEST(out.find("the secret is empty") != std::string::npos, out);
    }
  }
  BOOST_TEST(fh::test::run_command("timeout 20 " + bin("framehive-receiver") +
                                       " --ports 1 --key-file " + open_file + " 2>&1",
                                   out) == 2);
  BOOST_TEST(out.find("readable by group or others") != std::string::npos, out);
  BOOST_TEST(fh::test::run_command("timeout 20 " + bin("framehive-sender") +
                                       " --source test:64x64 --port 1 --key-file " + empty +
                                       " 2>&1",
                                   out) == 2);
  BOOST_TEST(out.find("the secret is empty") != std::string::npos, out);
  // an empty FRAMEHIVE_AUTH_SECRET is refused too; no --auth-secret flag exists
  BOOST_TEST(fh::test::run_command(
                 "FRAMEHIVE_AUTH_SECRET= " + bin("framehive-ctl") + " status 2>&1", out) == 2);
  BOOST_TEST(out.find("FRAMEHIVE_AUTH_SECRET: the secret is empty") != std::string::npos, out);
  BOOST_TEST(fh::test::run_command(bin("framehive-ctl") + " --auth-secret x status 2>&1", out) ==
             2);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
