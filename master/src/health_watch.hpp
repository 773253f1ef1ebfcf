#pragma once
// Camera, detector and worker health events from successive status() snapshots: camera.stalled
// and camera.recovered (a port's state), camera.loss (the receivers' incomplete frames over a
// window), detector.unavailable (frames wait for a detector no live worker offers; for a port's
// fallback chain, for none of its detectors), detector.fallback and detector.restored (a chain's
// running detector changed), worker.dead and worker.back. Pure logic over the snapshots and the
// times given: NOT thread-safe, the event engine's thread calls it.

#include "events_config.hpp"
#include "framehive/master/types.hpp"

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fh::master {

class HealthWatch {
 public:
  /// detector_grace: seconds frames must wait for an unoffered detector before the event (a
  /// receiver often starts before its workers register).
  explicit HealthWatch(double detector_grace = 10.0) : detector_grace_(detector_grace) {}

  /// The events the change from the previous snapshot to this one makes (ids left empty).
  /// now: wall time (Unix s).
  std::vector<shared::api::Event> check(const SchedulerStatus& s, double now,
                                        const CameraHealthSettings& camera);

 private:
  struct LossSample {
    double time = 0;
    std::int64_t complete = 0, incomplete = 0;
  };
  struct PortHealth {
    std::string state;              ///< last seen state
    std::string running;            ///< a chain's detector with a live worker ("": none)
    bool fallback_alarm = false;    ///< detector.fallback fired, detector.restored not yet
    bool had_first = false;         ///< the chain's first choice has run this port's frames
    bool loss_alarm = false;        ///< camera.loss fired and not re-armed
    std::deque<LossSample> window;  ///< receivers' totals over the loss window
  };

  const double detector_grace_;          ///< seconds
  std::map<int, PortHealth> ports_;      ///< per port
  std::map<std::string, bool> workers_;  ///< worker id -> alive at the last check
  /// detector, or "PORT=A,B" for a port's chain -> since when frames wait for it unoffered
  std::map<std::string, double> unoffered_;
  std::set<std::string> detector_alarm_;  ///< keys of unoffered_ whose event fired (until offered)
};

}  // namespace fh::master
