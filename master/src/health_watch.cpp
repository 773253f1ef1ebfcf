#include "health_watch.hpp"

#include "event_types.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>

namespace fh::master {
namespace {

shared::api::Event make(std::string_view type, double now, int port, std::string stream,
                        std::string detail) {
  shared::api::Event e;
  e.type = std::string(type);
  e.time = now;
  e.port = port;
  e.stream = std::move(stream);
  e.detail = std::move(detail);
  return e;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::vector<shared::api::Event> HealthWatch::check(const SchedulerStatus& s, double now,
                                                   const CameraHealthSettings& camera) {
  std::vector<shared::api::Event> out;
  // Receivers' totals per port (several receivers may feed one port).
  std::map<int, LossSample> totals;
  for (const auto& r : s.receivers) {
    for (const auto& c : r.ports) {
      auto& t = totals[c.port];
      t.complete += c.frames_complete;
      t.incomplete += c.frames_incomplete;
    }
  }
  for (const auto& p : s.ports) {
    if (p.source == "upload") continue;
    auto& h = ports_[p.port];
    if (p.state == "stalled" && !h.state.empty() && h.state != "stalled" && h.state != "idle") {
      out.push_back(make(event_type::camera_stalled, now, p.port, p.stream,
                         "no frame for " + fixed(p.stalled_s, 0) + " s"));
    } else if (h.state == "stalled" && (p.state == "live" || p.state == "waiting")) {
      out.push_back(make(event_type::camera_recovered, now, p.port, p.stream, "frames again"));
    }
    h.state = p.state;
    if (auto t = totals.find(p.port); t != totals.end()) {
      t->second.time = now;
      h.window.push_back(t->second);
      // The oldest sample kept is the last one at least loss_window old: the baseline.
      while (h.window.size() > 2 && now - h.window[1].time >= camera.loss_window) {
        h.window.pop_front();
      }
      const auto& first = h.window.front();
      const auto& last = h.window.back();
      const auto incomplete = last.incomplete - first.incomplete;
      const auto total = incomplete + (last.complete - first.complete);
      // A receiver restart makes the totals go backwards: start the window again.
      if (incomplete < 0 || total < 0) {
        h.window.erase(h.window.begin(), h.window.end() - 1);
      } else if (total >= 10) {
        const double ratio = static_cast<double>(incomplete) / static_cast<double>(total);
        if (!h.loss_alarm && ratio > camera.loss_threshold) {
          h.loss_alarm = true;
          out.push_back(make(event_type::camera_loss, now, p.port, p.stream,
                             fixed(100 * ratio, 1) + "% of frames incomplete (" +
                                 std::to_string(incomplete) + " of " + std::to_string(total) +
                                 " over " + fixed(last.time - first.time, 0) + " s)"));
        } else if (h.loss_alarm && ratio < camera.loss_threshold / 2) {
          h.loss_alarm = false;  // re-armed
        }
      }
    }
  }
  for (const auto& w : s.workers) {
    const auto it = workers_.find(w.worker_id);
    if (it != workers_.end() && it->second && !w.alive) {
      out.push_back(make(event_type::worker_dead, now, 0, "", w.worker_id));
    } else if (it != workers_.end() && !it->second && w.alive) {
      out.push_back(make(event_type::worker_back, now, 0, "", w.worker_id));
    }
    workers_[w.worker_id] = w.alive;
  }
  if (workers_.size() > 2 * s.workers.size() + 64) {  // pruned workers: forget them
    std::map<std::string, bool> live;
    for (const auto& w : s.workers) live[w.worker_id] = w.alive;
    workers_ = std::move(live);
  }
  std::set<std::string> waiting(s.waiting_detectors.begin(), s.waiting_detectors.end());
  for (const auto& d : waiting) {
    const double since = unoffered_.emplace(d, now).first->second;
    if (now - since >= detector_grace_ && detector_alarm_.insert(d).second) {
      const auto q = s.queue.find(d);
      const auto pending = q == s.queue.end() ? 0 : q->second;
      out.push_back(
          make(event_type::detector_unavailable, now, 0, "",
               d + ": " + std::to_string(pending) + " frame(s) wait, no live worker offers it"));
    }
  }
  for (auto it = unoffered_.begin(); it != unoffered_.end();) {
    if (waiting.count(it->first)) {
      ++it;
      continue;
    }
    detector_alarm_.erase(it->first);  // offered again, or nothing waits: re-armed
    it = unoffered_.erase(it);
  }
  return out;
}

}  // namespace fh::master
