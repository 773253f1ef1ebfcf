#pragma once
// The master's scheduling options as typed values: --detector PORT=NAME[,NAME...] (a port's
// detector or fallback chain) and --priority PORT=WEIGHT (its weight in the round robin).
// Pure functions: thread-safe.

#include <map>
#include <string>
#include <vector>

namespace fh::master {

/// --detector values (repeatable) as port -> detectors, first choice first. Throws
/// shared::UsageError naming the bad value: not PORT=NAME[,NAME...], a port outside 1..65535,
/// an empty name, a name with spaces or control characters, a detector twice in one chain, or
/// a port given twice.
std::map<int, std::vector<std::string>> parse_detector_options(
    const std::vector<std::string>& values);

/// --priority values (repeatable) as port -> weight. Throws shared::UsageError naming the bad
/// value: not PORT=WEIGHT, a port outside 1..65535, a weight that is not an integer in
/// 1..k_max_port_weight, or a port given twice.
std::map<int, int> parse_priority_options(const std::vector<std::string>& values);

}  // namespace fh::master
