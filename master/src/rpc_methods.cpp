#include "rpc_methods.hpp"

#include "event_engine.hpp"
#include "frame_render.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/api/xmlrpc.hpp"
#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/logging.hpp"
#include "uploads.hpp"

#include <xmlrpc-c/girerr.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

namespace fh::master::rpc {
namespace {

namespace api = shared::api;
using xmlrpc_c::paramList;
using xmlrpc_c::value;

thread_local std::string t_peer;  ///< current_peer() of this thread

void check_count(const paramList& p, unsigned lo, unsigned hi, const char* usage) {
  if (p.size() < lo || p.size() > hi) {
    type_fault(std::string("wrong number of parameters (") + std::to_string(p.size()) +
               "); usage: " + usage);
  }
}

/// The methods, one member function each, over the scheduler and the store.
class Methods {
 public:
  Methods(Scheduler& s, ResultStore* store, const RpcServerConfig& c, EventEngine* events)
      : scheduler_(s),
        store_(store),
        events_(events),
        limits_{c.max_image_bytes, api::Limits{}.max_detections, api::Limits{}.max_string_bytes},
        max_batch_(c.max_batch),
        jpeg_limits_{c.max_pixels} {}

  /// A frame through the contract, then the shared JPEG header check (the parse the workers'
  /// decoder trusts): what no worker could decode never enters the queue.
  Frame frame_from(const value& v, const std::string& where) const {
    auto f = api::frame_from(v, where, limits_);
    const auto jpeg = shared::check_jpeg(f.image->data(), f.image->size(), jpeg_limits_);
    if (jpeg.error == shared::JpegError::too_large) {
      throw LimitError(where + ".image: " + jpeg.message + " (the master's --max-pixels)");
    }
    if (!jpeg.ok()) {
      type_fault(where + ".image: not a JPEG the workers can decode (" + jpeg.message + ")");
    }
    return f;
  }

  value add_task(const paramList& p) {
    check_count(p, 1, 1, "add_task(Frame)");
    std::vector<Frame> frames;
    frames.push_back(frame_from(p[0], "frame"));
    return xmlrpc_c::value_string(scheduler_.add_frames(std::move(frames)).at(0));
  }

  value add_tasks(const paramList& p) {
    check_count(p, 1, 1, "add_tasks(array<Frame>)");
    if (p[0].type() != value::TYPE_ARRAY) type_fault("frames: expected array");
    const auto n = xmlrpc_c::value_array(p[0]).size();
    if (n > max_batch_) {
      type_fault("frames: " + std::to_string(n) + " frames in one call, over the limit of " +
                 std::to_string(max_batch_));
    }
    auto frames = api::list_from(
        p[0], "frames", [this](const value& v, const std::string& w) { return frame_from(v, w); });
    return api::strings_value(scheduler_.add_frames(std::move(frames)));
  }

  value register_worker(const paramList& p) {
    check_count(p, 3, 3, "register_worker(worker_id, address, capabilities)");
    const auto id = api::string_from(p[0], api::field::worker_id);
    if (id.empty() || id.size() > 256) type_fault("worker_id: 1 to 256 bytes");
    auto caps = api::strings_from(p[2], api::field::capabilities);
    if (caps.empty()) type_fault("capabilities: at least one detector name");
    return api::to_value(scheduler_.register_worker(id, api::string_from(p[1], api::field::address),
                                                    std::move(caps), current_peer()));
  }

  value heartbeat(const paramList& p) {
    check_count(p, 1, 1, "heartbeat(worker_id)");
    return xmlrpc_c::value_boolean(
        scheduler_.heartbeat(api::string_from(p[0], api::field::worker_id)));
  }

  value request_task(const paramList& p) {
    check_count(p, 1, 2, "request_task(worker_id [, wait_ms])");
    const auto id = api::string_from(p[0], api::field::worker_id);
    const int wait_ms =
        p.size() > 1
            ? static_cast<int>(std::clamp<std::int64_t>(api::int_from(p[1], "wait_ms"), 0, 1 << 30))
            : 0;
    auto task = scheduler_.request_task(id, wait_ms);
    if (!task) return xmlrpc_c::value_struct(std::map<std::string, value>{});
    return api::to_value(*task);
  }

  value complete_task(const paramList& p) {
    check_count(p, 3, 3, "complete_task(worker_id, task_id, Result)");
    return xmlrpc_c::value_boolean(scheduler_.complete_task(
        api::string_from(p[0], api::field::worker_id), api::string_from(p[1], api::field::task_id),
        api::result_from(p[2], limits_)));
  }

  value fail_task(const paramList& p) {
    check_count(p, 3, 3, "fail_task(worker_id, task_id, reason)");
    auto reason = api::string_from(p[2], api::field::reason);
    if (reason.size() > 1024) reason.resize(1024);
    return xmlrpc_c::value_boolean(
        scheduler_.fail_task(api::string_from(p[0], api::field::worker_id),
                             api::string_from(p[1], api::field::task_id), reason));
  }

  value get_results(const paramList& p) {
    check_count(p, 1, 2, "get_results(port [, limit])");
    const auto port = api::int_from(p[0], api::field::port);
    const auto limit = p.size() > 1 ? api::int_from(p[1], "limit") : 0;
    if (limit < 0) type_fault("limit: must be >= 0");
    return api::to_value(
        scheduler_.get_results(static_cast<int>(port), static_cast<std::size_t>(limit)));
  }

  value get_failures(const paramList& p) {
    check_count(p, 1, 2, "get_failures(port [, limit])");
    const auto port = api::int_from(p[0], api::field::port);
    const auto limit = p.size() > 1 ? api::int_from(p[1], "limit") : 100;
    if (limit < 0) type_fault("limit: must be >= 0");
    std::vector<FailureRecord> out;
    if (store_) out = store_->failures(static_cast<int>(port), static_cast<std::size_t>(limit));
    return api::to_value(out);
  }

  value status(const paramList& p) {
    check_count(p, 0, 0, "status()");
    return api::to_value(scheduler_.status());
  }

  value get_summary(const paramList& p) {
    check_count(p, 3, 3, "get_summary(port, interval_s, since_s)");
    const auto port = api::int_from(p[0], api::field::port);
    const double interval = api::double_from(p[1], "interval_s");
    const double since_s = api::double_from(p[2], "since_s");
    if (!(interval >= 0.001)) type_fault("interval_s: must be >= 0.001");
    if (!(since_s > 0) || since_s / interval > 50000) {
      type_fault("since_s: must be > 0 and at most 50000 intervals");
    }
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::vector<SummaryBucket> out;
    if (store_) out = store_->summary(static_cast<int>(port), interval, now - since_s);
    return api::to_value(out);
  }

  value get_frame(const paramList& p) {
    check_count(p, 1, 1, "get_frame(task_id)");
    const auto id = api::string_from(p[0], api::field::task_id);
    auto kept = scheduler_.get_frame(id);
    if (!kept) {
      throw xmlrpc_c::fault("unknown task '" + id +
                                "' (or no longer kept: the master keeps the last --keep-frames "
                                "completed frames per port)",
                            static_cast<xmlrpc_c::fault::code_t>(api::fault::not_found));
    }
    return api::to_value(*kept);
  }

  value add_image(const paramList& p) {
    check_count(p, 1, 3, "add_image(image [, detector [, name]])");
    if (p[0].type() != value::TYPE_BYTESTRING) type_fault("image: expected base64");
    const xmlrpc_c::value_bytestring raw(p[0]);
    if (raw.length() > limits_.max_image_bytes) {
      throw LimitError("image: " + std::to_string(raw.length()) + " bytes, over the limit of " +
                       std::to_string(limits_.max_image_bytes));
    }
    auto bytes = raw.vectorUcharValue();
    const bool png = bytes.size() >= 4 && bytes[0] == 0x89 && bytes[1] == 'P';
    std::vector<std::uint8_t> jpeg;
    try {
      jpeg = upload_to_jpeg(png ? "image/png" : "image/jpeg", bytes, jpeg_limits_.max_pixels);
    } catch (const ImageError& e) {
      if (e.http_status == 413) throw LimitError(std::string("image: ") + e.what());
      type_fault(std::string("image: ") + e.what());
    }
    const std::string detector = p.size() > 1 ? api::string_from(p[1], api::field::detector) : "";
    const std::string name = p.size() > 2 ? api::string_from(p[2], api::field::name) : "";
    return xmlrpc_c::value_string(add_upload(scheduler_, std::move(jpeg), detector, name).task_id);
  }

  value get_task(const paramList& p) {
    check_count(p, 1, 1, "get_task(task_id)");
    const auto id = api::string_from(p[0], api::field::task_id);
    auto info = scheduler_.task_info(id);
    if (!info) {
      throw xmlrpc_c::fault("unknown task '" + id + "'",
                            static_cast<xmlrpc_c::fault::code_t>(api::fault::not_found));
    }
    return api::to_value(*info);
  }

  value report_receiver(const paramList& p) {
    check_count(p, 2, 2, "report_receiver(receiver_id, array<ReceiverPortCounters>)");
    const auto id = api::string_from(p[0], api::field::receiver_id);
    if (id.empty() || id.size() > 256) type_fault("receiver_id: 1 to 256 bytes");
    auto ports = api::list_from(p[1], api::field::ports, api::receiver_port_from);
    scheduler_.report_receiver(id, current_peer(), std::move(ports));
    return xmlrpc_c::value_boolean(true);
  }

  value get_events(const paramList& p) {
    check_count(p, 3, 4, "get_events(port, since, limit [, after])");
    EventQuery q;
    q.port = api::int_from(p[0], api::field::port, -1, 65535);
    q.since = api::double_from(p[1], "since");
    q.limit = static_cast<std::size_t>(api::int_from(p[2], "limit", 1, 1000));
    if (p.size() > 3) q.after_seq = api::int_from(p[3], "after");
    if (!events_) return api::to_value(std::vector<api::Event>{});
    return api::to_value(events_->events(q));
  }

  value export_results(const paramList& p) {
    check_count(p, 4, 4, "export_results(port, since, cursor, limit)");
    const auto port = api::int_from(p[0], api::field::port);
    const double since = api::double_from(p[1], "since");
    const auto cursor = api::int_from(p[2], api::field::cursor);
    const auto limit = std::clamp<std::int64_t>(api::int_from(p[3], "limit"), 1, 10000);
    api::ExportPage page;
    page.cursor = cursor;
    if (store_) {
      page.results = store_->results_after(static_cast<int>(port), since, cursor,
                                           static_cast<std::size_t>(limit), page.cursor);
    }
    return api::to_value(page);
  }

 private:
  Scheduler& scheduler_;                  ///< thread-safe
  ResultStore* store_;                    ///< thread-safe; may be null
  EventEngine* events_;                   ///< thread-safe; may be null
  const api::Limits limits_;              ///< what clients may send
  const std::size_t max_batch_;           ///< frames in one add_tasks
  const shared::JpegLimits jpeg_limits_;  ///< --max-pixels
};

}  // namespace

void type_fault(const std::string& msg) {
  throw xmlrpc_c::fault(msg, static_cast<xmlrpc_c::fault::code_t>(api::fault::type));
}

const std::string& current_peer() { return t_peer; }

PeerScope::PeerScope(const std::string& peer) : previous_(std::move(t_peer)) { t_peer = peer; }

PeerScope::~PeerScope() { t_peer = std::move(previous_); }

value invoke(const MethodDef& m, const paramList& params) {
  const auto fault = [](const std::string& msg, int code) {
    return xmlrpc_c::fault(msg, static_cast<xmlrpc_c::fault::code_t>(code));
  };
  try {
    return m.body(params);
  } catch (const xmlrpc_c::fault&) {
    throw;
  } catch (const api::ContractError& e) {
    throw fault(e.what(), api::fault::type);
  } catch (const LimitError& e) {
    throw fault(e.what(), api::fault::limit_exceeded);
  } catch (const RequestError& e) {
    throw fault(e.what(), api::fault::refused);
  } catch (const girerr::error& e) {
    throw fault(e.what(), api::fault::type);
  } catch (const std::exception& e) {
    shared::logger("rpc")->error("internal error in {}: {}", m.name, e.what());
    throw fault(std::string("internal error: ") + e.what(), api::fault::internal);
  }
}

std::vector<MethodDef> make_methods(Scheduler& s, ResultStore* store, const RpcServerConfig& config,
                                    EventEngine* events) {
  auto m = std::make_shared<Methods>(s, store, config, events);
  const auto bind = [m](value (Methods::*f)(const paramList&)) -> MethodBody {
    return [m, f](const paramList& p) { return ((*m).*f)(p); };
  };
  namespace name = api::method;
  return {
      {name::add_task, "s:S", "add_task(Frame) -> task_id. Queues one JPEG frame for detection.",
       bind(&Methods::add_task)},
      {name::add_tasks, "A:A", "add_tasks(array<Frame>) -> array<task_id>. All or none are queued.",
       bind(&Methods::add_tasks)},
      {name::register_worker, "S:ssA",
       "register_worker(worker_id, address, capabilities) -> {heartbeat_interval, task_timeout}",
       bind(&Methods::register_worker)},
      {name::heartbeat, "b:s", "heartbeat(worker_id) -> boolean; false: unknown, register again.",
       bind(&Methods::heartbeat)},
      {name::request_task, "S:s,S:si",
       "request_task(worker_id [, wait_ms]) -> Task or {} when there is nothing to do; waits up "
       "to wait_ms for a task.",
       bind(&Methods::request_task)},
      {name::complete_task, "b:ssS",
       "complete_task(worker_id, task_id, Result) -> boolean; false: unknown or already done.",
       bind(&Methods::complete_task)},
      {name::fail_task, "b:sss",
       "fail_task(worker_id, task_id, reason) -> boolean. The frame could not be processed.",
       bind(&Methods::fail_task)},
      {name::get_results, "A:i,A:ii",
       "get_results(port [, limit]) -> array<ResultRecord>, newest first.",
       bind(&Methods::get_results)},
      {name::get_failures, "A:i,A:ii",
       "get_failures(port [, limit]) -> array<FailureRecord>, newest first (persisted).",
       bind(&Methods::get_failures)},
      {name::status,
       "S:", "status() -> {pending, in_progress, completed, failed, workers, ports, ...}",
       bind(&Methods::status)},
      {name::get_summary, "A:idd",
       "get_summary(port, interval_s, since_s) -> array<{start, end, frames, labels}>: results "
       "captured in the last since_s seconds, per interval_s bucket, detections per label.",
       bind(&Methods::get_summary)},
      {name::get_frame, "S:s",
       "get_frame(task_id) -> ResultRecord plus image:base64, for the last --keep-frames "
       "completed frames of each port; fault 404 when not kept.",
       bind(&Methods::get_frame)},
      {name::export_results, "S:idii",
       "export_results(port, since, cursor, limit) -> {results: array<ResultRecord>, cursor}: "
       "persisted results captured at or after since (Unix s), oldest first, after cursor (0 to "
       "start; pass the returned cursor to continue).",
       bind(&Methods::export_results)},
      {name::add_image, "s:6,s:6s,s:6ss",
       "add_image(image [, detector [, name]]) -> task_id. Queues a still image (JPEG or PNG) "
       "as a task of the reserved port 0; it waits for a worker however long it takes.",
       bind(&Methods::add_image)},
      {name::get_task, "S:s",
       "get_task(task_id) -> {task_id, state, port, stream, detector, attempt [, record] [, "
       "failure]}; state pending | in_progress | completed | failed; fault 404 when unknown.",
       bind(&Methods::get_task)},
      {name::report_receiver, "b:sA",
       "report_receiver(receiver_id, array<{port, datagrams, bytes, frames_complete, "
       "frames_incomplete, frames_dropped, too_large, malformed}>) -> true. A receiver's "
       "counters since it started, shown in status().receivers and /metrics.",
       bind(&Methods::report_receiver)},
      {name::get_events, "A:idi,A:idii",
       "get_events(port, since, limit [, after]) -> array<Event>: stored events of a port (-1: "
       "every port; 0: those of no camera) at or after since (Unix s) with seq > after, oldest "
       "first, at most limit (1..1000). docs/events.md",
       bind(&Methods::get_events)},
  };
}

}  // namespace fh::master::rpc
