// Implementation of stats_line.hpp (library fh_testutil).
#include "stats_line.hpp"

#include "framehive/shared/stats_line.hpp"

#include <sstream>
#include <stdexcept>

namespace fh::test {

StatsFields stats_line(const std::string& text, const std::string& prefix, int port) {
  // prefix is "<kind>-stats"; the one parser of those lines is shared::parse_stats_line.
  const std::string suffix = "-stats";
  const std::string kind =
      prefix.size() > suffix.size() &&
              prefix.compare(prefix.size() - suffix.size(), suffix.size(), suffix) == 0
          ? prefix.substr(0, prefix.size() - suffix.size())
          : prefix;
  StatsFields found;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto fields = fh::shared::parse_stats_line(line, kind);
    if (!fields) continue;
    if (port <= 0 || (*fields)["port"] == std::to_string(port)) found = std::move(*fields);
  }
  return found;
}

std::int64_t stats_num(const StatsFields& fields, const std::string& key) {
  const auto it = fields.find(key);
  if (it == fields.end()) {
    const auto port = fields.find("port");
    throw std::runtime_error("stats line has no field '" + key + "'" +
                             (fields.empty()         ? std::string(" (no stats line at all)")
                              : port != fields.end() ? " (port " + port->second + ")"
                                                     : std::string()));
  }
  return std::stoll(it->second);
}

std::uint64_t stats_count(const StatsFields& fields, const std::string& key) {
  const std::int64_t n = stats_num(fields, key);
  if (n < 0) throw std::runtime_error("stats field '" + key + "' is negative");
  return static_cast<std::uint64_t>(n);
}

}  // namespace fh::test
