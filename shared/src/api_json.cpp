#include "framehive/shared/api/json.hpp"

#include "framehive/shared/api/names.hpp"

namespace fh::shared::api {

void to_json(Json& j, const Detection& d) {
  j = Json{{field::label, d.label}, {field::confidence, d.confidence},
           {field::x, d.x},         {field::y, d.y},
           {field::w, d.w},         {field::h, d.h}};
  if (d.track_id != 0) j[field::track_id] = d.track_id;
}

void to_json(Json& j, const ResultRecord& r) {
  j = Json{{field::task_id, r.task_id},
           {field::port, r.port},
           {field::stream, r.stream},
           {field::frame_id, r.frame_id},
           {field::captured_at, r.captured_at},
           {field::received_at, r.received_at},
           {field::completed_at, r.completed_at},
           {field::worker_id, r.worker_id},
           {field::detector, r.detector},
           {field::processing_ms, r.processing_ms},
           {field::detections, r.detections}};
}

void to_json(Json& j, const FailureRecord& f) {
  j = Json{{field::task_id, f.task_id},         {field::port, f.port},
           {field::stream, f.stream},           {field::frame_id, f.frame_id},
           {field::captured_at, f.captured_at}, {field::failed_at, f.failed_at},
           {field::worker_id, f.worker_id},     {field::reason, f.reason}};
}

void to_json(Json& j, const WorkerStatus& w) {
  j = Json{{field::worker_id, w.worker_id},
           {field::address, w.address},
           {field::capabilities, w.capabilities},
           {field::alive, w.alive},
           {field::registered_at, w.registered_at},
           {field::last_seen, w.last_seen},
           {field::assigned, w.assigned},
           {field::completed, w.completed},
           {field::failed, w.failed},
           {field::current_tasks, w.current_tasks},
           {field::task_age_s, w.task_age_s}};
}

void to_json(Json& j, const PortStatus& p) {
  j = Json{{field::port, p.port},
           {field::stream, p.stream},
           {field::detector, p.detector},
           {field::received, p.received},
           {field::pending, p.pending},
           {field::in_progress, p.in_progress},
           {field::completed, p.completed},
           {field::failed, p.failed},
           {field::dropped, p.dropped},
           {field::expired, p.expired},
           {field::lost_at_start, p.lost_at_start},
           {field::last_frame_id, p.last_frame_id},
           {field::fps, p.fps},
           {field::latency_p50_ms, p.latency_p50_ms},
           {field::latency_p99_ms, p.latency_p99_ms},
           {field::fps_in, p.fps_in},
           {field::last_received_at, p.last_received_at},
           {field::latest_task_id, p.latest_task_id},
           {field::state, p.state},
           {field::stalled_s, p.stalled_s},
           {field::source, p.source},
           {field::incomplete, p.incomplete},
           {field::gated, p.gated},
           {field::detector_chain, p.detector_chain},
           {field::running_detector, p.running_detector},
           {field::fallback, p.fallback}};
}

void to_json(Json& j, const Status& s) {
  j = Json{{field::pending, s.pending},
           {field::in_progress, s.in_progress},
           {field::completed, s.completed},
           {field::failed, s.failed},
           {field::dropped, s.dropped},
           {field::expired, s.expired},
           {field::requeued_timeout, s.requeued_timeout},
           {field::requeued_dead_worker, s.requeued_dead_worker},
           {field::failed_timeout, s.failed_timeout},
           {field::duplicate_completions, s.duplicate_completions},
           {field::late_completions, s.late_completions},
           {field::unknown_completions, s.unknown_completions},
           {field::store_errors, s.store_errors},
           {field::lost_at_start, s.lost_at_start},
           {field::waiting_detectors, s.waiting_detectors},
           {field::uptime_s, s.uptime_s},
           {field::queue, s.queue},
           {field::receivers, s.receivers},
           {field::ports, s.ports},
           {field::workers, s.workers}};
}

void to_json(Json& j, const SummaryBucket& b) {
  j = Json{{field::start, b.start},
           {field::end, b.end},
           {field::frames, b.frames},
           {field::labels, b.labels},
           {field::tracks, b.tracks}};
}

void to_json(Json& j, const Event& e) {
  j = Json{{field::id, e.id},
           {field::type, e.type},
           {field::time, e.time},
           {field::port, e.port},
           {field::stream, e.stream}};
  if (e.seq > 0) j[field::seq] = e.seq;
  if (e.type.rfind("object.", 0) == 0) {
    j[field::track_id] = e.track_id;
    j[field::label] = e.label;
    j[field::confidence] = e.confidence;
    j[field::box] = Json{{field::x, e.x}, {field::y, e.y}, {field::w, e.w}, {field::h, e.h}};
    j[field::start] = e.start;
    j[field::end] = e.end;
    j[field::snapshot_task_id] = e.snapshot_task_id;
  }
  if (!e.zone.empty()) j[field::zone] = e.zone;
  if (!e.detail.empty()) j[field::detail] = e.detail;
  j[field::rules] = e.rules;
}

Event event_from_json(const Json& j) {
  Event e;
  e.id = j.at(field::id).get<std::string>();
  e.type = j.at(field::type).get<std::string>();
  e.time = j.at(field::time).get<double>();
  e.port = j.at(field::port).get<int>();
  e.stream = j.value(field::stream, std::string());
  e.seq = j.value(field::seq, std::int64_t{0});
  if (j.contains(field::track_id)) {
    e.track_id = j.at(field::track_id).get<std::int64_t>();
    e.label = j.value(field::label, std::string());
    e.confidence = j.value(field::confidence, 0.0);
    if (const auto b = j.find(field::box); b != j.end() && b->is_object()) {
      e.x = b->value(field::x, 0);
      e.y = b->value(field::y, 0);
      e.w = b->value(field::w, 0);
      e.h = b->value(field::h, 0);
    }
    e.start = j.value(field::start, 0.0);
    e.end = j.value(field::end, 0.0);
    e.snapshot_task_id = j.value(field::snapshot_task_id, std::string());
  }
  e.zone = j.value(field::zone, std::string());
  e.detail = j.value(field::detail, std::string());
  if (const auto r = j.find(field::rules); r != j.end() && r->is_array()) {
    e.rules = r->get<std::vector<std::string>>();
  }
  return e;
}

void to_json(Json& j, const ReceiverPortCounters& c) {
  j = Json{{field::port, c.port},
           {field::datagrams, c.datagrams},
           {field::bytes, c.bytes},
           {field::frames_complete, c.frames_complete},
           {field::frames_incomplete, c.frames_incomplete},
           {field::frames_dropped, c.frames_dropped},
           {field::too_large, c.too_large},
           {field::malformed, c.malformed},
           {field::gated, c.gated}};
}

void to_json(Json& j, const ReceiverStatus& r) {
  j = Json{{field::receiver_id, r.receiver_id},
           {field::address, r.address},
           {field::last_seen, r.last_seen},
           {field::ports, r.ports}};
}

void to_json(Json& j, const TaskInfo& t) {
  j = Json{{field::task_id, t.task_id}, {field::state, t.state},       {field::port, t.port},
           {field::stream, t.stream},   {field::detector, t.detector}, {field::attempt, t.attempt}};
  j[field::record] = t.has_record ? Json(t.record) : Json(nullptr);
  j[field::failure] = t.has_failure ? Json(t.failure) : Json(nullptr);
}

}  // namespace fh::shared::api
