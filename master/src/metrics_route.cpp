// GET /metrics: the master's state in the Prometheus text exposition format 0.0.4
// (docs/operations.md, "Metrics"), built from one status() and one port_counters() snapshot.

#include "event_engine.hpp"
#include "framehive/shared/cli.hpp"
#include "http_api.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace fh::master {
namespace {

namespace http = boost::beast::http;

/// A label value, escaped as the format says (backslash, double quote, newline).
std::string esc(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += num(value);
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string port_label(int port) { return "port=\"" + std::to_string(port) + "\""; }

struct ProcessStats {
  double cpu_s = 0, start_s = 0, rss = 0, vsize = 0, fds = 0, max_fds = 0;
};

ProcessStats process_stats() {
  ProcessStats p;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // fields after the command name, which may hold spaces: from the last ')'
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string f;
    double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    for (int i = 3; rest >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
      if (i == 22) start = std::stod(f);
      if (i == 23) vsize = std::stod(f);
      if (i == 24) {
        rss = std::stod(f);
        break;
      }
    }
    p.cpu_s = (utime + stime) / tick;
    p.vsize = vsize;
    p.rss = rss * page;
    std::ifstream up("/proc/stat");
    std::string key;
    double btime = 0;
    while (up >> key) {
      if (key == "btime") {
        up >> btime;
        break;
      }
    }
    p.start_s = btime + start / tick;
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) p.fds += e->d_name[0] != '.' ? 1 : 0;
    ::closedir(d);
    p.fds -= 1;  // opendir's own
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) p.max_fds = static_cast<double>(lim.rlim_cur);
  return p;
}

/// The events' families (docs/events.md): made, delivered, pending, dropped, objects in view.
void events_exposition(Writer& w, const EventEngine::Stats& s) {
  w.family("framehive_events_total", "counter", "Events made since the master started, by type.");
  for (const auto& [type, n] : s.by_type) {
    w.sample("framehive_events_total", "type=\"" + esc(type) + "\"", static_cast<double>(n));
  }
  w.family("framehive_objects", "gauge", "Confirmed tracks in view now, per port and label.");
  for (const auto& [port, labels] : s.objects) {
    for (const auto& [label, n] : labels) {
      w.sample("framehive_objects", port_label(port) + ",label=\"" + esc(label) + "\"",
               static_cast<double>(n));
    }
  }
  w.family("framehive_tracks_total", "counter", "Tracks confirmed since the master started.");
  w.sample("framehive_tracks_total", "", static_cast<double>(s.tracker.tracks_confirmed));
  w.family("framehive_tracker_late_results_total", "counter",
           "Results that arrived after later frames of their port were tracked.");
  w.sample("framehive_tracker_late_results_total", "", static_cast<double>(s.tracker.late_results));
  w.family("framehive_event_queue_dropped_total", "counter",
           "Completions the event engine could not take (its queue was full).");
  w.sample("framehive_event_queue_dropped_total", "", static_cast<double>(s.queue_dropped));
  w.family("framehive_event_rule_suppressed_total", "counter",
           "Deliveries rules held back, by reason.");
  w.sample("framehive_event_rule_suppressed_total", "reason=\"cooldown\"",
           static_cast<double>(s.rules.suppressed_cooldown));
  w.sample("framehive_event_rule_suppressed_total", "reason=\"stationary\"",
           static_cast<double>(s.rules.suppressed_stationary));
  w.sample("framehive_event_rule_suppressed_total", "reason=\"min_duration\"",
           static_cast<double>(s.rules.suppressed_min_duration));
  // One sample per delivery kind, 0 for a kind with no entry yet.
  const auto per_kind = [&w](const char* name, const char* type, const char* help,
                             const std::map<std::string, std::int64_t>& by_kind) {
    w.family(name, type, help);
    for (const char* kind : {"webhook", "mqtt"}) {
      const auto it = by_kind.find(kind);
      w.sample(name, std::string("kind=\"") + kind + "\"",
               it == by_kind.end() ? 0.0 : static_cast<double>(it->second));
    }
  };
  per_kind("framehive_event_deliveries_total", "counter",
           "Deliveries acknowledged by their target (a 2xx answer, an MQTT PUBACK), by kind.",
           s.outbox.delivered);
  per_kind("framehive_event_deliveries_pending", "gauge",
           "Deliveries waiting in the outbox (retrying, or not yet sent), by kind.",
           s.outbox.pending);
  per_kind("framehive_event_deliveries_dropped_total", "counter",
           "Deliveries dropped undelivered past delivery.max_age or max_pending, by kind.",
           s.outbox.dropped);
  per_kind("framehive_event_delivery_failures_total", "counter",
           "Failed delivery attempts since the master started (retried), by kind.",
           s.delivery.failed_attempts);
  w.family("framehive_event_oldest_pending_seconds", "gauge",
           "Age of the oldest undelivered delivery (0: none).");
  w.sample("framehive_event_oldest_pending_seconds", "", s.outbox.oldest_pending_age);
  w.family("framehive_mqtt_connected", "gauge", "1 while connected to the MQTT broker.");
  w.sample("framehive_mqtt_connected", "", s.delivery.mqtt_connected ? 1 : 0);
  w.family("framehive_events_config_reloads_total", "counter",
           "Reloads of --events-config (SIGHUP), by outcome.");
  w.sample("framehive_events_config_reloads_total", "outcome=\"ok\"",
           static_cast<double>(s.reloads));
  w.sample("framehive_events_config_reloads_total", "outcome=\"error\"",
           static_cast<double>(s.reload_errors));
}

std::string exposition(ApiContext& ctx) {
  const auto status = ctx.scheduler.status();
  const auto counters = ctx.scheduler.port_counters();
  Writer w;

  w.family("framehive_build_info", "gauge", "Version of this master (value 1).");
  w.sample("framehive_build_info", "version=\"" + esc(shared::version()) + "\"", 1);
  w.family("framehive_uptime_seconds", "gauge", "Seconds since the master started.");
  w.sample("framehive_uptime_seconds", "", status.uptime_s);

  w.family("framehive_port_info", "gauge",
           "A port (camera, or 0 for uploads) with its stream name, detector and source (value "
           "1).");
  for (const auto& p : status.ports) {
    w.sample("framehive_port_info",
             port_label(p.port) + ",stream=\"" + esc(p.stream) + "\",detector=\"" +
                 esc(p.detector) + "\",source=\"" + esc(p.source) + "\"",
             1);
  }
  w.family("framehive_frames_total", "counter",
           "Frames of a port by outcome since the master started (received = pending + "
           "in_progress + completed + failed + dropped + expired; gated: frames the camera's "
           "sender did not send, nothing moved, not part of received).");
  for (const auto& p : status.ports) {
    const std::string l = port_label(p.port) + ",outcome=\"";
    w.sample("framehive_frames_total", l + "received\"", static_cast<double>(p.received));
    w.sample("framehive_frames_total", l + "completed\"", static_cast<double>(p.completed));
    w.sample("framehive_frames_total", l + "failed\"", static_cast<double>(p.failed));
    w.sample("framehive_frames_total", l + "dropped\"", static_cast<double>(p.dropped));
    w.sample("framehive_frames_total", l + "expired\"", static_cast<double>(p.expired));
    w.sample("framehive_frames_total", l + "lost_at_start\"", static_cast<double>(p.lost_at_start));
    w.sample("framehive_frames_total", l + "gated\"", static_cast<double>(p.gated));
  }
  w.family("framehive_frames_pending", "gauge", "Frames of a port waiting for a worker.");
  for (const auto& p : status.ports) {
    w.sample("framehive_frames_pending", port_label(p.port), static_cast<double>(p.pending));
  }
  w.family("framehive_frames_in_progress", "gauge", "Frames of a port held by workers.");
  for (const auto& p : status.ports) {
    w.sample("framehive_frames_in_progress", port_label(p.port),
             static_cast<double>(p.in_progress));
  }
  w.family("framehive_port_received_fps", "gauge", "Frames received per second, last 10 s.");
  for (const auto& p : status.ports)
    w.sample("framehive_port_received_fps", port_label(p.port), p.fps_in);
  w.family("framehive_port_completed_fps", "gauge", "Frames completed per second, last 10 s.");
  for (const auto& p : status.ports)
    w.sample("framehive_port_completed_fps", port_label(p.port), p.fps);
  w.family("framehive_port_up", "gauge",
           "1 while a port is live (frames arriving and a worker for its detector), else 0.");
  for (const auto& p : status.ports) {
    w.sample("framehive_port_up", port_label(p.port), p.state == "live" ? 1 : 0);
  }
  w.family("framehive_port_fallback", "gauge",
           "1 while a port's frames go to a fallback of its detector chain (--detector PORT=A,B: "
           "no live worker offers A), else 0.");
  for (const auto& p : status.ports) {
    w.sample("framehive_port_fallback", port_label(p.port), p.fallback ? 1 : 0);
  }
  w.family("framehive_port_last_received_timestamp_seconds", "gauge",
           "Unix time of the newest frame received (0: none yet).");
  for (const auto& p : status.ports) {
    w.sample("framehive_port_last_received_timestamp_seconds", port_label(p.port),
             p.last_received_at);
  }

  w.family("framehive_latency_seconds", "histogram",
           "Capture to completion time of completed frames, per port.");
  for (const auto& c : counters) {
    std::int64_t cumulative = 0;
    const std::string pl = port_label(c.port);
    for (std::size_t i = 0; i < k_latency_buckets_s.size(); ++i) {
      cumulative += c.latency_buckets[i];
      w.sample("framehive_latency_seconds_bucket",
               pl + ",le=\"" + num(k_latency_buckets_s[i]) + "\"", static_cast<double>(cumulative));
    }
    cumulative += c.latency_buckets.back();
    w.sample("framehive_latency_seconds_bucket", pl + ",le=\"+Inf\"",
             static_cast<double>(cumulative));
    w.sample("framehive_latency_seconds_sum", pl, c.latency_sum_s);
    w.sample("framehive_latency_seconds_count", pl, static_cast<double>(c.latency_count));
  }
  w.family("framehive_detections_total", "counter", "Detections reported, per port and label.");
  for (const auto& c : counters) {
    for (const auto& [label, n] : c.detections) {
      w.sample("framehive_detections_total", port_label(c.port) + ",label=\"" + esc(label) + "\"",
               static_cast<double>(n));
    }
  }

  w.family("framehive_receiver_frames_total", "counter",
           "Frames a receiver reassembled (complete), gave up on (incomplete), dropped from its "
           "queue or refused over --max-pixels (too_large), per port, from its latest report.");
  for (const auto& r : status.receivers) {
    for (const auto& c : r.ports) {
      const std::string l =
          "receiver=\"" + esc(r.receiver_id) + "\"," + port_label(c.port) + ",outcome=\"";
      w.sample("framehive_receiver_frames_total", l + "complete\"",
               static_cast<double>(c.frames_complete));
      w.sample("framehive_receiver_frames_total", l + "incomplete\"",
               static_cast<double>(c.frames_incomplete));
      w.sample("framehive_receiver_frames_total", l + "dropped\"",
               static_cast<double>(c.frames_dropped));
      w.sample("framehive_receiver_frames_total", l + "too_large\"",
               static_cast<double>(c.too_large));
    }
  }
  w.family("framehive_receiver_datagrams_total", "counter",
           "Datagrams a receiver got per port, by kind (all, or malformed: refused).");
  for (const auto& r : status.receivers) {
    for (const auto& c : r.ports) {
      const std::string l =
          "receiver=\"" + esc(r.receiver_id) + "\"," + port_label(c.port) + ",kind=\"";
      w.sample("framehive_receiver_datagrams_total", l + "all\"", static_cast<double>(c.datagrams));
      w.sample("framehive_receiver_datagrams_total", l + "malformed\"",
               static_cast<double>(c.malformed));
    }
  }
  w.family("framehive_receiver_received_bytes_total", "counter", "Bytes a receiver got per port.");
  for (const auto& r : status.receivers) {
    for (const auto& c : r.ports) {
      w.sample("framehive_receiver_received_bytes_total",
               "receiver=\"" + esc(r.receiver_id) + "\"," + port_label(c.port),
               static_cast<double>(c.bytes));
    }
  }
  w.family("framehive_receiver_last_report_timestamp_seconds", "gauge",
           "Unix time of a receiver's latest report.");
  for (const auto& r : status.receivers) {
    w.sample("framehive_receiver_last_report_timestamp_seconds",
             "receiver=\"" + esc(r.receiver_id) + "\"", r.last_seen);
  }

  w.family("framehive_queue_depth", "gauge", "Pending tasks per detector, all ports together.");
  for (const auto& [detector, n] : status.queue) {
    w.sample("framehive_queue_depth", "detector=\"" + esc(detector) + "\"", static_cast<double>(n));
  }
  w.family("framehive_detector_waiting", "gauge",
           "1 for a detector with pending tasks and no live worker offering it.");
  for (const auto& d : status.waiting_detectors) {
    w.sample("framehive_detector_waiting", "detector=\"" + esc(d) + "\"", 1);
  }

  w.family("framehive_workers", "gauge", "Workers the master lists, by state.");
  std::int64_t alive = 0;
  for (const auto& wk : status.workers) alive += wk.alive ? 1 : 0;
  w.sample("framehive_workers", "state=\"alive\"", static_cast<double>(alive));
  w.sample("framehive_workers", "state=\"dead\"",
           static_cast<double>(status.workers.size()) - alive);
  w.family("framehive_worker_up", "gauge", "1 for a live worker, 0 for a dead one.");
  for (const auto& wk : status.workers) {
    w.sample("framehive_worker_up", "worker=\"" + esc(wk.worker_id) + "\"", wk.alive ? 1 : 0);
  }
  w.family("framehive_worker_tasks_total", "counter", "Tasks of a worker by outcome.");
  for (const auto& wk : status.workers) {
    const std::string l = "worker=\"" + esc(wk.worker_id) + "\",outcome=\"";
    w.sample("framehive_worker_tasks_total", l + "assigned\"", static_cast<double>(wk.assigned));
    w.sample("framehive_worker_tasks_total", l + "completed\"", static_cast<double>(wk.completed));
    w.sample("framehive_worker_tasks_total", l + "failed\"", static_cast<double>(wk.failed));
  }
  w.family("framehive_worker_task_age_seconds", "gauge",
           "Age of the oldest task a worker holds (0: none).");
  for (const auto& wk : status.workers) {
    w.sample("framehive_worker_task_age_seconds", "worker=\"" + esc(wk.worker_id) + "\"",
             wk.task_age_s);
  }

  w.family("framehive_tasks_requeued_total", "counter", "Tasks put back in the queue, by reason.");
  w.sample("framehive_tasks_requeued_total", "reason=\"timeout\"",
           static_cast<double>(status.requeued_timeout));
  w.sample("framehive_tasks_requeued_total", "reason=\"dead_worker\"",
           static_cast<double>(status.requeued_dead_worker));
  w.family("framehive_completions_ignored_total", "counter",
           "complete_task calls that recorded nothing, by kind.");
  w.sample("framehive_completions_ignored_total", "kind=\"duplicate\"",
           static_cast<double>(status.duplicate_completions));
  w.sample("framehive_completions_ignored_total", "kind=\"late\"",
           static_cast<double>(status.late_completions));
  w.sample("framehive_completions_ignored_total", "kind=\"unknown\"",
           static_cast<double>(status.unknown_completions));
  w.family("framehive_store_errors_total", "counter", "Result database errors.");
  w.sample("framehive_store_errors_total", "", static_cast<double>(status.store_errors));
  w.family("framehive_frame_renders_total", "counter",
           "Annotated frames drawn for the console and API (cache misses).");
  w.sample("framehive_frame_renders_total", "", static_cast<double>(ctx.renders.renders()));
  w.family("framehive_live_streams", "gauge", "Open live.mjpeg streams.");
  w.sample("framehive_live_streams", "", ctx.live_streams.load());
  w.family("framehive_metrics_scrapes_total", "counter", "Requests of /metrics served.");
  w.sample("framehive_metrics_scrapes_total", "", static_cast<double>(++ctx.scrapes));

  if (ctx.events) events_exposition(w, ctx.events->stats());

  const auto proc = process_stats();
  w.family("process_cpu_seconds_total", "counter", "User and system CPU time of the master.");
  w.sample("process_cpu_seconds_total", "", proc.cpu_s);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory of the master.");
  w.sample("process_resident_memory_bytes", "", proc.rss);
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory of the master.");
  w.sample("process_virtual_memory_bytes", "", proc.vsize);
  w.family("process_start_time_seconds", "gauge", "Start time of the master, Unix seconds.");
  w.sample("process_start_time_seconds", "", proc.start_s);
  w.family("process_open_fds", "gauge", "Open file descriptors.");
  w.sample("process_open_fds", "", proc.fds);
  w.family("process_max_fds", "gauge", "The limit of open file descriptors.");
  w.sample("process_max_fds", "", proc.max_fds);
  return w.take();
}

}  // namespace

HttpRoute metrics_route(ApiContext& ctx) {
  HttpRoute r;
  r.path = "/metrics";
  r.methods = {http::verb::get};
  r.handler = [&ctx](const HttpRequest&) {
    HttpReply reply;
    reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply.body = exposition(ctx);
    reply.headers.emplace_back("Cache-Control", "no-store");
    return reply;
  };
  return r;
}

}  // namespace fh::master
