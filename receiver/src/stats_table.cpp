#include "framehive/receiver/stats_table.hpp"

namespace fh::receiver {

StatsTable::StatsTable(const std::vector<std::uint16_t>& ports) {
  for (auto p : ports) ports_.emplace(p, std::make_unique<PortStats>(p));
}

PortStats* StatsTable::find(std::uint16_t port) const {
  auto it = ports_.find(port);
  return it == ports_.end() ? nullptr : it->second.get();
}

std::vector<std::uint16_t> StatsTable::ports() const {
  std::vector<std::uint16_t> out;
  out.reserve(ports_.size());
  for (const auto& [p, s] : ports_) out.push_back(p);
  return out;
}

std::vector<PortStatsSnapshot> StatsTable::snapshot() const {
  std::vector<PortStatsSnapshot> out;
  out.reserve(ports_.size());
  for (const auto& [p, s] : ports_) out.push_back(s->snapshot());
  return out;
}

}  // namespace fh::receiver
