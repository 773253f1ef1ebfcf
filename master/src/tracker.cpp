#include "tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

namespace fh::master {

namespace {

// The filter's noise, relative to the box's size (sqrt of its area, pixels) so that one set of
// numbers fits near and far objects. Velocities are per second (time steps are real time).
constexpr double k_pos_meas = 0.05;         ///< std of a detection's centre, fraction of size
constexpr double k_pos_accel = 1.0;         ///< std of the centre's acceleration, sizes per s^2
constexpr double k_pos_init_vel = 1.0;      ///< std of a new track's velocity, sizes per s
constexpr double k_area_meas = 0.1;         ///< std of a detection's area, fraction of area
constexpr double k_area_accel = 0.5;        ///< std of the area's acceleration, fraction per s^2
constexpr double k_area_init_vel = 0.5;     ///< std of a new track's area velocity, fraction per s
constexpr double k_aspect_meas = 0.05;      ///< std of a detection's aspect, fraction of it
constexpr double k_aspect_walk = 0.05;      ///< aspect's random walk, fraction per sqrt(s)
constexpr double k_max_dt = 5.0;            ///< longest single prediction step, s
constexpr double k_fallback_frame_s = 0.2;  ///< frame time step when captured_at is 0
constexpr std::int64_t k_restart_backwards = 1000;  ///< frame_id this far back: a restart
constexpr std::size_t k_max_hungarian = 128;        ///< larger assignment problems go greedy

double sq(double v) { return v * v; }

/// One coordinate with its velocity: constant velocity, white-noise acceleration of spectral
/// density q (continuous model, so steps of any length compose exactly).
struct Cv {
  double x = 0, v = 0;               ///< state
  double p00 = 0, p01 = 0, p11 = 0;  ///< covariance (symmetric)

  void predict(double dt, double q) {
    x += v * dt;
    p00 += dt * (2 * p01 + dt * p11) + q * dt * dt * dt / 3;
    p01 += dt * p11 + q * dt * dt / 2;
    p11 += q * dt;
  }
  void update(double z, double r) {
    const double s = p00 + r;
    const double k0 = p00 / s, k1 = p01 / s, y = z - x;
    x += k0 * y;
    v += k1 * y;
    p11 -= k1 * p01;
    p00 *= 1 - k0;
    p01 *= 1 - k0;
  }
  void stop() {  // no velocity, and no doubt about it (process noise brings doubt back)
    v = 0;
    p01 = 0;
    p11 = 0;
  }
};

/// A random walk (the aspect ratio, which SORT keeps constant).
struct Walk {
  double x = 0, p = 0;  ///< state and variance
  void predict(double dt, double q) { p += q * dt; }
  void update(double z, double r) {
    const double k = p / (p + r);
    x += k * (z - x);
    p *= 1 - k;
  }
};

double iou(const Box& a, const Box& b) {
  if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
  const double iw = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const double ih = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0;
  const double inter = iw * ih;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

Box box_of(const Detection& d) { return Box{double(d.x), double(d.y), double(d.w), double(d.h)}; }

/// Minimum-cost assignment of n rows to distinct columns of an n x m matrix (n <= m), row-major:
/// the Hungarian method with potentials, O(n^2 m). Returns each row's column.
std::vector<int> hungarian(const std::vector<double>& cost, std::size_t n, std::size_t m) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0), minv(m + 1);
  std::vector<std::size_t> p(m + 1, 0), way(m + 1, 0);  // p[j]: row (1-based) of column j
  std::vector<char> used(m + 1);
  for (std::size_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = p[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> row_col(n, -1);
  for (std::size_t j = 1; j <= m; ++j) {
    if (p[j] != 0) row_col[p[j] - 1] = int(j - 1);
  }
  return row_col;
}

/// The one-to-one assignment of rows (detections) to columns (tracks) of greatest total IoU,
/// pairs below `threshold` never matched (SORT's: Hungarian on -IoU, then the gate). Rows and
/// columns without any candidate are left out first; a problem still larger than
/// k_max_hungarian either way goes greedy (highest IoU first). Returns each row's column or -1.
std::vector<int> assign(const std::vector<double>& iou_m, std::size_t rows, std::size_t cols,
                        double threshold) {
  std::vector<int> out(rows, -1);
  std::vector<std::size_t> ar, ac;  // active rows, columns
  std::vector<char> col_on(cols, 0);
  for (std::size_t i = 0; i < rows; ++i) {
    bool any = false;
    for (std::size_t j = 0; j < cols; ++j) {
      if (iou_m[i * cols + j] >= threshold) {
        any = true;
        col_on[j] = 1;
      }
    }
    if (any) ar.push_back(i);
  }
  for (std::size_t j = 0; j < cols; ++j) {
    if (col_on[j]) ac.push_back(j);
  }
  if (ar.empty()) return out;
  const auto gated = [&](std::size_t i, std::size_t j) {
    const double v = iou_m[i * cols + j];
    return v >= threshold ? v : 0.0;
  };
  if (std::max(ar.size(), ac.size()) > k_max_hungarian) {
    struct Pair {
      double iou;
      std::size_t i, j;
    };
    std::vector<Pair> pairs;
    for (std::size_t i : ar) {
      for (std::size_t j : ac) {
        if (gated(i, j) > 0) pairs.push_back({gated(i, j), i, j});
      }
    }
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const Pair& a, const Pair& b) { return a.iou > b.iou; });
    std::vector<char> row_done(rows, 0), col_done(cols, 0);
    for (const Pair& pr : pairs) {
      if (row_done[pr.i] || col_done[pr.j]) continue;
      row_done[pr.i] = col_done[pr.j] = 1;
      out[pr.i] = int(pr.j);
    }
    return out;
  }
  const bool transpose = ar.size() > ac.size();
  const std::size_t n = transpose ? ac.size() : ar.size();
  const std::size_t m = transpose ? ar.size() : ac.size();
  std::vector<double> cost(n * m);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = 0; b < m; ++b) {
      cost[a * m + b] = 1.0 - (transpose ? gated(ar[b], ac[a]) : gated(ar[a], ac[b]));
    }
  }
  const std::vector<int> rc = hungarian(cost, n, m);
  for (std::size_t a = 0; a < n; ++a) {
    if (rc[a] < 0) continue;
    const std::size_t i = transpose ? ar[std::size_t(rc[a])] : ar[a];
    const std::size_t j = transpose ? ac[a] : ac[std::size_t(rc[a])];
    if (iou_m[i * cols + j] >= threshold) out[i] = int(j);
  }
  return out;
}

/// The box clamped to a frame of w x h pixels (when known), at least a pixel wide and high.
Box clamp_to_frame(Box b, int w, int h) {
  if (w > 0) {
    const double x1 = std::clamp(b.x + b.w, 1.0, double(w));
    b.x = std::clamp(b.x, 0.0, x1 - 1);
    b.w = x1 - b.x;
  }
  if (h > 0) {
    const double y1 = std::clamp(b.y + b.h, 1.0, double(h));
    b.y = std::clamp(b.y, 0.0, y1 - 1);
    b.h = y1 - b.y;
  }
  b.w = std::max(b.w, 1.0);
  b.h = std::max(b.h, 1.0);
  return b;
}

double frame_time(const ResultRecord& r) {
  return r.captured_at > 0 && std::isfinite(r.captured_at)
             ? r.captured_at
             : double(r.frame_id) * k_fallback_frame_s;
}

bool overlaps(const Box& a, const Box& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/// Where a frame's detection looked, in pixels: empty for everywhere (no motion information,
/// a keep-alive, no boxes, or an unknown frame size), else the motion boxes grown by `pad` of
/// their size on each side.
std::vector<Box> looked_at(const shared::api::Motion& m, int width, int height, double pad) {
  std::vector<Box> out;
  if (!m.present || m.keepalive || m.boxes.empty() || width <= 0 || height <= 0) return out;
  for (const auto& mb : m.boxes) {
    const auto b = shared::api::to_pixels(mb, width, height);
    out.push_back(Box{b.x - pad * b.w, b.y - pad * b.h, b.w * (1 + 2 * pad), b.h * (1 + 2 * pad)});
  }
  return out;
}

/// Detection indices per label, labels in order (deterministic).
std::map<std::string_view, std::vector<std::size_t>> by_label(const ResultRecord& r) {
  std::map<std::string_view, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < r.detections.size(); ++i) {
    const Detection& d = r.detections[i];
    if (d.w > 0 && d.h > 0) out[d.label].push_back(i);
  }
  return out;
}

}  // namespace

/// One track with its SORT filter: u, v (centre), s (area) with velocities, r (aspect).
struct Tracker::State {
  Track track;
  Cv u, v, s;                    ///< centre x, centre y, area
  Walk r;                        ///< aspect w / h
  double t = 0;                  ///< frame time of the filter's state
  std::int64_t birth_frame = 0;  ///< the port's released-frame count when it started
  /// While tentative: the results and detection indexes of its hits (given its id once it is
  /// confirmed; at most confirm_hits).
  std::vector<std::pair<std::string, std::size_t>> tentative_hits;
  double anchor_x = 0, anchor_y = 0, anchor_t = 0;  ///< stationary: where and since when
  int misses = 0;  ///< frames since it was last seen that looked where it is and missed it

  State(const Detection& d, double time) {
    const double w = d.w, h = d.h, area = w * h, size = std::sqrt(area);
    u.x = d.x + w / 2;
    v.x = d.y + h / 2;
    u.p00 = v.p00 = sq(k_pos_meas * size);
    u.p11 = v.p11 = sq(k_pos_init_vel * size);
    s.x = area;
    s.p00 = sq(k_area_meas * area);
    s.p11 = sq(k_area_init_vel * area);
    r.x = w / h;
    r.p = sq(k_aspect_meas * r.x);
    t = time;
    anchor_x = u.x;
    anchor_y = v.x;
    anchor_t = time;
  }
  double size() const { return std::sqrt(std::max(s.x, 1.0)); }
  Box box() const {
    const double area = std::max(s.x, 1.0), w = std::sqrt(area * std::max(r.x, 1e-3));
    const double h = area / w;
    return Box{u.x - w / 2, v.x - h / 2, w, h};
  }
  /// Moves the state to frame time `time` (never backwards; steps of at most k_max_dt).
  void predict(double time) {
    const double dt = std::clamp(time - t, 0.0, k_max_dt);
    t = std::max(t, time);
    if (dt <= 0) return;
    if (track.stationary) {  // a parked object does not drift while the detector misses it
      u.stop();
      v.stop();
      s.stop();
    }
    const double q_pos = sq(k_pos_accel * size()), q_area = sq(k_area_accel * s.x);
    u.predict(dt, q_pos);
    v.predict(dt, q_pos);
    s.predict(dt, q_area);
    r.predict(dt, sq(k_aspect_walk * r.x));
    if (s.x < 1) {  // shrinking through zero (SORT's guard)
      s.x = 1;
      s.v = 0;
    }
  }
  void update(const Detection& d) {
    const double w = d.w, h = d.h, size = this->size();
    u.update(d.x + w / 2, sq(k_pos_meas * size));
    v.update(d.y + h / 2, sq(k_pos_meas * size));
    s.update(w * h, sq(k_area_meas * s.x));
    r.update(w / h, sq(k_aspect_meas * r.x));
    if (s.x < 1) s.x = 1;
  }
};

struct Tracker::Held {
  TrackInput in;
  double arrived = 0;  ///< monotonic
};

struct Tracker::Port {
  std::string stream;
  bool has_stream = false;
  std::map<std::int64_t, Held> held;  ///< by frame_id, at most reorder_max_frames
  bool released_any = false;          ///< since the port (or its stream) started
  std::int64_t last_released = 0;     ///< frame_id
  std::int64_t frames = 0;            ///< released results, ever
  double latest_time = 0;             ///< latest frame time released
  double last_release_mono = 0;       ///< monotonic time of the latest release
  bool gated = false;                 ///< the latest released frame had motion information
  std::vector<State> tracks;          ///< tentative and confirmed, at most max_tracks_per_port
};

Tracker::Tracker(TrackerConfig config, std::int64_t first_track_id) : next_id_(first_track_id) {
  set_config(config);
}

void Tracker::set_config(TrackerConfig config) {
  config_ = config;
  config_.confirm_hits = std::max(config_.confirm_hits, 1);
  config_.confirm_window = std::max(config_.confirm_window, config_.confirm_hits);
  config_.reorder_max_frames = std::max<std::size_t>(config_.reorder_max_frames, 1);
}

Tracker::~Tracker() = default;

Tracker::Stats Tracker::stats() const { return stats_; }

std::vector<Track> Tracker::tracks(int port) const {
  std::vector<Track> out;
  const auto it = ports_.find(port);
  if (it == ports_.end()) return out;
  for (const State& st : it->second->tracks) {
    if (st.track.confirmed) out.push_back(st.track);
  }
  return out;
}

std::vector<TrackedResult> Tracker::add(TrackInput in, double now_mono) {
  std::vector<TrackedResult> out;
  ++stats_.results;
  auto& slot = ports_[in.record.port];
  if (!slot) slot = std::make_unique<Port>();
  Port& port = *slot;
  const std::int64_t fid = in.record.frame_id;

  std::int64_t latest = port.released_any ? port.last_released : fid;
  if (!port.held.empty()) latest = std::max(latest, port.held.rbegin()->first);
  // (unsigned: frame ids are the sender's, any int64; fid < latest makes the difference fit)
  const bool far_back = fid < latest && std::uint64_t(latest) - std::uint64_t(fid) >
                                            std::uint64_t(k_restart_backwards);
  // A frame id at or below the released ones but captured after them: the sender started
  // again (its ids restart at 0) - a late frame was captured before the ones released.
  const bool new_run = port.released_any && fid <= port.last_released &&
                       in.record.captured_at > 0 && port.latest_time > 0 &&
                       in.record.captured_at > port.latest_time;
  const bool restart = (port.has_stream && port.stream != in.record.stream) || far_back || new_run;
  if (restart) {
    release(port, now_mono, true, out);
    TrackedResult ended;
    ended.record.port = in.record.port;
    ended.record.stream = port.stream;
    end_tracks(port, 0, true, ended.updates);
    if (!ended.updates.empty()) out.push_back(std::move(ended));
    port.released_any = false;
    port.tracks.clear();
  }
  port.stream = in.record.stream;
  port.has_stream = true;

  if ((port.released_any && fid <= port.last_released) || port.held.count(fid) != 0) {
    TrackedResult late;
    late.record = std::move(in.record);
    late.width = in.width;
    late.height = in.height;
    label_late(port, late.record);
    ++stats_.late_results;
    out.push_back(std::move(late));
  } else {
    port.held.emplace(fid, Held{std::move(in), now_mono});
  }
  release(port, now_mono, false, out);
  return out;
}

std::vector<TrackedResult> Tracker::tick(double now_mono) {
  std::vector<TrackedResult> out;
  for (auto& [number, slot] : ports_) {
    Port& port = *slot;
    release(port, now_mono, false, out);
    if (!port.released_any || port.tracks.empty()) continue;
    // A gated camera is silent while nothing moves: only a long silence ends its tracks.
    const double silence = std::max(0.0, now_mono - port.last_release_mono);
    if (port.gated && silence <= config_.gated_silence_s) continue;
    // The port's frame time had frames kept coming since its latest release.
    const double t = port.latest_time + silence;
    TrackedResult ended;
    ended.record.port = number;
    ended.record.stream = port.stream;
    end_tracks(port, t, false, ended.updates, true);
    if (!ended.updates.empty()) out.push_back(std::move(ended));
  }
  return out;
}

std::vector<TrackedResult> Tracker::drop_port(int port, double /*now_mono*/) {
  std::vector<TrackedResult> out;
  const auto it = ports_.find(port);
  if (it == ports_.end()) return out;
  TrackedResult ended;
  ended.record.port = port;
  ended.record.stream = it->second->stream;
  end_tracks(*it->second, 0, true, ended.updates);
  if (!ended.updates.empty()) out.push_back(std::move(ended));
  ports_.erase(it);
  return out;
}

void Tracker::release(Port& port, double now_mono, bool flush, std::vector<TrackedResult>& out) {
  while (!port.held.empty()) {
    const auto lowest = port.held.begin();
    bool go = flush || port.held.size() > config_.reorder_max_frames ||
              (port.released_any && lowest->first - 1 == port.last_released);  // held > released
    if (!go) {  // any result held too long releases everything below it, in order
      double oldest = lowest->second.arrived;
      for (const auto& [fid, h] : port.held) oldest = std::min(oldest, h.arrived);
      go = now_mono - oldest > config_.reorder_window_s;
    }
    if (!go) break;
    TrackInput in = std::move(lowest->second.in);
    port.held.erase(lowest);
    port.released_any = true;
    port.last_released = in.record.frame_id;
    port.last_release_mono = now_mono;
    out.push_back(process(port, std::move(in)));
  }
}

TrackedResult Tracker::process(Port& port, TrackInput in) {
  TrackedResult res;
  res.record = std::move(in.record);
  res.width = in.width;
  res.height = in.height;
  ResultRecord& rec = res.record;
  const double t = frame_time(rec);
  ++port.frames;
  port.latest_time = t;
  port.gated = in.motion.present;
  for (Detection& d : rec.detections) d.track_id = 0;
  // After frames gated for lack of motion (or a keep-alive), nothing moved in the gap: no
  // velocity is carried across it.
  const bool idle_gap = in.motion.present && (in.motion.keepalive || in.gated > 0);
  for (State& st : port.tracks) {
    if (idle_gap) {
      st.u.stop();
      st.v.stop();
      st.s.stop();
    }
    st.predict(t);
  }

  const std::size_t n_old = port.tracks.size();
  std::vector<char> moved(n_old, 0);  // stationary changed: 1 became stationary, 2 moving
  std::vector<char> matched(n_old, 0);
  for (const auto& [label, dets] : by_label(rec)) {
    std::vector<std::size_t> cand;
    for (std::size_t k = 0; k < n_old; ++k) {
      if (port.tracks[k].track.label == label) cand.push_back(k);
    }
    std::vector<double> m(dets.size() * cand.size());
    for (std::size_t i = 0; i < dets.size(); ++i) {
      const Box db = box_of(rec.detections[dets[i]]);
      for (std::size_t j = 0; j < cand.size(); ++j) {
        m[i * cand.size() + j] = iou(db, port.tracks[cand[j]].box());
      }
    }
    const std::vector<int> match = assign(m, dets.size(), cand.size(), config_.iou_threshold);
    for (std::size_t i = 0; i < dets.size(); ++i) {
      Detection& d = rec.detections[dets[i]];
      if (match[i] < 0) {
        if (port.tracks.size() >= config_.max_tracks_per_port) {
          ++stats_.track_limit_hits;
          continue;
        }
        State st(d, t);
        st.birth_frame = port.frames;
        st.track.port = rec.port;
        st.track.label = d.label;
        st.track.start = t;
        port.tracks.push_back(std::move(st));
        moved.push_back(0);
      } else {
        const std::size_t k = cand[std::size_t(match[i])];
        port.tracks[k].update(d);
        port.tracks[k].misses = 0;
        matched[k] = 1;
      }
      // The track just matched or made (tracks may have grown: find it again by index).
      const std::size_t k = match[i] < 0 ? port.tracks.size() - 1 : cand[std::size_t(match[i])];
      State& st = port.tracks[k];
      Track& tr = st.track;
      tr.stream = rec.stream;
      tr.frame_width = res.width;
      tr.frame_height = res.height;
      tr.box = clamp_to_frame(st.box(), res.width, res.height);
      tr.confidence = d.confidence;
      if (tr.hits == 0 || d.confidence > tr.best_confidence) {
        tr.best_confidence = d.confidence;
        tr.best_task_id = rec.task_id;
        tr.best_box = box_of(d);
      }
      ++tr.hits;
      tr.last_seen = t;
      const bool confirmed_now = !tr.confirmed && tr.hits >= config_.confirm_hits &&
                                 port.frames - st.birth_frame < config_.confirm_window;
      if (confirmed_now) {
        tr.confirmed = true;
        tr.id = next_id_++;
        ++stats_.tracks_confirmed;
        // Its tentative hits in earlier results get its id too.
        for (const auto& [task, index] : st.tentative_hits) {
          auto e = std::find_if(res.earlier_ids.begin(), res.earlier_ids.end(),
                                [&t = task](const auto& x) { return x.first == t; });
          if (e == res.earlier_ids.end()) e = res.earlier_ids.insert(e, {task, {}});
          if (e->second.size() <= index) e->second.resize(index + 1, 0);
          e->second[index] = tr.id;
        }
        st.tentative_hits.clear();
        st.tentative_hits.shrink_to_fit();
      } else if (!tr.confirmed) {
        st.tentative_hits.emplace_back(rec.task_id, dets[i]);
      }
      // Stationary: the centre stays within a radius of an anchor for stationary_after_s.
      const Box b = st.box();
      const double radius = config_.stationary_max_motion * std::hypot(b.w, b.h);
      if (std::hypot(st.u.x - st.anchor_x, st.v.x - st.anchor_y) > radius) {
        st.anchor_x = st.u.x;
        st.anchor_y = st.v.x;
        st.anchor_t = t;
        if (tr.stationary) {
          tr.stationary = false;
          moved[k] = 2;
        }
      } else if (tr.confirmed && !tr.stationary && t - st.anchor_t >= config_.stationary_after_s) {
        tr.stationary = true;
        st.u.stop();
        st.v.stop();
        st.s.stop();
        moved[k] = 1;
      }
      if (tr.confirmed) {
        d.track_id = tr.id;
        res.updates.push_back(
            {confirmed_now ? TrackChange::confirmed : TrackChange::updated, tr, rec.task_id, t});
      }
      if (moved[k] != 0) {
        res.updates.push_back(
            {moved[k] == 1 ? TrackChange::stationary : TrackChange::moving, tr, rec.task_id, t});
      }
    }
  }

  // The tracks this frame looked for and did not find.
  const std::vector<Box> looked = looked_at(in.motion, res.width, res.height, config_.motion_pad);
  for (std::size_t k = 0; k < n_old; ++k) {
    if (matched[k]) continue;
    const Box b = port.tracks[k].box();
    bool seen_area = looked.empty();
    for (const Box& r : looked) seen_area = seen_area || overlaps(r, b);
    if (seen_area) ++port.tracks[k].misses;
  }

  // Tentative tracks past their first confirm_window frames never will be confirmed.
  std::vector<State>& ts = port.tracks;
  const auto too_late = [&](const State& st) {
    return !st.track.confirmed && port.frames - st.birth_frame + 1 >= config_.confirm_window;
  };
  const auto before = ts.size();
  ts.erase(std::remove_if(ts.begin(), ts.end(), too_late), ts.end());
  stats_.tentative_dropped += std::int64_t(before - ts.size());
  end_tracks(port, t, false, res.updates);
  return res;
}

void Tracker::label_late(const Port& port, ResultRecord& record) const {
  for (Detection& d : record.detections) d.track_id = 0;
  for (const auto& [label, dets] : by_label(record)) {
    std::vector<const Track*> cand;
    for (const State& st : port.tracks) {
      if (st.track.confirmed && st.track.label == label) cand.push_back(&st.track);
    }
    std::vector<double> m(dets.size() * cand.size());
    for (std::size_t i = 0; i < dets.size(); ++i) {
      for (std::size_t j = 0; j < cand.size(); ++j) {
        m[i * cand.size() + j] = iou(box_of(record.detections[dets[i]]), cand[j]->box);
      }
    }
    const std::vector<int> match = assign(m, dets.size(), cand.size(), config_.iou_threshold);
    for (std::size_t i = 0; i < dets.size(); ++i) {
      if (match[i] >= 0) record.detections[dets[i]].track_id = cand[std::size_t(match[i])]->id;
    }
  }
}

void Tracker::end_tracks(Port& port, double t, bool all, std::vector<TrackUpdate>& updates,
                         bool silent) {
  std::vector<State>& ts = port.tracks;
  auto keep = ts.begin();
  for (auto it = ts.begin(); it != ts.end(); ++it) {
    const Track& tr = it->track;
    const double limit = tr.stationary ? config_.stationary_end_after_s : config_.end_after_s;
    const bool evidence = !port.gated || silent || it->misses >= config_.gated_end_misses;
    if (all || (t - tr.last_seen > limit && evidence)) {
      if (tr.confirmed) {
        updates.push_back({TrackChange::ended, tr, "", tr.last_seen});
        ++stats_.tracks_ended;
      } else {
        ++stats_.tentative_dropped;
      }
    } else {
      if (keep != it) *keep = std::move(*it);
      ++keep;
    }
  }
  ts.erase(keep, ts.end());
}

}  // namespace fh::master
