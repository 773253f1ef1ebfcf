#include "rpc_convert.hpp"

#include "framehive/shared/jpeg.hpp"

#include <cmath>
#include <limits>
#include <map>

namespace fh::master::rpc {
namespace {

using xmlrpc_c::value;

const char* type_name(value::type_t t) {
  switch (t) {
    case value::TYPE_INT: return "int";
    case value::TYPE_BOOLEAN: return "boolean";
    case value::TYPE_DOUBLE: return "double";
    case value::TYPE_DATETIME: return "dateTime";
    case value::TYPE_STRING: return "string";
    case value::TYPE_BYTESTRING: return "base64";
    case value::TYPE_ARRAY: return "array";
    case value::TYPE_STRUCT: return "struct";
    case value::TYPE_NIL: return "nil";
    case value::TYPE_I8: return "i8";
    default: return "unknown type";
  }
}

[[noreturn]] void wrong_type(const std::string& where, const char* want, const value& v) {
  type_fault(where + ": expected " + want + ", got " + type_name(v.type()));
}

using Struct = std::map<std::string, value>;

Struct as_struct(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_STRUCT) wrong_type(where, "struct", v);
  return static_cast<Struct>(xmlrpc_c::value_struct(v));
}

const value* field(const Struct& s, const std::string& name) {
  auto it = s.find(name);
  return it == s.end() ? nullptr : &it->second;
}

const value& required(const Struct& s, const std::string& name, const std::string& where) {
  const value* v = field(s, name);
  if (!v) type_fault(where + ": missing field '" + name + "'");
  return *v;
}

double to_double(const value& v, const std::string& where) {
  switch (v.type()) {
    case value::TYPE_DOUBLE: {
      const double d = xmlrpc_c::value_double(v);
      if (!std::isfinite(d)) type_fault(where + ": not a finite number");
      return d;
    }
    case value::TYPE_INT: return static_cast<int>(xmlrpc_c::value_int(v));
    case value::TYPE_I8: return static_cast<double>(static_cast<xmlrpc_int64>(xmlrpc_c::value_i8(v)));
    default: wrong_type(where, "double", v);
  }
}

int as_int32(const value& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
  const auto i = as_int(v, where);
  if (i < lo || i > hi) {
    type_fault(where + ": " + std::to_string(i) + " out of range " + std::to_string(lo) + ".." +
               std::to_string(hi));
  }
  return static_cast<int>(i);
}

}  // namespace

void type_fault(const std::string& msg) { throw xmlrpc_c::fault(msg, xmlrpc_c::fault::CODE_TYPE); }

std::int64_t as_int(const value& v, const std::string& where) {
  if (v.type() == value::TYPE_INT) return static_cast<int>(xmlrpc_c::value_int(v));
  if (v.type() == value::TYPE_I8) return static_cast<xmlrpc_int64>(xmlrpc_c::value_i8(v));
  wrong_type(where, "int", v);
}

double as_double(const value& v, const std::string& where) { return to_double(v, where); }

std::string as_string(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_STRING) wrong_type(where, "string", v);
  return static_cast<std::string>(xmlrpc_c::value_string(v));
}

Frame to_frame(const value& v, const std::string& where, std::size_t max_image_bytes) {
  const Struct s = as_struct(v, where);
  Frame f;
  f.port = as_int32(required(s, "port", where), where + ".port", 1, 65535);
  f.frame_id = as_int(required(s, "frame_id", where), where + ".frame_id");
  f.captured_at = to_double(required(s, "captured_at", where), where + ".captured_at");
  if (const value* x = field(s, "stream")) f.stream = as_string(*x, where + ".stream");
  if (const value* x = field(s, "received_at")) {
    f.received_at = to_double(*x, where + ".received_at");
  }
  if (const value* x = field(s, "width")) f.width = as_int32(*x, where + ".width", 0, 1 << 16);
  if (const value* x = field(s, "height")) f.height = as_int32(*x, where + ".height", 0, 1 << 16);
  if (const value* x = field(s, "detector")) f.detector = as_string(*x, where + ".detector");
  if (f.stream.size() > 256) type_fault(where + ".stream: longer than 256 bytes");
  if (f.detector.size() > 256) type_fault(where + ".detector: longer than 256 bytes");
  const value& img = required(s, "image", where);
  if (img.type() != value::TYPE_BYTESTRING) wrong_type(where + ".image", "base64", img);
  const xmlrpc_c::value_bytestring b(img);
  if (b.length() > max_image_bytes) {
    type_fault(where + ".image: " + std::to_string(b.length()) + " bytes, over the limit of " +
               std::to_string(max_image_bytes));
  }
  auto bytes = b.vectorUcharValue();
  if (!shared::looks_like_jpeg(bytes.data(), bytes.size())) {
    type_fault(where + ".image: not a JPEG (no SOI/EOI markers)");
  }
  f.image = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
  return f;
}

Result to_result(const value& v) {
  const Struct s = as_struct(v, "result");
  Result r;
  if (const value* x = field(s, "processing_ms")) {
    r.processing_ms = to_double(*x, "result.processing_ms");
  }
  const value& dets = required(s, "detections", "result");
  if (dets.type() != value::TYPE_ARRAY) wrong_type("result.detections", "array", dets);
  const auto items = xmlrpc_c::value_array(dets).vectorValueValue();
  if (items.size() > 10000) type_fault("result.detections: more than 10000 detections");
  r.detections.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string w = "result.detections[" + std::to_string(i) + "]";
    const Struct d = as_struct(items[i], w);
    Detection det;
    det.label = as_string(required(d, "label", w), w + ".label");
    det.confidence = to_double(required(d, "confidence", w), w + ".confidence");
    det.x = as_int32(required(d, "x", w), w + ".x", -(1 << 20), 1 << 20);
    det.y = as_int32(required(d, "y", w), w + ".y", -(1 << 20), 1 << 20);
    det.w = as_int32(required(d, "w", w), w + ".w", 0, 1 << 20);
    det.h = as_int32(required(d, "h", w), w + ".h", 0, 1 << 20);
    if (det.label.size() > 256) type_fault(w + ".label: longer than 256 bytes");
    r.detections.push_back(std::move(det));
  }
  return r;
}

std::vector<std::string> to_string_list(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_ARRAY) wrong_type(where, "array", v);
  std::vector<std::string> out;
  const auto items = xmlrpc_c::value_array(v).vectorValueValue();
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back(as_string(items[i], where + "[" + std::to_string(i) + "]"));
  }
  return out;
}

namespace {

value detections_value(const std::vector<Detection>& dets) {
  std::vector<value> out;
  out.reserve(dets.size());
  for (const auto& d : dets) {
    out.push_back(xmlrpc_c::value_struct(Struct{{"label", xmlrpc_c::value_string(d.label)},
                                                {"confidence", xmlrpc_c::value_double(d.confidence)},
                                                {"x", xmlrpc_c::value_int(d.x)},
                                                {"y", xmlrpc_c::value_int(d.y)},
                                                {"w", xmlrpc_c::value_int(d.w)},
                                                {"h", xmlrpc_c::value_int(d.h)}}));
  }
  return xmlrpc_c::value_array(out);
}

value int_value(std::int64_t i) {
  if (i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max()) {
    return xmlrpc_c::value_int(static_cast<int>(i));
  }
  return xmlrpc_c::value_i8(i);
}

value strings_value(const std::vector<std::string>& v) {
  std::vector<value> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(xmlrpc_c::value_string(s));
  return xmlrpc_c::value_array(out);
}

}  // namespace

value from_task(const Task& t) {
  const Frame& f = t.frame;
  static const std::vector<unsigned char> empty;
  const auto& img = f.image ? *f.image : empty;
  return xmlrpc_c::value_struct(Struct{
      {"task_id", xmlrpc_c::value_string(t.task_id)},
      {"attempt", xmlrpc_c::value_int(t.attempt)},
      {"port", xmlrpc_c::value_int(f.port)},
      {"stream", xmlrpc_c::value_string(f.stream)},
      {"frame_id", int_value(f.frame_id)},
      {"captured_at", xmlrpc_c::value_double(f.captured_at)},
      {"received_at", xmlrpc_c::value_double(f.received_at)},
      {"width", xmlrpc_c::value_int(f.width)},
      {"height", xmlrpc_c::value_int(f.height)},
      {"image", xmlrpc_c::value_bytestring(img)},
      {"detector", xmlrpc_c::value_string(f.detector)}});
}

value from_record(const ResultRecord& r) {
  return xmlrpc_c::value_struct(Struct{
      {"task_id", xmlrpc_c::value_string(r.task_id)},
      {"port", xmlrpc_c::value_int(r.port)},
      {"stream", xmlrpc_c::value_string(r.stream)},
      {"frame_id", int_value(r.frame_id)},
      {"captured_at", xmlrpc_c::value_double(r.captured_at)},
      {"received_at", xmlrpc_c::value_double(r.received_at)},
      {"completed_at", xmlrpc_c::value_double(r.completed_at)},
      {"worker_id", xmlrpc_c::value_string(r.worker_id)},
      {"detector", xmlrpc_c::value_string(r.detector)},
      {"detections", detections_value(r.detections)},
      {"processing_ms", xmlrpc_c::value_double(r.processing_ms)}});
}

value from_failure(const FailureRecord& f) {
  return xmlrpc_c::value_struct(Struct{
      {"task_id", xmlrpc_c::value_string(f.task_id)},
      {"port", xmlrpc_c::value_int(f.port)},
      {"stream", xmlrpc_c::value_string(f.stream)},
      {"frame_id", int_value(f.frame_id)},
      {"captured_at", xmlrpc_c::value_double(f.captured_at)},
      {"failed_at", xmlrpc_c::value_double(f.failed_at)},
      {"worker_id", xmlrpc_c::value_string(f.worker_id)},
      {"reason", xmlrpc_c::value_string(f.reason)}});
}

value from_status(const SchedulerStatus& s) {
  std::vector<value> workers;
  for (const auto& w : s.workers) {
    workers.push_back(xmlrpc_c::value_struct(Struct{
        {"worker_id", xmlrpc_c::value_string(w.worker_id)},
        {"address", xmlrpc_c::value_string(w.address)},
        {"capabilities", strings_value(w.capabilities)},
        {"alive", xmlrpc_c::value_boolean(w.alive)},
        {"registered_at", xmlrpc_c::value_double(w.registered_at)},
        {"last_seen", xmlrpc_c::value_double(w.last_seen)},
        {"assigned", int_value(w.assigned)},
        {"completed", int_value(w.completed)},
        {"failed", int_value(w.failed)},
        {"current_tasks", strings_value(w.current_tasks)}}));
  }
  std::vector<value> ports;
  for (const auto& p : s.ports) {
    ports.push_back(xmlrpc_c::value_struct(Struct{
        {"port", xmlrpc_c::value_int(p.port)},
        {"stream", xmlrpc_c::value_string(p.stream)},
        {"detector", xmlrpc_c::value_string(p.detector)},
        {"received", int_value(p.received)},
        {"pending", int_value(p.pending)},
        {"in_progress", int_value(p.in_progress)},
        {"completed", int_value(p.completed)},
        {"failed", int_value(p.failed)},
        {"dropped", int_value(p.dropped)},
        {"expired", int_value(p.expired)},
        {"lost_at_start", int_value(p.lost_at_start)},
        {"last_frame_id", int_value(p.last_frame_id)},
        {"fps", xmlrpc_c::value_double(p.fps)},
        {"latency_p50_ms", xmlrpc_c::value_double(p.latency_p50_ms)},
        {"latency_p99_ms", xmlrpc_c::value_double(p.latency_p99_ms)}}));
  }
  return xmlrpc_c::value_struct(Struct{
      {"pending", int_value(s.pending)},
      {"in_progress", int_value(s.in_progress)},
      {"completed", int_value(s.completed)},
      {"failed", int_value(s.failed)},
      {"dropped", int_value(s.dropped)},
      {"expired", int_value(s.expired)},
      {"requeued_timeout", int_value(s.requeued_timeout)},
      {"requeued_dead_worker", int_value(s.requeued_dead_worker)},
      {"failed_timeout", int_value(s.failed_timeout)},
      {"duplicate_completions", int_value(s.duplicate_completions)},
      {"late_completions", int_value(s.late_completions)},
      {"unknown_completions", int_value(s.unknown_completions)},
      {"store_errors", int_value(s.store_errors)},
      {"lost_at_start", int_value(s.lost_at_start)},
      {"waiting_detectors", strings_value(s.waiting_detectors)},
      {"workers", xmlrpc_c::value_array(workers)},
      {"ports", xmlrpc_c::value_array(ports)},
      {"uptime_s", xmlrpc_c::value_double(s.uptime_s)}});
}

}  // namespace fh::master::rpc
