#include "framehive/shared/api/master_client.hpp"

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/api/xmlrpc.hpp"
#include "framehive/shared/rpc_client.hpp"

namespace fh::shared::api {
namespace {

xmlrpc_c::paramList params(std::initializer_list<xmlrpc_c::value> values) {
  xmlrpc_c::paramList p;
  for (const auto& v : values) p.add(v);
  return p;
}

xmlrpc_c::value str(const std::string& s) { return xmlrpc_c::value_string(s); }

}  // namespace

MasterClient::MasterClient(std::string url, int timeout_ms, std::string auth_secret)
    : rpc_(std::make_unique<RpcClient>(std::move(url), timeout_ms, std::move(auth_secret))) {}

MasterClient::~MasterClient() = default;

const std::string& MasterClient::url() const { return rpc_->url(); }

std::string MasterClient::add_task(const Frame& frame) {
  return string_from(rpc_->call(method::add_task, params({to_value(frame)})), "task_id");
}

std::vector<std::string> MasterClient::add_tasks(const std::vector<Frame>& frames) {
  return strings_from(rpc_->call(method::add_tasks, params({to_value(frames)})), "task_ids");
}

Registration MasterClient::register_worker(const std::string& worker_id, const std::string& address,
                                           const std::vector<std::string>& capabilities) {
  return registration_from(
      rpc_->call(method::register_worker,
                 params({str(worker_id), str(address), strings_value(capabilities)})));
}

bool MasterClient::heartbeat(const std::string& worker_id) {
  return bool_from(rpc_->call(method::heartbeat, params({str(worker_id)})), "heartbeat");
}

std::optional<Task> MasterClient::request_task(const std::string& worker_id, int wait_ms) {
  const auto v =
      rpc_->call(method::request_task, params({str(worker_id), xmlrpc_c::value_int(wait_ms)}));
  if (v.type() == xmlrpc_c::value::TYPE_STRUCT && xmlrpc_c::value_struct(v).cvalue().empty()) {
    return std::nullopt;  // {}: nothing to do
  }
  return task_from(v, Limits::none());  // the master bounded it already
}

bool MasterClient::complete_task(const std::string& worker_id, const std::string& task_id,
                                 const Result& result) {
  return bool_from(
      rpc_->call(method::complete_task, params({str(worker_id), str(task_id), to_value(result)})),
      "complete_task");
}

bool MasterClient::fail_task(const std::string& worker_id, const std::string& task_id,
                             const std::string& reason) {
  return bool_from(
      rpc_->call(method::fail_task, params({str(worker_id), str(task_id), str(reason)})),
      "fail_task");
}

std::vector<ResultRecord> MasterClient::get_results(int port, int limit) {
  return list_from(rpc_->call(method::get_results,
                              params({xmlrpc_c::value_int(port), xmlrpc_c::value_int(limit)})),
                   "results", record_from);
}

std::vector<FailureRecord> MasterClient::get_failures(int port, int limit) {
  return list_from(rpc_->call(method::get_failures,
                              params({xmlrpc_c::value_int(port), xmlrpc_c::value_int(limit)})),
                   "failures", failure_from);
}

Status MasterClient::status() { return status_from(rpc_->call(method::status, params({}))); }

std::vector<SummaryBucket> MasterClient::get_summary(int port, double interval_s, double since_s) {
  return list_from(rpc_->call(method::get_summary,
                              params({xmlrpc_c::value_int(port), xmlrpc_c::value_double(interval_s),
                                      xmlrpc_c::value_double(since_s)})),
                   "summary", bucket_from);
}

std::vector<Event> MasterClient::get_events(int port, double since, int limit, std::int64_t after) {
  return list_from(rpc_->call(method::get_events,
                              params({xmlrpc_c::value_int(port), xmlrpc_c::value_double(since),
                                      xmlrpc_c::value_int(limit), int_value(after)})),
                   "events", event_from);
}

KeptFrame MasterClient::get_frame(const std::string& task_id) {
  return kept_frame_from(rpc_->call(method::get_frame, params({str(task_id)})));
}

ExportPage MasterClient::export_results(int port, double since, std::int64_t cursor, int limit) {
  return export_page_from(rpc_->call(
      method::export_results, params({xmlrpc_c::value_int(port), xmlrpc_c::value_double(since),
                                      xmlrpc_c::value_i8(cursor), xmlrpc_c::value_int(limit)})));
}

std::string MasterClient::add_image(const std::vector<std::uint8_t>& image,
                                    const std::string& detector, const std::string& name) {
  return string_from(rpc_->call(method::add_image, params({xmlrpc_c::value_bytestring(image),
                                                           xmlrpc_c::value_string(detector),
                                                           xmlrpc_c::value_string(name)})),
                     "task_id");
}

void MasterClient::report_receiver(const std::string& receiver_id,
                                   const std::vector<ReceiverPortCounters>& ports) {
  rpc_->call(method::report_receiver,
             params({xmlrpc_c::value_string(receiver_id), to_value(ports)}));
}

TaskInfo MasterClient::get_task(const std::string& task_id) {
  return task_info_from(rpc_->call(method::get_task, params({xmlrpc_c::value_string(task_id)})));
}

}  // namespace fh::shared::api
