#include "framehive/sender/udp_sender.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "framehive/shared/logging.hpp"

namespace fh::sender {
namespace {

/// Total time spent retrying one datagram on EAGAIN/ENOBUFS before counting it as failed.
constexpr auto k_retry_budget = std::chrono::milliseconds(50);

}  // namespace

UdpSender::UdpSender(const std::string& host, std::uint16_t port, int sndbuf_bytes) {
  if (host.empty()) throw std::runtime_error("empty receiver host");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw std::runtime_error("cannot resolve receiver '" + host + "': " + ::gai_strerror(rc));
  }
  std::memcpy(&addr_, res->ai_addr, sizeof addr_);
  ::freeaddrinfo(res);
  addr_.sin_port = htons(port);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr_.sin_addr, text, sizeof text);
  endpoint_ = std::string(text) + ":" + std::to_string(port);

  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error(std::string("cannot create UDP socket: ") + std::strerror(errno));
  if (sndbuf_bytes > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf_bytes, sizeof sndbuf_bytes);
  }
  socklen_t len = sizeof sndbuf_;
  ::getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf_, &len);
  fh::shared::logger("net")->debug("UDP socket to {}: SO_SNDBUF {} bytes (asked {})", endpoint_,
                                   sndbuf_, sndbuf_bytes);
}

UdpSender::~UdpSender() {
  if (fd_ >= 0) ::close(fd_);
}

bool UdpSender::send(const std::uint8_t* data, std::size_t size) {
  const auto deadline = std::chrono::steady_clock::now() + k_retry_budget;
  auto pause = std::chrono::microseconds(50);
  bool icmp_retried = false;
  while (true) {
    const ssize_t n =
        ::sendto(fd_, data, size, 0, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (n == static_cast<ssize_t>(size)) return true;
    const int err = n < 0 ? errno : EMSGSIZE;
    if (err == EINTR) continue;
    // A pending ICMP error (only reported on some set-ups for unconnected sockets) is
    // consumed by the failing call: try once more at once.
    if ((err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH) && !icmp_retried) {
      icmp_retried = true;
      ++retries_;
      continue;
    }
    if ((err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) &&
        std::chrono::steady_clock::now() < deadline) {
      ++retries_;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(5000));
      continue;
    }
    count_error(err);
    return false;
  }
}

void UdpSender::count_error(int err) {
  ++send_errors_;
  if (!warned_) {
    warned_ = true;
    fh::shared::logger("net")->warn("send to {} failed: {} (further failures only counted)",
                                    endpoint_, std::strerror(err));
  }
}

std::size_t UdpSender::send_batch(const iovec* datagrams, std::size_t n, std::size_t* bytes_sent) {
  std::array<mmsghdr, k_max_batch> msgs{};
  std::array<iovec, k_max_batch> iov{};
  std::size_t sent = 0;
  std::size_t i = 0;
  auto deadline = std::chrono::steady_clock::now() + k_retry_budget;
  auto pause = std::chrono::microseconds(50);
  bool icmp_retried = false;
  while (i < n) {
    const std::size_t k = std::min(k_max_batch, n - i);
    for (std::size_t j = 0; j < k; ++j) {
      iov[j] = datagrams[i + j];
      msgs[j] = mmsghdr{};
      msgs[j].msg_hdr.msg_name = &addr_;
      msgs[j].msg_hdr.msg_namelen = sizeof addr_;
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(k), 0);
    if (r > 0) {
      // A UDP datagram leaves whole or not at all: r datagrams went out.
      if (bytes_sent) {
        for (int j = 0; j < r; ++j) *bytes_sent += iov[static_cast<std::size_t>(j)].iov_len;
      }
      sent += static_cast<std::size_t>(r);
      i += static_cast<std::size_t>(r);
      ++batches_;
      deadline = std::chrono::steady_clock::now() + k_retry_budget;
      pause = std::chrono::microseconds(50);
      icmp_retried = false;
      continue;
    }
    // The first datagram of the batch failed; errno says why.
    const int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if ((err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH) && !icmp_retried) {
      icmp_retried = true;
      ++retries_;
      continue;
    }
    if ((err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) &&
        std::chrono::steady_clock::now() < deadline) {
      ++retries_;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(5000));
      continue;
    }
    count_error(err);
    ++i;  // skip the datagram the socket refused; the rest still go
    deadline = std::chrono::steady_clock::now() + k_retry_budget;
    pause = std::chrono::microseconds(50);
    icmp_retried = false;
  }
  return sent;
}

}  // namespace fh::sender
