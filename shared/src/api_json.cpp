#include "framehive/shared/api/json.hpp"

#include "framehive/shared/api/names.hpp"

namespace fh::shared::api {

void to_json(Json& j, const Detection& d) {
  j = Json{{field::label, d.label}, {field::confidence, d.confidence},
           {field::x, d.x},         {field::y, d.y},
           {field::w, d.w},         {field::h, d.h}};
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
           {field::source, p.source}};
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
           {field::ports, s.ports},
           {field::workers, s.workers}};
}

void to_json(Json& j, const SummaryBucket& b) {
  j = Json{{field::start, b.start},
           {field::end, b.end},
           {field::frames, b.frames},
           {field::labels, b.labels}};
}

void to_json(Json& j, const TaskInfo& t) {
  j = Json{{field::task_id, t.task_id}, {field::state, t.state},       {field::port, t.port},
           {field::stream, t.stream},   {field::detector, t.detector}, {field::attempt, t.attempt}};
  j[field::record] = t.has_record ? Json(t.record) : Json(nullptr);
  j[field::failure] = t.has_failure ? Json(t.failure) : Json(nullptr);
}

}  // namespace fh::shared::api
