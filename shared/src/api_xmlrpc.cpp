#include "framehive/shared/api/xmlrpc.hpp"

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/jpeg.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <memory>

namespace fh::shared::api {
namespace {

using xmlrpc_c::value;
using Struct = std::map<std::string, value>;

const char* type_name(value::type_t t) {
  switch (t) {
    case value::TYPE_INT:
      return "int";
    case value::TYPE_BOOLEAN:
      return "boolean";
    case value::TYPE_DOUBLE:
      return "double";
    case value::TYPE_DATETIME:
      return "dateTime";
    case value::TYPE_STRING:
      return "string";
    case value::TYPE_BYTESTRING:
      return "base64";
    case value::TYPE_ARRAY:
      return "array";
    case value::TYPE_STRUCT:
      return "struct";
    case value::TYPE_NIL:
      return "nil";
    case value::TYPE_I8:
      return "i8";
    default:
      return "unknown type";
  }
}

[[noreturn]] void wrong_type(const std::string& where, const char* want, const value& v) {
  throw ContractError(where + ": expected " + want + ", got " + type_name(v.type()));
}

/// Refuses a string longer than max bytes.
void check_length(const std::string& s, const std::string& where, std::size_t max) {
  if (s.size() > max) {
    throw ContractError(where + ": longer than " + std::to_string(max) + " bytes");
  }
}

/// A string no longer than max bytes.
std::string bounded_string(const value& v, const std::string& where, std::size_t max) {
  auto s = string_from(v, where);
  check_length(s, where, max);
  return s;
}

/// A struct's members, with the place it came from for messages.
class Members {
 public:
  Members(const value& v, std::string where) : where_(std::move(where)) {
    if (v.type() != value::TYPE_STRUCT) wrong_type(where_, "struct", v);
    members_ = static_cast<Struct>(xmlrpc_c::value_struct(v));
  }
  const value* find(const char* name) const {
    auto it = members_.find(name);
    return it == members_.end() ? nullptr : &it->second;
  }
  const value& at(const char* name) const {
    const value* v = find(name);
    if (!v) throw ContractError(where_ + ": missing field '" + name + "'");
    return *v;
  }
  std::string place(const char* name) const { return where_ + "." + name; }
  const Struct& all() const { return members_; }
  const std::string& where() const { return where_; }

  std::int64_t i64(const char* n) const { return int_from(at(n), place(n)); }
  int i32(const char* n, std::int64_t lo, std::int64_t hi) const {
    return int_from(at(n), place(n), lo, hi);
  }
  int i32(const char* n) const {
    return i32(n, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  }
  double dbl(const char* n) const { return double_from(at(n), place(n)); }
  std::string str(const char* n) const { return string_from(at(n), place(n)); }
  bool boolean(const char* n) const { return bool_from(at(n), place(n)); }
  std::vector<std::string> strs(const char* n) const { return strings_from(at(n), place(n)); }
  // Optional members (added to the contract later; an older master leaves them out).
  double opt_dbl(const char* n) const { return find(n) ? dbl(n) : 0.0; }
  std::string opt_str(const char* n) const { return find(n) ? str(n) : std::string(); }
  /// A string member no longer than max bytes.
  std::string bounded(const char* n, std::size_t max) const {
    return bounded_string(at(n), place(n), max);
  }
  Image image(std::size_t max_bytes) const {
    const value& img = at(field::image);
    if (img.type() != value::TYPE_BYTESTRING) wrong_type(place(field::image), "base64", img);
    const xmlrpc_c::value_bytestring b(img);
    if (b.length() > max_bytes) {
      throw ContractError(place(field::image) + ": " + std::to_string(b.length()) +
                          " bytes, over the limit of " + std::to_string(max_bytes));
    }
    auto bytes = b.vectorUcharValue();
    if (!looks_like_jpeg(bytes.data(), bytes.size())) {
      throw ContractError(place(field::image) + ": not a JPEG (no SOI/EOI markers)");
    }
    return std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
  }

 private:
  std::string where_;
  Struct members_;
};

value str_value(const std::string& s) { return xmlrpc_c::value_string(s); }
value dbl_value(double d) { return xmlrpc_c::value_double(d); }
value image_value(const Image& image) {
  static const std::vector<unsigned char> empty;
  return xmlrpc_c::value_bytestring(image ? *image : empty);
}

/// The Frame members (add_task's parameter; a Task adds its own).
void put_frame(Struct& s, const Frame& f) {
  s.emplace(field::port, xmlrpc_c::value_int(f.port));
  s.emplace(field::stream, str_value(f.stream));
  s.emplace(field::frame_id, int_value(f.frame_id));
  s.emplace(field::captured_at, dbl_value(f.captured_at));
  s.emplace(field::received_at, dbl_value(f.received_at));
  s.emplace(field::width, xmlrpc_c::value_int(f.width));
  s.emplace(field::height, xmlrpc_c::value_int(f.height));
  s.emplace(field::image, image_value(f.image));
  if (!f.detector.empty()) s.emplace(field::detector, str_value(f.detector));
  if (f.gated > 0) s.emplace(field::gated, int_value(f.gated));
  if (f.motion.present) {
    std::vector<value> boxes;
    boxes.reserve(f.motion.boxes.size());
    for (const auto& b : f.motion.boxes) {
      boxes.push_back(xmlrpc_c::value_struct(Struct{{field::x, dbl_value(b.x)},
                                                    {field::y, dbl_value(b.y)},
                                                    {field::w, dbl_value(b.w)},
                                                    {field::h, dbl_value(b.h)}}));
    }
    s.emplace(field::motion, xmlrpc_c::value_struct(Struct{
                                 {field::score, dbl_value(f.motion.score)},
                                 {field::keepalive, xmlrpc_c::value_boolean(f.motion.keepalive)},
                                 {field::boxes, xmlrpc_c::value_array(boxes)}}));
  }
}

/// A fraction of the frame, 0..1.
double fraction_from(const Members& m, const char* name) {
  const double d = m.dbl(name);
  if (!(d >= 0.0 && d <= 1.0)) throw ContractError(m.place(name) + ": must be within 0..1");
  return d;
}

/// The optional "motion" member of a frame: score 0..1, at most k_max_motion_boxes boxes inside
/// the frame.
Motion motion_from(const value& v, const std::string& where) {
  const Members m(v, where);
  Motion out;
  out.present = true;
  out.score = fraction_from(m, field::score);
  if (m.find(field::keepalive)) out.keepalive = m.boolean(field::keepalive);
  if (m.find(field::boxes)) {
    const auto items = array_from(m.at(field::boxes), m.place(field::boxes));
    if (items.size() > k_max_motion_boxes) {
      throw ContractError(m.place(field::boxes) + ": " + std::to_string(items.size()) +
                          " boxes, at most " + std::to_string(k_max_motion_boxes));
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Members b(items[i], m.place(field::boxes) + "[" + std::to_string(i) + "]");
      MotionBox box{fraction_from(b, field::x), fraction_from(b, field::y),
                    fraction_from(b, field::w), fraction_from(b, field::h)};
      if (box.x + box.w > 1.0 + 1e-9 || box.y + box.h > 1.0 + 1e-9) {
        throw ContractError(b.where() + ": the box leaves the frame");
      }
      out.boxes.push_back(box);
    }
  }
  return out;
}

/// min_port: 1 for frames clients send; 0 for tasks, whose frame may be an upload (port 0).
Frame get_frame(const Members& m, const Limits& limits, int min_port = 1) {
  Frame f;
  f.port = m.i32(field::port, min_port, 65535);
  f.frame_id = m.i64(field::frame_id);
  f.captured_at = m.dbl(field::captured_at);
  // Optional members: one lookup each.
  const auto max_string = limits.max_string_bytes;
  if (const value* v = m.find(field::stream)) {
    f.stream = bounded_string(*v, m.place(field::stream), max_string);
  }
  if (const value* v = m.find(field::received_at)) {
    f.received_at = double_from(*v, m.place(field::received_at));
  }
  if (const value* v = m.find(field::width))
    f.width = int_from(*v, m.place(field::width), 0, 1 << 16);
  if (const value* v = m.find(field::height)) {
    f.height = int_from(*v, m.place(field::height), 0, 1 << 16);
  }
  if (const value* v = m.find(field::detector)) {
    f.detector = bounded_string(*v, m.place(field::detector), max_string);
  }
  if (const value* v = m.find(field::gated)) {
    f.gated = int_from(*v, m.place(field::gated));
    if (f.gated < 0) throw ContractError(m.place(field::gated) + ": must be >= 0");
  }
  if (const value* v = m.find(field::motion)) f.motion = motion_from(*v, m.place(field::motion));
  f.image = m.image(limits.max_image_bytes);
  return f;
}

void put_record(Struct& s, const ResultRecord& r) {
  s.emplace(field::task_id, str_value(r.task_id));
  s.emplace(field::port, xmlrpc_c::value_int(r.port));
  s.emplace(field::stream, str_value(r.stream));
  s.emplace(field::frame_id, int_value(r.frame_id));
  s.emplace(field::captured_at, dbl_value(r.captured_at));
  s.emplace(field::received_at, dbl_value(r.received_at));
  s.emplace(field::completed_at, dbl_value(r.completed_at));
  s.emplace(field::worker_id, str_value(r.worker_id));
  s.emplace(field::detector, str_value(r.detector));
  s.emplace(field::detections, to_value(r.detections));
  s.emplace(field::processing_ms, dbl_value(r.processing_ms));
}

ResultRecord get_record(const Members& m) {
  ResultRecord r;
  r.task_id = m.str(field::task_id);
  r.port = m.i32(field::port);
  r.stream = m.str(field::stream);
  r.frame_id = m.i64(field::frame_id);
  r.captured_at = m.dbl(field::captured_at);
  r.received_at = m.dbl(field::received_at);
  r.completed_at = m.dbl(field::completed_at);
  r.worker_id = m.str(field::worker_id);
  r.detector = m.str(field::detector);
  r.detections = list_from(
      m.at(field::detections), m.place(field::detections),
      [&](const value& d, const std::string& w) { return detection_from(d, w, Limits::none()); });
  r.processing_ms = m.dbl(field::processing_ms);
  return r;
}

}  // namespace

// ------------------------------------------------------------------ scalars
std::int64_t int_from(const value& v, const std::string& where) {
  if (v.type() == value::TYPE_INT) return static_cast<int>(xmlrpc_c::value_int(v));
  if (v.type() == value::TYPE_I8) return static_cast<xmlrpc_int64>(xmlrpc_c::value_i8(v));
  wrong_type(where, "int", v);
}

int int_from(const value& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
  const auto i = int_from(v, where);
  if (i < lo || i > hi) {
    throw ContractError(where + ": " + std::to_string(i) + " out of range " + std::to_string(lo) +
                        ".." + std::to_string(hi));
  }
  return static_cast<int>(i);
}

double double_from(const value& v, const std::string& where) {
  switch (v.type()) {
    case value::TYPE_DOUBLE: {
      const double d = xmlrpc_c::value_double(v);
      if (!std::isfinite(d)) throw ContractError(where + ": not a finite number");
      return d;
    }
    case value::TYPE_INT:
      return static_cast<int>(xmlrpc_c::value_int(v));
    case value::TYPE_I8:
      return static_cast<double>(static_cast<xmlrpc_int64>(xmlrpc_c::value_i8(v)));
    default:
      wrong_type(where, "double", v);
  }
}

std::string string_from(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_STRING) wrong_type(where, "string", v);
  return static_cast<std::string>(xmlrpc_c::value_string(v));
}

bool bool_from(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_BOOLEAN) wrong_type(where, "boolean", v);
  return xmlrpc_c::value_boolean(v);
}

std::vector<value> array_from(const value& v, const std::string& where) {
  if (v.type() != value::TYPE_ARRAY) wrong_type(where, "array", v);
  return xmlrpc_c::value_array(v).vectorValueValue();
}

std::vector<std::string> strings_from(const value& v, const std::string& where) {
  return list_from(v, where, string_from);
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
  for (const auto& s : v) out.push_back(str_value(s));
  return xmlrpc_c::value_array(out);
}

value counts_value(const std::map<std::string, std::int64_t>& counts) {
  Struct out;
  for (const auto& [name, n] : counts) out.emplace(name, int_value(n));
  return xmlrpc_c::value_struct(out);
}

std::map<std::string, std::int64_t> counts_from(const value& v, const std::string& where) {
  const Members m(v, where);
  std::map<std::string, std::int64_t> out;
  for (const auto& [name, n] : m.all()) out[name] = int_from(n, m.place(name.c_str()));
  return out;
}

// ------------------------------------------------------------------ Frame, Task
value to_value(const Frame& f) {
  Struct s;
  put_frame(s, f);
  return xmlrpc_c::value_struct(s);
}

Frame frame_from(const value& v, const std::string& where, const Limits& limits) {
  return get_frame(Members(v, where), limits);
}

value to_value(const Task& t) {
  Struct s;
  put_frame(s, t.frame);
  s.erase(field::detector);  // always present in a task (xmlrpc-c values cannot be reassigned)
  s.emplace(field::detector, str_value(t.frame.detector));
  s.emplace(field::task_id, str_value(t.task_id));
  s.emplace(field::attempt, xmlrpc_c::value_int(t.attempt));
  return xmlrpc_c::value_struct(s);
}

Task task_from(const value& v, const Limits& limits) {
  const Members m(v, "task");
  Task t;
  t.task_id = m.str(field::task_id);
  t.attempt = m.i32(field::attempt, 1, std::numeric_limits<int>::max());
  t.frame = get_frame(m, limits, k_upload_port);
  t.frame.detector = m.str(field::detector);
  return t;
}

// ------------------------------------------------------------------ Detection, Result
value to_value(const Detection& d) {
  Struct s{{field::label, str_value(d.label)},   {field::confidence, dbl_value(d.confidence)},
           {field::x, xmlrpc_c::value_int(d.x)}, {field::y, xmlrpc_c::value_int(d.y)},
           {field::w, xmlrpc_c::value_int(d.w)}, {field::h, xmlrpc_c::value_int(d.h)}};
  if (d.track_id != 0) s.emplace(field::track_id, int_value(d.track_id));
  return xmlrpc_c::value_struct(s);
}

Detection detection_from(const value& v, const std::string& where, const Limits& limits) {
  const Members m(v, where);
  Detection d;
  d.label = m.str(field::label);
  d.confidence = m.dbl(field::confidence);
  d.x = m.i32(field::x, -(1 << 20), 1 << 20);
  d.y = m.i32(field::y, -(1 << 20), 1 << 20);
  d.w = m.i32(field::w, 0, 1 << 20);
  d.h = m.i32(field::h, 0, 1 << 20);
  if (m.find(field::track_id)) d.track_id = m.i64(field::track_id);
  check_length(d.label, m.place(field::label), limits.max_string_bytes);  // last, as before
  return d;
}

value to_value(const Result& r) {
  return xmlrpc_c::value_struct(Struct{{field::detections, to_value(r.detections)},
                                       {field::processing_ms, dbl_value(r.processing_ms)}});
}

Result result_from(const value& v, const Limits& limits) {
  const Members m(v, "result");
  Result r;
  if (const value* v = m.find(field::processing_ms)) {
    r.processing_ms = double_from(*v, m.place(field::processing_ms));
  }
  const value& dets = m.at(field::detections);
  const std::string where = m.place(field::detections);
  if (dets.type() != value::TYPE_ARRAY) wrong_type(where, "array", dets);
  if (xmlrpc_c::value_array(dets).size() > limits.max_detections) {
    throw ContractError(where + ": more than " + std::to_string(limits.max_detections) +
                        " detections");
  }
  r.detections = list_from(dets, where, [&](const value& d, const std::string& w) {
    return detection_from(d, w, limits);
  });
  return r;
}

// ------------------------------------------------------------------ records
value to_value(const ResultRecord& r) {
  Struct s;
  put_record(s, r);
  return xmlrpc_c::value_struct(s);
}

ResultRecord record_from(const value& v, const std::string& where) {
  return get_record(Members(v, where));
}

value to_value(const FailureRecord& f) {
  return xmlrpc_c::value_struct(Struct{{field::task_id, str_value(f.task_id)},
                                       {field::port, xmlrpc_c::value_int(f.port)},
                                       {field::stream, str_value(f.stream)},
                                       {field::frame_id, int_value(f.frame_id)},
                                       {field::captured_at, dbl_value(f.captured_at)},
                                       {field::failed_at, dbl_value(f.failed_at)},
                                       {field::worker_id, str_value(f.worker_id)},
                                       {field::reason, str_value(f.reason)}});
}

FailureRecord failure_from(const value& v, const std::string& where) {
  const Members m(v, where);
  FailureRecord f;
  f.task_id = m.str(field::task_id);
  f.port = m.i32(field::port);
  f.stream = m.str(field::stream);
  f.frame_id = m.i64(field::frame_id);
  f.captured_at = m.dbl(field::captured_at);
  f.failed_at = m.dbl(field::failed_at);
  f.worker_id = m.str(field::worker_id);
  f.reason = m.str(field::reason);
  return f;
}

value to_value(const KeptFrame& k) {
  Struct s;
  put_record(s, k.record);
  s.emplace(field::image, image_value(k.image));
  return xmlrpc_c::value_struct(s);
}

KeptFrame kept_frame_from(const value& v) {
  const Members m(v, "frame");
  KeptFrame k;
  k.record = get_record(m);
  k.image = m.image(Limits::none().max_image_bytes);
  return k;
}

value to_value(const Registration& r) {
  return xmlrpc_c::value_struct(Struct{{field::heartbeat_interval, dbl_value(r.heartbeat_interval)},
                                       {field::task_timeout, dbl_value(r.task_timeout)}});
}

Registration registration_from(const value& v) {
  const Members m(v, "registration");
  Registration r;
  r.heartbeat_interval = m.dbl(field::heartbeat_interval);
  r.task_timeout = m.dbl(field::task_timeout);
  return r;
}

// ------------------------------------------------------------------ task info
value to_value(const TaskInfo& t) {
  Struct s{
      {field::task_id, str_value(t.task_id)},     {field::state, str_value(t.state)},
      {field::port, xmlrpc_c::value_int(t.port)}, {field::stream, str_value(t.stream)},
      {field::detector, str_value(t.detector)},   {field::attempt, xmlrpc_c::value_int(t.attempt)}};
  if (t.has_record) s.emplace(field::record, to_value(t.record));
  if (t.has_failure) s.emplace(field::failure, to_value(t.failure));
  return xmlrpc_c::value_struct(s);
}

TaskInfo task_info_from(const value& v) {
  const Members m(v, "task");
  TaskInfo t;
  t.task_id = m.str(field::task_id);
  t.state = m.str(field::state);
  t.port = m.i32(field::port);
  t.stream = m.str(field::stream);
  t.detector = m.str(field::detector);
  t.attempt = m.i32(field::attempt);
  if (m.find(field::record)) {
    t.has_record = true;
    t.record = record_from(m.at(field::record), m.place(field::record));
  }
  if (m.find(field::failure)) {
    t.has_failure = true;
    t.failure = failure_from(m.at(field::failure), m.place(field::failure));
  }
  return t;
}

// ------------------------------------------------------------------ receivers
value to_value(const ReceiverPortCounters& c) {
  return xmlrpc_c::value_struct(Struct{{field::port, xmlrpc_c::value_int(c.port)},
                                       {field::datagrams, int_value(c.datagrams)},
                                       {field::bytes, int_value(c.bytes)},
                                       {field::frames_complete, int_value(c.frames_complete)},
                                       {field::frames_incomplete, int_value(c.frames_incomplete)},
                                       {field::frames_dropped, int_value(c.frames_dropped)},
                                       {field::too_large, int_value(c.too_large)},
                                       {field::malformed, int_value(c.malformed)},
                                       {field::gated, int_value(c.gated)}});
}

ReceiverPortCounters receiver_port_from(const value& v, const std::string& where) {
  const Members m(v, where);
  ReceiverPortCounters c;
  c.port = m.i32(field::port, 1, 65535);
  const auto count = [&m](const char* name) {
    const auto n = m.i64(name);
    if (n < 0) throw ContractError(m.place(name) + ": must be >= 0");
    return n;
  };
  c.datagrams = count(field::datagrams);
  c.bytes = count(field::bytes);
  c.frames_complete = count(field::frames_complete);
  c.frames_incomplete = count(field::frames_incomplete);
  c.frames_dropped = count(field::frames_dropped);
  c.too_large = count(field::too_large);
  c.malformed = count(field::malformed);
  if (m.find(field::gated)) c.gated = count(field::gated);  // optional: older receivers
  return c;
}

value to_value(const ReceiverStatus& r) {
  return xmlrpc_c::value_struct(Struct{{field::receiver_id, str_value(r.receiver_id)},
                                       {field::address, str_value(r.address)},
                                       {field::last_seen, dbl_value(r.last_seen)},
                                       {field::ports, to_value(r.ports)}});
}

ReceiverStatus receiver_status_from(const value& v, const std::string& where) {
  const Members m(v, where);
  ReceiverStatus r;
  r.receiver_id = m.str(field::receiver_id);
  r.address = m.str(field::address);
  r.last_seen = m.dbl(field::last_seen);
  r.ports = list_from(m.at(field::ports), m.place(field::ports), receiver_port_from);
  return r;
}

// ------------------------------------------------------------------ status
value to_value(const WorkerStatus& w) {
  return xmlrpc_c::value_struct(Struct{{field::worker_id, str_value(w.worker_id)},
                                       {field::address, str_value(w.address)},
                                       {field::capabilities, strings_value(w.capabilities)},
                                       {field::alive, xmlrpc_c::value_boolean(w.alive)},
                                       {field::registered_at, dbl_value(w.registered_at)},
                                       {field::last_seen, dbl_value(w.last_seen)},
                                       {field::assigned, int_value(w.assigned)},
                                       {field::completed, int_value(w.completed)},
                                       {field::failed, int_value(w.failed)},
                                       {field::current_tasks, strings_value(w.current_tasks)},
                                       {field::task_age_s, dbl_value(w.task_age_s)}});
}

WorkerStatus worker_status_from(const value& v, const std::string& where) {
  const Members m(v, where);
  WorkerStatus w;
  w.worker_id = m.str(field::worker_id);
  w.address = m.str(field::address);
  w.capabilities = m.strs(field::capabilities);
  w.alive = m.boolean(field::alive);
  w.registered_at = m.dbl(field::registered_at);
  w.last_seen = m.dbl(field::last_seen);
  w.assigned = m.i64(field::assigned);
  w.completed = m.i64(field::completed);
  w.failed = m.i64(field::failed);
  w.current_tasks = m.strs(field::current_tasks);
  w.task_age_s = m.opt_dbl(field::task_age_s);
  return w;
}

value to_value(const PortStatus& p) {
  return xmlrpc_c::value_struct(Struct{{field::port, xmlrpc_c::value_int(p.port)},
                                       {field::stream, str_value(p.stream)},
                                       {field::detector, str_value(p.detector)},
                                       {field::received, int_value(p.received)},
                                       {field::pending, int_value(p.pending)},
                                       {field::in_progress, int_value(p.in_progress)},
                                       {field::completed, int_value(p.completed)},
                                       {field::failed, int_value(p.failed)},
                                       {field::dropped, int_value(p.dropped)},
                                       {field::expired, int_value(p.expired)},
                                       {field::lost_at_start, int_value(p.lost_at_start)},
                                       {field::last_frame_id, int_value(p.last_frame_id)},
                                       {field::fps, dbl_value(p.fps)},
                                       {field::latency_p50_ms, dbl_value(p.latency_p50_ms)},
                                       {field::latency_p99_ms, dbl_value(p.latency_p99_ms)},
                                       {field::fps_in, dbl_value(p.fps_in)},
                                       {field::last_received_at, dbl_value(p.last_received_at)},
                                       {field::latest_task_id, str_value(p.latest_task_id)},
                                       {field::state, str_value(p.state)},
                                       {field::stalled_s, dbl_value(p.stalled_s)},
                                       {field::source, str_value(p.source)},
                                       {field::incomplete, int_value(p.incomplete)},
                                       {field::gated, int_value(p.gated)},
                                       {field::detector_chain, strings_value(p.detector_chain)},
                                       {field::running_detector, str_value(p.running_detector)},
                                       {field::fallback, xmlrpc_c::value_boolean(p.fallback)}});
}

PortStatus port_status_from(const value& v, const std::string& where) {
  const Members m(v, where);
  PortStatus p;
  p.port = m.i32(field::port);
  p.stream = m.str(field::stream);
  p.detector = m.str(field::detector);
  p.received = m.i64(field::received);
  p.pending = m.i64(field::pending);
  p.in_progress = m.i64(field::in_progress);
  p.completed = m.i64(field::completed);
  p.failed = m.i64(field::failed);
  p.dropped = m.i64(field::dropped);
  p.expired = m.i64(field::expired);
  p.lost_at_start = m.i64(field::lost_at_start);
  p.last_frame_id = m.i64(field::last_frame_id);
  p.fps = m.dbl(field::fps);
  p.latency_p50_ms = m.dbl(field::latency_p50_ms);
  p.latency_p99_ms = m.dbl(field::latency_p99_ms);
  p.fps_in = m.opt_dbl(field::fps_in);
  p.last_received_at = m.opt_dbl(field::last_received_at);
  p.latest_task_id = m.opt_str(field::latest_task_id);
  p.state = m.opt_str(field::state);
  p.stalled_s = m.opt_dbl(field::stalled_s);
  p.source = m.opt_str(field::source);
  if (m.find(field::incomplete)) p.incomplete = m.i64(field::incomplete);
  // Optional: older masters leave them out.
  if (m.find(field::gated)) p.gated = m.i64(field::gated);
  if (m.find(field::detector_chain)) p.detector_chain = m.strs(field::detector_chain);
  p.running_detector = m.opt_str(field::running_detector);
  if (m.find(field::fallback)) p.fallback = m.boolean(field::fallback);
  return p;
}

value to_value(const Status& s) {
  return xmlrpc_c::value_struct(
      Struct{{field::pending, int_value(s.pending)},
             {field::in_progress, int_value(s.in_progress)},
             {field::completed, int_value(s.completed)},
             {field::failed, int_value(s.failed)},
             {field::dropped, int_value(s.dropped)},
             {field::expired, int_value(s.expired)},
             {field::requeued_timeout, int_value(s.requeued_timeout)},
             {field::requeued_dead_worker, int_value(s.requeued_dead_worker)},
             {field::failed_timeout, int_value(s.failed_timeout)},
             {field::duplicate_completions, int_value(s.duplicate_completions)},
             {field::late_completions, int_value(s.late_completions)},
             {field::unknown_completions, int_value(s.unknown_completions)},
             {field::store_errors, int_value(s.store_errors)},
             {field::lost_at_start, int_value(s.lost_at_start)},
             {field::waiting_detectors, strings_value(s.waiting_detectors)},
             {field::workers, to_value(s.workers)},
             {field::ports, to_value(s.ports)},
             {field::uptime_s, dbl_value(s.uptime_s)},
             {field::queue, counts_value(s.queue)},
             {field::receivers, to_value(s.receivers)}});
}

Status status_from(const value& v) {
  const Members m(v, "status");
  Status s;
  s.pending = m.i64(field::pending);
  s.in_progress = m.i64(field::in_progress);
  s.completed = m.i64(field::completed);
  s.failed = m.i64(field::failed);
  s.dropped = m.i64(field::dropped);
  s.expired = m.i64(field::expired);
  s.requeued_timeout = m.i64(field::requeued_timeout);
  s.requeued_dead_worker = m.i64(field::requeued_dead_worker);
  s.failed_timeout = m.i64(field::failed_timeout);
  s.duplicate_completions = m.i64(field::duplicate_completions);
  s.late_completions = m.i64(field::late_completions);
  s.unknown_completions = m.i64(field::unknown_completions);
  s.store_errors = m.i64(field::store_errors);
  s.lost_at_start = m.i64(field::lost_at_start);
  s.waiting_detectors = m.strs(field::waiting_detectors);
  s.workers = list_from(m.at(field::workers), m.place(field::workers), worker_status_from);
  s.ports = list_from(m.at(field::ports), m.place(field::ports), port_status_from);
  s.uptime_s = m.dbl(field::uptime_s);
  if (m.find(field::queue)) s.queue = counts_from(m.at(field::queue), m.place(field::queue));
  if (m.find(field::receivers)) {
    s.receivers =
        list_from(m.at(field::receivers), m.place(field::receivers), receiver_status_from);
  }
  return s;
}

// ------------------------------------------------------------------ summary, export
value to_value(const SummaryBucket& b) {
  return xmlrpc_c::value_struct(Struct{{field::start, dbl_value(b.start)},
                                       {field::end, dbl_value(b.end)},
                                       {field::frames, int_value(b.frames)},
                                       {field::labels, counts_value(b.labels)},
                                       {field::tracks, counts_value(b.tracks)}});
}

SummaryBucket bucket_from(const value& v, const std::string& where) {
  const Members m(v, where);
  SummaryBucket b;
  b.start = m.dbl(field::start);
  b.end = m.dbl(field::end);
  b.frames = m.i64(field::frames);
  b.labels = counts_from(m.at(field::labels), m.place(field::labels));
  if (m.find(field::tracks)) b.tracks = counts_from(m.at(field::tracks), m.place(field::tracks));
  return b;
}

// ------------------------------------------------------------------ Event
value to_value(const Event& e) {
  Struct s{{field::id, str_value(e.id)},          {field::type, str_value(e.type)},
           {field::time, dbl_value(e.time)},      {field::port, xmlrpc_c::value_int(e.port)},
           {field::stream, str_value(e.stream)},  {field::seq, int_value(e.seq)},
           {field::rules, strings_value(e.rules)}};
  if (e.type.rfind("object.", 0) == 0) {
    s.emplace(field::track_id, int_value(e.track_id));
    s.emplace(field::label, str_value(e.label));
    s.emplace(field::confidence, dbl_value(e.confidence));
    s.emplace(field::box, xmlrpc_c::value_struct(Struct{{field::x, xmlrpc_c::value_int(e.x)},
                                                        {field::y, xmlrpc_c::value_int(e.y)},
                                                        {field::w, xmlrpc_c::value_int(e.w)},
                                                        {field::h, xmlrpc_c::value_int(e.h)}}));
    s.emplace(field::start, dbl_value(e.start));
    s.emplace(field::end, dbl_value(e.end));
    s.emplace(field::snapshot_task_id, str_value(e.snapshot_task_id));
  }
  if (!e.zone.empty()) s.emplace(field::zone, str_value(e.zone));
  if (!e.detail.empty()) s.emplace(field::detail, str_value(e.detail));
  return xmlrpc_c::value_struct(s);
}

Event event_from(const value& v, const std::string& where) {
  const Members m(v, where);
  Event e;
  e.id = m.str(field::id);
  e.type = m.str(field::type);
  e.time = m.dbl(field::time);
  e.port = m.i32(field::port, 0, 65535);
  e.stream = m.str(field::stream);
  e.seq = m.i64(field::seq);
  e.rules = m.strs(field::rules);
  if (m.find(field::track_id)) {
    e.track_id = m.i64(field::track_id);
    e.label = m.str(field::label);
    e.confidence = m.dbl(field::confidence);
    const Members b(m.at(field::box), m.place(field::box));
    e.x = b.i32(field::x);
    e.y = b.i32(field::y);
    e.w = b.i32(field::w);
    e.h = b.i32(field::h);
    e.start = m.dbl(field::start);
    e.end = m.dbl(field::end);
    e.snapshot_task_id = m.str(field::snapshot_task_id);
  }
  e.zone = m.opt_str(field::zone);
  e.detail = m.opt_str(field::detail);
  return e;
}

value to_value(const ExportPage& p) {
  return xmlrpc_c::value_struct(
      Struct{{field::results, to_value(p.results)}, {field::cursor, int_value(p.cursor)}});
}

ExportPage export_page_from(const value& v) {
  const Members m(v, "export");
  ExportPage p;
  p.results = list_from(m.at(field::results), m.place(field::results), record_from);
  p.cursor = m.i64(field::cursor);
  return p;
}

}  // namespace fh::shared::api
