// The console's routes (docs/http-api.md, "Console" and "Authentication"): its pages and
// assets, embedded in the binary (web_assets.hpp), and the login form's session cookies.

#include "console_sessions.hpp"
#include "http_api.hpp"
#include "http_params.hpp"
#include "web_assets.hpp"

namespace fh::master {
namespace {

namespace http = boost::beast::http;

/// Headers of every page and asset: no sniffing, no framing, no referrer, nothing but this
/// master as a source.
void harden(HttpReply& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data: blob:; style-src 'self' "
                         "'unsafe-inline'; script-src 'self'; connect-src 'self'; "
                         "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
}

HttpReply asset_reply(const std::string& path, const HttpRequest& request) {
  HttpReply r;
  const web::Asset* asset = web::find(path);
  if (!asset) {
    r.status = http::status::not_found;
    r.body = "not found: " + path.substr(0, 200) + "\n";
    return r;
  }
  r.headers.emplace_back("ETag", std::string(asset->etag));
  // HTML revalidates each time (it names the assets); the rest is cached for a day.
  const bool html = asset->content_type.substr(0, 9) == "text/html";
  r.headers.emplace_back("Cache-Control", html ? "no-cache" : "private, max-age=86400");
  harden(r);
  if (request.if_none_match == asset->etag) {
    r.status = http::status::not_modified;
    return r;
  }
  r.content_type = std::string(asset->content_type);
  r.body = std::string(asset->body);
  return r;
}

/// A local path to go to after the login: "/..." but not "//host" (an open redirect).
std::string safe_next(const std::string& next) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) {
    return "/";
  }
  for (char c : next) {
    if (static_cast<unsigned char>(c) < ' ') return "/";
  }
  return next.substr(0, 1024);
}

HttpReply redirect(const std::string& location) {
  HttpReply r;
  r.status = http::status::see_other;
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = "see " + location + "\n";
  return r;
}

std::string encode(const std::string& s) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<HttpRoute> console_routes(ApiContext& ctx) {
  ConsoleSessions& sessions = ctx.sessions;
  std::vector<HttpRoute> routes;
  HttpRoute login;
  login.path = "/login";
  login.methods = {http::verb::get, http::verb::post};
  login.is_public = true;
  login.handler = [&sessions](const HttpRequest& request) {
    if (request.method == http::verb::get) return asset_reply("/login", request);
    const auto form = parse_params(request.body);
    const auto field = [&form](const char* name) {
      auto it = form.find(name);
      return it == form.end() ? std::string() : it->second;
    };
    const std::string next = safe_next(field("next"));
    if (!sessions.required()) return redirect(next);
    ConsoleSessions::Session session;
    switch (sessions.login(field("password"), session)) {
      case ConsoleSessions::Login::ok: {
        auto r = redirect(next);
        const std::string secure = request.tls ? "; Secure" : "";
        r.headers.emplace_back("Set-Cookie", std::string(ConsoleSessions::k_session_cookie) + "=" +
                                                 session.token +
                                                 "; Path=/; HttpOnly; SameSite=Strict" + secure);
        r.headers.emplace_back("Set-Cookie", std::string(ConsoleSessions::k_csrf_cookie) + "=" +
                                                 session.csrf + "; Path=/; SameSite=Strict" +
                                                 secure);
        return r;
      }
      case ConsoleSessions::Login::throttled: {
        HttpReply r;
        r.status = http::status::too_many_requests;
        r.headers.emplace_back("Retry-After", "1");
        r.body = "too many failed logins: try again in a second\n";
        return r;
      }
      case ConsoleSessions::Login::wrong:
        break;
    }
    return redirect("/login?failed=1&next=" + encode(next));
  };
  routes.push_back(std::move(login));

  HttpRoute logout;
  logout.path = "/logout";
  logout.methods = {http::verb::post};
  logout.handler = [&sessions](const HttpRequest& request) {
    sessions.logout(request.cookie);
    auto r = redirect("/login");
    for (const char* name : {ConsoleSessions::k_session_cookie, ConsoleSessions::k_csrf_cookie}) {
      r.headers.emplace_back("Set-Cookie",
                             std::string(name) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    }
    return r;
  };
  routes.push_back(std::move(logout));

  HttpRoute assets;
  assets.path = "/assets/";
  assets.methods = {http::verb::get};
  assets.is_public = true;  // styles and scripts only: the login form needs them
  assets.handler = [](const HttpRequest& request) {
    return asset_reply(request.target.substr(0, request.target.find('?')), request);
  };
  routes.push_back(std::move(assets));

  HttpRoute page;
  page.path = "/";
  page.methods = {http::verb::get};
  page.handler = [](const HttpRequest& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    return asset_reply(path == "/index.html" ? "/" : path, request);
  };
  routes.push_back(std::move(page));
  return routes;
}

}  // namespace fh::master
