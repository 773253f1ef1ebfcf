#pragma once
// One listening UDP socket (one camera): waits for it to become readable on the io_context,
// then drains it (up to k_burst datagrams) with non-blocking recvmmsg() calls of up to
// RecvBatch::k_size datagrams each, handing each datagram to its Listener on the io_context
// thread, then tells the Listener the burst ended. Not thread-safe: use from that thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fh::receiver {

/// Receive buffers for recvmmsg(), shared by every UdpPort of one io_context thread (a port
/// uses them only inside its own handler): RecvBatch::k_size datagrams of the largest valid size
/// plus one byte (a longer datagram arrives truncated and is refused as bad_length).
class RecvBatch {
 public:
  static constexpr unsigned k_size = 16;  ///< datagrams per recvmmsg() call
  RecvBatch();
  RecvBatch(const RecvBatch&) = delete;
  RecvBatch& operator=(const RecvBatch&) = delete;

  /// The message headers for recvmmsg(), each pointing at its own buffer.
  mmsghdr* headers() { return headers_.data(); }
  /// Datagram i of the last call.
  const std::uint8_t* data(unsigned i) const { return storage_.data() + i * slot_; }
  std::size_t size(unsigned i) const { return headers_[i].msg_len; }

 private:
  std::size_t slot_;                   ///< bytes per datagram buffer
  std::vector<std::uint8_t> storage_;  ///< k_size buffers of slot_ bytes
  std::vector<iovec> iov_;             ///< one per buffer
  std::vector<mmsghdr> headers_;       ///< one per buffer
};

class UdpPort {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    /// A datagram arrived; data is valid only during the call.
    virtual void on_datagram(std::uint16_t port, const std::uint8_t* data, std::size_t size) = 0;
    /// The datagrams of one readiness event were handed over (the socket was drained, or the
    /// burst cap was reached): a place to hand on what they completed at once.
    virtual void on_burst_end() {}
  };

  /// Opens and binds address:port. Throws std::runtime_error with a clear message (port in
  /// use, address not on this machine, ...). Keeps a reference to batch, which only this
  /// io_context's thread may use.
  UdpPort(boost::asio::io_context& io, const boost::asio::ip::address& address, std::uint16_t port,
          RecvBatch& batch, Listener& listener);

  /// Asks for an SO_RCVBUF of bytes (SO_RCVBUFFORCE first, which works as root); returns what
  /// the kernel granted (its doubled value halved).
  std::size_t set_receive_buffer(std::size_t bytes);

  /// Starts receiving.
  void start();
  /// Stops receiving (the pending receive completes with operation_aborted).
  void close();

  std::uint16_t port() const { return port_; }

 private:
  void receive_next();
  /// Takes up to k_burst datagrams from the socket, without blocking.
  void drain();
  void receive_error(int err);

  static constexpr unsigned k_burst = 64;  ///< datagrams per wake-up at most
  boost::asio::ip::udp::socket socket_;    ///< the bound socket
  RecvBatch& batch_;                       ///< receive buffers (shared with the other ports)
  std::uint16_t port_;                     ///< local port
  Listener& listener_;                     ///< gets the datagrams
  std::uint64_t errors_ = 0;               ///< receive errors so far (rate-limits their logs)
};

}  // namespace fh::receiver
