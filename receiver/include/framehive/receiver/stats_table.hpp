#pragma once
// The receiver's counters, one PortStats per listening port, fixed at construction.
// Thread-safe: the set of ports never changes and every counter is atomic.

#include "framehive/receiver/port_stats.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace fh::receiver {

class StatsTable {
 public:
  explicit StatsTable(const std::vector<std::uint16_t>& ports);

  /// The counters of a port, nullptr when the port is not one of ours.
  PortStats* find(std::uint16_t port) const;

  /// The ports, ascending.
  std::vector<std::uint16_t> ports() const;

  /// A copy of every port's counters, ascending by port.
  std::vector<PortStatsSnapshot> snapshot() const;

 private:
  std::map<std::uint16_t, std::unique_ptr<PortStats>> ports_;  ///< immutable after construction
};

}  // namespace fh::receiver
