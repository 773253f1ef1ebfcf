// Implementation of raw_http.hpp (library fh_testutil).
#include "raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace fh::test {

RawConnection::RawConnection(int port, const char* local_ip) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (local_ip != nullptr && fd_ >= 0) {
    sockaddr_in l{};
    l.sin_family = AF_INET;
    if (::inet_pton(AF_INET, local_ip, &l.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&l), sizeof l) != 0) {
      return;  // not connected
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  timeval tv{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t r = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (r <= 0) return false;
    off += static_cast<std::size_t>(r);
  }
  return true;
}

std::string RawConnection::read_response() {
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

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
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

void RawConnection::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

std::string http_post(const std::string& body, const std::string& extra_headers,
                      const std::string& version) {
  return "POST /RPC2 " + version + "\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string call_xml(const std::string& method, const std::string& params_xml) {
  return "<?xml version=\"1.0\"?><methodCall><methodName>" + method + "</methodName><params>" +
         params_xml + "</params></methodCall>";
}

int http_status(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

}  // namespace fh::test
