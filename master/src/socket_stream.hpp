#pragma once
// A byte stream over one non-blocking TCP socket with deadlines, for Beast's synchronous HTTP
// functions (it models SyncReadStream and SyncWriteStream): a read waits with poll() at most
// until the read deadline, a write at most the write timeout without progress. Used by one
// connection thread at a time; not thread-safe. Does not own the socket.

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <sys/uio.h>

#include <chrono>
#include <cstddef>

namespace fh::master {

class SocketStream {
 public:
  using clock = std::chrono::steady_clock;

  explicit SocketStream(int fd) : fd_(fd) {}

  /// The next request: its first byte may take up to idle (keep-alive wait), the rest of it
  /// must arrive within request of that first byte (slow-client protection).
  void expect_request(clock::duration idle, clock::duration request);
  /// The next request has begun already (its first bytes are buffered): its clock starts now.
  void request_started();
  /// A write that makes no progress for this long fails with timed_out.
  void set_write_timeout(clock::duration d) { write_timeout_ = d; }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    iovec iov[kMaxIov];
    int n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < kMaxIov; ++it) {
      const boost::asio::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      iov[n].iov_base = b.data();
      iov[n].iov_len = b.size();
      ++n;
    }
    return read_iov(iov, n, ec);
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    iovec iov[kMaxIov];
    int n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < kMaxIov; ++it) {
      const boost::asio::const_buffer b = *it;
      if (b.size() == 0) continue;
      iov[n].iov_base = const_cast<void*>(b.data());
      iov[n].iov_len = b.size();
      ++n;
    }
    return write_iov(iov, n, ec);
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  static constexpr int kMaxIov = 16;

  std::size_t read_iov(iovec* iov, int n, boost::system::error_code& ec);
  std::size_t write_iov(iovec* iov, int n, boost::system::error_code& ec);
  /// Waits for events until deadline; false (ec set) on timeout or error.
  bool wait(short events, clock::time_point deadline, boost::system::error_code& ec);

  int fd_;                             ///< the connection's socket
  bool idle_ = false;                  ///< no byte of the next request yet
  clock::duration request_timeout_{};  ///< whole-request budget, from its first byte
  clock::time_point read_deadline_ = clock::time_point::max();  ///< reads fail after this
  clock::duration write_timeout_ = std::chrono::seconds(15);    ///< per write without progress
};

}  // namespace fh::master
