#include "udp_port.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/shared/protocol.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/error.hpp>

#include <stdexcept>

namespace fh::receiver {

namespace asio = boost::asio;
using asio::ip::udp;

UdpPort::UdpPort(asio::io_context& io, const asio::ip::address& address, std::uint16_t port,
                 Listener& listener)
    : socket_(io), buffer_(fh::shared::k_max_datagram + 1), port_(port), listener_(listener) {
  const udp::endpoint ep(address, port);
  boost::system::error_code ec;
  socket_.open(ep.protocol(), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) {
    const std::string where = address.to_string() + " port " + std::to_string(port);
    if (ec == asio::error::address_in_use) {
      throw std::runtime_error("UDP " + where +
                               " is already in use (another receiver running? pick other "
                               "--ports)");
    }
    if (ec == boost::system::errc::address_not_available) {
      throw std::runtime_error("cannot listen on UDP " + where + ": " + address.to_string() +
                               " is not an address of this machine");
    }
    if (ec == asio::error::access_denied) {
      throw std::runtime_error("cannot listen on UDP " + where +
                               ": permission denied (ports below 1024 need root)");
    }
    throw std::runtime_error("cannot listen on UDP " + where + ": " + ec.message());
  }
}

std::size_t UdpPort::set_receive_buffer(std::size_t bytes) {
  const int fd = socket_.native_handle();
  const int want = static_cast<int>(bytes);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);  // capped at rmem_max
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) return 0;
  return static_cast<std::size_t>(got) / 2;  // the kernel reports twice what it grants
}

void UdpPort::start() { receive_next(); }

void UdpPort::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void UdpPort::receive_next() {
  // Wait for readability, then drain the socket with non-blocking recv() calls: one trip
  // through the io_context per burst instead of one per datagram. A burst is capped so that
  // the other ports and the timers (expiry, statistics) get their turn.
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (ec) {
      receive_error(ec.value());
    } else {
      const int fd = socket_.native_handle();
      for (int i = 0; i < k_burst; ++i) {
        const ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR) continue;
          receive_error(errno);  // e.g. an ICMP error reported on the socket
          break;
        }
        try {
          listener_.on_datagram(port_, buffer_.data(), static_cast<std::size_t>(n));
        } catch (const std::exception& e) {  // e.g. bad_alloc: drop the datagram, go on
          fh::shared::logger("net")->error("port {}: datagram dropped: {}", port_, e.what());
        }
      }
    }
    receive_next();
  });
}

void UdpPort::receive_error(int err) {
  // Transient: log a few, keep receiving.
  if (errors_++ < 5 || errors_ % 1000 == 0) {
    fh::shared::logger("net")->warn("port {}: receive error: {} ({} so far)", port_,
                                    std::strerror(err), errors_);
  }
}

}  // namespace fh::receiver
