#pragma once
// The contract's types (types.hpp) to and from XML-RPC values, both directions for every
// type, with the member names of names.hpp. Parsing checks types, required members and ranges
// and throws ContractError with a message that names the place ("frames[3].port: expected int,
// got string"); the master turns it into fault::type. Pure functions, thread-safe.
// Include only from .cpp files: it exposes xmlrpc-c value types.

#include "framehive/shared/api/types.hpp"

#include <xmlrpc-c/base.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace fh::shared::api {

/// A value that does not match the contract; the message names the field.
class ContractError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bounds a master applies to what clients send.
struct Limits {
  std::size_t max_image_bytes = 16u << 20;  ///< largest accepted JPEG
  std::size_t max_detections = 10000;       ///< detections in one Result
  std::size_t max_string_bytes = 256;       ///< stream, detector, label, worker id

  /// No bounds: for replies from the master, which already applied its own.
  static Limits none() {
    constexpr auto any = std::numeric_limits<std::size_t>::max();
    return Limits{any, any, any};
  }
};

// ------------------------------------------------------------------ scalars
/// Integer from int or i8 (doubles are refused).
std::int64_t int_from(const xmlrpc_c::value& v, const std::string& where);
/// Integer in [lo, hi].
int int_from(const xmlrpc_c::value& v, const std::string& where, std::int64_t lo, std::int64_t hi);
/// Number from double, int or i8; refuses NaN and infinities.
double double_from(const xmlrpc_c::value& v, const std::string& where);
std::string string_from(const xmlrpc_c::value& v, const std::string& where);
bool bool_from(const xmlrpc_c::value& v, const std::string& where);
std::vector<std::string> strings_from(const xmlrpc_c::value& v, const std::string& where);
/// The elements of an array.
std::vector<xmlrpc_c::value> array_from(const xmlrpc_c::value& v, const std::string& where);
/// int when it fits in 32 bits, else i8.
xmlrpc_c::value int_value(std::int64_t i);
xmlrpc_c::value strings_value(const std::vector<std::string>& v);
/// A struct of integers (labels -> count, detector -> pending), both ways.
xmlrpc_c::value counts_value(const std::map<std::string, std::int64_t>& counts);
std::map<std::string, std::int64_t> counts_from(const xmlrpc_c::value& v, const std::string& where);

// ------------------------------------------------------------------ contract types
/// Frame (the add_task parameter). frame_from refuses images over limits.max_image_bytes and
/// images that are not JPEG (SOI/EOI markers).
xmlrpc_c::value to_value(const Frame& f);
Frame frame_from(const xmlrpc_c::value& v, const std::string& where, const Limits& limits);

xmlrpc_c::value to_value(const Task& t);
Task task_from(const xmlrpc_c::value& v, const Limits& limits);

xmlrpc_c::value to_value(const Detection& d);
Detection detection_from(const xmlrpc_c::value& v, const std::string& where, const Limits& limits);

xmlrpc_c::value to_value(const Result& r);
Result result_from(const xmlrpc_c::value& v, const Limits& limits);

xmlrpc_c::value to_value(const ResultRecord& r);
ResultRecord record_from(const xmlrpc_c::value& v, const std::string& where);

xmlrpc_c::value to_value(const FailureRecord& f);
FailureRecord failure_from(const xmlrpc_c::value& v, const std::string& where);

/// get_frame's reply: the ResultRecord's members plus image.
xmlrpc_c::value to_value(const KeptFrame& k);
KeptFrame kept_frame_from(const xmlrpc_c::value& v);

/// get_task's reply: record only when completed, failure only when failed.
xmlrpc_c::value to_value(const TaskInfo& t);
TaskInfo task_info_from(const xmlrpc_c::value& v);

xmlrpc_c::value to_value(const Registration& r);
Registration registration_from(const xmlrpc_c::value& v);

/// report_receiver's parameter items (ports 1..65535, counts >= 0) and status().receivers.
xmlrpc_c::value to_value(const ReceiverPortCounters& c);
ReceiverPortCounters receiver_port_from(const xmlrpc_c::value& v, const std::string& where);
xmlrpc_c::value to_value(const ReceiverStatus& r);
ReceiverStatus receiver_status_from(const xmlrpc_c::value& v, const std::string& where);

xmlrpc_c::value to_value(const WorkerStatus& w);
WorkerStatus worker_status_from(const xmlrpc_c::value& v, const std::string& where);
xmlrpc_c::value to_value(const PortStatus& p);
PortStatus port_status_from(const xmlrpc_c::value& v, const std::string& where);
xmlrpc_c::value to_value(const Status& s);
Status status_from(const xmlrpc_c::value& v);

xmlrpc_c::value to_value(const SummaryBucket& b);
SummaryBucket bucket_from(const xmlrpc_c::value& v, const std::string& where);

/// get_events' items: object members (track_id, label, confidence, box, start, end,
/// snapshot_task_id) only for object events, zone and detail only when set.
xmlrpc_c::value to_value(const Event& e);
Event event_from(const xmlrpc_c::value& v, const std::string& where);

xmlrpc_c::value to_value(const ExportPage& p);
ExportPage export_page_from(const xmlrpc_c::value& v);

/// An array of any of the above.
template <class T>
xmlrpc_c::value to_value(const std::vector<T>& items) {
  std::vector<xmlrpc_c::value> out;
  out.reserve(items.size());
  for (const auto& i : items) out.push_back(to_value(i));
  return xmlrpc_c::value_array(out);
}

/// Each element of an array through parse(element, "where[i]").
template <class Parse>
auto list_from(const xmlrpc_c::value& v, const std::string& where, Parse parse) {
  const auto items = array_from(v, where);
  std::vector<decltype(parse(items.front(), where))> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back(parse(items[i], where + "[" + std::to_string(i) + "]"));
  }
  return out;
}

}  // namespace fh::shared::api
