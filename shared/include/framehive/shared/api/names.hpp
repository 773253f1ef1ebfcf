#pragma once
// The contract's names: XML-RPC method names, struct member names and fault codes
// (docs/api.md). Every process and test uses these constants; no other file spells them.
// Constants only, thread-safe.

namespace fh::shared::api {

/// Method names of the master's XML-RPC endpoint, in the order of docs/api.md's table.
namespace method {
inline constexpr char add_task[] = "add_task";
inline constexpr char add_tasks[] = "add_tasks";
inline constexpr char register_worker[] = "register_worker";
inline constexpr char heartbeat[] = "heartbeat";
inline constexpr char request_task[] = "request_task";
inline constexpr char complete_task[] = "complete_task";
inline constexpr char fail_task[] = "fail_task";
inline constexpr char get_results[] = "get_results";
inline constexpr char get_failures[] = "get_failures";
inline constexpr char status[] = "status";
inline constexpr char get_summary[] = "get_summary";
inline constexpr char get_frame[] = "get_frame";
inline constexpr char export_results[] = "export_results";
inline constexpr char add_image[] = "add_image";
inline constexpr char get_task[] = "get_task";
inline constexpr char report_receiver[] = "report_receiver";
inline constexpr char get_events[] = "get_events";
/// The contract's methods in table order (system.* introspection methods come on top).
inline constexpr const char* all[] = {
    add_task,       add_tasks,   register_worker, heartbeat,       request_task, complete_task,
    fail_task,      get_results, get_failures,    status,          get_summary,  get_frame,
    export_results, add_image,   get_task,        report_receiver, get_events};

inline constexpr char list_methods[] = "system.listMethods";
inline constexpr char method_exist[] = "system.methodExist";
inline constexpr char method_help[] = "system.methodHelp";
inline constexpr char method_signature[] = "system.methodSignature";
inline constexpr char multicall[] = "system.multicall";
}  // namespace method

/// Member names of the contract's structs.
namespace field {
// Frame and Task
inline constexpr char port[] = "port";
inline constexpr char stream[] = "stream";
inline constexpr char frame_id[] = "frame_id";
inline constexpr char captured_at[] = "captured_at";
inline constexpr char received_at[] = "received_at";
inline constexpr char width[] = "width";
inline constexpr char height[] = "height";
inline constexpr char image[] = "image";
inline constexpr char detector[] = "detector";
inline constexpr char task_id[] = "task_id";
inline constexpr char attempt[] = "attempt";
// Detection and Result
inline constexpr char label[] = "label";
inline constexpr char confidence[] = "confidence";
inline constexpr char x[] = "x";
inline constexpr char y[] = "y";
inline constexpr char w[] = "w";
inline constexpr char h[] = "h";
inline constexpr char detections[] = "detections";
inline constexpr char processing_ms[] = "processing_ms";
// ResultRecord and FailureRecord
inline constexpr char completed_at[] = "completed_at";
inline constexpr char failed_at[] = "failed_at";
inline constexpr char worker_id[] = "worker_id";
inline constexpr char reason[] = "reason";
// Registration
inline constexpr char heartbeat_interval[] = "heartbeat_interval";
inline constexpr char task_timeout[] = "task_timeout";
// Status, WorkerStatus, PortStatus
inline constexpr char pending[] = "pending";
inline constexpr char in_progress[] = "in_progress";
inline constexpr char completed[] = "completed";
inline constexpr char failed[] = "failed";
inline constexpr char dropped[] = "dropped";
inline constexpr char expired[] = "expired";
inline constexpr char requeued_timeout[] = "requeued_timeout";
inline constexpr char requeued_dead_worker[] = "requeued_dead_worker";
inline constexpr char failed_timeout[] = "failed_timeout";
inline constexpr char duplicate_completions[] = "duplicate_completions";
inline constexpr char late_completions[] = "late_completions";
inline constexpr char unknown_completions[] = "unknown_completions";
inline constexpr char store_errors[] = "store_errors";
inline constexpr char lost_at_start[] = "lost_at_start";
inline constexpr char waiting_detectors[] = "waiting_detectors";
inline constexpr char workers[] = "workers";
inline constexpr char ports[] = "ports";
inline constexpr char uptime_s[] = "uptime_s";
inline constexpr char address[] = "address";
inline constexpr char capabilities[] = "capabilities";
inline constexpr char alive[] = "alive";
inline constexpr char registered_at[] = "registered_at";
inline constexpr char last_seen[] = "last_seen";
inline constexpr char assigned[] = "assigned";
inline constexpr char current_tasks[] = "current_tasks";
inline constexpr char received[] = "received";
inline constexpr char last_frame_id[] = "last_frame_id";
inline constexpr char fps[] = "fps";
inline constexpr char latency_p50_ms[] = "latency_p50_ms";
inline constexpr char latency_p99_ms[] = "latency_p99_ms";
inline constexpr char fps_in[] = "fps_in";
inline constexpr char last_received_at[] = "last_received_at";
inline constexpr char latest_task_id[] = "latest_task_id";
inline constexpr char state[] = "state";
inline constexpr char stalled_s[] = "stalled_s";
inline constexpr char source[] = "source";
inline constexpr char task_age_s[] = "task_age_s";
inline constexpr char queue[] = "queue";
// ReceiverStatus, ReceiverPortCounters
inline constexpr char receivers[] = "receivers";
inline constexpr char receiver_id[] = "receiver_id";
inline constexpr char datagrams[] = "datagrams";
inline constexpr char bytes[] = "bytes";
inline constexpr char frames_complete[] = "frames_complete";
inline constexpr char frames_incomplete[] = "frames_incomplete";
inline constexpr char frames_dropped[] = "frames_dropped";
inline constexpr char too_large[] = "too_large";
inline constexpr char malformed[] = "malformed";
inline constexpr char incomplete[] = "incomplete";
// Motion gating and detector fallback
inline constexpr char gated[] = "gated";
inline constexpr char motion[] = "motion";
inline constexpr char score[] = "score";
inline constexpr char keepalive[] = "keepalive";
inline constexpr char boxes[] = "boxes";
inline constexpr char detector_chain[] = "detector_chain";
inline constexpr char running_detector[] = "running_detector";
inline constexpr char fallback[] = "fallback";
// TaskInfo
inline constexpr char record[] = "record";
inline constexpr char failure[] = "failure";
inline constexpr char name[] = "name";
// SummaryBucket and ExportPage
inline constexpr char start[] = "start";
inline constexpr char end[] = "end";
inline constexpr char frames[] = "frames";
inline constexpr char labels[] = "labels";
inline constexpr char results[] = "results";
inline constexpr char cursor[] = "cursor";
inline constexpr char tracks[] = "tracks";
// Detection and Event
inline constexpr char track_id[] = "track_id";
inline constexpr char id[] = "id";
inline constexpr char type[] = "type";
inline constexpr char time[] = "time";
inline constexpr char seq[] = "seq";
inline constexpr char box[] = "box";
inline constexpr char zone[] = "zone";
inline constexpr char snapshot_task_id[] = "snapshot_task_id";
inline constexpr char detail[] = "detail";
inline constexpr char rules[] = "rules";
// system.multicall entries and faults
inline constexpr char method_name[] = "methodName";
inline constexpr char params[] = "params";
inline constexpr char fault_code[] = "faultCode";
inline constexpr char fault_string[] = "faultString";
}  // namespace field

/// Fault codes (faultCode) of the master's replies; the -5xx ones are xmlrpc-c's values.
namespace fault {
inline constexpr int internal = -500;        ///< a bug or an unexpected failure in the master
inline constexpr int type = -501;            ///< wrong parameter type, count, field or value
inline constexpr int index = -502;           ///< a system.multicall entry is out of range
inline constexpr int parse = -503;           ///< the request is not well-formed XML-RPC
inline constexpr int no_such_method = -506;  ///< unknown method name
inline constexpr int refused = -507;         ///< the request is refused (unknown worker, ...)
inline constexpr int limit_exceeded = -509;  ///< a size or count limit of the server
inline constexpr int not_found = 404;        ///< get_frame: the task is unknown or not kept
}  // namespace fault

/// HTTP Basic user name of the shared-secret authentication (the password is the secret).
inline constexpr char auth_user[] = "framehive";

}  // namespace fh::shared::api
