#pragma once
// The one format of the "<kind>-stats key=value ..." lines every binary prints (sender-stats,
// receiver-stats, worker-stats, master-stats): StatsLine writes one, parse_stats_line reads one
// back (tests and scripts rely on the keys). Values, not thread-safe by themselves.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace fh::shared {

class StatsLine {
 public:
  /// Starts "<kind>-stats", e.g. StatsLine("receiver").
  explicit StatsLine(std::string_view kind);

  /// Appends " key=value"; values must not contain spaces (they are replaced by '_').
  StatsLine& add(std::string_view key, std::string_view value);
  StatsLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  StatsLine& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  /// A number with `decimals` digits after the point.
  StatsLine& add(std::string_view key, double value, int decimals);
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  StatsLine& add(std::string_view key, Int value) {
    return add(key, std::string_view(std::to_string(value)));
  }

  const std::string& str() const { return line_; }

 private:
  std::string line_;  ///< the line so far
};

/// The key=value fields of one stats line.
using StatsFields = std::map<std::string, std::string>;

/// The fields of `line` when "<kind>-stats " stands at its start or after a space (a log
/// prefix); nothing otherwise.
std::optional<StatsFields> parse_stats_line(std::string_view line, std::string_view kind);

}  // namespace fh::shared
