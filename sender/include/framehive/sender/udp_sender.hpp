#pragma once
// UdpSender: an unconnected IPv4 UDP socket sending datagrams to one receiver; failures are
// counted, never thrown. Not thread-safe: one per stream.

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace fh::sender {

/// Unconnected (sendto) on purpose: ICMP "port unreachable" from an absent receiver never
/// kills the stream. Transient EAGAIN/ENOBUFS are retried briefly before counting an error.
class UdpSender {
 public:
  static constexpr int k_default_sndbuf = 4 << 20;

  /// Resolves host (name or IPv4) and opens the socket. Throws std::runtime_error when the
  /// host does not resolve or the socket cannot be created.
  UdpSender(const std::string& host, std::uint16_t port, int sndbuf_bytes = k_default_sndbuf);
  ~UdpSender();
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  /// Sends one datagram. Retries EAGAIN/ENOBUFS/EINTR for up to ~50 ms and a pending ICMP
  /// error once; returns false (and counts a send error) when the datagram did not leave.
  bool send(const std::uint8_t* data, std::size_t size);

  std::uint64_t send_errors() const { return send_errors_; }
  std::uint64_t retries() const { return retries_; }
  /// "a.b.c.d:port"
  const std::string& endpoint() const { return endpoint_; }
  /// SO_SNDBUF as granted by the kernel.
  int sndbuf() const { return sndbuf_; }

 private:
  int fd_ = -1;                    ///< the socket
  sockaddr_in addr_{};             ///< the receiver
  std::string endpoint_;           ///< printable receiver address
  int sndbuf_ = 0;                 ///< granted send buffer
  std::uint64_t send_errors_ = 0;  ///< datagrams that could not be sent
  std::uint64_t retries_ = 0;      ///< transient errors retried
  bool warned_ = false;            ///< first failure already logged
};

}  // namespace fh::sender
