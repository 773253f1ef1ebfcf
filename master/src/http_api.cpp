#include "http_api.hpp"

#include "console_sessions.hpp"
#include "event_engine.hpp"
#include "event_types.hpp"
#include "framehive/shared/api/json.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/logging.hpp"
#include "http_params.hpp"
#include "uploads.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

namespace fh::master {
namespace {

namespace http = boost::beast::http;
namespace api = shared::api;
using api::Json;

constexpr std::string_view k_prefix = "/api/v1/";
constexpr char k_boundary[] = "framehive-frame";

double now_wall() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A request the API refuses: the HTTP status and a message for the JSON error body.
struct ApiError {
  http::status status;
  std::string message;
};

[[noreturn]] void fail(http::status status, std::string message) {
  throw ApiError{status, std::move(message)};
}

HttpReply json_reply(const Json& j, http::status status = http::status::ok) {
  HttpReply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpReply error_reply(http::status status, const std::string& message) {
  auto r = json_reply(Json{{"error", {{"status", static_cast<int>(status)}, {"message", message}}}},
                      status);
  if (status == http::status::service_unavailable) r.headers.emplace_back("Retry-After", "1");
  return r;
}

/// A request's path and parameters, with typed, checked getters (400 on a bad value).
class Query {
 public:
  explicit Query(const std::string& target) {
    const auto q = target.find('?');
    path_ = target.substr(0, q);
    if (q != std::string::npos) params_ = parse_params(std::string_view(target).substr(q + 1));
  }
  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return params_.count(name) > 0; }
  std::string str(const std::string& name, std::string def = {}) const {
    auto it = params_.find(name);
    return it == params_.end() ? def : it->second;
  }
  double number(const std::string& name, double def, double lo, double hi) const {
    auto it = params_.find(name);
    if (it == params_.end() || it->second.empty()) return def;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() + it->second.size() || !std::isfinite(v) || v < lo || v > hi) {
      fail(http::status::bad_request, name + "=" + it->second.substr(0, 64) +
                                          ": expected a number in [" + format_number(lo) + ", " +
                                          format_number(hi) + "]");
    }
    return v;
  }
  long integer(const std::string& name, long def, long lo, long hi) const {
    const double v =
        number(name, static_cast<double>(def), static_cast<double>(lo), static_cast<double>(hi));
    if (v != std::floor(v)) fail(http::status::bad_request, name + ": expected an integer");
    return static_cast<long>(v);
  }
  /// A time: a Unix time when > 10^9, else seconds before now.
  double time(const std::string& name, double def_seconds_ago) const {
    const double v = number(name, def_seconds_ago, 0, 1e11);
    return v > 1e9 ? v : now_wall() - v;
  }
  bool flag(const std::string& name, bool def) const {
    const auto v = str(name, def ? "1" : "0");
    if (v == "1" || v == "true" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "no") return false;
    fail(http::status::bad_request, name + ": expected 0 or 1");
  }

 private:
  static std::string format_number(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  }
  std::string path_;
  std::map<std::string, std::string> params_;
};

/// The path's segments after /api/v1/.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::string_view rest = std::string_view(path).substr(k_prefix.size());
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    out.push_back(url_decode(rest.substr(0, slash)));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return out;
}

int port_of(const std::string& text) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || v > 65535) {
    fail(http::status::bad_request, "port '" + text.substr(0, 32) + "': expected 0..65535");
  }
  return static_cast<int>(v);
}

std::string escape_csv(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

/// The methods an API resource takes (the Allow header of a 405): POST for the uploads, GET
/// for everything else.
std::string allow_of(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/api/v1/images" ? "POST" : "GET";
}

class Api {
 public:
  explicit Api(ApiContext& ctx) : ctx_(ctx) {}

  HttpReply handle(const HttpRequest& request) {
    try {
      const Query q(request.target);
      const auto seg = segments(q.path());
      const bool get = request.method == http::verb::get;
      const auto need_get = [&] {
        if (!get) fail(http::status::method_not_allowed, request.target + " takes GET");
      };
      if (seg.size() == 1 && seg[0] == "status") return need_get(), status();
      if (seg.size() == 1 && seg[0] == "workers") return need_get(), workers();
      if (seg.size() == 1 && seg[0] == "session") return need_get(), session(request);
      if (seg.size() == 1 && seg[0] == "failures") return need_get(), failures(q);
      if (seg.size() == 1 && seg[0] == "export") return need_get(), export_results(q);
      if (seg.size() == 1 && seg[0] == "search") return need_get(), search(q);
      if (seg.size() == 1 && seg[0] == "events") return need_get(), events(q);
      if (seg.size() == 1 && seg[0] == "images") {
        if (request.method != http::verb::post) {
          fail(http::status::method_not_allowed,
               "/api/v1/images takes POST (the image as the body)");
        }
        return upload(q, request);
      }
      if (seg.size() == 3 && seg[0] == "ports") {
        need_get();
        const int port = port_of(seg[1]);
        if (!ctx_.scheduler.knows_port(port)) fail(http::status::not_found, unknown_port(port));
        if (seg[2] == "results") return results(port, q);
        if (seg[2] == "summary") return summary(port, q);
        if (seg[2] == "latest.jpg") return latest(port, q);
        if (seg[2] == "live.mjpeg") return live(port, q);
      }
      if ((seg.size() == 2 || seg.size() == 3) && seg[0] == "tasks") {
        need_get();
        if (seg.size() == 2) return task(seg[1]);
        if (seg[2] == "frame.jpg") return task_frame(seg[1], q, request);
      }
      fail(http::status::not_found, "no such API route: " + q.path() + " (see docs/http-api.md)");
    } catch (const ApiError& e) {
      auto r = error_reply(e.status, e.message);
      if (e.status == http::status::method_not_allowed) {
        r.headers.emplace_back("Allow", allow_of(request.target));
      }
      return r;
    } catch (const LimitError& e) {
      return error_reply(http::status::service_unavailable, e.what());
    } catch (const RequestError& e) {
      return error_reply(http::status::bad_request, e.what());
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("internal error in {}: {}", request.target.substr(0, 200),
                                   e.what());
      return error_reply(http::status::internal_server_error,
                         std::string("internal error: ") + e.what());
    }
  }

 private:
  std::string unknown_port(int port) {
    std::string known;
    for (const auto& p : ctx_.scheduler.status().ports) {
      if (known.size() > 200) {
        known += ", ...";
        break;
      }
      known += (known.empty() ? "" : ", ") + std::to_string(p.port);
    }
    return "unknown port " + std::to_string(port) + " (known: " + (known.empty() ? "none" : known) +
           ")";
  }

  ResultStore& store() {
    if (!ctx_.store)
      fail(http::status::service_unavailable, "this master keeps no result database");
    return *ctx_.store;
  }

  Json record_json(const ResultRecord& r) {
    Json j = r;
    j["frame_kept"] = ctx_.scheduler.frame_kept(r.task_id);
    return j;
  }

  HttpReply status() {
    Json j = ctx_.scheduler.status();
    j["now"] = now_wall();
    j["version"] = shared::version();
    return json_reply(j);
  }

  HttpReply workers() { return json_reply(Json{{"workers", ctx_.scheduler.status().workers}}); }

  HttpReply session(const HttpRequest& request) {
    return json_reply(Json{{"auth_required", ctx_.sessions.required()},
                           {"authenticated", request.auth != "none" || !ctx_.sessions.required()},
                           {"via", request.auth},
                           {"max_image_bytes", ctx_.config.max_image_bytes},
                           {"max_pixels", ctx_.config.max_pixels}});
  }

  HttpReply results(int port, const Query& q) {
    const auto limit = static_cast<std::size_t>(q.integer("limit", 100, 1, 10000));
    const double since = q.has("since") ? q.time("since", 0) : 0.0;
    const std::string label = q.str("label");
    Json out = Json::array();
    // Without a filter only `limit` records are copied out of the scheduler.
    const bool filtered = since > 0.0 || !label.empty();
    for (const auto& r : ctx_.scheduler.get_results(port, filtered ? 0 : limit)) {
      if (out.size() >= limit) break;
      if (r.captured_at < since) continue;
      if (!label.empty() && std::none_of(r.detections.begin(), r.detections.end(),
                                         [&](const Detection& d) { return d.label == label; })) {
        continue;
      }
      out.push_back(record_json(r));
    }
    return json_reply(Json{{"port", port}, {"results", std::move(out)}});
  }

  HttpReply summary(int port, const Query& q) {
    const double interval = q.number("interval", 60, 1, 86400 * 7);
    const double since = q.time("since", 3600);
    const double span = now_wall() - since;
    if (span / interval > 10000) {
      fail(http::status::bad_request, "since/interval: at most 10000 buckets");
    }
    Json buckets = store().summary(port, interval, since);
    return json_reply(Json{
        {"port", port}, {"interval", interval}, {"since", since}, {"buckets", std::move(buckets)}});
  }

  RenderOptions render_options(const Query& q) {
    RenderOptions o;
    o.width = static_cast<int>(q.integer("width", 0, 0, 3840));
    if (o.width != 0 && o.width < 16) fail(http::status::bad_request, "width: 16..3840");
    o.boxes = q.flag("boxes", true);
    return o;
  }

  HttpReply jpeg_reply(std::string jpeg, const std::string& task_id, bool immutable) {
    if (jpeg.empty()) fail(http::status::internal_server_error, "the frame does not decode");
    HttpReply r;
    r.content_type = "image/jpeg";
    r.body = std::move(jpeg);
    r.headers.emplace_back("X-Framehive-Task-Id", task_id);
    r.headers.emplace_back("Cache-Control", immutable ? "private, max-age=86400" : "no-store");
    return r;
  }

  HttpReply latest(int port, const Query& q) {
    const auto options = render_options(q);
    auto kept = ctx_.scheduler.latest_frame(port);
    if (!kept)
      fail(http::status::not_found, "port " + std::to_string(port) + " has no kept frame yet");
    return jpeg_reply(
        ctx_.renders.get(kept->record.task_id, *kept->image, kept->record.detections, options),
        kept->record.task_id, false);
  }

  HttpReply live(int port, const Query& q) {
    const auto options = render_options(q);
    if (ctx_.live_streams.fetch_add(1) >= ApiContext::k_max_live_streams) {
      ctx_.live_streams--;
      fail(http::status::service_unavailable, "too many live streams (" +
                                                  std::to_string(ApiContext::k_max_live_streams) +
                                                  " are open)");
    }
    /// The stream's place in live_streams, given back when the stream's producer goes. Not
    /// copyable: a copy (make_shared<Slot>(Slot{...}) made one) gives the place back twice.
    struct Slot {
      explicit Slot(std::atomic<int>& c) : count(c) {}
      Slot(const Slot&) = delete;
      Slot& operator=(const Slot&) = delete;
      ~Slot() { count--; }
      std::atomic<int>& count;
    };
    auto slot = std::make_shared<Slot>(ctx_.live_streams);
    auto last = std::make_shared<std::string>();
    auto stream = std::make_shared<HttpStream>();
    stream->interval_s = 0.2;            // at most 5 frames per second
    stream->end_on_client_close = true;  // a quiet port writes nothing: its slot would stay held
    stream->next = [this, port, options, slot, last]() -> std::optional<std::string> {
      auto kept = ctx_.scheduler.latest_frame(port);
      if (!kept || kept->record.task_id == *last) return std::string();
      *last = kept->record.task_id;
      const std::string jpeg =
          ctx_.renders.get(kept->record.task_id, *kept->image, kept->record.detections, options);
      if (jpeg.empty()) return std::string();
      return std::string("--") + k_boundary +
             "\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) +
             "\r\nX-Framehive-Task-Id: " + kept->record.task_id + "\r\n\r\n" + jpeg + "\r\n";
    };
    HttpReply r;
    r.content_type = std::string("multipart/x-mixed-replace; boundary=") + k_boundary;
    r.stream = std::move(stream);
    return r;
  }

  HttpReply failures(const Query& q) {
    const int port = q.has("port") ? port_of(q.str("port")) : -1;
    const auto limit = static_cast<std::size_t>(q.integer("limit", 100, 1, 10000));
    if (port >= 0 && !ctx_.scheduler.knows_port(port))
      fail(http::status::not_found, unknown_port(port));
    return json_reply(Json{{"failures", store().failures(port, limit)}});
  }

  HttpReply events(const Query& q) {
    if (!ctx_.events) fail(http::status::service_unavailable, "this master keeps no events");
    EventQuery eq;
    eq.port = q.has("port") ? port_of(q.str("port")) : -1;
    eq.since = q.has("since") ? q.time("since", 0) : 0;  // Unix s, or seconds ago
    eq.after_seq = q.integer("after", 0, 0, std::numeric_limits<long>::max());
    eq.type = q.str("type");
    if (!eq.type.empty() && !event_type::known_type_pattern(eq.type)) {
      fail(http::status::bad_request, "type '" + eq.type.substr(0, 64) +
                                          "': not an event type (docs/events.md), nor FAMILY.*");
    }
    eq.limit = static_cast<std::size_t>(q.integer("limit", 100, 1, 1000));
    eq.newest_first = q.str("order", "asc") == "desc";
    const auto list = ctx_.events->events(eq);
    Json items = Json::array();
    for (const auto& e : list) {
      Json j = e;
      j["snapshot_kept"] =
          !e.snapshot_task_id.empty() && (ctx_.events->snapshot(e.snapshot_task_id) ||
                                          ctx_.scheduler.frame_kept(e.snapshot_task_id));
      items.push_back(std::move(j));
    }
    std::int64_t last = eq.after_seq;
    for (const auto& e : list) last = std::max(last, e.seq);
    return json_reply(Json{{"events", std::move(items)}, {"after", last}});
  }

  HttpReply task(const std::string& id) {
    auto info = ctx_.scheduler.task_info(id);
    if (!info) fail(http::status::not_found, "unknown task '" + id.substr(0, 100) + "'");
    Json j = *info;
    j["frame_kept"] = ctx_.scheduler.frame_kept(id);
    return json_reply(j);
  }

  HttpReply task_frame(const std::string& id, const Query& q, const HttpRequest& request) {
    const auto options = render_options(q);
    if (auto kept = ctx_.scheduler.get_frame(id)) {
      const std::string etag =
          "\"" + id + "-" + std::to_string(options.width) + (options.boxes ? "b" : "") + "\"";
      if (request.if_none_match == etag) {
        HttpReply r;
        r.status = http::status::not_modified;
        r.headers.emplace_back("ETag", etag);
        return r;
      }
      auto r = jpeg_reply(ctx_.renders.get(id, *kept->image, kept->record.detections, options), id,
                          true);
      r.headers.emplace_back("ETag", etag);
      return r;
    }
    if (auto snap = ctx_.events ? ctx_.events->snapshot(id) : nullptr) {  // an event's snapshot
      const auto info = ctx_.scheduler.task_info(id);
      const std::vector<Detection> none;
      auto r = jpeg_reply(
          ctx_.renders.get(id, *snap, info && info->has_record ? info->record.detections : none,
                           options),
          id, true);
      return r;
    }
    if (auto image = ctx_.scheduler.task_image(id)) {  // an upload still waiting or running
      RenderOptions plain = options;
      plain.boxes = false;
      return jpeg_reply(render_frame(*image, {}, plain), id, false);
    }
    fail(http::status::not_found,
         "the frame of task '" + id.substr(0, 100) +
             "' is not kept (unknown task, or older than the last --keep-frames of its port)");
  }

  HttpReply upload(const Query& q, const HttpRequest& request) {
    if (request.body.size() > ctx_.config.max_image_bytes) {
      fail(http::status::payload_too_large,
           "image of " + std::to_string(request.body.size()) + " bytes, over the limit of " +
               std::to_string(ctx_.config.max_image_bytes) + " (--max-image-bytes)");
    }
    std::vector<std::uint8_t> bytes(request.body.begin(), request.body.end());
    std::vector<std::uint8_t> jpeg;
    try {
      jpeg = upload_to_jpeg(request.content_type, bytes, ctx_.config.max_pixels);
    } catch (const ImageError& e) {
      fail(static_cast<http::status>(e.http_status), e.what());
    }
    const auto up = add_upload(ctx_.scheduler, std::move(jpeg), q.str("detector"), q.str("name"));
    return json_reply(
        Json{{"task_id", up.task_id}, {"detector", up.detector}, {"waiting", up.waiting}},
        http::status::accepted);
  }

  HttpReply search(const Query& q) {
    ResultStore::SearchQuery s;
    s.label = q.str("label");
    s.min_confidence = q.number("min_confidence", 0, 0, 1);
    s.since = q.has("since") ? q.time("since", 0) : 0.0;
    s.until = q.has("until") ? q.time("until", 0) : 1e12;
    s.limit = static_cast<std::size_t>(q.integer("limit", 100, 1, 1000));
    const std::string list = q.str("ports");
    std::size_t start = 0;
    while (start < list.size()) {
      const auto comma = list.find(',', start);
      const std::string one =
          list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!one.empty()) s.ports.push_back(port_of(one));
      if (s.ports.size() > 256) fail(http::status::bad_request, "ports: at most 256");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    Json out = Json::array();
    for (const auto& r : store().search(s)) out.push_back(record_json(r));
    return json_reply(Json{{"results", std::move(out)}});
  }

  HttpReply export_results(const Query& q) {
    if (!q.has("port")) fail(http::status::bad_request, "port: required");
    const int port = port_of(q.str("port"));
    const std::string format = q.str("format", "csv");
    if (format != "csv" && format != "jsonl") {
      fail(http::status::bad_request, "format=" + format.substr(0, 32) + ": expected csv or jsonl");
    }
    const double since = q.has("since") ? q.time("since", 0) : 0.0;
    ResultStore& db = store();
    if (!ctx_.scheduler.knows_port(port)) fail(http::status::not_found, unknown_port(port));
    struct State {
      std::int64_t cursor = 0;
      bool header = true;
      bool done = false;
    };
    auto state = std::make_shared<State>();
    const bool csv = format == "csv";
    auto stream = std::make_shared<HttpStream>();
    stream->next = [&db, port, since, csv, state]() -> std::optional<std::string> {
      if (state->done) return std::nullopt;
      std::string out;
      if (state->header && csv) {
        out =
            "task_id,port,stream,frame_id,captured_at,received_at,completed_at,worker_id,detector,"
            "processing_ms,label,confidence,x,y,w,h\n";
      }
      state->header = false;
      std::int64_t last = state->cursor;
      const auto page = db.results_after(port, since, state->cursor, 1000, last);
      state->cursor = last;
      if (page.empty()) {
        state->done = true;
        return out.empty() ? std::optional<std::string>() : std::optional<std::string>(out);
      }
      for (const auto& r : page) {
        if (!csv) {
          out += Json(r).dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
          continue;
        }
        const std::string head = escape_csv(r.task_id) + "," + std::to_string(r.port) + "," +
                                 escape_csv(r.stream) + "," + std::to_string(r.frame_id) + "," +
                                 format_double(r.captured_at) + "," + format_double(r.received_at) +
                                 "," + format_double(r.completed_at) + "," +
                                 escape_csv(r.worker_id) + "," + escape_csv(r.detector) + "," +
                                 format_double(r.processing_ms);
        if (r.detections.empty()) out += head + ",,,,,,\n";
        for (const auto& d : r.detections) {
          out += head + "," + escape_csv(d.label) + "," + format_double(d.confidence) + "," +
                 std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.w) + "," +
                 std::to_string(d.h) + "\n";
        }
      }
      return out;
    };
    HttpReply r;
    r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
    r.headers.emplace_back(
        "Content-Disposition",
        "attachment; filename=\"framehive-" + std::to_string(port) + (csv ? ".csv\"" : ".jsonl\""));
    r.stream = std::move(stream);
    return r;
  }

  ApiContext& ctx_;
};

}  // namespace

HttpRoute api_route(ApiContext& ctx) {
  auto api = std::make_shared<Api>(ctx);
  HttpRoute route;
  route.path = std::string(k_prefix);
  route.methods = {http::verb::get, http::verb::post};
  route.handler = [api](const HttpRequest& request) { return api->handle(request); };
  route.allow = allow_of;  // the server's 405 (PUT, DELETE, HEAD, ...) names the resource's
  return route;
}

}  // namespace fh::master
