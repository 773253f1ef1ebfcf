#include "framehive/sender/motion_gate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fh::sender {

const char* motion_mode_name(MotionMode m) {
  switch (m) {
    case MotionMode::off:
      return "off";
    case MotionMode::flag:
      return "flag";
    case MotionMode::gate:
      return "gate";
  }
  return "?";
}

bool parse_motion_mode(const std::string& text, MotionMode& out) {
  for (const MotionMode m : {MotionMode::off, MotionMode::flag, MotionMode::gate}) {
    if (text == motion_mode_name(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

MotionGate::MotionGate(MotionMode mode, double idle_interval, double hangover)
    : mode_(mode), idle_interval_(idle_interval), hangover_(hangover) {
  if (!(idle_interval > 0) || !std::isfinite(idle_interval)) {
    throw std::invalid_argument("idle interval must be > 0 seconds");
  }
  if (!(hangover >= 0) || !std::isfinite(hangover)) {
    throw std::invalid_argument("motion hang-over must be >= 0 seconds");
  }
}

MotionGate::Verdict MotionGate::decide(double t, bool moving) {
  if (!std::isfinite(t)) t = last_t_;
  if (started_) t = std::max(t, last_t_);  // never backwards
  last_t_ = t;
  Verdict v = Verdict::gated;
  if (moving) {
    v = Verdict::motion;
    last_motion_ = t;
    had_motion_ = true;
  } else if (mode_ != MotionMode::gate) {
    v = Verdict::still;  // flag and off send every frame
  } else if (had_motion_ && t - last_motion_ <= hangover_) {
    v = Verdict::hangover;
  } else if (!started_ || t - last_sent_ >= idle_interval_) {
    v = Verdict::keepalive;
  }
  started_ = true;
  if (v != Verdict::gated) last_sent_ = t;
  return v;
}

}  // namespace fh::sender
