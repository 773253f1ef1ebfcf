#include "native_server.hpp"

#include "framehive/shared/logging.hpp"
#include "socket_stream.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace fh::master {
namespace {

namespace http = boost::beast::http;
using clock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;      ///< request line + header fields
constexpr std::size_t kKeepBodyBytes = 8u << 20;       ///< larger body buffers are freed
constexpr auto kLingerTime = std::chrono::seconds(2);  ///< after an error reply

std::chrono::seconds timeout_or_forever(unsigned s) {
  return s == 0 ? std::chrono::seconds(24 * 3600) : std::chrono::seconds(s);
}

/// A short text/plain reply that ends the connection.
void reply_plain(SocketStream& s, unsigned version, http::status status, std::string text,
                 bool allow_post = false) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::content_type, "text/plain");
  if (allow_post) res.set(http::field::allow, "POST");
  res.keep_alive(false);
  res.body() = std::move(text) + "\n";
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(s, res, ec);
}

/// 401 with the Basic challenge; ends the connection.
void reply_unauthorized(SocketStream& s, unsigned version) {
  http::response<http::string_body> res{http::status::unauthorized, version};
  res.set(http::field::content_type, "text/plain");
  res.set(http::field::www_authenticate, HttpAuth::k_challenge);
  res.keep_alive(false);
  res.body() =
      "unauthorized: this master requires HTTP Basic credentials (user framehive, password "
      "the shared secret; see docs/api.md)\n";
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(s, res, ec);
}

std::string peer_of(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "?";
  return HttpAuth::peer_name(reinterpret_cast<const sockaddr*>(&a));
}

/// After an error reply to a client that may still be sending: stop writing, discard what it
/// sends for a while, so that closing does not reset the connection before it read the reply.
void linger(int fd, clock::duration max) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = clock::now() + max;
  char sink[16384];
  for (;;) {
    const ssize_t r = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (r > 0) continue;
    if (r == 0) return;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) return;
  }
}

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

NativeServer::NativeServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config,
                           int listen_fd)
    : dispatcher_(std::move(methods)),
      auth_(config.auth_secret),
      config_(config),
      idle_timeout_(timeout_or_forever(config.keepalive_timeout_s)),
      request_timeout_(timeout_or_forever(config.request_timeout_s)),
      log_(shared::logger("rpc")),
      listen_fd_(listen_fd) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

NativeServer::~NativeServer() {
  stop();
  reap(true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(wake_fd_);
}

void NativeServer::run() {
  while (!stopping_) {
    try {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      // the timeout only bounds how long finished connection threads wait to be joined
      const int r = ::poll(p, 2, 1000);
      if (stopping_) break;
      if (r < 0) {
        if (errno != EINTR) {
          log_->error("poll on the listening socket: {}", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
      reap(false);
      if (p[0].revents & POLLIN) accept_one();
    } catch (const std::exception& e) {
      log_->error("accept loop: {}", e.what());
    }
  }
  // New connections are refused from here on; open ones are woken and joined.
  ::close(listen_fd_);
  listen_fd_ = -1;
  shutdown_connections();
  reap(true);
}

void NativeServer::stop() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto r = ::write(wake_fd_, &one, sizeof one);
  shutdown_connections();
}

void NativeServer::accept_one() {
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) return;
    if (warning_due()) log_->warn("accept: {}", std::strerror(err));
    // out of descriptors or memory: the socket stays readable, do not spin
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::unique_lock<std::mutex> lock(mutex_);
  if (active_ >= config_.max_conn) {
    lock.unlock();
    refuse(fd);
    return;
  }
  Connection& c = connections_.emplace_back();
  c.fd = fd;
  ++active_;
  try {
    c.thread = std::thread([this, &c, fd] { serve(c, fd); });
  } catch (const std::exception& e) {
    connections_.pop_back();
    --active_;
    lock.unlock();
    ::close(fd);
    log_->error("cannot start a connection thread: {}", e.what());
  }
}

void NativeServer::refuse(int fd) {
  static constexpr std::string_view kReply =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 21\r\n"
      "Connection: close\r\n"
      "Retry-After: 1\r\n"
      "\r\n"
      "too many connections\n";
  [[maybe_unused]] const auto r =
      ::send(fd, kReply.data(), kReply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
  ++refused_;
  if (warning_due()) {
    log_->warn("{} connection(s) refused so far: max_conn ({}) connections are open", refused_,
               config_.max_conn);
  }
}

bool NativeServer::warning_due() {
  const auto now = clock::now();
  if (last_warning_ != clock::time_point{} && now - last_warning_ < std::chrono::seconds(10)) {
    return false;
  }
  last_warning_ = now;
  return true;
}

void NativeServer::serve(Connection& c, int fd) {
  try {
    serve_http(fd);
  } catch (const std::exception& e) {
    log_->error("connection: {}", e.what());
  } catch (...) {
    log_->error("connection: unknown exception");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ::close(c.fd);
  c.fd = -1;
  c.done = true;
  --active_;
}

void NativeServer::serve_http(int fd) {
  std::string peer_ip = peer_of(fd);  // "ip:port" or "[ip6]:port": the address without the port
  peer_ip = peer_ip.substr(0, peer_ip.rfind(':'));
  SocketStream stream(fd);
  stream.set_write_timeout(request_timeout_);
  boost::beast::flat_buffer buffer;
  std::unique_ptr<char[]> body;  // reused across requests
  std::size_t body_capacity = 0;
  while (!stopping_) {
    stream.expect_request(idle_timeout_, request_timeout_);
    if (buffer.size() > 0) stream.request_started();
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kHeaderLimit);
    // Content-Length is checked below, before any body byte. (Not boost::none: Beast 1.74
    // compares the length with the optional and refuses every body then.)
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec) {
      // a closed or timed-out connection ends quietly; garbage gets an answer
      if (is_http_error(ec) && ec != http::error::end_of_stream &&
          ec != http::error::partial_message) {
        reply_plain(stream, 11,
                    ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                    : http::status::bad_request,
                    "bad request: " + ec.message());
        linger(fd, kLingerTime);
      }
      return;
    }
    const auto& req = parser.get();
    const unsigned version = req.version();
    // Credentials first: without them nothing is served, not even a 404, and no body is read.
    const auto authorization = req[http::field::authorization];
    if (!auth_.check(std::string_view(authorization.data(), authorization.size()))) {
      reply_unauthorized(stream, version);
      auth_.note_refused(peer_of(fd), !authorization.empty());
      linger(fd, kLingerTime);
      return;
    }
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (target != "/RPC2" && target != "/") {
      reply_plain(stream, version, http::status::not_found,
                  "not found: the XML-RPC endpoint is POST /RPC2");
      linger(fd, kLingerTime);
      return;
    }
    if (req.method() != http::verb::post) {
      reply_plain(stream, version, http::status::method_not_allowed,
                  "method not allowed: XML-RPC takes POST only", true);
      linger(fd, kLingerTime);
      return;
    }
    if (req.find(http::field::transfer_encoding) != req.end() || !parser.content_length()) {
      reply_plain(stream, version, http::status::length_required,
                  "length required: send the request with a Content-Length");
      linger(fd, kLingerTime);
      return;
    }
    const auto encoding = req[http::field::content_encoding];
    if (!encoding.empty() && !boost::beast::iequals(encoding, "identity")) {
      reply_plain(stream, version, http::status::unsupported_media_type,
                  "unsupported Content-Encoding");
      linger(fd, kLingerTime);
      return;
    }
    const std::uint64_t length = *parser.content_length();
    if (length > config_.max_request_bytes) {
      reply_plain(stream, version, http::status::payload_too_large,
                  "request of " + std::to_string(length) + " bytes, over the limit of " +
                      std::to_string(config_.max_request_bytes));
      linger(fd, kLingerTime);
      return;
    }
    const bool keep_alive = req.keep_alive();
    if (version >= 11 && boost::beast::iequals(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      boost::asio::write(stream, boost::asio::buffer(kContinue.data(), kContinue.size()), ec);
      if (ec) return;
    }
    // The body goes straight from the socket into one buffer, parsed in place.
    const auto n = static_cast<std::size_t>(length);
    if (n + 1 > body_capacity) {
      body.reset(new char[n + 1]);
      body_capacity = n + 1;
    }
    const std::size_t buffered = std::min(n, buffer.size());
    boost::asio::buffer_copy(boost::asio::buffer(body.get(), buffered), buffer.data());
    buffer.consume(buffered);
    if (buffered < n) {
      boost::asio::read(stream, boost::asio::buffer(body.get() + buffered, n - buffered), ec);
      if (ec) return;
    }
    std::string xml = dispatcher_.handle(std::string_view(body.get(), n), peer_ip);
    if (body_capacity > kKeepBodyBytes) {
      body.reset();
      body_capacity = 0;
    }
    http::response<http::string_body> res{http::status::ok, version};
    res.set(http::field::content_type, "text/xml");
    res.keep_alive(keep_alive && !stopping_);
    res.body() = std::move(xml);
    res.prepare_payload();
    http::write(stream, res, ec);
    if (ec || !res.keep_alive()) return;
  }
}

void NativeServer::shutdown_connections() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& c : connections_) {
    if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
  }
}

void NativeServer::reap(bool all) {
  std::list<Connection> finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      const auto next = std::next(it);
      if (all || it->done) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  // list nodes keep their addresses: a thread still running holds its own Connection
  for (auto& c : finished) {
    if (c.thread.joinable()) c.thread.join();
  }
}

}  // namespace fh::master
