#include "http_server.hpp"

#include "connection_limiter.hpp"
#include "console_sessions.hpp"
#include "dispatch_pool.hpp"
#include "framehive/shared/log_throttle.hpp"
#include "framehive/shared/logging.hpp"
#include "growing_body.hpp"
#include "http_auth.hpp"
#include "http_params.hpp"
#include "http_router.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fh::master {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;               ///< request line + header fields
constexpr std::size_t kReadChunk = 64 * 1024;                   ///< most bytes read at once
constexpr std::uint64_t kUnauthenticatedBodyLimit = 16 * 1024;  ///< login form bodies
constexpr auto kLingerTime = std::chrono::seconds(2);  ///< discarding input after an error reply
constexpr auto kCloseTime = std::chrono::seconds(1);   ///< TLS close_notify exchange
constexpr auto kErrorWriteTime = std::chrono::seconds(5);  ///< writing a short error reply

clock::duration seconds_or_forever(double s) {
  if (s <= 0) return std::chrono::hours(24);
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

bool is_http_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

/// What every connection shares; lives as long as the server.
struct ServerContext {
  ServerContext(HttpRouter r, const RpcServerConfig& c, HttpAuth& a, ConsoleSessions& s)
      : router(std::move(r)),
        config(c),
        auth(a),
        sessions(s),
        limiter({c.max_conn, c.max_conn_per_address, c.max_unauth_conn}),
        pool(c.max_conn, std::chrono::seconds(60)),
        header_timeout(seconds_or_forever(c.header_timeout_s)),
        request_timeout(seconds_or_forever(c.request_timeout_s)),
        keepalive_timeout(seconds_or_forever(c.keepalive_timeout_s)),
        response_timeout(seconds_or_forever(c.response_timeout_s)),
        log(shared::logger("rpc")) {}

  const HttpRouter router;       ///< targets
  const RpcServerConfig config;  ///< limits
  HttpAuth& auth;                ///< thread-safe
  ConsoleSessions& sessions;     ///< thread-safe
  ConnectionLimiter limiter;     ///< thread-safe; outlives every session
  DispatchPool pool;             ///< thread-safe
  const clock::duration header_timeout, request_timeout, keepalive_timeout, response_timeout;
  std::shared_ptr<spdlog::logger> log;                         ///< "rpc"
  std::atomic<bool> stopping{false};                           ///< stop() was called
  shared::LogThrottle timeouts{std::chrono::seconds(10)};      ///< no first header in time
  shared::LogThrottle slow_readers{std::chrono::seconds(10)};  ///< response deadline missed
  shared::LogThrottle tls_failures{std::chrono::seconds(10)};  ///< failed TLS handshakes
};

namespace {

/// The HTTP part of a connection, over Derived's stream() (plain TCP or TLS). All of it runs on
/// the connection's strand, except evict() (any thread) and the handler (the pool).
template <class Derived>
class HttpSession : public ConnectionLimiter::Member {
 public:
  HttpSession(ServerContext& ctx, std::string peer)
      : ctx_(ctx), peer_(std::move(peer)), accepted_(clock::now()) {}
  ~HttpSession() override { ctx_.limiter.release(id_); }

  void set_id(ConnectionLimiter::Id id) { id_ = id; }

  void evict() override {
    auto self = derived().shared_from_this();
    net::post(derived().stream().get_executor(), [self] { self->close_now(); });
  }

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(derived().stream()); }

  void close_now() {
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }

  /// With on, closing the socket resets the connection: what the kernel still holds for a
  /// client that stopped reading is dropped instead of being sent on after the close (the
  /// response deadline closes the socket from inside Beast).
  void reset_on_close(bool on) {
    error_code ec;
    tcp().socket().set_option(net::socket_base::linger(on, 0), ec);
  }

  void read_header() {
    if (ctx_.stopping) return close_now();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Content-Length is checked in on_header, before any body byte. (Not boost::none: Beast
    // 1.74 compares the length with the optional and refuses every body then.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (first_) {
      tcp().expires_at(accepted_ + ctx_.header_timeout);  // the handshake used part of it
    } else {
      tcp().expires_after(ctx_.keepalive_timeout);
    }
    http::async_read_header(
        derived().stream(), buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::on_header, derived().shared_from_this()));
  }

  void on_header(error_code ec, std::size_t) {
    if (ec) {
      if (ec == beast::error::timeout && first_ && ctx_.timeouts.due()) {
        ctx_.log->info(
            "{} connection(s) closed so far for sending no complete request header in "
            "time (latest {})",
            ctx_.timeouts.calls(), peer_);
      }
      // a closed, evicted or timed-out connection ends quietly; garbage gets an answer
      if (is_http_error(ec) && ec != http::error::end_of_stream &&
          ec != http::error::partial_message) {
        return reply_error(ec == http::error::header_limit
                               ? http::status::request_header_fields_too_large
                               : http::status::bad_request,
                           "bad request: " + ec.message());
      }
      return close_now();
    }
    auto& req = parser_->get();
    version_ = req.version();
    api_target_ = req.target().substr(0, 5) == "/api/";
    // Credentials first: without them nothing is served, not even a 404, and no body is read
    // (except the public login form and its assets).
    route_ = ctx_.router.find(std::string_view(req.target().data(), req.target().size()));
    const auto authorization = req[http::field::authorization];
    auth_ = "none";
    csrf_.reset();
    if (ctx_.auth.required()) {
      if (ctx_.auth.check(std::string_view(authorization.data(), authorization.size()))) {
        auth_ = "basic";
      } else if (auto csrf = ctx_.sessions.check(std::string_view(
                     req[http::field::cookie].data(), req[http::field::cookie].size()))) {
        auth_ = "cookie";
        csrf_ = std::move(*csrf);
      } else if (!route_ || !route_->is_public) {
        ctx_.auth.note_refused(peer_, !authorization.empty());
        return reply_unauthorized(req);
      }
    }
    if (auth_ != "none" || !ctx_.auth.required()) {
      if (!ctx_.limiter.authenticate(id_)) {
        return reply_error(http::status::service_unavailable,
                           "too many connections (--max-conn " +
                               std::to_string(ctx_.config.max_conn) + " are open)");
      }
    }
    first_ = false;
    if (!route_) {
      return reply_error(http::status::not_found,
                         "not found: " + std::string(req.target()) +
                             " (XML-RPC is POST /RPC2, the console /, the API /api/v1/, "
                             "metrics /metrics)");
    }
    if (std::find(route_->methods.begin(), route_->methods.end(), req.method()) ==
        route_->methods.end()) {
      std::string allow;
      if (route_->allow) {
        allow = route_->allow(std::string_view(req.target().data(), req.target().size()));
      } else {
        for (auto m : route_->methods) {
          allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(m));
        }
      }
      return reply_error(http::status::method_not_allowed,
                         "method not allowed: " + std::string(req.target()) + " takes " + allow,
                         allow);
    }
    if (req.method() == http::verb::post) {
      if (const char* why = cross_site(req)) return reply_error(http::status::forbidden, why);
    }
    if (req.find(http::field::transfer_encoding) != req.end() ||
        (req.method() == http::verb::post && !parser_->content_length())) {
      return reply_error(http::status::length_required,
                         "length required: send the request with a Content-Length");
    }
    const auto encoding = req[http::field::content_encoding];
    if (!encoding.empty() && !beast::iequals(encoding, "identity")) {
      return reply_error(http::status::unsupported_media_type, "unsupported Content-Encoding");
    }
    const std::uint64_t length = parser_->content_length().value_or(0);
    // A request without credentials (the login form) gets a small body: an unauthenticated
    // client cannot make the master hold megabytes.
    const std::uint64_t max_body = auth_ == "none" && ctx_.auth.required()
                                       ? kUnauthenticatedBodyLimit
                                       : ctx_.config.max_request_bytes;
    if (length > max_body) {
      return reply_error(http::status::payload_too_large, "request of " + std::to_string(length) +
                                                              " bytes, over the limit of " +
                                                              std::to_string(max_body));
    }
    parser_->body_limit(max_body);
    keep_alive_ = req.keep_alive();
    // The whole body within request_timeout of the header (the 100 Continue included).
    tcp().expires_after(ctx_.request_timeout);
    if (version_ >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(derived().stream(), net::buffer(kContinue),
                              [self = derived().shared_from_this()](error_code ec, std::size_t) {
                                if (ec) return self->close_now();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    // Beast reads at most the buffer's free capacity at a time (512 bytes at least): without
    // room, a 1 MB body took ~1,500 reads, each re-arming the deadline timer.
    const auto length = parser_->content_length().value_or(0);
    buffer_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length, kReadChunk)));
    http::async_read(
        derived().stream(), buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::on_body, derived().shared_from_this()));
  }

  void on_body(error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      return reply_error(http::status::payload_too_large, "request over the size limit");
    }
    if (ec) return close_now();
    tcp().expires_never();  // the handler may long-poll; stop() wakes it
    auto& req = parser_->get();
    HttpRequest request;
    request.method = req.method();
    request.target = std::string(req.target());
    request.body = std::move(req.body());
    request.peer_address = peer_.substr(0, peer_.rfind(':'));
    request.content_type = std::string(req[http::field::content_type]);
    request.accept = std::string(req[http::field::accept]);
    request.cookie = std::string(req[http::field::cookie]);
    request.if_none_match = std::string(req[http::field::if_none_match]);
    request.tls = Derived::k_tls;
    request.auth = auth_;
    parser_.reset();
    if (route_->quick && route_->quick(request)) {
      HttpReply reply = route_->handler(request);
      return write_reply(std::move(reply));
    }
    auto self = derived().shared_from_this();
    // keeps run() going until the reply is posted back
    auto work = net::make_work_guard(derived().stream().get_executor());
    try {
      const bool queued = ctx_.pool.submit(
          [self, route = route_, request = std::move(request), work = std::move(work)]() mutable {
            HttpReply reply = route->handler(request);
            request.body = std::string();
            auto executor = self->derived().stream().get_executor();
            net::post(executor, [self, reply = std::move(reply)]() mutable {
              self->write_reply(std::move(reply));
            });
            work.reset();
          });
      if (!queued) return close_now();  // stopping
    } catch (const std::exception& e) {
      ctx_.log->error("cannot run a request: {}", e.what());
      return reply_error(http::status::service_unavailable, "the server cannot start a thread");
    }
  }

  void write_reply(HttpReply reply) {
    if (reply.stream) return start_stream(std::move(reply));
    auto res = std::make_shared<http::response<http::string_body>>(reply.status, version_);
    res->set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) res->insert(name, value);
    res->keep_alive(keep_alive_ && !ctx_.stopping);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    tcp().expires_after(ctx_.response_timeout);
    // a small response goes to the kernel at once: the reset matters for large ones only
    const bool large = res->body().size() > kReadChunk;
    if (large) reset_on_close(true);
    http::async_write(
        derived().stream(), *res,
        [self = derived().shared_from_this(), res, large](error_code ec, std::size_t) {
          if (ec) {
            if (ec == beast::error::timeout && self->ctx_.slow_readers.due()) {
              self->ctx_.log->info(
                  "{} connection(s) reset so far for not reading a response "
                  "within --response-timeout (latest {})",
                  self->ctx_.slow_readers.calls(), self->peer_);
            }
            return self->close_now();
          }
          if (large) self->reset_on_close(false);  // all of it is with the kernel
          if (!res->keep_alive()) return self->derived().close_gracefully();
          self->read_header();
        });
  }

  /// A streamed reply: the header, then each piece the stream produces (on the pool), until it
  /// ends, the client goes, or a piece is not read within response_timeout. Then the close.
  void start_stream(HttpReply reply) {
    auto res = std::make_shared<http::response<http::empty_body>>(reply.status, version_);
    res->set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) res->insert(name, value);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(false);  // the body ends with the connection
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    tcp().expires_after(ctx_.response_timeout);
    stream_ = std::move(reply.stream);
    const bool idles = stream_->end_on_client_close;
    stream_timer_.emplace(derived().stream().get_executor());
    http::async_write_header(
        derived().stream(), *sr,
        [self = derived().shared_from_this(), res, sr, idles](error_code ec, std::size_t) {
          if (ec) return self->end_stream();
          if (idles) self->watch_close();
          self->next_piece();
        });
  }

  /// Ends the stream as soon as the client closes (or sends anything: nothing is expected on
  /// this connection any more). Without it a stream of a port with no new frame never writes,
  /// so it never noticed a client that went, and held its place among the live streams.
  void watch_close() {
    tcp().socket().async_wait(tcp::socket::wait_read,
                              [self = derived().shared_from_this()](error_code ec) {
                                if (ec == net::error::operation_aborted) return;
                                self->end_stream(true);
                              });
  }

  void next_piece() {
    if (!stream_) return;  // ended meanwhile (the client went)
    if (ctx_.stopping) return end_stream();
    tcp().expires_never();  // the producer may wait; the timer and stop() end it
    auto self = derived().shared_from_this();
    auto work = net::make_work_guard(derived().stream().get_executor());
    const bool queued =
        ctx_.pool.submit([self, stream = stream_, work = std::move(work)]() mutable {
          std::optional<std::string> piece;
          try {
            piece = stream->next();
          } catch (const std::exception& e) {
            self->ctx_.log->error("a streamed response failed: {}", e.what());
          }
          net::post(
              self->derived().stream().get_executor(),
              [self, piece = std::move(piece)]() mutable { self->write_piece(std::move(piece)); });
          work.reset();
        });
    if (!queued) end_stream();
  }

  void write_piece(std::optional<std::string> piece) {
    if (!stream_) return;  // ended meanwhile (the client went)
    if (!piece || ctx_.stopping) return end_stream();
    if (piece->empty()) {
      stream_timer_->expires_after(seconds_or_forever(stream_->interval_s));
      return stream_timer_->async_wait([self = derived().shared_from_this()](error_code ec) {
        if (ec) return self->end_stream();
        self->next_piece();
      });
    }
    auto data = std::make_shared<std::string>(std::move(*piece));
    tcp().expires_after(ctx_.response_timeout);
    net::async_write(derived().stream(), net::buffer(*data),
                     [self = derived().shared_from_this(), data](error_code ec, std::size_t) {
                       if (ec) return self->end_stream();
                       self->next_piece();
                     });
  }

  /// client_gone: close at once (a write may be in flight; nobody reads a TLS close_notify).
  void end_stream(bool client_gone = false) {
    if (!stream_) return;  // already ended (the client's close and a failed write both end it)
    stream_.reset();
    stream_timer_.reset();
    if (client_gone) return close_now();
    derived().close_gracefully();
  }

  /// Why a POST must be refused as cross-site, or nullptr: an Origin naming another host than
  /// Host, or a session-cookie request without the session's CSRF token.
  template <class Request>
  const char* cross_site(const Request& req) const {
    const auto origin = req[http::field::origin];
    if (!origin.empty()) {
      std::string_view o(origin.data(), origin.size());
      const auto scheme_end = o.find("://");
      if (scheme_end != std::string_view::npos) o.remove_prefix(scheme_end + 3);
      const auto host = req[http::field::host];
      if (o != std::string_view(host.data(), host.size())) {
        return "forbidden: a cross-site request (its Origin is not this master)";
      }
    }
    if (auth_ == "cookie") {
      const auto token = req["X-CSRF-Token"];
      if (!csrf_ || std::string_view(token.data(), token.size()) != *csrf_) {
        return "forbidden: a console request without the session's X-CSRF-Token";
      }
    }
    return nullptr;
  }

  /// A short text/plain reply that ends the connection, then the linger.
  void reply_error(http::status status, std::string text, const std::string& allow = {},
                   bool challenge = false) {
    auto res = std::make_shared<http::response<http::string_body>>(status, version_);
    if (api_target_) {  // the API's errors are JSON (docs/http-api.md, "Errors")
      res->set(http::field::content_type, "application/json");
      std::string escaped;
      for (char c : text) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (static_cast<unsigned char>(c) >= ' ') escaped += c;
      }
      text = "{\"error\": {\"status\": " + std::to_string(static_cast<int>(status)) +
             ", \"message\": \"" + escaped + "\"}}";
    } else {
      res->set(http::field::content_type, "text/plain");
    }
    if (!allow.empty()) res->set(http::field::allow, allow);
    if (challenge) res->set(http::field::www_authenticate, HttpAuth::k_challenge);
    if (status == http::status::service_unavailable) res->set(http::field::retry_after, "1");
    res->keep_alive(false);
    res->body() = std::move(text) + "\n";
    res->prepare_payload();
    tcp().expires_after(kErrorWriteTime);
    http::async_write(derived().stream(), *res,
                      [self = derived().shared_from_this(), res](error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        self->derived().linger();
                      });
  }

  /// 401, or for a browser asking for a page a redirect to the login form.
  template <class Request>
  void reply_unauthorized(const Request& req) {
    const auto accept = req[http::field::accept];
    const std::string_view target(req.target().data(), req.target().size());
    if (req.method() == http::verb::get && accept.find("text/html") != beast::string_view::npos &&
        target.substr(0, 5) != "/api/" && target != "/metrics") {
      auto res =
          std::make_shared<http::response<http::string_body>>(http::status::see_other, version_);
      res->set(http::field::location, "/login?next=" + url_encode(target));
      res->set(http::field::content_type, "text/plain");
      res->keep_alive(false);
      res->body() = "login required: /login\n";
      res->prepare_payload();
      tcp().expires_after(kErrorWriteTime);
      return http::async_write(
          derived().stream(), *res,
          [self = derived().shared_from_this(), res](error_code ec, std::size_t) {
            if (ec) return self->close_now();
            self->derived().linger();
          });
    }
    const bool console = !req["X-Framehive-Console"].empty();
    reply_error(http::status::unauthorized,
                "unauthorized: this master requires HTTP Basic credentials (user framehive, "
                "password the shared secret; see docs/api.md) or a console login",
                {}, !console);
  }

  /// After an error reply to a plain-TCP client that may still be sending: stop writing,
  /// discard what it sends for a while, so that closing does not reset the connection before
  /// it read the reply.
  void discard_until(clock::time_point deadline) {
    tcp().expires_at(deadline);
    tcp().async_read_some(net::buffer(sink_), [self = derived().shared_from_this(), deadline](
                                                  error_code ec, std::size_t) {
      if (ec) return self->close_now();
      self->discard_until(deadline);
    });
  }

  ServerContext& ctx_;
  const std::string peer_;            ///< "address:port", for logs
  const clock::time_point accepted_;  ///< the first header's deadline counts from here
  ConnectionLimiter::Id id_ = 0;      ///< 0: not admitted
  /// Read ahead (pipelined requests stay here); up to kReadChunk of capacity once a body was read.
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<GrowingBody>> parser_;  ///< the request being read
  const HttpRoute* route_ = nullptr;                         ///< of the request being served
  std::string auth_ = "none";           ///< how the request being served was authenticated
  bool api_target_ = false;             ///< the request is for /api/ (its errors are JSON)
  std::optional<std::string> csrf_;     ///< its session's CSRF token (cookie requests)
  std::shared_ptr<HttpStream> stream_;  ///< the streamed reply being written
  std::optional<net::steady_timer> stream_timer_;  ///< its pause between empty pieces
  unsigned version_ = 11;                          ///< HTTP version of the request being served
  bool keep_alive_ = false;                        ///< of the request being served
  bool first_ = true;                              ///< no request header read yet
  char sink_[4096];                                ///< the linger's discarded input
};

class PlainSession : public HttpSession<PlainSession>,
                     public std::enable_shared_from_this<PlainSession> {
 public:
  static constexpr bool k_tls = false;
  PlainSession(tcp::socket&& socket, ServerContext& ctx, std::string peer)
      : HttpSession(ctx, std::move(peer)), stream_(std::move(socket)) {}
  beast::tcp_stream& stream() { return stream_; }
  void run() { read_header(); }
  void close_gracefully() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }
  void linger() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    discard_until(clock::now() + kLingerTime);
  }

 private:
  friend class HttpSession<PlainSession>;
  beast::tcp_stream stream_;  ///< the connection
};

class TlsSession : public HttpSession<TlsSession>, public std::enable_shared_from_this<TlsSession> {
 public:
  static constexpr bool k_tls = true;
  TlsSession(tcp::socket&& socket, ssl::context& tls, ServerContext& ctx, std::string peer)
      : HttpSession(ctx, std::move(peer)), stream_(std::move(socket), tls) {}
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  void run() {
    if (ctx_.stopping) return close_now();
    tcp().expires_at(accepted_ + ctx_.header_timeout);  // the handshake + the first header
    stream_.async_handshake(
        ssl::stream_base::server,
        beast::bind_front_handler(&TlsSession::on_handshake, shared_from_this()));
  }
  void close_gracefully() {
    tcp().expires_after(kCloseTime);
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->close_now(); });
  }
  void linger() { close_gracefully(); }

 private:
  void on_handshake(error_code ec) {
    if (!ec) return read_header();
    if (ctx_.tls_failures.due()) {
      ctx_.log->info("{} TLS handshake(s) failed so far (latest from {}: {})",
                     ctx_.tls_failures.calls(), peer_, ec.message());
    }
    // Plain HTTP to the HTTPS port: say so in plain HTTP, then close.
    if (ec.category() == net::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      static const std::string kPlain =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 44\r\n"
          "Connection: close\r\n\r\nthis port speaks HTTPS: use an https:// URL\n";
      tcp().expires_after(kErrorWriteTime);
      return net::async_write(
          tcp(), net::buffer(kPlain),
          [self = shared_from_this()](error_code, std::size_t) { self->close_now(); });
    }
    close_now();
  }

  beast::ssl_stream<beast::tcp_stream> stream_;  ///< the connection
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpRouter router, const RpcServerConfig& config, int listen_fd, HttpAuth& auth,
       ConsoleSessions& sessions)
      : ctx(std::move(router), config, auth, sessions),
        acceptor(net::make_strand(ioc)),
        retry(acceptor.get_executor()) {
    if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
      if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
        throw std::runtime_error("TLS needs both --tls-cert and --tls-key");
      }
      tls.emplace(ssl::context::tls_server);
      tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
      error_code ec;
      tls->use_certificate_chain_file(config.tls_cert_file, ec);
      if (ec) {
        throw std::runtime_error("--tls-cert " + config.tls_cert_file +
                                 ": cannot load the certificate chain (PEM): " + ec.message());
      }
      tls->use_private_key_file(config.tls_key_file, ssl::context::pem, ec);
      if (ec) {
        throw std::runtime_error("--tls-key " + config.tls_key_file +
                                 ": cannot load the private key (PEM): " + ec.message());
      }
      if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
        throw std::runtime_error("--tls-key " + config.tls_key_file +
                                 " does not match the certificate in " + config.tls_cert_file);
      }
    }
    error_code ec;
    acceptor.assign(tcp::v4(), listen_fd, ec);
    if (ec) throw std::runtime_error("cannot use the listening socket: " + ec.message());
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ctx.stopping || !acceptor.is_open()) return;
    if (ec) {
      if (accept_errors.due()) ctx.log->warn("accept: {}", ec.message());
      // out of descriptors or memory: wait a little instead of spinning
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](error_code) {
        if (!ctx.stopping) accept();
      });
      return;
    }
    try {
      start(std::move(socket));
    } catch (const std::exception& e) {
      ctx.log->error("new connection: {}", e.what());
    }
    accept();
  }

  void start(tcp::socket socket) {
    error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    const std::string address = remote.address().to_string();
    const std::string peer = address + ":" + std::to_string(remote.port());
    auto admit = [&](auto session) {
      const auto id = ctx.limiter.admit(address, session);
      if (id == 0) {
        refuse(beast::get_lowest_layer(session->stream()).socket(), address);
        return;
      }
      session->set_id(id);
      net::dispatch(session->stream().get_executor(), [session] { session->run(); });
    };
    if (tls) {
      admit(std::make_shared<TlsSession>(std::move(socket), *tls, ctx, peer));
    } else {
      admit(std::make_shared<PlainSession>(std::move(socket), ctx, peer));
    }
  }

  /// The address holds max_conn_per_address authenticated connections: a best-effort 503 (plain
  /// HTTP only: a TLS client could not read it) and close, without blocking.
  void refuse(tcp::socket& socket, const std::string& address) {
    static constexpr std::string_view kReply =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
        "Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections\n";
    error_code ec;
    if (!tls) {
      socket.non_blocking(true, ec);
      socket.send(net::buffer(kReply.data(), kReply.size()), 0, ec);
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    if (refusals.due()) {
      ctx.log->warn(
          "{} connection(s) refused so far: {} (latest) already holds "
          "--max-conn-per-address {} connections",
          refusals.calls(), address, ctx.config.max_conn_per_address);
    }
  }

  net::io_context ioc;              ///< declared before what uses it, destroyed after
  ServerContext ctx;                ///< shared by the sessions
  std::optional<ssl::context> tls;  ///< set: HTTPS only
  tcp::acceptor acceptor;           ///< on its own strand
  net::steady_timer retry;          ///< accept back-off after an error
  shared::LogThrottle accept_errors{std::chrono::seconds(10)};  ///< acceptor strand only
  shared::LogThrottle refusals{std::chrono::seconds(10)};       ///< acceptor strand only
};

HttpServer::HttpServer(HttpRouter router, const RpcServerConfig& config, int listen_fd,
                       HttpAuth& auth, ConsoleSessions& sessions)
    : impl_(std::make_unique<Impl>(std::move(router), config, listen_fd, auth, sessions)) {}

HttpServer::~HttpServer() {
  stop();
  impl_->ctx.pool.shutdown();
}

bool HttpServer::tls() const { return impl_->tls.has_value(); }

void HttpServer::run() {
  Impl& m = *impl_;
  net::post(m.acceptor.get_executor(), [&m] {
    if (!m.ctx.stopping) m.accept();
  });
  const auto body = [&m] {
    for (;;) {
      try {
        m.ioc.run();
        return;
      } catch (const std::exception& e) {  // handlers should not throw; keep serving
        m.ctx.log->error("I/O thread: {}", e.what());
      }
    }
  };
  std::vector<std::thread> extra;
  const unsigned n = std::clamp(m.ctx.config.io_threads, 1u, 16u);
  for (unsigned i = 1; i < n; ++i) extra.emplace_back(body);
  body();
  for (auto& t : extra) t.join();
  m.ctx.pool.shutdown();
}

void HttpServer::stop() {
  Impl& m = *impl_;
  if (m.ctx.stopping.exchange(true)) return;
  net::post(m.acceptor.get_executor(), [&m] {
    error_code ec;
    m.acceptor.close(ec);
    m.retry.cancel();
  });
  m.ctx.limiter.evict_all();
}

void raise_file_limit() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    const auto before = r.rlim_cur;
    if (r.rlim_cur < r.rlim_max) {
      r.rlim_cur = r.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
        shared::logger("rpc")->warn("cannot raise the open-file limit from {} to {}: {}", before,
                                    r.rlim_max, std::strerror(errno));
        return;
      }
    }
    shared::logger("rpc")->info("open-file limit {} (was {}, hard limit {})", r.rlim_cur, before,
                                r.rlim_max);
  });
}

}  // namespace fh::master
