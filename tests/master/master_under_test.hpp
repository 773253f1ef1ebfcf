#pragma once
// Test helper: a master (in this process) on a free 127.0.0.1 port, serving on its own thread,
// with a chosen RPC back end; plus raw-socket HTTP helpers for the server's edge cases.

#include "framehive/master/master_app.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fh::test {

struct MasterUnderTest {
  std::unique_ptr<master::MasterApp> app;
  std::thread thread;
  std::string url;
  int port = 0;

  explicit MasterUnderTest(const std::string& db,
                           const std::function<void(master::MasterConfig&)>& tweak = {}) {
    master::MasterConfig c;
    c.db_path = db;
    c.rpc.port = 0;
    c.scheduler.max_frame_age = 0;
    c.stats_interval = 0;
    if (tweak) tweak(c);
    app = std::make_unique<master::MasterApp>(c);
    port = app->port();
    url = "http://127.0.0.1:" + std::to_string(port) + "/RPC2";
    thread = std::thread([this] { app->run(); });
  }
  ~MasterUnderTest() {
    app->stop();
    thread.join();
  }
  MasterUnderTest(const MasterUnderTest&) = delete;
  MasterUnderTest& operator=(const MasterUnderTest&) = delete;
};

/// A raw TCP connection to 127.0.0.1:port (blocking; reads time out after 5 s).
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return ok_; }
  int fd() const { return fd_; }

  /// false if the peer closed or reset.
  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t r = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (r <= 0) return false;
      off += static_cast<std::size_t>(r);
    }
    return true;
  }

  /// One HTTP response (status line, headers, Content-Length body); "" when the connection
  /// closed or timed out first. Interim 1xx responses are returned on their own.
  std::string read_response() {
    for (;;) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::string head = pending_.substr(0, end + 4);
        std::size_t length = 0;
        std::string lower = head;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const auto cl = lower.find("content-length:");
        if (cl != std::string::npos) length = std::stoul(head.substr(cl + 15));
        if (pending_.size() >= end + 4 + length) {
          std::string out = pending_.substr(0, end + 4 + length);
          pending_.erase(0, end + 4 + length);
          return out;
        }
      }
      char buf[65536];
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) return {};
      pending_.append(buf, static_cast<std::size_t>(r));
    }
  }

  /// Waits until the peer closes (EOF or reset) or timeout passes; true if it closed. Any
  /// data received meanwhile is kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t r = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0) return true;
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
      if (r > 0) pending_.append(buf, static_cast<std::size_t>(r));
    }
  }

  const std::string& pending() const { return pending_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string pending_;  ///< received, not yet returned
};

/// A complete POST /RPC2 request carrying body.
inline std::string http_post(const std::string& body, const std::string& extra_headers = "",
                             const std::string& version = "HTTP/1.1") {
  return "POST /RPC2 " + version + "\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string call_xml(const std::string& method, const std::string& params_xml = "") {
  return "<?xml version=\"1.0\"?><methodCall><methodName>" + method + "</methodName><params>" +
         params_xml + "</params></methodCall>";
}

}  // namespace fh::test
