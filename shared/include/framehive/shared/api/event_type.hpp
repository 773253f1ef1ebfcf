#pragma once
// The test of an event type against a pattern (docs/events.md): the master's rules ("types")
// and framehive-ctl events --type both filter with it. A pure function: thread-safe.

#include <string_view>

namespace fh::shared::api::event_type {

/// Whether type matches pattern: equal, or pattern is "family.*" and type starts "family.".
constexpr bool type_matches(std::string_view pattern, std::string_view type) {
  if (pattern == type) return true;
  if (pattern.size() < 2 || pattern.substr(pattern.size() - 2) != ".*") return false;
  std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // "object."
  return type.size() > prefix.size() && type.substr(0, prefix.size()) == prefix;
}

}  // namespace fh::shared::api::event_type
