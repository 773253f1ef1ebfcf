#include "socket_stream.hpp"

#include <boost/asio/error.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace fh::master {

void SocketStream::expect_request(clock::duration idle, clock::duration request) {
  idle_ = true;
  request_timeout_ = request;
  read_deadline_ = clock::now() + idle;
}

void SocketStream::request_started() {
  idle_ = false;
  read_deadline_ = clock::now() + request_timeout_;
}

std::size_t SocketStream::read_iov(iovec* iov, int n, boost::system::error_code& ec) {
  ec = {};
  if (n == 0) return 0;
  for (;;) {
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<std::size_t>(n);
    const ssize_t r = ::recvmsg(fd_, &m, MSG_DONTWAIT);
    if (r > 0) {
      if (idle_) request_started();
      return static_cast<std::size_t>(r);
    }
    if (r == 0) {
      ec = boost::asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec.assign(errno, boost::system::system_category());
      return 0;
    }
    if (!wait(POLLIN, read_deadline_, ec)) return 0;
  }
}

std::size_t SocketStream::write_iov(iovec* iov, int n, boost::system::error_code& ec) {
  ec = {};
  if (n == 0) return 0;
  const auto deadline = clock::now() + write_timeout_;
  for (;;) {
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<std::size_t>(n);
    const ssize_t r = ::sendmsg(fd_, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec.assign(errno, boost::system::system_category());
      return 0;
    }
    if (!wait(POLLOUT, deadline, ec)) return 0;
  }
}

bool SocketStream::wait(short events, clock::time_point deadline, boost::system::error_code& ec) {
  for (;;) {
    const auto now = clock::now();
    if (now >= deadline) {
      ec = boost::asio::error::timed_out;
      return false;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd_, events, 0};
    const int r = ::poll(&p, 1, left > 60000 ? 60000 : static_cast<int>(left));
    if (r > 0) return true;  // ready, or an error/hang-up the next call reports
    if (r < 0 && errno != EINTR) {
      ec.assign(errno, boost::system::system_category());
      return false;
    }
  }
}

}  // namespace fh::master
