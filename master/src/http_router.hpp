#pragma once
// The targets the master's HTTP server answers, and what runs for each: today POST /RPC2
// (XML-RPC); the console, /api/v1/ and /metrics are added here as more routes. A handler runs
// on the request thread pool with a complete, authenticated request and may block. An unknown
// target is 404, a known one with another method 405. Immutable once the server runs: find()
// is thread-safe.

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fh::master {

/// A complete request as a handler sees it.
struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string target;         ///< path and query, as sent
  std::string body;           ///< the whole body
  std::string peer_address;   ///< the client's IP address (no port)
  std::string content_type;   ///< Content-Type header
  std::string accept;         ///< Accept header
  std::string cookie;         ///< Cookie header
  std::string if_none_match;  ///< If-None-Match header
  bool tls = false;           ///< arrived over HTTPS
  /// How the request was authenticated: "none" (no secret configured, or a public route
  /// without credentials), "basic" or "cookie" (a console session).
  std::string auth = "none";
};

/// More of a reply: produces the body piece by piece, for long or endless responses (a live
/// MJPEG stream, a large export). Called on the request pool; returns the next piece, an
/// empty string for "nothing new yet, ask again after interval_s", or nullopt at the end.
/// The connection closes after the last piece. Destroyed when the response ends (a client
/// that goes away ends it too).
struct HttpStream {
  std::function<std::optional<std::string>()> next;
  double interval_s = 0.2;  ///< pause after an empty piece
  /// End as soon as the client closes or sends anything, not only at the next write: for a
  /// stream that may wait long between pieces (live frames of a quiet port).
  bool end_on_client_close = false;
};

/// What a handler answers.
struct HttpReply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< more headers (Set-Cookie ...)
  std::shared_ptr<HttpStream> stream;  ///< set: the body comes from it (body is ignored)
};

struct HttpRoute {
  std::string path;  ///< exact match, or a prefix when it ends with '/'
  std::vector<boost::beast::http::verb> methods;         ///< allowed (Allow header of a 405)
  std::function<HttpReply(const HttpRequest&)> handler;  ///< must not throw
  /// Optional: true for a request whose handler is short and never blocks (no long poll, a
  /// small body, bounded work): it runs on the I/O thread, saving two thread hand-offs.
  /// Everything else runs on the request pool.
  std::function<bool(const HttpRequest&)> quick;
  /// Served without credentials when a secret is configured (the login form and its assets).
  bool is_public = false;
  /// Optional: the Allow header of a 405 for a target (a prefix route whose resources take
  /// different methods); without it, methods.
  std::function<std::string(std::string_view target)> allow;
};

class HttpRouter {
 public:
  void add(HttpRoute route) { routes_.push_back(std::move(route)); }
  /// The route of a target (the query is ignored); nullptr: 404.
  const HttpRoute* find(std::string_view target) const {
    target = target.substr(0, target.find('?'));
    for (const auto& r : routes_) {
      const bool prefix = !r.path.empty() && r.path.back() == '/';
      if (prefix ? target.substr(0, r.path.size()) == r.path : target == r.path) return &r;
    }
    return nullptr;
  }

 private:
  std::vector<HttpRoute> routes_;  ///< first match wins
};

}  // namespace fh::master
