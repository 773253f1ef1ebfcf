#pragma once
// The master's HTTP surface beside /RPC2 (docs/http-api.md): the JSON API under /api/v1/, the
// console's pages and login (/, /login, /logout, /assets/), and /metrics. Every route reads
// the same Scheduler and ResultStore as the XML-RPC methods (one source). Handlers are
// thread-safe and never throw.

#include "frame_render.hpp"
#include "framehive/master/result_store.hpp"
#include "framehive/master/rpc_server.hpp"
#include "framehive/master/scheduler.hpp"
#include "http_router.hpp"

#include <atomic>
#include <string>

namespace fh::master {

class ConsoleSessions;
class EventEngine;

/// What the routes share; lives as long as the server.
struct ApiContext {
  ApiContext(Scheduler& s, ResultStore* st, const RpcServerConfig& c, ConsoleSessions& se,
             EventEngine* ev)
      : scheduler(s), store(st), config(c), sessions(se), events(ev) {}
  Scheduler& scheduler;
  ResultStore* store;  ///< may be null
  const RpcServerConfig& config;
  ConsoleSessions& sessions;
  EventEngine* events;                    ///< may be null (no events)
  RenderCache renders;                    ///< annotated frames, drawn when someone looks
  std::atomic<int> live_streams{0};       ///< open live.mjpeg streams
  std::atomic<std::uint64_t> scrapes{0};  ///< /metrics requests served
  static constexpr int k_max_live_streams = 16;
};

/// GET/POST /api/v1/...
HttpRoute api_route(ApiContext& ctx);
/// GET /metrics (Prometheus text exposition format).
HttpRoute metrics_route(ApiContext& ctx);
/// The console: POST /login, POST /logout, GET /login, GET /assets/..., GET / (in that order:
/// add them after every other route, "/" matches everything left).
std::vector<HttpRoute> console_routes(ApiContext& ctx);

}  // namespace fh::master
