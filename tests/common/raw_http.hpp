#pragma once
// Raw HTTP over TCP for tests of the master's server: requests the client libraries refuse to
// send (oversized, malformed, pipelined, half-sent) and the exact responses to them.

#include <chrono>
#include <string>

namespace fh::test {

/// A raw TCP connection to 127.0.0.1:port (blocking; sends and reads time out after 5 s),
/// from local_ip when given (any 127.x.y.z works on Linux loopback: a second "host").
class RawConnection {
 public:
  explicit RawConnection(int port, const char* local_ip = nullptr);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return ok_; }
  int fd() const { return fd_; }

  /// false if the peer closed or reset.
  bool send(const std::string& data);

  /// One HTTP response (status line, headers, Content-Length body); "" when the connection
  /// closed or timed out first. Interim 1xx responses are returned on their own.
  std::string read_response();

  /// Waits until the peer closes (EOF or reset) or timeout passes; true if it closed. Any
  /// data received meanwhile is kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout);

  /// Closes with a TCP reset (SO_LINGER 0): the server's next write fails.
  void reset();

  /// Received, not yet returned by read_response().
  const std::string& pending() const { return pending_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string pending_;  ///< received, not yet returned
};

/// A complete POST /RPC2 request carrying body.
std::string http_post(const std::string& body, const std::string& extra_headers = "",
                      const std::string& version = "HTTP/1.1");

/// An XML-RPC methodCall document; params_xml is the <param>... elements.
std::string call_xml(const std::string& method, const std::string& params_xml = "");

/// The status code of an HTTP response, 0 when it is not one.
int http_status(const std::string& response);

}  // namespace fh::test
