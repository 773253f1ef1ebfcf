// Fuzz target: the --events-config parser (fh::master::parse_events_config: nlohmann's JSON
// parser, the line index of every key and value, and the checks of docs/events.md). Input: the
// file's bytes. Paths in it resolve against a directory that does not exist, so a secret or CA
// file is always a clear error, never a read.
//
// Checked: no crash; the only exception is ConfigError, whose message names the file and a
// line within the input ("PATH:LINE: ..."); an accepted config keeps the documented bounds
// (polygons of 3..64 points in 0..1, unique rule names, confidences in 0..1).
#include "fuzz_util.hpp"

#include "events_config.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace {

constexpr const char* k_path = "/nonexistent-fuzz-dir/events.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // configs are small; keeps one input fast
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = fh::master::parse_events_config(text, k_path);
    std::set<std::string> names;
    for (const auto& r : c->rules) {
      FH_FUZZ_CHECK(names.insert(r.name).second);
      FH_FUZZ_CHECK(r.min_confidence >= 0 && r.min_confidence <= 1);
      FH_FUZZ_CHECK(r.min_duration >= 0 && r.cooldown >= 0);
    }
    for (const auto& [port, zones] : c->zones) {
      FH_FUZZ_CHECK(port >= 1 && port <= 65535);
      for (const auto& z : zones) {
        FH_FUZZ_CHECK(z.polygon.size() >= 3 && z.polygon.size() <= 64);
        for (const auto& p : z.polygon) {
          FH_FUZZ_CHECK(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1);
        }
      }
    }
  } catch (const fh::master::ConfigError& e) {
    const std::string msg = e.what();
    const std::string prefix = std::string(k_path) + ":";
    FH_FUZZ_CHECK(msg.compare(0, prefix.size(), prefix) == 0);
    const auto line = std::strtol(msg.c_str() + prefix.size(), nullptr, 10);
    const auto lines = 1 + std::count(text.begin(), text.end(), '\n');
    FH_FUZZ_CHECK(line >= 1 && line <= lines);
  }
  return 0;
}
