#include "framehive/shared/stats_line.hpp"

#include <algorithm>
#include <cstdio>

namespace fh::shared {

StatsLine::StatsLine(std::string_view kind) : line_(std::string(kind) + "-stats") {}

StatsLine& StatsLine::add(std::string_view key, std::string_view value) {
  line_ += ' ';
  line_ += key;
  line_ += '=';
  const auto start = line_.size();
  line_ += value;
  std::replace(line_.begin() + static_cast<std::ptrdiff_t>(start), line_.end(), ' ', '_');
  return *this;
}

StatsLine& StatsLine::add(std::string_view key, double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return add(key, std::string_view(buf));
}

std::optional<StatsFields> parse_stats_line(std::string_view line, std::string_view kind) {
  const std::string tag = std::string(kind) + "-stats ";
  std::size_t at = line.find(tag);
  while (at != std::string_view::npos && at != 0 && line[at - 1] != ' ') {
    at = line.find(tag, at + 1);
  }
  if (at == std::string_view::npos) return std::nullopt;
  StatsFields fields;
  std::size_t pos = at + tag.size();
  while (pos < line.size()) {
    const auto end = std::min(line.find(' ', pos), line.size());
    const auto word = line.substr(pos, end - pos);
    const auto eq = word.find('=');
    if (eq != std::string_view::npos) {
      fields[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
    }
    pos = end + 1;
  }
  return fields;
}

}  // namespace fh::shared
