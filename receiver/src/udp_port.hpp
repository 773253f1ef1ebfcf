#pragma once
// One listening UDP socket (one camera): waits for it to become readable on the io_context,
// then drains it (up to k_burst datagrams) with non-blocking recv(), handing each datagram to
// its Listener on the io_context thread. Not thread-safe: use from that thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fh::receiver {

class UdpPort {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    /// A datagram arrived; data is valid only during the call.
    virtual void on_datagram(std::uint16_t port, const std::uint8_t* data, std::size_t size) = 0;
  };

  /// Opens and binds address:port. Throws std::runtime_error with a clear message (port in
  /// use, address not on this machine, ...).
  UdpPort(boost::asio::io_context& io, const boost::asio::ip::address& address, std::uint16_t port,
          Listener& listener);

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
  void receive_error(int err);

  static constexpr int k_burst = 64;     ///< datagrams per wake-up at most
  boost::asio::ip::udp::socket socket_;  ///< the bound socket
  std::vector<std::uint8_t> buffer_;     ///< one datagram; one byte over the largest valid one
  std::uint16_t port_;                   ///< local port
  Listener& listener_;                   ///< gets the datagrams
  std::uint64_t errors_ = 0;             ///< receive errors so far (rate-limits their logs)
};

}  // namespace fh::receiver
