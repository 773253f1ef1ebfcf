#pragma once
// The event type names (docs/events.md), the one place the master spells them, and the test of a
// rule's "types" entry (exact, or "family.*"). Constants and pure functions: thread-safe.

#include "framehive/shared/api/event_type.hpp"

#include <array>
#include <string_view>

namespace fh::master::event_type {

// A tracked object (rule_engine.hpp).
inline constexpr std::string_view object_start = "object.start";
inline constexpr std::string_view object_zone_enter = "object.zone_enter";
inline constexpr std::string_view object_zone_leave = "object.zone_leave";
inline constexpr std::string_view object_stationary = "object.stationary";
inline constexpr std::string_view object_end = "object.end";
// A camera (port).
inline constexpr std::string_view camera_stalled = "camera.stalled";
inline constexpr std::string_view camera_recovered = "camera.recovered";
inline constexpr std::string_view camera_loss = "camera.loss";
// A detector no live worker offers while frames wait for it.
inline constexpr std::string_view detector_unavailable = "detector.unavailable";
// A port's fallback chain (--detector PORT=A,B): its frames moved to a fallback because the
// detector they went to lost its last live worker, and back to the first choice.
inline constexpr std::string_view detector_fallback = "detector.fallback";
inline constexpr std::string_view detector_restored = "detector.restored";
// A worker.
inline constexpr std::string_view worker_dead = "worker.dead";
inline constexpr std::string_view worker_back = "worker.back";

/// Every known type, in the order above.
inline constexpr std::array<std::string_view, 13> all = {
    object_start,         object_zone_enter, object_zone_leave, object_stationary,
    object_end,           camera_stalled,    camera_recovered,  camera_loss,
    detector_unavailable, detector_fallback, detector_restored, worker_dead,
    worker_back};

/// The families ("object" of "object.start"); a rule may name a whole family as "object.*".
inline constexpr std::array<std::string_view, 4> families = {"object", "camera", "detector",
                                                             "worker"};

/// Whether type is one of all.
constexpr bool known_event_type(std::string_view type) {
  for (std::string_view t : all) {
    if (t == type) return true;
  }
  return false;
}

/// Whether pattern is a valid entry of a rule's "types": a known type or "family.*" of a known
/// family.
constexpr bool known_type_pattern(std::string_view pattern) {
  if (known_event_type(pattern)) return true;
  if (pattern.size() < 3 || pattern.substr(pattern.size() - 2) != ".*") return false;
  std::string_view family = pattern.substr(0, pattern.size() - 2);
  for (std::string_view f : families) {
    if (f == family) return true;
  }
  return false;
}

/// Whether type matches pattern: equal, or pattern is "family.*" and type starts "family."
/// (shared with framehive-ctl events --type).
using shared::api::event_type::type_matches;

/// The types a rule delivers when its "types" is empty: the object events but object.stationary.
inline constexpr std::array<std::string_view, 4> default_rule_types = {
    object_start, object_zone_enter, object_zone_leave, object_end};

}  // namespace fh::master::event_type
