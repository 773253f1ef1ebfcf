#include "health_watch.hpp"

#include "event_types.hpp"

#include <algorithm>
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

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
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
  std::map<int, std::string> streams;
  for (const auto& p : s.ports) {
    if (p.source == "upload") continue;
    streams[p.port] = p.stream;
    auto& h = ports_[p.port];
    if (p.state == "stalled" && !h.state.empty() && h.state != "stalled" && h.state != "idle") {
      out.push_back(make(event_type::camera_stalled, now, p.port, p.stream,
                         "no frame for " + fixed(p.stalled_s, 0) + " s"));
    } else if (h.state == "stalled" && (p.state == "live" || p.state == "waiting")) {
      out.push_back(make(event_type::camera_recovered, now, p.port, p.stream, "frames again"));
    }
    h.state = p.state;
  }
  // Loss over every port the receivers report, including one whose frames all arrive broken
  // (it never reaches the scheduler's ports).
  for (auto& [port, sample] : totals) {
    auto& h = ports_[port];
    sample.time = now;
    h.window.push_back(sample);
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
        out.push_back(make(event_type::camera_loss, now, port, streams[port],
                           fixed(100 * ratio, 1) + "% of frames incomplete (" +
                               std::to_string(incomplete) + " of " + std::to_string(total) +
                               " over " + fixed(last.time - first.time, 0) + " s)"));
      } else if (h.loss_alarm && ratio < camera.loss_threshold / 2) {
        h.loss_alarm = false;  // re-armed
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
  // Fallback chains: the detector a chain's frames go to, when a live worker offers it.
  std::set<std::string> offered;
  for (const auto& w : s.workers) {
    if (w.alive) offered.insert(w.capabilities.begin(), w.capabilities.end());
  }
  for (const auto& p : s.ports) {
    if (p.detector_chain.empty()) continue;
    auto& h = ports_[p.port];
    const std::string running = offered.count(p.running_detector) ? p.running_detector : "";
    if (running == h.running) continue;
    const std::string chain = " (chain " + joined(p.detector_chain) + ")";
    if (!running.empty() && running != p.detector_chain.front() &&
        (!h.running.empty() || h.had_first)) {
      // The detector in use lost its last live worker (workers starting in any order, or only
      // a fallback ever running, is no fallback event).
      h.fallback_alarm = true;
      const auto at = std::find(p.detector_chain.begin(), p.detector_chain.end(), running);
      out.push_back(make(event_type::detector_fallback, now, p.port, p.stream,
                         "frames go to " + running + ": no live worker offers " +
                             joined({p.detector_chain.begin(), at}) + chain));
    } else if (running == p.detector_chain.front() && h.fallback_alarm) {
      h.fallback_alarm = false;
      out.push_back(make(event_type::detector_restored, now, p.port, p.stream,
                         "frames go to " + running + " again" + chain));
    }
    h.running = running;
    if (running == p.detector_chain.front()) h.had_first = true;
  }
  // What frames wait for with no live worker: a detector, or a port's whole chain (one event
  // for the chain, with its port; its detectors are not reported on their own).
  std::set<std::string> waiting_set(s.waiting_detectors.begin(), s.waiting_detectors.end());
  struct Wait {
    int port = 0;
    std::string stream, detail;
  };
  std::map<std::string, Wait> waiting;
  std::set<std::string> in_chains;
  for (const auto& p : s.ports) {
    const auto& c = p.detector_chain;
    if (c.empty() || p.state != "waiting" ||
        !std::all_of(c.begin(), c.end(), [&](const auto& d) { return waiting_set.count(d); })) {
      continue;
    }
    in_chains.insert(c.begin(), c.end());
    waiting[std::to_string(p.port) + "=" + joined(c)] =
        Wait{p.port, p.stream,
             joined(c) + ": " + std::to_string(p.pending) + " frame(s) of port " +
                 std::to_string(p.port) + " wait, no live worker offers a detector of its chain"};
  }
  for (const auto& d : waiting_set) {
    if (in_chains.count(d)) continue;
    const auto q = s.queue.find(d);
    const auto pending = q == s.queue.end() ? 0 : q->second;
    waiting[d] = Wait{
        0, "", d + ": " + std::to_string(pending) + " frame(s) wait, no live worker offers it"};
  }
  for (const auto& [key, w] : waiting) {
    const double since = unoffered_.emplace(key, now).first->second;
    if (now - since >= detector_grace_ && detector_alarm_.insert(key).second) {
      out.push_back(make(event_type::detector_unavailable, now, w.port, w.stream, w.detail));
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
