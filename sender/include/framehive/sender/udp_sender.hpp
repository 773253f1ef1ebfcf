#pragma once
// UdpSender: an unconnected IPv4 UDP socket sending datagrams to one receiver; failures are
// counted, never thrown. Not thread-safe: one per stream.

#include <netinet/in.h>
#include <sys/uio.h>

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

  /// Most datagrams handed to the kernel in one sendmmsg call.
  static constexpr std::size_t k_max_batch = 64;

  /// Sends n datagrams (one iovec each) in order with sendmmsg, up to k_max_batch per call. A
  /// partial send continues with the rest; EINTR, EAGAIN/ENOBUFS (for up to ~50 ms without
  /// progress) and a pending ICMP error (once) are retried as in send(); a datagram the socket
  /// refuses otherwise is counted as a send error and skipped. Returns the datagrams sent and
  /// adds their bytes to *bytes_sent when given.
  std::size_t send_batch(const iovec* datagrams, std::size_t n, std::size_t* bytes_sent = nullptr);

  std::uint64_t send_errors() const { return send_errors_; }
  std::uint64_t retries() const { return retries_; }
  /// sendmmsg calls that sent at least one datagram.
  std::uint64_t batches() const { return batches_; }
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
  std::uint64_t batches_ = 0;      ///< successful sendmmsg calls
  bool warned_ = false;            ///< first failure already logged

  /// Counts and logs (once) a datagram that could not be sent.
  void count_error(int err);
};

}  // namespace fh::sender
