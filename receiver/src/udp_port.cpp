#include "udp_port.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/shared/protocol.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/error.hpp>

#include <stdexcept>

namespace fh::receiver {

namespace asio = boost::asio;
using asio::ip::udp;

RecvBatch::RecvBatch()
    : slot_(fh::shared::k_max_datagram + 1),
      storage_(k_size * slot_),
      iov_(k_size),
      headers_(k_size) {
  for (unsigned i = 0; i < k_size; ++i) {
    iov_[i].iov_base = storage_.data() + i * slot_;
    iov_[i].iov_len = slot_;
    headers_[i] = mmsghdr{};
    headers_[i].msg_hdr.msg_iov = &iov_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
}

UdpPort::UdpPort(asio::io_context& io, const asio::ip::address& address, std::uint16_t port,
                 RecvBatch& batch, Listener& listener)
    : socket_(io), batch_(batch), port_(port), listener_(listener) {
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
  // Wait for readability, then drain the socket with non-blocking recvmmsg() calls: one trip
  // through the io_context per burst instead of one per datagram, one system call per batch. A
  // burst is capped so that the other ports and the timers (expiry, statistics) get their turn.
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (ec) {
      receive_error(ec.value());
    } else {
      drain();
    }
    try {
      listener_.on_burst_end();
    } catch (const std::exception& e) {
      fh::shared::logger("net")->error("port {}: hand-off failed: {}", port_, e.what());
    }
    receive_next();
  });
}

void UdpPort::drain() {
  const int fd = socket_.native_handle();
  unsigned taken = 0;
  while (taken < k_burst) {
    const unsigned want = std::min(RecvBatch::k_size, k_burst - taken);
    const int n = ::recvmmsg(fd, batch_.headers(), want, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) receive_error(errno);  // e.g. ICMP errors
      return;
    }
    for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
      try {
        listener_.on_datagram(port_, batch_.data(i), batch_.size(i));
      } catch (const std::exception& e) {  // e.g. bad_alloc: drop the datagram, go on
        fh::shared::logger("net")->error("port {}: datagram dropped: {}", port_, e.what());
      }
    }
    taken += static_cast<unsigned>(n);
    if (static_cast<unsigned>(n) < want) return;  // drained
  }
}

void UdpPort::receive_error(int err) {
  // Transient: log a few, keep receiving.
  if (errors_++ < 5 || errors_ % 1000 == 0) {
    fh::shared::logger("net")->warn("port {}: receive error: {} ({} so far)", port_,
                                    std::strerror(err), errors_);
  }
}

}  // namespace fh::receiver
