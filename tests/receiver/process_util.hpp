#pragma once
// Test helpers for process tests: a framehive-receiver child and a UDP client (the stats lines
// are parsed by tests/common/stats_line.hpp).

#include "datagrams.hpp"
#include "stats_line.hpp"
#include "temp_dir.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fh::receiver::test {

using Fields = fh::test::StatsFields;
using fh::test::stats_count;
using fh::test::stats_line;

/// Writes key as the first line of dir/name with mode 0600 (a --key-file); returns the path.
inline std::string write_key(const std::string& dir, const std::string& name,
                             const std::string& key) {
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  const std::string line = key + "\n";
  BOOST_REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  ::close(fd);
  return path;
}

/// Sends datagrams to 127.0.0.1:port.
class UdpClient {
 public:
  explicit UdpClient(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(static_cast<std::uint16_t>(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int big = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  bool send(const Datagram& d) {
    return ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to_),
                    sizeof to_) == static_cast<ssize_t>(d.size());
  }

 private:
  int fd_;            ///< the socket
  sockaddr_in to_{};  ///< destination
};

/// framehive-receiver started with args, stdout+stderr into a log file.
class ReceiverProcess {
 public:
  ReceiverProcess(const std::vector<std::string>& args, const std::string& tag)
      : dir_(tag),
        log_(dir_.path() + "/receiver.log"),
        child_(std::make_unique<fh::test::Child>(fh::test::bin("framehive-receiver"), args, log_)) {
  }

  /// Waits for the "listening on" log line (sockets bound, signals caught).
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    return fh::test::poll_until(
               [this] { return output().find("listening on") != std::string::npos || !running(); },
               timeout) &&
           running();
  }

  bool running() { return child_->running(); }
  pid_t pid() const { return child_->pid(); }

  /// SIGTERM, then the exit status.
  int stop(int sig = SIGTERM) {
    child_->signal(sig);
    return child_->wait(std::chrono::milliseconds(15000));
  }

  int wait(std::chrono::milliseconds timeout) { return child_->wait(timeout); }

  std::string output() const { return fh::test::read_file(log_); }

 private:
  TempDir dir_;                             ///< holds the log; removed last
  std::string log_;                         ///< stdout + stderr of the child
  std::unique_ptr<fh::test::Child> child_;  ///< the process (killed first if still running)
};

}  // namespace fh::receiver::test
