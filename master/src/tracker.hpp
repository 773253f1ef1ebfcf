#pragma once
// The master's multi-object tracker (docs/events.md): per port and per label, SORT-style
// (Bewley et al. 2016) — a constant-velocity Kalman filter per track on [cx, cy, area, aspect]
// with real time steps (captured_at), IoU against the predictions, an optimal assignment
// (Hungarian), N-of-M confirmation, stationary detection. Results of a port complete out of
// order on several workers: a bounded reorder window releases them in frame_id order first.
// NOT thread-safe: one caller at a time (the caller serializes, e.g. under its own mutex).
//
// Decisions worth knowing:
// - The first result of a port (and of a restarted stream) is held like any other: released
//   when it has been held reorder_window_s or reorder_max_frames are held, so the port's first
//   frames may complete in any order without turning late. Afterwards a result is released at
//   once when its frame_id is the next after the last released one.
// - Frame time is captured_at; when it is 0, frame_id * 0.2 s (5 fps) stands in for it.
// - A result whose frame_id is <= the last released one (or already held) is late: returned at
//   once, its detections given the ids of confirmed tracks by IoU against their current boxes,
//   one to one, no filter update and no updates.
// - A different stream name on a port, or a frame_id more than 1000 below the port's latest,
//   is a restart: held results are released, the port's tracks end, ordering starts over.
// - Ended tracks found by tick() or drop_port() come in a TrackedResult that is no frame: its
//   record has only port and stream set (task_id empty, no detections).
// - Motion gating: a port is gated while its latest released frame carried motion information
//   (TrackInput::motion.present); see TrackerConfig::gated_end_misses.

#include "track_types.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace fh::master {

struct TrackerConfig {
  /// least IoU of a detection and a track's prediction to match
  double iou_threshold = 0.2;
  /// a tentative track is confirmed after confirm_hits ...
  int confirm_hits = 3;
  /// ... detections within its first confirm_window frames of the port (else dropped)
  int confirm_window = 5;
  /// a track unseen this long ends
  double end_after_s = 3.0;
  /// a stationary track unseen this long ends (parked objects missed by the detector keep their
  /// track)
  double stationary_end_after_s = 120.0;
  /// a confirmed track whose box centre stayed within stationary_max_motion for this long is
  /// stationary
  double stationary_after_s = 10.0;
  /// as a fraction of the box's diagonal
  double stationary_max_motion = 0.15;
  /// results held (monotonic seconds) to release them in frame_id order
  double reorder_window_s = 1.0;
  /// held results per port; the lowest frame_id is released beyond
  std::size_t reorder_max_frames = 32;
  /// tentative+confirmed; beyond, new detections start no track (counted)
  std::size_t max_tracks_per_port = 256;
  /// Motion gating (docs/motion.md): on a port whose frames carry the camera's motion
  /// information, a frame is evidence that a track is gone only where it looked — everywhere for
  /// a keep-alive frame or a frame without motion boxes, within its motion boxes (grown by
  /// motion_pad of their size on each side) otherwise — and a track unseen for its end time
  /// ends only once gated_end_misses such frames missed it (a keep-alive every 5 s that misses a
  /// standing person once does not end the track).
  int gated_end_misses = 2;
  double motion_pad = 0.25;
  /// A gated port sends nothing while nothing moves: tick() ends its tracks by time only after
  /// this long without any frame (the camera is gone, not idle).
  double gated_silence_s = 30.0;
};

class Tracker {
 public:
  /// Ids are given at confirmation: first_track_id, first_track_id + 1, ...
  Tracker(TrackerConfig config, std::int64_t first_track_id);
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  /// Takes a completed result; returns the results released now (this one and/or held ones), per
  /// port in frame_id order.
  std::vector<TrackedResult> add(TrackInput in, double now_mono);
  /// Releases results held longer than reorder_window_s and ends tracks unseen too long; call ~4x
  /// per second.
  std::vector<TrackedResult> tick(double now_mono);
  /// New parameters (a reloaded events config) for what comes next; tracks and held results
  /// stay.
  void set_config(TrackerConfig config);
  /// The parameters in use.
  const TrackerConfig& config() const { return config_; }
  /// The confirmed tracks of a port now (for counts per label).
  std::vector<Track> tracks(int port) const;

  struct Stats {
    std::int64_t results = 0;            ///< results taken by add()
    std::int64_t late_results = 0;       ///< of them, late (frame_id already released)
    std::int64_t tracks_confirmed = 0;   ///< tracks given an id
    std::int64_t tracks_ended = 0;       ///< confirmed tracks ended (by time, restart or drop_port)
    std::int64_t tentative_dropped = 0;  ///< tentative tracks never confirmed
    std::int64_t track_limit_hits = 0;   ///< detections starting no track: port full
  };
  /// The counters since construction.
  Stats stats() const;

  /// Forgets a port's held results and tracks (ending its tracks: returned as ended updates).
  std::vector<TrackedResult> drop_port(int port, double now_mono);

 private:
  struct State;  ///< one track with its filter (tracker.cpp)
  struct Held;   ///< a result waiting in the reorder window
  struct Port;   ///< a port's tracks and reorder window

  /// Releases what the window allows now, in frame_id order; all of it with `flush`.
  void release(Port& port, double now_mono, bool flush, std::vector<TrackedResult>& out);
  /// Runs one released result through the port's tracks.
  TrackedResult process(Port& port, TrackInput in);
  /// Gives a late result's detections the ids of confirmed tracks by IoU, no update.
  void label_late(const Port& port, ResultRecord& record) const;
  /// Ends the port's tracks unseen too long at frame time `t` (all with `all`); on a gated port
  /// only those missed by enough frames that looked for them, unless the port went `silent`.
  void end_tracks(Port& port, double t, bool all, std::vector<TrackUpdate>& updates,
                  bool silent = false);

  TrackerConfig config_;  ///< as given
  std::int64_t next_id_;  ///< id of the next confirmed track
  /// By port number; ordered so tick()'s output is deterministic.
  std::map<int, std::unique_ptr<Port>> ports_;
  Stats stats_;  ///< counters
};

}  // namespace fh::master
