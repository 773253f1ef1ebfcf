// The tracker (master/src/tracker.*) on synthetic trajectories, time passed as numbers: identity
// through a crossing, an occlusion gap, dropped frames and out-of-order completion; late
// results; N-of-M confirmation; labels; stationary objects; ending by time (frames and tick());
// a noisy crowd with missed detections and false positives.
#include <boost/test/unit_test.hpp>

#include "tracker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using fh::master::Box;
using fh::master::Detection;
using fh::master::Track;
using fh::master::TrackChange;
using fh::master::TrackedResult;
using fh::master::Tracker;
using fh::master::TrackerConfig;
using fh::master::TrackInput;
using fh::master::TrackUpdate;

constexpr double k_t0 = 1.7e9;  // capture time origin, Unix s
constexpr double k_dt = 0.2;    // 5 fps
constexpr int k_width = 1280, k_height = 720;

/// A detection of a ground-truth object (object -1: a false positive).
struct Truth {
  int object = -1;
  Detection det;
};

/// A frame of the simulation: its id, its time since k_t0, its detections.
struct SimFrame {
  std::int64_t frame_id = 0;
  double t = 0;
  std::vector<Truth> truth;
};

Truth truth(int object, double x, double y, double w, double h, const std::string& label = "person",
            double confidence = 0.8) {
  Truth tr;
  tr.object = object;
  tr.det.label = label;
  tr.det.confidence = confidence;
  tr.det.x = int(std::lround(x));
  tr.det.y = int(std::lround(y));
  tr.det.w = int(std::lround(w));
  tr.det.h = int(std::lround(h));
  return tr;
}

/// n frames at 5 fps, frame_id = index, detections from `scene(index, t)`.
std::vector<SimFrame> simulate(int n, const std::function<std::vector<Truth>(int, double)>& scene) {
  std::vector<SimFrame> frames;
  for (int i = 0; i < n; ++i) {
    const double t = i * k_dt;
    frames.push_back(SimFrame{i, t, scene(i, t)});
  }
  return frames;
}

TrackInput input_of(const SimFrame& f, int port, const std::string& stream) {
  TrackInput in;
  in.record.task_id = stream + "-" + std::to_string(f.frame_id);
  in.record.port = port;
  in.record.stream = stream;
  in.record.frame_id = f.frame_id;
  in.record.captured_at = k_t0 + f.t;
  for (const Truth& tr : f.truth) in.record.detections.push_back(tr.det);
  in.width = k_width;
  in.height = k_height;
  return in;
}

/// A tracker with everything it released, and the ground truth of what it was fed.
struct Run {
  Tracker tracker;
  std::vector<TrackedResult> out;
  std::map<std::string, std::vector<int>> truth_of;  ///< task_id -> object per detection
  int port = 1;
  std::string stream = "cam1";

  /// The camera's motion information per frame (gating); none when unset.
  std::function<fh::shared::api::Motion(const SimFrame&)> motion_of;

  explicit Run(TrackerConfig c = {}) : tracker(c, 1) {}

  std::vector<TrackedResult> feed(const SimFrame& f, double mono) {
    TrackInput in = input_of(f, port, stream);
    if (motion_of) in.motion = motion_of(f);
    std::vector<int>& objects = truth_of[in.record.task_id];
    objects.clear();
    for (const Truth& tr : f.truth) objects.push_back(tr.object);
    return keep(tracker.add(std::move(in), mono));
  }
  std::vector<TrackedResult> tick(double mono) { return keep(tracker.tick(mono)); }
  std::vector<TrackedResult> keep(std::vector<TrackedResult> rs) {
    out.insert(out.end(), rs.begin(), rs.end());
    return rs;
  }
  /// In order, each frame arriving at its capture time (monotonic = frame time here), then a
  /// tick late enough to release anything held.
  void feed_all(const std::vector<SimFrame>& frames) {
    for (const SimFrame& f : frames) feed(f, f.t);
    if (!frames.empty()) tick(frames.back().t + 2);
  }

  std::vector<TrackUpdate> updates(TrackChange c, std::int64_t id = 0) const {
    std::vector<TrackUpdate> u;
    for (const TrackedResult& r : out) {
      for (const TrackUpdate& x : r.updates) {
        if (x.change == c && (id == 0 || x.track.id == id)) u.push_back(x);
      }
    }
    return u;
  }
  std::size_t count(TrackChange c, std::int64_t id = 0) const { return updates(c, id).size(); }

  /// Frames (released, not late) in release order with their detections' objects.
  template <typename F>
  void each_detection(F f) const {
    for (const TrackedResult& r : out) {
      const auto it = truth_of.find(r.record.task_id);
      if (it == truth_of.end()) continue;  // an "ended" notice, not a frame
      for (std::size_t i = 0; i < r.record.detections.size(); ++i) {
        f(r, it->second.at(i), r.record.detections[i]);
      }
    }
  }
  /// Identity switches (as CLEAR MOT counts them): per ground-truth object, how often the
  /// non-zero track id given to its detections differs from the one it was given before.
  int switches() const {
    std::map<int, std::int64_t> last;
    int n = 0;
    each_detection([&](const TrackedResult&, int object, const Detection& d) {
      if (object < 0 || d.track_id == 0) return;
      auto [it, fresh] = last.emplace(object, d.track_id);
      if (!fresh && it->second != d.track_id) {
        ++n;
        it->second = d.track_id;
      }
    });
    return n;
  }
  /// The track ids each object's detections were given (0 left out).
  std::map<int, std::set<std::int64_t>> ids_per_object() const {
    std::map<int, std::set<std::int64_t>> ids;
    each_detection([&](const TrackedResult&, int object, const Detection& d) {
      if (d.track_id != 0) ids[object].insert(d.track_id);
    });
    return ids;
  }
};

/// A small deterministic generator (the standard's distributions differ between libraries).
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double uniform() {  // [0, 1), splitmix64
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tracker)

BOOST_AUTO_TEST_CASE(two_people_crossing_keep_their_ids) {
  // A walks right at 60 px/s, B left at 100 px/s, 10 px lower: their boxes overlap fully at
  // t = 3.75 s and IoU alone cannot tell them apart there; the filters' velocities must.
  const auto frames = simulate(50, [](int, double t) {
    return std::vector<Truth>{truth(0, 100 + 60 * t, 300, 40, 100),
                              truth(1, 700 - 100 * t, 310, 44, 104)};
  });
  Run run;
  run.feed_all(frames);
  const int sw = run.switches();
  BOOST_TEST_MESSAGE("crossing: identity switches " << sw << ", tracks confirmed "
                                                    << run.tracker.stats().tracks_confirmed);
  BOOST_TEST(sw == 0);
  BOOST_TEST(run.tracker.stats().tracks_confirmed == 2);
  const auto ids = run.ids_per_object();
  BOOST_TEST(ids.at(0).size() == 1u);
  BOOST_TEST(ids.at(1).size() == 1u);
  BOOST_TEST(*ids.at(0).begin() != *ids.at(1).begin());
}

BOOST_AUTO_TEST_CASE(a_crossing_where_the_hidden_one_is_missed_keeps_ids) {
  // As above, but the detector sees only the front person (B) while their left edges are
  // within 60 px (1.5 widths): A is missed for 0.8 s and must be predicted through it.
  const auto frames = simulate(50, [](int, double t) {
    const double ax = 100 + 60 * t, bx = 700 - 100 * t;
    std::vector<Truth> v{truth(1, bx, 310, 44, 104)};
    if (std::abs(ax - bx) >= 60) v.push_back(truth(0, ax, 300, 40, 100));
    return v;
  });
  std::size_t missed = 0;
  for (const SimFrame& f : frames) missed += f.truth.size() == 1 ? 1 : 0;
  BOOST_TEST_REQUIRE(missed == 4u);
  Run run;
  run.feed_all(frames);
  const int sw = run.switches();
  BOOST_TEST_MESSAGE("crossing with the hidden one missed (" << missed << " frames): identity "
                                                             << "switches " << sw);
  BOOST_TEST(sw == 0);
  BOOST_TEST(run.ids_per_object().at(0).size() == 1u);
  BOOST_TEST(run.ids_per_object().at(1).size() == 1u);
  BOOST_TEST(run.tracker.stats().tracks_confirmed == 2);
}

BOOST_AUTO_TEST_CASE(an_occlusion_shorter_than_end_after_keeps_the_id) {
  // Walking at 50 px/s, unseen from 3.0 s to 4.4 s (frames keep coming, empty): 1.5 s gap.
  const auto frames = simulate(50, [](int, double t) {
    if (t > 2.9 && t < 4.45) return std::vector<Truth>{};
    return std::vector<Truth>{truth(0, 100 + 50 * t, 300, 50, 120)};
  });
  Run run;
  run.feed_all(frames);
  BOOST_TEST(run.ids_per_object().at(0).size() == 1u);
  BOOST_TEST(run.count(TrackChange::confirmed) == 1u);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);
}

BOOST_AUTO_TEST_CASE(an_occlusion_longer_than_end_after_gives_a_new_id_and_ends_the_old_once) {
  // Unseen from 3.0 s to 6.8 s: 4 s without it.
  const auto frames = simulate(60, [](int, double t) {
    if (t > 2.9 && t < 6.85) return std::vector<Truth>{};
    return std::vector<Truth>{truth(0, 100 + 50 * t, 300, 50, 120)};
  });
  Run run;
  run.feed_all(frames);
  const auto ids = run.ids_per_object().at(0);
  BOOST_TEST_REQUIRE(ids.size() == 2u);
  const std::int64_t old_id = *ids.begin(), new_id = *ids.rbegin();
  BOOST_TEST(run.count(TrackChange::ended, old_id) == 1u);
  BOOST_TEST(run.count(TrackChange::ended, new_id) == 0u);
  const TrackUpdate end = run.updates(TrackChange::ended, old_id).at(0);
  BOOST_TEST(end.task_id == "");
  BOOST_TEST(end.time == end.track.last_seen);
  BOOST_TEST(end.time == k_t0 + frames.at(14).t);  // the last frame it was seen in
  BOOST_TEST(run.count(TrackChange::confirmed) == 2u);
}

namespace {

/// What the tracker said, comparable between runs: released frames with their ids, updates.
std::vector<std::string> transcript(const std::vector<TrackedResult>& out) {
  std::vector<std::string> lines;
  for (const TrackedResult& r : out) {
    std::string line = r.record.task_id + ":";
    for (const Detection& d : r.record.detections) line += " " + std::to_string(d.track_id);
    for (const TrackUpdate& u : r.updates) {
      line += " [" + std::to_string(int(u.change)) + " " + std::to_string(u.track.id) + " " +
              u.task_id + " " + std::to_string(u.time) + " " + std::to_string(u.track.box.x) + "," +
              std::to_string(u.track.box.y) + "]";
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<SimFrame> three_walkers(int n) {
  return simulate(n, [](int, double t) {
    return std::vector<Truth>{truth(0, 100 + 40 * t, 100, 40, 100),
                              truth(1, 900 - 30 * t, 300, 50, 120),
                              truth(2, 500, 600 - 20 * t, 60, 60, "car")};
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(out_of_order_completion_within_the_window_is_the_same_as_in_order) {
  const auto frames = three_walkers(40);
  Run in_order;
  in_order.feed_all(frames);

  // Permuted within blocks of 4, arriving one per 0.2 s (the same arrival times as in order),
  // with tick() between arrivals as the master calls it (it releases by time, too).
  const int perm[4] = {2, 0, 3, 1};
  Run shuffled;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::size_t block = i / 4 * 4, j = block + std::size_t(perm[i % 4]);
    shuffled.feed(frames.at(j), double(i) * k_dt);  // 40 frames: whole blocks
    shuffled.tick(double(i) * k_dt + 0.1);
  }
  shuffled.tick(frames.back().t + 2);

  BOOST_TEST(shuffled.tracker.stats().late_results == 0);
  BOOST_TEST(in_order.tracker.stats().tracks_confirmed == 3);
  const auto a = transcript(in_order.out), b = transcript(shuffled.out);
  BOOST_TEST(a == b, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_third_frame_dropped_keeps_identity) {
  // Two 40 px wide people speeding up to 120 px/s (40 px/s^2 for 3 s), one each way; every
  // third frame never arrives, and frames 31..35 (1.2 s, 144 px of motion) never arrive
  // either. Across the long gap only a prediction over the real dt finds them again (one
  // frame step, 0.2 s, would leave 120 px between prediction and detection); across the short
  // gaps IoU of the last box (48 px apart, 0.09) would not match.
  const auto x_at = [](double t) { return t < 3 ? 20 * t * t : 180 + 120 * (t - 3); };
  auto frames = simulate(50, [&](int, double t) {
    return std::vector<Truth>{truth(0, 100 + x_at(t), 100, 40, 100),
                              truth(1, 1140 - x_at(t), 400, 40, 100)};
  });
  std::vector<SimFrame> kept;
  for (const SimFrame& f : frames) {
    if (f.frame_id % 3 != 2 && (f.frame_id < 31 || f.frame_id > 35)) kept.push_back(f);
  }
  Run run;
  run.feed_all(kept);
  BOOST_TEST(run.tracker.stats().late_results == 0);
  BOOST_TEST(run.tracker.stats().tracks_confirmed == 2);
  BOOST_TEST(run.ids_per_object().at(0).size() == 1u);
  BOOST_TEST(run.ids_per_object().at(1).size() == 1u);
  BOOST_TEST(run.switches() == 0);
  // Confirmed at their third frame (frame 3), never without an id afterwards.
  std::size_t without_id = 0;
  run.each_detection([&](const TrackedResult& r, int, const Detection& d) {
    without_id += r.record.frame_id >= 3 && d.track_id == 0 ? 1 : 0;
  });
  BOOST_TEST(without_id == 0u);
  // Released in frame_id order although every gap waited for the window.
  std::int64_t prev = -1;
  for (const TrackedResult& r : run.out) {
    BOOST_TEST(r.record.frame_id > prev);
    prev = r.record.frame_id;
  }
}

BOOST_AUTO_TEST_CASE(a_late_result_gets_its_id_by_iou_and_is_counted) {
  const auto frames = simulate(
      30, [](int, double t) { return std::vector<Truth>{truth(0, 100 + 20 * t, 100, 60, 120)}; });
  Run run;
  for (const SimFrame& f : frames) {
    if (f.frame_id != 20) run.feed(f, f.t);
  }
  const auto ids = run.ids_per_object().at(0);
  BOOST_TEST_REQUIRE(ids.size() == 1u);
  const std::int64_t id = *ids.begin();
  const std::size_t updated = run.count(TrackChange::updated);
  // Frame 20 completes after 21.. were released (held > 1 s).
  const auto late = run.feed(frames.at(20), frames.back().t + 0.1);
  BOOST_TEST_REQUIRE(late.size() == 1u);
  BOOST_TEST(late[0].record.frame_id == 20);
  BOOST_TEST(late[0].record.detections.at(0).track_id == id);
  BOOST_TEST(late[0].updates.empty());
  BOOST_TEST(run.count(TrackChange::updated) == updated);
  BOOST_TEST(run.tracker.stats().late_results == 1);
  // Far from the track: no id.
  SimFrame elsewhere = frames.at(5);
  elsewhere.truth = {truth(0, 900, 500, 60, 120)};
  const auto late2 = run.feed(elsewhere, frames.back().t + 0.2);
  BOOST_TEST_REQUIRE(late2.size() == 1u);
  BOOST_TEST(late2[0].record.detections.at(0).track_id == 0);
  BOOST_TEST(run.tracker.stats().late_results == 2);
}

BOOST_AUTO_TEST_CASE(confirmation_takes_n_of_the_first_m_frames) {
  // Object 0 always there; object 1 a single false positive in frame 3; object 2 in frames
  // 10, 12 (2 of 5: dropped); object 3 in frames 20, 22, 24 (3 of 5: confirmed at frame 24).
  const auto frames = simulate(40, [](int i, double) {
    std::vector<Truth> v{truth(0, 100, 100, 50, 100)};
    if (i == 3) v.push_back(truth(1, 600, 300, 50, 100));
    if (i == 10 || i == 12) v.push_back(truth(2, 800, 300, 50, 100));
    if (i == 20 || i == 22 || i == 24 || i == 25) v.push_back(truth(3, 400, 500, 50, 100));
    return v;
  });
  Run run;
  run.feed_all(frames);
  const auto ids = run.ids_per_object();
  BOOST_TEST(ids.count(1) == 0u);
  BOOST_TEST(ids.count(2) == 0u);
  BOOST_TEST_REQUIRE(ids.count(3) == 1u);
  BOOST_TEST(run.tracker.stats().tracks_confirmed == 2);
  BOOST_TEST(run.tracker.stats().tentative_dropped >= 2);
  const std::int64_t id3 = *ids.at(3).begin();
  const auto confirmed = run.updates(TrackChange::confirmed, id3);
  BOOST_TEST_REQUIRE(confirmed.size() == 1u);
  BOOST_TEST(confirmed[0].task_id == "cam1-24");
  BOOST_TEST(confirmed[0].track.hits == 3);
  // The confirming frame's detection carries the id; no "updated" for that frame.
  for (const TrackedResult& r : run.out) {
    if (r.record.task_id != "cam1-24") continue;
    BOOST_TEST(r.record.detections.at(1).track_id == id3);
    for (const TrackUpdate& u : r.updates) {
      BOOST_TEST(!(u.change == TrackChange::updated && u.track.id == id3));
    }
  }
  BOOST_TEST(run.count(TrackChange::updated, id3) == 1u);  // frame 25
  // Its tentative hits (frames 20 and 22, detection 1 each) get the id with the confirming
  // result; the false positives never confirmed get none.
  std::map<std::string, std::vector<std::int64_t>> earlier;
  for (const TrackedResult& r : run.out) {
    for (const auto& [task, ids_of] : r.earlier_ids) {
      BOOST_TEST(r.record.task_id == (ids_of.back() == id3 ? "cam1-24" : "cam1-2"));
      earlier[task] = ids_of;
    }
  }
  BOOST_TEST(earlier.at("cam1-20") == (std::vector<std::int64_t>{0, id3}),
             boost::test_tools::per_element());
  BOOST_TEST(earlier.at("cam1-22") == (std::vector<std::int64_t>{0, id3}),
             boost::test_tools::per_element());
  BOOST_TEST(earlier.count("cam1-3") == 0u);
  BOOST_TEST(earlier.count("cam1-10") == 0u);
  BOOST_TEST(earlier.count("cam1-12") == 0u);
}

BOOST_AUTO_TEST_CASE(the_assignment_maximizes_total_iou_not_greedy) {
  // Two still 100 px boxes at x = 100 and 160; then detections at x = 125 (IoU 0.60 with the
  // first, 0.48 with the second) and x = 40 (0.25 with the first, 0 with the second). Greedy
  // (highest IoU first) would give the first track to x = 125 and leave x = 40 without one;
  // the optimal assignment (0.48 + 0.25 > 0.60) matches both.
  auto frames = simulate(11, [](int i, double) {
    if (i < 10)
      return std::vector<Truth>{truth(0, 100, 100, 100, 100), truth(1, 160, 100, 100, 100)};
    return std::vector<Truth>{truth(1, 125, 100, 100, 100), truth(0, 40, 100, 100, 100)};
  });
  Run run;
  run.feed_all(frames);
  const auto& last = run.out.back();
  BOOST_TEST_REQUIRE(last.record.frame_id == 10);
  BOOST_TEST(run.switches() == 0);
  BOOST_TEST(last.record.detections.at(0).track_id != 0);
  BOOST_TEST(last.record.detections.at(1).track_id != 0);
}

BOOST_AUTO_TEST_CASE(different_labels_never_share_a_track) {
  const auto frames = simulate(20, [](int, double t) {
    return std::vector<Truth>{truth(0, 100 + 30 * t, 100, 50, 100, "person"),
                              truth(1, 100 + 30 * t, 100, 50, 100, "bicycle")};
  });
  Run run;
  run.feed_all(frames);
  const auto ids = run.ids_per_object();
  BOOST_TEST_REQUIRE(ids.at(0).size() == 1u);
  BOOST_TEST_REQUIRE(ids.at(1).size() == 1u);
  BOOST_TEST(*ids.at(0).begin() != *ids.at(1).begin());
  std::set<std::string> labels;
  for (const Track& t : run.tracker.tracks(1)) labels.insert(t.label);
  BOOST_TEST(labels == (std::set<std::string>{"bicycle", "person"}));
}

namespace {

/// A parked box jittering +-2 px from (300, 200) while `present(t)`.
std::vector<SimFrame> parked(int n, const std::function<bool(double)>& present) {
  Rng rng(7);
  return simulate(n, [&](int, double t) {
    const double jx = std::round(rng.uniform(-2, 2)), jy = std::round(rng.uniform(-2, 2));
    if (!present(t)) return std::vector<Truth>{};
    return std::vector<Truth>{truth(0, 300 + jx, 200 + jy, 80 + jx, 50 + jy, "car")};
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_parked_car_becomes_stationary_once) {
  Run run;
  run.feed_all(parked(100, [](double) { return true; }));  // 20 s
  const auto ids = run.ids_per_object().at(0);
  BOOST_TEST_REQUIRE(ids.size() == 1u);
  BOOST_TEST(run.count(TrackChange::confirmed) == 1u);
  BOOST_TEST(run.count(TrackChange::stationary) == 1u);
  BOOST_TEST(run.count(TrackChange::moving) == 0u);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);
  const TrackUpdate st = run.updates(TrackChange::stationary).at(0);
  // Confirmed at 0.4 s, stationary stationary_after_s (10 s) after its anchor (the first frame).
  BOOST_TEST(st.time - k_t0 >= 10.0 - 1e-6);
  BOOST_TEST(st.time - k_t0 <= 10.4 + 1e-6);
  BOOST_TEST(st.track.stationary);
  BOOST_TEST(run.tracker.tracks(1).at(0).stationary);
}

BOOST_AUTO_TEST_CASE(set_config_changes_the_thresholds_for_tracks_already_held) {
  Run run;
  const std::vector<SimFrame> frames = parked(100, [](double) { return true; });  // 20 s
  for (std::size_t i = 0; i < 20; ++i) run.feed(frames[i], frames[i].t);          // 4 s: not yet
  BOOST_TEST(run.count(TrackChange::stationary) == 0u);
  TrackerConfig c = run.tracker.config();
  c.stationary_after_s = 3.0;  // a reload: the parked car's 4 s now suffice
  run.tracker.set_config(c);
  BOOST_TEST(run.tracker.config().stationary_after_s == 3.0);
  for (std::size_t i = 20; i < 30; ++i) run.feed(frames[i], frames[i].t);
  run.tick(frames[29].t + 2);
  BOOST_TEST_REQUIRE(run.count(TrackChange::stationary) == 1u);
  BOOST_TEST(run.updates(TrackChange::stationary).at(0).time - k_t0 <= 5.0 + 1e-6);
  BOOST_TEST(run.count(TrackChange::confirmed) == 1u);  // the same track
  // confirm_window below confirm_hits is raised to it, as at construction.
  c.confirm_hits = 4;
  c.confirm_window = 2;
  run.tracker.set_config(c);
  BOOST_TEST(run.tracker.config().confirm_window == 4);
}

BOOST_AUTO_TEST_CASE(a_stationary_track_unseen_for_60_s_keeps_its_id_and_moves_on) {
  // Parked for 15 s, missed by the detector for 60 s (frames keep coming), seen again for 5 s,
  // then driving off right at 50 px/s.
  Rng rng(3);
  const auto frames = simulate(460, [&](int, double t) {
    const double jx = std::round(rng.uniform(-2, 2));
    if (t >= 15 && t < 75) return std::vector<Truth>{};
    const double x = t < 80 ? 300 : 300 + 50 * (t - 80);
    return std::vector<Truth>{truth(0, x + jx, 200, 80, 50, "car")};
  });
  Run run;
  run.feed_all(frames);
  BOOST_TEST(run.ids_per_object().at(0).size() == 1u);
  BOOST_TEST(run.count(TrackChange::stationary) == 1u);
  BOOST_TEST(run.count(TrackChange::moving) == 1u);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);
  const auto moving = run.updates(TrackChange::moving).at(0);
  BOOST_TEST(moving.time - k_t0 >= 80.0);
  BOOST_TEST(moving.time - k_t0 <= 81.0);
}

BOOST_AUTO_TEST_CASE(a_stationary_track_ends_after_stationary_end_after_s) {
  const auto frames = parked(800, [](double t) { return t < 15; });  // then 145 s unseen
  Run run;
  run.feed_all(frames);
  const auto ended = run.updates(TrackChange::ended);
  BOOST_TEST_REQUIRE(ended.size() == 1u);
  BOOST_TEST(ended[0].time == k_t0 + frames.at(74).t);
  BOOST_TEST(ended[0].track.stationary);
  // Ended by the first frame more than 120 s after last_seen.
  for (const TrackedResult& r : run.out) {
    if (r.updates.empty() || r.updates[0].change != TrackChange::ended) continue;
    BOOST_TEST(r.record.captured_at - k_t0 > 134.8);
    BOOST_TEST(r.record.captured_at - k_t0 <= 135.0 + 1e-6);
  }
}

BOOST_AUTO_TEST_CASE(tick_ends_the_tracks_of_a_silent_port_each_once) {
  const auto frames = simulate(20, [](int, double t) {
    return std::vector<Truth>{truth(0, 100 + 30 * t, 100, 50, 100),
                              truth(1, 700 - 30 * t, 400, 50, 100)};
  });
  Run run;
  for (const SimFrame& f : frames) run.feed(f, 1000 + f.t);  // monotonic clock != capture time
  const double last = 1000 + frames.back().t;
  BOOST_TEST(run.tracker.tracks(1).size() == 2u);
  std::map<std::int64_t, int> ended;
  double first_end = 0;
  for (double now = last + 0.1; now < last + 20; now += 0.25) {
    for (const TrackedResult& r : run.tick(now)) {
      BOOST_TEST(r.record.task_id == "");
      BOOST_TEST(r.record.port == 1);
      for (const TrackUpdate& u : r.updates) {
        BOOST_TEST((u.change == TrackChange::ended));
        if (ended.empty()) first_end = now;
        ++ended[u.track.id];
      }
    }
  }
  BOOST_TEST(ended.size() == 2u);
  for (const auto& [id, n] : ended) BOOST_TEST(n == 1);
  BOOST_TEST(first_end - last > 3.0);
  BOOST_TEST(first_end - last <= 3.35 + 1e-6);
  BOOST_TEST(run.tracker.tracks(1).empty());
  BOOST_TEST(run.tracker.stats().tracks_ended == 2);
}

BOOST_AUTO_TEST_CASE(a_new_stream_on_the_port_ends_its_tracks_and_restarts_ordering) {
  const auto frames = three_walkers(20);
  Run run;
  run.feed_all(frames);
  BOOST_TEST(run.tracker.tracks(1).size() == 3u);
  run.stream = "cam2";
  const auto out = run.feed(frames.at(0), 100);  // frame ids restart
  std::size_t ended = 0;
  for (const TrackedResult& r : out) {
    for (const TrackUpdate& u : r.updates) ended += u.change == TrackChange::ended ? 1 : 0;
  }
  BOOST_TEST(ended == 3u);
  BOOST_TEST(run.tracker.tracks(1).empty());
  BOOST_TEST(run.tracker.stats().late_results == 0);  // frame 0 of cam2 is not late
  // drop_port ends what the new stream built.
  for (std::size_t i = 1; i < frames.size(); ++i) run.feed(frames.at(i), 100 + double(i) * k_dt);
  BOOST_TEST(run.tracker.tracks(1).size() == 3u);
  const auto dropped = run.tracker.drop_port(1, 200);
  BOOST_TEST_REQUIRE(dropped.size() == 1u);
  BOOST_TEST(dropped[0].updates.size() == 3u);
  BOOST_TEST(run.tracker.tracks(1).empty());
  BOOST_TEST(run.tracker.drop_port(1, 200).empty());
}

BOOST_AUTO_TEST_CASE(frame_ids_far_backwards_restart_the_port_near_ones_are_late) {
  auto frames = three_walkers(20);
  for (SimFrame& f : frames) f.frame_id += 5000;
  Run run;
  run.feed_all(frames);
  BOOST_TEST(run.tracker.tracks(1).size() == 3u);
  SimFrame near = frames.at(10);  // 5010: below the released 5019, not far: late
  run.feed(near, 10);
  BOOST_TEST(run.tracker.stats().late_results == 1);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);
  SimFrame far = frames.at(0);
  far.frame_id = 3000;  // 2019 back: the sender restarted
  run.feed(far, 11);
  BOOST_TEST(run.tracker.stats().late_results == 1);
  BOOST_TEST(run.count(TrackChange::ended) == 3u);
  // Extreme ids (the sender's, any int64) are taken without overflow (UBSan checks).
  using lim = std::numeric_limits<std::int64_t>;
  for (std::int64_t id : {lim::max(), lim::min(), std::int64_t(0), lim::max() - 1}) {
    SimFrame f = frames.at(0);
    f.frame_id = id;
    run.feed(f, 12);
  }
  run.tick(100);
  BOOST_TEST(run.tracker.stats().results == 20 + 2 + 4);
}

BOOST_AUTO_TEST_CASE(a_restarted_sender_with_ids_from_zero_is_tracked_at_once) {
  // The sender stopped after frame 199 and started again (same stream): its ids restart at 0
  // but its frames are captured later than everything released. Not late results: a restart.
  auto frames = three_walkers(200);
  Run run;
  run.feed_all(frames);
  BOOST_TEST(run.count(TrackChange::confirmed) == 3u);
  auto again = three_walkers(10);
  for (SimFrame& f : again) f.t += frames.back().t + 30;  // 30 s later, ids 0..9
  for (const SimFrame& f : again) run.feed(f, f.t);
  run.tick(again.back().t + 2);
  BOOST_TEST(run.tracker.stats().late_results == 0);
  BOOST_TEST(run.count(TrackChange::ended) >= 3u);      // the first run's tracks
  BOOST_TEST(run.count(TrackChange::confirmed) == 6u);  // and three new ones
  // A genuinely late frame (captured before the released ones) is still late.
  SimFrame late = again.at(2);
  run.feed(late, again.back().t + 3);
  BOOST_TEST(run.tracker.stats().late_results == 1);
}

BOOST_AUTO_TEST_CASE(bounds_held_results_and_tracks_per_port) {
  TrackerConfig c;
  c.reorder_max_frames = 4;
  c.max_tracks_per_port = 3;
  const auto frames = simulate(20, [](int, double) {
    std::vector<Truth> v;
    for (int k = 0; k < 5; ++k) v.push_back(truth(k, 100 + 150 * k, 100, 50, 100));
    return v;
  });
  Run run(c);
  // All at the same monotonic time, none the next after a released one: only the bound
  // releases, and beyond 4 held the lowest goes.
  std::size_t released = 0;
  for (int i : {18, 16, 14, 12, 10}) released += run.feed(frames.at(std::size_t(i)), 0).size();
  BOOST_TEST(released == 1u);
  BOOST_TEST(run.out.at(0).record.frame_id == 10);
  BOOST_TEST(run.tracker.stats().track_limit_hits == 2);  // 5 detections, 3 tracks
  for (int i : {0, 1}) released += run.feed(frames.at(std::size_t(i)), 0).size();
  BOOST_TEST(run.tracker.stats().late_results == 2);  // below the released frame 10
  run.tick(10);
  BOOST_TEST(run.out.size() == 2u + 1u + 4u);
  BOOST_TEST(run.tracker.tracks(1).size() <= 3u);
}

BOOST_AUTO_TEST_CASE(a_noisy_crowd_keeps_most_identities) {
  // 10 people random-walking in 1280x720 for 60 s at 5 fps; boxes 30..70 px wide (aspect
  // 0.4), jitter 3% of the size, 5% of detections missed, 0.2 false positives per frame
  // (2% of the 10 slots) at random places.
  constexpr int k_objects = 10;
  struct Walker {
    double x, y, vx, vy, w;
  };
  Rng rng(42);
  std::vector<Walker> ws;
  for (int k = 0; k < k_objects; ++k) {
    ws.push_back(Walker{rng.uniform(50, 1150), rng.uniform(50, 550), rng.uniform(-60, 60),
                        rng.uniform(-40, 40), rng.uniform(30, 70)});
  }
  const auto frames = simulate(300, [&](int, double) {
    std::vector<Truth> v;
    for (int k = 0; k < k_objects; ++k) {
      Walker& a = ws[std::size_t(k)];
      a.vx = std::clamp(a.vx + rng.uniform(-8, 8), -80.0, 80.0);
      a.vy = std::clamp(a.vy + rng.uniform(-8, 8), -60.0, 60.0);
      a.x += a.vx * k_dt;
      a.y += a.vy * k_dt;
      const double h = a.w / 0.4;
      if (a.x < 0 || a.x + a.w > k_width) a.vx = -a.vx;
      if (a.y < 0 || a.y + h > k_height) a.vy = -a.vy;
      a.x = std::clamp(a.x, 0.0, k_width - a.w);
      a.y = std::clamp(a.y, 0.0, k_height - h);
      const double j = 0.03 * std::sqrt(a.w * h);
      if (rng.uniform() < 0.05) continue;
      v.push_back(truth(k, a.x + rng.uniform(-j, j), a.y + rng.uniform(-j, j),
                        a.w + rng.uniform(-j, j), h + rng.uniform(-j, j)));
    }
    for (int k = 0; k < k_objects; ++k) {
      if (rng.uniform() < 0.02) {
        v.push_back(truth(-1, rng.uniform(0, 1200), rng.uniform(0, 550), 50, 125, "person", 0.4));
      }
    }
    return v;
  });
  Run run;
  run.feed_all(frames);
  const int sw = run.switches();
  const auto st = run.tracker.stats();
  std::size_t fp_with_id = 0;
  run.each_detection([&](const TrackedResult&, int object, const Detection& d) {
    fp_with_id += object < 0 && d.track_id != 0 ? 1 : 0;
  });
  BOOST_TEST_MESSAGE("noisy crowd: identity switches "
                     << sw << ", tracks confirmed " << st.tracks_confirmed << ", tentative dropped "
                     << st.tentative_dropped << ", false positives given an id " << fp_with_id);
  // Bound: walkers of this scene cross a few times a minute; a crossing of two people of the
  // same label and similar size may swap them once. 5 switches is half an object each.
  BOOST_TEST(sw <= 5);
  BOOST_TEST(st.tracks_confirmed <= 2 * k_objects);
  BOOST_TEST(st.tracks_confirmed >= k_objects);
  // Scattered false positives never repeat at one place: never confirmed.
  BOOST_TEST(fp_with_id == 0u);
}

// ---- Motion gating (docs/motion.md): frames only where something moves, keep-alives between.

namespace {

/// A motion frame whose boxes are these pixel boxes (normalized by the test frame's size).
fh::shared::api::Motion moving(std::vector<Box> boxes) {
  fh::shared::api::Motion m;
  m.present = true;
  m.score = 0.05;
  for (const Box& b : boxes) {
    m.boxes.push_back({b.x / k_width, b.y / k_height, b.w / k_width, b.h / k_height});
  }
  return m;
}

fh::shared::api::Motion keepalive() {
  fh::shared::api::Motion m;
  m.present = true;
  m.keepalive = true;
  return m;
}

/// A person walks in for 4 s (5 fps, motion frames around them), then stands still: the sender
/// gates, one keep-alive every 5 s until `leaves` s; the detector misses them in the keep-alive
/// at `missed_at`; after `leaves` the keep-alives show nobody. Frame ids count frames sent.
std::vector<SimFrame> walk_in_and_stand(double leaves, double missed_at, double until) {
  std::vector<SimFrame> frames;
  std::int64_t id = 0;
  for (double t = 0; t < 4.0 - 1e-9; t += k_dt) {
    frames.push_back(SimFrame{id++, t, {truth(0, 200 + 25 * t, 300, 60, 150)}});
  }
  for (double t = 5; t <= until + 1e-9; t += 5) {
    SimFrame f{id++, t, {}};
    if (t < leaves && std::abs(t - missed_at) > 1e-9) f.truth = {truth(0, 300, 300, 60, 150)};
    frames.push_back(f);
  }
  return frames;
}

std::function<fh::shared::api::Motion(const SimFrame&)> walk_then_keepalives() {
  return [](const SimFrame& f) {
    if (f.t < 4.0) return moving({Box{190 + 25 * f.t, 290, 80, 170}});
    return keepalive();
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_person_standing_through_gating_keeps_one_track_despite_a_missed_keepalive) {
  // 60 s standing, seen only in keep-alives 5 s apart, missed once (at 10 s, before it is
  // stationary: 5 s unseen is past end_after_s).
  const auto frames = walk_in_and_stand(65, 10, 60);
  Run run;
  run.motion_of = walk_then_keepalives();
  run.feed_all(frames);
  BOOST_TEST(run.ids_per_object().at(0).size() == 1u);
  BOOST_TEST(run.count(TrackChange::confirmed) == 1u);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);
  BOOST_TEST(run.count(TrackChange::stationary) == 1u);
  BOOST_TEST(run.switches() == 0);

  // The same frames without motion information (an ungated camera that sent only these): the
  // gaps end the track at each keep-alive, so the object is counted again and again.
  Run plain;
  plain.feed_all(frames);
  BOOST_TEST(plain.ids_per_object().at(0).size() > 1u);
  BOOST_TEST(plain.count(TrackChange::ended) >= 1u);
}

BOOST_AUTO_TEST_CASE(under_gating_a_track_ends_after_two_keepalives_miss_it) {
  // Stands until 15 s (not yet stationary), gone from then: keep-alives at 15 and 20 s miss it;
  // it ends at 20 s, its end time its last sighting (10 s).
  const auto frames = walk_in_and_stand(15, -1, 30);
  Run run;
  run.motion_of = walk_then_keepalives();
  run.feed_all(frames);
  const auto ended = run.updates(TrackChange::ended);
  BOOST_TEST_REQUIRE(ended.size() == 1u);
  BOOST_TEST(ended[0].time == k_t0 + 10);
  for (const TrackedResult& r : run.out) {
    if (r.updates.empty() || r.updates[0].change != TrackChange::ended) continue;
    BOOST_TEST(r.record.captured_at == k_t0 + 20);
  }
}

BOOST_AUTO_TEST_CASE(motion_elsewhere_is_no_evidence_against_a_still_track) {
  // A stands still at the left (seen in a keep-alive); B walks on the right for 20 s: the frames
  // carry motion boxes around B only, and (cropped detection) detections of B only. A keeps its
  // track and is found again by the next keep-alive; B gets its own.
  std::vector<SimFrame> frames;
  std::int64_t id = 0;
  for (double t = 0; t < 1.0 - 1e-9; t += k_dt) {  // A confirmed on full frames
    frames.push_back(SimFrame{id++, t, {truth(0, 100, 300, 60, 150)}});
  }
  for (double t = 1; t < 21.0 - 1e-9; t += k_dt) {
    frames.push_back(SimFrame{id++, t, {truth(1, 600 + 20 * t, 280, 60, 150)}});
  }
  frames.push_back(SimFrame{id++, 22, {truth(0, 100, 300, 60, 150)}});  // keep-alive
  const auto motion = [](const SimFrame& f) {
    if (f.t < 1.0 || f.t > 21.5) return keepalive();
    return moving({Box{590 + 20 * f.t, 270, 80, 170}});
  };
  Run run;
  run.motion_of = motion;
  run.feed_all(frames);
  const auto ids = run.ids_per_object();
  BOOST_TEST(ids.at(0).size() == 1u);
  BOOST_TEST(ids.at(1).size() == 1u);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);

  // When the motion boxes cover A's place, the frames are evidence: A's track ends.
  Run covered;
  covered.motion_of = [](const SimFrame& f) {
    if (f.t < 1.0 || f.t > 21.5) return keepalive();
    return moving({Box{590 + 20 * f.t, 270, 80, 170}, Box{90, 290, 80, 170}});
  };
  covered.feed_all(frames);
  const std::int64_t a = *covered.ids_per_object().at(0).begin();
  BOOST_TEST(covered.count(TrackChange::ended, a) == 1u);
}

BOOST_AUTO_TEST_CASE(tick_ends_a_gated_ports_tracks_only_after_gated_silence) {
  const auto frames = walk_in_and_stand(100, -1, 10);
  Run run;
  run.motion_of = walk_then_keepalives();
  for (const SimFrame& f : frames) run.feed(f, 1000 + f.t);
  const double last = 1000 + frames.back().t;
  for (double now = last + 0.25; now <= last + 30.0; now += 0.25) run.tick(now);
  BOOST_TEST(run.count(TrackChange::ended) == 0u);  // idle, not gone: 30 s without a frame
  BOOST_TEST(run.tracker.tracks(1).size() == 1u);
  run.tick(last + 30.5);
  BOOST_TEST(run.count(TrackChange::ended) == 1u);
  BOOST_TEST(run.tracker.tracks(1).empty());
}

BOOST_AUTO_TEST_SUITE_END()
