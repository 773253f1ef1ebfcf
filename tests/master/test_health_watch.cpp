// The health events (master/src/health_watch.*) from synthetic status() snapshots at given
// times: camera.stalled and camera.recovered on a port's state, camera.loss from the
// receivers' incomplete frames over a window (and its re-arming), detector.unavailable after
// the grace period (once, until offered again), worker.dead and worker.back.
#include <boost/test/unit_test.hpp>

#include "event_types.hpp"
#include "health_watch.hpp"

#include <string>
#include <vector>

namespace {

using fh::master::CameraHealthSettings;
using fh::master::HealthWatch;
using fh::master::SchedulerStatus;
namespace event_type = fh::master::event_type;

fh::shared::api::PortStatus port(int p, const std::string& state, double stalled_s = 0) {
  fh::shared::api::PortStatus s;
  s.port = p;
  s.stream = "cam" + std::to_string(p);
  s.state = state;
  s.stalled_s = stalled_s;
  s.source = "camera";
  return s;
}

std::vector<std::string> types(const std::vector<fh::shared::api::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

using Types = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(health_watch)

BOOST_AUTO_TEST_CASE(stalled_and_recovered_on_state_transitions_only) {
  HealthWatch h;
  const CameraHealthSettings camera;
  SchedulerStatus s;
  s.ports = {port(5000, "stalled", 25)};
  // A port first seen stalled (the master started after the camera stopped): no event.
  BOOST_TEST(h.check(s, 100, camera).empty());
  s.ports = {port(5000, "live")};
  auto e = h.check(s, 101, camera);
  BOOST_TEST(types(e) == Types{std::string(event_type::camera_recovered)},
             boost::test_tools::per_element());
  s.ports = {port(5000, "stalled", 20)};
  e = h.check(s, 130, camera);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].type == event_type::camera_stalled);
  BOOST_TEST(e[0].port == 5000);
  BOOST_TEST(e[0].stream == "cam5000");
  BOOST_TEST(e[0].time == 130.0);
  BOOST_TEST(e[0].detail == "no frame for 20 s");
  BOOST_TEST(h.check(s, 131, camera).empty());  // still stalled: once
  s.ports = {port(5000, "waiting")};            // frames again, no worker yet: recovered
  BOOST_TEST(types(h.check(s, 140, camera)) == Types{std::string(event_type::camera_recovered)},
             boost::test_tools::per_element());
  BOOST_TEST(h.check(s, 141, camera).empty());
}

BOOST_AUTO_TEST_CASE(uploads_are_not_cameras) {
  HealthWatch h;
  SchedulerStatus s;
  auto up = port(0, "live");
  up.source = "upload";
  s.ports = {up};
  h.check(s, 1, {});
  s.ports[0].state = "stalled";
  BOOST_TEST(h.check(s, 30, {}).empty());
}

BOOST_AUTO_TEST_CASE(loss_over_the_window_fires_once_and_rearms_below_half) {
  HealthWatch h;
  CameraHealthSettings camera;
  camera.loss_threshold = 0.2;
  camera.loss_window = 60;
  SchedulerStatus s;
  s.ports = {port(5000, "live")};
  fh::shared::api::ReceiverStatus r;
  r.receiver_id = "rx";
  r.ports.resize(1);
  r.ports[0].port = 5000;
  const auto report = [&](std::int64_t complete, std::int64_t incomplete) {
    r.ports[0].frames_complete = complete;
    r.ports[0].frames_incomplete = incomplete;
    s.receivers = {r};
  };
  report(100, 0);
  BOOST_TEST(h.check(s, 0, camera).empty());
  report(190, 10);  // 10 of 100 in the window: 10 %
  BOOST_TEST(h.check(s, 10, camera).empty());
  report(250, 50);  // 50 of 200: 25 %
  auto e = h.check(s, 20, camera);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].type == event_type::camera_loss);
  BOOST_TEST(e[0].detail.find("25.0% of frames incomplete (50 of 200") == 0u);
  report(300, 70);
  BOOST_TEST(h.check(s, 30, camera).empty());  // still lossy: no repeat
  // 70 s later the window starts at t=30: 0 incomplete of 600 → re-armed ...
  report(900, 70);
  BOOST_TEST(h.check(s, 100, camera).empty());
  // ... so a new burst of loss fires again (300 of 1000 since t=30).
  report(1000, 370);
  BOOST_TEST(types(h.check(s, 110, camera)) == Types{std::string(event_type::camera_loss)},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_camera_whose_every_frame_arrives_broken_still_gets_camera_loss) {
  // No frame of port 5001 was ever complete, so the scheduler has never listed it: the
  // receivers' reports alone must raise the alarm.
  HealthWatch h;
  SchedulerStatus s;
  s.ports = {port(5000, "live")};
  fh::shared::api::ReceiverStatus r;
  r.ports.resize(2);
  r.ports[0].port = 5000;
  r.ports[1].port = 5001;
  s.receivers = {r};
  BOOST_TEST(h.check(s, 0, {}).empty());
  r.ports[0].frames_complete = 50;
  r.ports[1].frames_incomplete = 40;
  s.receivers = {r};
  auto e = h.check(s, 5, {});
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].type == event_type::camera_loss);
  BOOST_TEST(e[0].port == 5001);
  BOOST_TEST(e[0].detail.find("100.0% of frames incomplete (40 of 40") == 0u);
}

BOOST_AUTO_TEST_CASE(a_receiver_restart_restarts_the_loss_window) {
  HealthWatch h;
  SchedulerStatus s;
  s.ports = {port(5000, "live")};
  fh::shared::api::ReceiverStatus r;
  r.ports.resize(1);
  r.ports[0].port = 5000;
  r.ports[0].frames_complete = 1000;
  r.ports[0].frames_incomplete = 500;
  s.receivers = {r};
  h.check(s, 0, {});
  r.ports[0].frames_complete = 10;  // a new receiver process: its totals start again
  r.ports[0].frames_incomplete = 0;
  s.receivers = {r};
  BOOST_TEST(h.check(s, 1, {}).empty());
}

BOOST_AUTO_TEST_CASE(detector_unavailable_after_the_grace_once_until_offered) {
  HealthWatch h(10.0);
  SchedulerStatus s;
  s.waiting_detectors = {"dnn:yolo"};
  s.queue = {{"dnn:yolo", 8}};
  BOOST_TEST(h.check(s, 0, {}).empty());
  BOOST_TEST(h.check(s, 9.9, {}).empty());
  auto e = h.check(s, 10, {});
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].type == event_type::detector_unavailable);
  BOOST_TEST(e[0].port == 0);
  BOOST_TEST(e[0].detail == "dnn:yolo: 8 frame(s) wait, no live worker offers it");
  BOOST_TEST(h.check(s, 30, {}).empty());
  s.waiting_detectors.clear();  // a worker came
  BOOST_TEST(h.check(s, 31, {}).empty());
  s.waiting_detectors = {"dnn:yolo"};  // it left again: a new grace, a new event
  BOOST_TEST(h.check(s, 32, {}).empty());
  BOOST_TEST(h.check(s, 42, {}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(worker_dead_and_back) {
  HealthWatch h;
  SchedulerStatus s;
  fh::shared::api::WorkerStatus w;
  w.worker_id = "w1";
  w.alive = true;
  s.workers = {w};
  BOOST_TEST(h.check(s, 0, {}).empty());  // a new worker: no event
  s.workers[0].alive = false;
  auto e = h.check(s, 1, {});
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].type == event_type::worker_dead);
  BOOST_TEST(e[0].detail == "w1");
  BOOST_TEST(h.check(s, 2, {}).empty());
  s.workers[0].alive = true;
  BOOST_TEST(types(h.check(s, 3, {})) == Types{std::string(event_type::worker_back)},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(detector_unavailable_for_a_chain_only_when_none_of_it_is_offered) {
  HealthWatch h(10.0);
  SchedulerStatus s;
  auto p = port(5001, "waiting");
  p.detector = "a";
  p.detector_chain = {"a", "b"};
  p.running_detector = "a";
  p.pending = 4;
  s.ports = {p};
  s.waiting_detectors = {"a", "b"};
  s.queue = {{"a", 4}};
  BOOST_TEST(h.check(s, 0, {}).empty());
  auto e = h.check(s, 10, {});
  BOOST_REQUIRE_EQUAL(e.size(), 1u);  // one event for the chain, not one per detector
  BOOST_TEST(e[0].type == event_type::detector_unavailable);
  BOOST_TEST(e[0].port == 5001);
  BOOST_TEST(e[0].stream == "cam5001");
  BOOST_TEST(e[0].detail ==
             "a,b: 4 frame(s) of port 5001 wait, no live worker offers a detector of its chain");
  BOOST_TEST(h.check(s, 20, {}).empty());
  // A b worker came: the port is live on its fallback, nothing waits, the alarm re-arms.
  s.ports[0].state = "live";
  s.waiting_detectors.clear();
  BOOST_TEST(h.check(s, 21, {}).empty());
  s.ports[0].state = "waiting";
  s.waiting_detectors = {"a", "b"};
  BOOST_TEST(h.check(s, 22, {}).empty());
  BOOST_TEST(h.check(s, 32, {}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(detector_fallback_and_restored_when_the_running_detector_changes) {
  HealthWatch h;
  SchedulerStatus s;
  auto p = port(5001, "live");
  p.detector = "a";
  p.detector_chain = {"a", "b"};
  fh::shared::api::WorkerStatus wa, wb;
  wa.worker_id = "wa";
  wa.capabilities = {"a"};
  wb.worker_id = "wb";
  wb.capabilities = {"b"};
  wb.alive = true;
  const auto snapshot = [&](bool a_alive) {
    wa.alive = a_alive;
    s.workers = {wa, wb};
    p.running_detector = a_alive ? "a" : "b";
    p.fallback = !a_alive;
    s.ports = {p};
  };
  // Workers starting in any order: a fallback before the first choice came is no event.
  snapshot(false);
  BOOST_TEST(types(h.check(s, 0, {})).empty());
  snapshot(true);
  BOOST_TEST(types(h.check(s, 1, {})) == Types{std::string(event_type::worker_back)},
             boost::test_tools::per_element());
  snapshot(false);
  auto e = h.check(s, 2, {});
  BOOST_TEST(types(e) == (Types{std::string(event_type::worker_dead),
                                std::string(event_type::detector_fallback)}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(e.size(), 2u);
  BOOST_TEST(e[1].port == 5001);
  BOOST_TEST(e[1].detail == "frames go to b: no live worker offers a (chain a,b)");
  BOOST_TEST(h.check(s, 3, {}).empty());
  snapshot(true);
  e = h.check(s, 4, {});
  BOOST_TEST(types(e) == (Types{std::string(event_type::worker_back),
                                std::string(event_type::detector_restored)}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(e.size(), 2u);
  BOOST_TEST(e[1].detail == "frames go to a again (chain a,b)");
}

BOOST_AUTO_TEST_SUITE_END()
