#include "rule_engine.hpp"

#include <algorithm>
#include <cmath>

#include "event_types.hpp"

namespace fh::master {

namespace {

constexpr std::size_t k_max_held = 8;              ///< held events per rule and track
constexpr std::size_t k_max_cooldown_keys = 4096;  ///< port+label pairs per rule

template <typename C, typename V>
bool contains(const C& c, const V& v) {
  return std::find(c.begin(), c.end(), v) != c.end();
}

bool type_selected(const Rule& r, const std::string& type) {
  if (r.types.empty()) return contains(event_type::default_rule_types, type);
  return std::any_of(r.types.begin(), r.types.end(),
                     [&](const std::string& p) { return event_type::type_matches(p, type); });
}

bool port_selected(const Rule& r, int port) { return r.ports.empty() || contains(r.ports, port); }

/// Adds d unless an equal delivery (kind, target, secret_file) is there already.
void merge(std::vector<Delivery>& into, Delivery d) {
  for (const Delivery& x : into) {
    if (x.kind == d.kind && x.target == d.target && x.secret_file == d.secret_file) return;
  }
  into.push_back(std::move(d));
}

int rounded(double v) { return static_cast<int>(std::lround(v)); }

}  // namespace

bool point_in_polygon(const Point& p, const std::vector<Point>& polygon) {
  bool inside = false;
  for (std::size_t i = 0; i < polygon.size(); ++i) {
    const Point& a = polygon[i];
    const Point& b = polygon[(i + 1) % polygon.size()];
    if ((a.y > p.y) == (b.y > p.y)) continue;  // the edge does not span the point's height
    // The same edge of two adjacent polygons is evaluated from the same end point, so both
    // compute the same crossing, whatever their orientation.
    const Point& lo = a.y < b.y ? a : b;
    const Point& hi = a.y < b.y ? b : a;
    double x = lo.x + (p.y - lo.y) * (hi.x - lo.x) / (hi.y - lo.y);
    if (p.x < x) inside = !inside;
  }
  return inside;
}

RuleEngine::RuleEngine(std::shared_ptr<const EventsConfig> config,
                       std::function<std::string()> next_event_id, std::size_t max_tracks)
    : config_(std::move(config)),
      next_event_id_(std::move(next_event_id)),
      max_tracks_(std::max<std::size_t>(max_tracks, 1)) {
  if (!config_) config_ = std::make_shared<const EventsConfig>();
}

void RuleEngine::set_config(std::shared_ptr<const EventsConfig> config) {
  config_ = config ? std::move(config) : std::make_shared<const EventsConfig>();
  auto present = [&](const std::string& name) {
    return std::any_of(config_->rules.begin(), config_->rules.end(),
                       [&](const Rule& r) { return r.name == name; });
  };
  for (auto it = cooldowns_.begin(); it != cooldowns_.end();) {
    it = present(it->first) ? std::next(it) : cooldowns_.erase(it);
  }
  for (auto& [id, st] : tracks_) {
    (void)id;
    for (auto it = st.rules.begin(); it != st.rules.end();) {
      it = present(it->first) ? std::next(it) : st.rules.erase(it);
    }
  }
}

void RuleEngine::evict_if_full() {
  while (tracks_.size() >= max_tracks_ && !order_.empty()) {
    tracks_.erase(order_.begin()->second);
    order_.erase(order_.begin());
    ++stats_.evicted_tracks;
  }
}

RuleEngine::TrackState& RuleEngine::state_of(const TrackUpdate& u, bool* created) {
  auto it = tracks_.find(u.track.id);
  *created = it == tracks_.end();
  if (!*created) return it->second;
  evict_if_full();
  TrackState& st = tracks_[u.track.id];
  st.order = next_order_++;
  order_.emplace(st.order, u.track.id);
  return st;
}

std::vector<std::string> RuleEngine::zones_at(const Track& t,
                                              const std::vector<std::string>& before) const {
  if (t.frame_width <= 0 || t.frame_height <= 0) return before;  // no position to test
  auto zit = config_->zones.find(t.port);
  if (zit == config_->zones.end()) return {};
  const std::vector<Zone>& zones = zit->second;
  const double below_one = std::nextafter(1.0, 0.0);
  Point p{(t.box.x + t.box.w / 2) / t.frame_width, (t.box.y + t.box.h) / t.frame_height};
  p.x = std::clamp(p.x, 0.0, below_one);
  p.y = std::clamp(p.y, 0.0, below_one);
  auto in = [&](const std::string& name) {
    for (const Zone& z : zones) {
      if (z.name == name) return point_in_polygon(p, z.polygon);
    }
    return false;  // gone with a reload
  };
  std::vector<std::string> now;
  for (const std::string& name : before) {
    if (in(name)) now.push_back(name);
  }
  for (const Zone& z : zones) {
    if (!contains(now, z.name) && point_in_polygon(p, z.polygon)) now.push_back(z.name);
  }
  return now;
}

bool RuleEngine::leave_pending(TrackState& st, const Track& t, const std::string& name,
                               double time) const {
  const Zone* zone = nullptr;
  if (auto zit = config_->zones.find(t.port); zit != config_->zones.end()) {
    for (const Zone& z : zit->second) {
      if (z.name == name) zone = &z;
    }
  }
  if (zone == nullptr || zone->leave_after <= 0) return false;  // gone with a reload, or at once
  auto [since, first] = st.outside_since.try_emplace(name, time);
  return first || time - since->second < zone->leave_after;
}

bool RuleEngine::static_match(const Rule& r, const Made& m, double best_confidence) const {
  const shared::api::Event& e = m.event;
  if (!port_selected(r, e.port)) return false;
  if (!r.labels.empty() && !contains(r.labels, e.label)) return false;
  if (!type_selected(r, e.type)) return false;
  if (best_confidence < r.min_confidence) return false;
  if (r.zones.empty()) return true;
  return std::any_of(m.zones.begin(), m.zones.end(),
                     [&](const std::string& z) { return contains(r.zones, z); });
}

void RuleEngine::add_deliveries(const Rule& r, int port, std::vector<Delivery>& out) const {
  for (const WebhookAction& w : r.webhooks) merge(out, {"webhook", w.url, w.secret_file, r.name});
  if (r.mqtt && config_->mqtt.enabled) {
    const std::string& prefix = config_->mqtt.topic_prefix;
    std::string topic =
        port == 0 ? prefix + "/events" : prefix + "/" + std::to_string(port) + "/events";
    merge(out, {"mqtt", std::move(topic), "", r.name});
  }
}

bool RuleEngine::deliver(const Rule& r, RuleTrack& rt, const shared::api::Event& e,
                         std::vector<Delivery>& out) {
  if (!rt.decided) {
    rt.decided = true;
    if (r.cooldown > 0) {
      auto& times = cooldowns_[r.name];
      std::pair<int, std::string> key{e.port, e.label};
      auto it = times.find(key);
      if (it != times.end() && e.time - it->second < r.cooldown) {
        rt.suppressed = true;
      } else {
        if (it == times.end() && times.size() >= k_max_cooldown_keys) {
          for (auto x = times.begin(); x != times.end();) {
            x = e.time - x->second >= r.cooldown ? times.erase(x) : std::next(x);
          }
          if (times.size() >= k_max_cooldown_keys) times.erase(times.begin());
        }
        times[key] = e.time;
      }
    }
  }
  if (rt.suppressed) {
    ++stats_.suppressed_cooldown;
    return false;
  }
  add_deliveries(r, e.port, out);
  return true;
}

void RuleEngine::restore_track(std::int64_t track_id, const std::vector<std::string>& inside,
                               const std::vector<std::string>& delivered_rules) {
  TrackUpdate u;
  u.track.id = track_id;
  bool created = false;
  TrackState& st = state_of(u, &created);
  st.inside = inside;
  for (const auto& name : delivered_rules) {
    RuleTrack& rt = st.rules[name];
    rt.decided = true;
    rt.aged = true;
  }
}

std::vector<EmittedEvent> RuleEngine::on_track(const TrackUpdate& u) {
  const Track& t = u.track;
  const bool ended = u.change == TrackChange::ended;
  bool created = false;
  TrackState& st = state_of(u, &created);
  const double age = u.time - t.start;
  std::vector<EmittedEvent> out;

  // 1. Events held by min_duration, released now that the track is old enough (or dropped below
  //    when it ended younger).
  std::map<std::uint64_t, EmittedEvent> late;
  for (const Rule& r : config_->rules) {
    auto it = st.rules.find(r.name);
    if (it == st.rules.end() || it->second.aged || age < r.min_duration) continue;
    RuleTrack& rt = it->second;
    rt.aged = true;
    for (Held& h : rt.held) {
      EmittedEvent& le = late[h.seq];
      if (!le.late) {
        le.event = h.event;
        le.event.rules.clear();
        le.late = true;
      }
      std::vector<Delivery> d;
      if (!deliver(r, rt, h.event, d)) continue;
      le.event.rules.push_back(r.name);
      for (Delivery& x : d) merge(le.deliveries, std::move(x));
    }
    rt.held.clear();
  }
  for (auto& [seq, le] : late) {
    (void)seq;
    if (le.event.rules.empty()) continue;  // every releasing rule suppressed it (cooldown)
    stats_.deliveries += static_cast<std::int64_t>(le.deliveries.size());
    out.push_back(std::move(le));
  }

  // 2. The events of this change.
  std::vector<Made> made;
  auto make = [&](std::string_view type, std::vector<std::string> zones) {
    Made m;
    m.seq = next_seq_++;
    m.zones = std::move(zones);
    m.stationary = st.stationary;
    shared::api::Event& e = m.event;
    e.id = next_event_id_();
    e.type = type;
    e.time = u.time;
    e.port = t.port;
    e.stream = t.stream;
    e.track_id = t.id;
    e.label = t.label;
    e.confidence = t.best_confidence;
    e.x = rounded(t.box.x);
    e.y = rounded(t.box.y);
    e.w = rounded(t.box.w);
    e.h = rounded(t.box.h);
    e.start = t.start;
    e.snapshot_task_id = t.best_task_id;
    made.push_back(std::move(m));
    return &made.back().event;
  };
  if (ended) {
    for (const std::string& z : st.inside) make(event_type::object_zone_leave, {z})->zone = z;
    make(event_type::object_end, st.inside)->end = t.last_seen;
  } else if (created && u.change != TrackChange::confirmed) {
    // A track without state (evicted, or confirmed before this engine): take its zones and
    // stationary state silently.
    st.inside = zones_at(t, {});
    st.stationary = t.stationary;
  } else {
    if (u.change == TrackChange::moving) st.stationary = false;
    const std::vector<std::string> at = zones_at(t, st.inside);
    std::vector<std::string> now;  // zones held, in order of entry
    std::vector<std::string> left;
    for (const std::string& z : st.inside) {
      if (contains(at, z)) {
        st.outside_since.erase(z);
        now.push_back(z);
      } else if (leave_pending(st, t, z, u.time)) {
        now.push_back(z);
      } else {
        st.outside_since.erase(z);
        left.push_back(z);
      }
    }
    std::vector<std::string> entered;
    for (const std::string& z : at) {
      if (!contains(st.inside, z)) entered.push_back(z);
    }
    now.insert(now.end(), entered.begin(), entered.end());
    if (u.change == TrackChange::confirmed) make(event_type::object_start, now);
    for (const std::string& z : left) make(event_type::object_zone_leave, {z})->zone = z;
    for (const std::string& z : entered) make(event_type::object_zone_enter, {z})->zone = z;
    st.inside = std::move(now);
    if (u.change == TrackChange::stationary) {
      st.stationary = true;
      make(event_type::object_stationary, st.inside);
    }
  }

  // 3. Each event against the rules.
  for (Made& m : made) {
    EmittedEvent ee;
    ee.event = m.event;
    for (const Rule& r : config_->rules) {
      if (!static_match(r, m, t.best_confidence)) continue;
      RuleTrack& rt = st.rules[r.name];
      if (rt.suppressed) {
        ++stats_.suppressed_cooldown;
        continue;
      }
      if (r.ignore_stationary && m.stationary && m.event.type != event_type::object_stationary) {
        ++stats_.suppressed_stationary;
        continue;
      }
      if (r.min_duration > 0 && !rt.aged) {
        if (ended) {
          ++stats_.suppressed_min_duration;  // its held ones are counted below
          continue;
        }
        if (rt.held.size() >= k_max_held) {
          rt.held.erase(rt.held.begin() + 1);  // keep the first and the latest
          ++stats_.suppressed_min_duration;
        }
        rt.held.push_back({m.seq, m.event});
        continue;
      }
      std::vector<Delivery> d;
      if (!deliver(r, rt, m.event, d)) continue;
      ee.event.rules.push_back(r.name);
      for (Delivery& x : d) merge(ee.deliveries, std::move(x));
    }
    ++stats_.events;
    stats_.deliveries += static_cast<std::int64_t>(ee.deliveries.size());
    out.push_back(std::move(ee));
  }

  if (ended) {
    for (auto& [name, rt] : st.rules) {
      (void)name;
      stats_.suppressed_min_duration += static_cast<std::int64_t>(rt.held.size());
    }
    order_.erase(st.order);
    tracks_.erase(t.id);
  }
  return out;
}

EmittedEvent RuleEngine::on_system(shared::api::Event e) {
  if (e.id.empty()) e.id = next_event_id_();
  e.rules.clear();
  EmittedEvent ee;
  for (const Rule& r : config_->rules) {
    if (r.types.empty() || !type_selected(r, e.type)) continue;
    if (e.port != 0 && !port_selected(r, e.port)) continue;
    e.rules.push_back(r.name);
    add_deliveries(r, e.port, ee.deliveries);
  }
  ee.event = std::move(e);
  ++stats_.events;
  stats_.deliveries += static_cast<std::int64_t>(ee.deliveries.size());
  return ee;
}

}  // namespace fh::master
