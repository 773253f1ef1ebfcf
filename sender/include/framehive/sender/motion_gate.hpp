#pragma once
// MotionGate: decides per frame whether a stream sends it (--motion off|flag|gate), from the
// detector's verdict and the frame's time (passed in: an injectable clock). Not thread-safe:
// one per stream.

#include <cstdint>
#include <string>

namespace fh::sender {

/// --motion: off (no detector, datagrams as before), flag (every frame sent with its motion
/// extension), gate (only frames with motion, a hang-over, and idle keep-alives are sent).
enum class MotionMode { off, flag, gate };

/// "off", "flag", "gate".
const char* motion_mode_name(MotionMode m);
/// Parses a mode name; false for anything else.
bool parse_motion_mode(const std::string& text, MotionMode& out);

/// In gate mode a frame is sent when it moves, during the hang-over (frames up to `hangover`
/// seconds after the last moving frame, so an object leaving the scene is seen leaving), or as
/// a keep-alive when it is the first frame or `idle_interval` seconds passed since the last
/// frame sent; otherwise it is gated. In flag and off modes every frame is sent. Times are
/// seconds on any clock; a step backwards counts as no time passing.
class MotionGate {
 public:
  /// Why a frame is sent (or not): gated (not sent), motion, hangover, keepalive (gate mode,
  /// no motion: the first frame or idle_interval passed), still (flag/off mode, no motion).
  enum class Verdict { gated, motion, hangover, keepalive, still };

  /// Throws std::invalid_argument when idle_interval is not > 0 or hangover is negative.
  MotionGate(MotionMode mode, double idle_interval, double hangover);

  /// The verdict for a frame at time t that the detector saw as moving or not.
  Verdict decide(double t, bool moving);

  MotionMode mode() const { return mode_; }

 private:
  MotionMode mode_;          ///< --motion
  double idle_interval_;     ///< seconds between keep-alives
  double hangover_;          ///< seconds sent after the last motion
  bool started_ = false;     ///< a frame was seen
  double last_sent_ = 0;     ///< time of the last frame sent
  double last_motion_ = 0;   ///< time of the last moving frame
  bool had_motion_ = false;  ///< last_motion_ is set
  double last_t_ = 0;        ///< latest time seen (guards against backward steps)
};

}  // namespace fh::sender
