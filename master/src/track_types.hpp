#pragma once
// What the tracker (tracker.hpp) tells the rest of the master: tracks, their changes, and the
// results it releases with track ids filled in. Plain values, not thread-safe by themselves.

#include "framehive/master/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fh::master {

/// A box in pixels of its frame (doubles: the Kalman filter's estimate).
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

/// A tracked object of one port and one label.
struct Track {
  std::int64_t id = 0;  ///< unique across master restarts; given when the track is confirmed
  int port = 0;
  std::string stream;
  std::string label;
  Box box;                     ///< latest estimate, pixels
  int frame_width = 0;         ///< of the frame it was last seen in (0: unknown)
  int frame_height = 0;        ///< of the frame it was last seen in (0: unknown)
  double confidence = 0;       ///< of its latest matched detection
  double best_confidence = 0;  ///< highest so far
  std::string best_task_id;    ///< the frame of that detection (its snapshot)
  Box best_box;                ///< its box in that frame
  double start = 0;            ///< capture time (Unix s) of its first detection
  double last_seen = 0;        ///< capture time of its latest detection
  int hits = 0;                ///< frames it was detected in
  bool confirmed = false;
  bool stationary = false;
};

enum class TrackChange {
  confirmed,   ///< became a track (N of M frames): object.start
  updated,     ///< a confirmed track matched a detection in a frame
  stationary,  ///< barely moved for stationary_after_s
  moving,      ///< a stationary track moved again
  ended,       ///< unseen for end_after_s: object.end
};

struct TrackUpdate {
  TrackChange change = TrackChange::updated;
  Track track;          ///< state after the change
  std::string task_id;  ///< the frame that caused it; empty when it ended by time
  double time = 0;      ///< capture time of that frame; for ended, the track's last_seen
};

/// A completed result as the tracker takes it: the record and its frame's size.
struct TrackInput {
  ResultRecord record;
  int width = 0;   ///< frame pixels, 0 = unknown
  int height = 0;  ///< frame pixels, 0 = unknown
  /// The camera's motion detector on this frame (Frame.motion): with gating, a frame with motion
  /// boxes is evidence only where it moved (docs/motion.md, "Tracks and stationary objects").
  shared::api::Motion motion;
  /// Frames the camera gated just before this one (Frame.gated): nothing moved meanwhile.
  std::int64_t gated = 0;
};

/// A result released by the tracker (in frame_id order per port, or at once when late), its
/// detections' track_id set (0: no confirmed track), with the changes it caused.
struct TrackedResult {
  ResultRecord record;
  int width = 0;
  int height = 0;
  std::vector<TrackUpdate> updates;
  /// Earlier results' detections that were the tentative hits of a track this result
  /// confirmed: per task id, the track id of each detection (0: not one of them, leave it).
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> earlier_ids;
};

}  // namespace fh::master
