#include "rpc_methods.hpp"

#include "framehive/shared/logging.hpp"
#include "rpc_convert.hpp"

#include <xmlrpc-c/girerr.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>

namespace fh::master::rpc {
namespace {

using xmlrpc_c::paramList;
using xmlrpc_c::value;

void check_count(const paramList& p, unsigned lo, unsigned hi, const char* usage) {
  if (p.size() < lo || p.size() > hi) {
    type_fault(std::string("wrong number of parameters (") + std::to_string(p.size()) +
                    "); usage: " + usage);
  }
}

}  // namespace

value invoke(const MethodDef& m, const paramList& params) {
  try {
    return m.body(params);
  } catch (const xmlrpc_c::fault&) {
    throw;
  } catch (const RequestError& e) {
    throw xmlrpc_c::fault(e.what(), xmlrpc_c::fault::CODE_REQUEST_REFUSED);
  } catch (const girerr::error& e) {
    throw xmlrpc_c::fault(e.what(), xmlrpc_c::fault::CODE_TYPE);
  } catch (const std::exception& e) {
    shared::logger("rpc")->error("internal error in {}: {}", m.name, e.what());
    throw xmlrpc_c::fault(std::string("internal error: ") + e.what(),
                          xmlrpc_c::fault::CODE_INTERNAL);
  }
}

std::vector<MethodDef> make_methods(Scheduler& s, ResultStore* store,
                                    const RpcServerConfig& config) {
  std::vector<MethodDef> methods;
  auto add = [&methods](std::string name, std::string sig, std::string help, MethodBody body) {
    methods.push_back(MethodDef{std::move(name), std::move(sig), std::move(help), std::move(body)});
  };
  const std::size_t max_image = config.max_image_bytes;
  const std::size_t max_batch = config.max_batch;

  add("add_task", "s:S", "add_task(Frame) -> task_id. Queues one JPEG frame for detection.",
      [&s, max_image](const paramList& p) -> value {
        check_count(p, 1, 1, "add_task(Frame)");
        std::vector<Frame> frames;
        frames.push_back(to_frame(p[0], "frame", max_image));
        return xmlrpc_c::value_string(s.add_frames(std::move(frames)).at(0));
      });
  add("add_tasks", "A:A", "add_tasks(array<Frame>) -> array<task_id>. All or none are queued.",
      [&s, max_image, max_batch](const paramList& p) -> value {
        check_count(p, 1, 1, "add_tasks(array<Frame>)");
        if (p[0].type() != value::TYPE_ARRAY) type_fault("frames: expected array");
        const auto items = xmlrpc_c::value_array(p[0]).vectorValueValue();
        if (items.size() > max_batch) {
          type_fault("frames: " + std::to_string(items.size()) +
                          " frames in one call, over the limit of " + std::to_string(max_batch));
        }
        std::vector<Frame> frames;
        frames.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
          frames.push_back(to_frame(items[i], "frames[" + std::to_string(i) + "]", max_image));
        }
        std::vector<value> ids;
        for (auto& id : s.add_frames(std::move(frames))) ids.push_back(xmlrpc_c::value_string(id));
        return xmlrpc_c::value_array(ids);
      });
  add("register_worker", "S:ssA",
      "register_worker(worker_id, address, capabilities) -> {heartbeat_interval, task_timeout}",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "register_worker(worker_id, address, capabilities)");
        const auto id = as_string(p[0], "worker_id");
        if (id.empty() || id.size() > 256) type_fault("worker_id: 1 to 256 bytes");
        auto caps = to_string_list(p[2], "capabilities");
        if (caps.empty()) type_fault("capabilities: at least one detector name");
        const auto reg = s.register_worker(id, as_string(p[1], "address"), std::move(caps));
        return xmlrpc_c::value_struct(std::map<std::string, value>{
            {"heartbeat_interval", xmlrpc_c::value_double(reg.heartbeat_interval)},
            {"task_timeout", xmlrpc_c::value_double(reg.task_timeout)}});
      });
  add("heartbeat", "b:s", "heartbeat(worker_id) -> boolean; false: unknown, register again.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 1, "heartbeat(worker_id)");
        return xmlrpc_c::value_boolean(s.heartbeat(as_string(p[0], "worker_id")));
      });
  add("request_task", "S:s,S:si",
      "request_task(worker_id [, wait_ms]) -> Task or {} when there is nothing to do; waits up "
      "to wait_ms for a task.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 2, "request_task(worker_id [, wait_ms])");
        const auto id = as_string(p[0], "worker_id");
        const int wait_ms = p.size() > 1
                                ? static_cast<int>(std::clamp<std::int64_t>(
                                      as_int(p[1], "wait_ms"), 0, 1 << 30))
                                : 0;
        auto task = s.request_task(id, wait_ms);
        if (!task) return xmlrpc_c::value_struct(std::map<std::string, value>{});
        return from_task(*task);
      });
  add("complete_task", "b:ssS",
      "complete_task(worker_id, task_id, Result) -> boolean; false: unknown or already done.",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "complete_task(worker_id, task_id, Result)");
        return xmlrpc_c::value_boolean(s.complete_task(as_string(p[0], "worker_id"),
                                                       as_string(p[1], "task_id"),
                                                       to_result(p[2])));
      });
  add("fail_task", "b:sss",
      "fail_task(worker_id, task_id, reason) -> boolean. The frame could not be processed.",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "fail_task(worker_id, task_id, reason)");
        auto reason = as_string(p[2], "reason");
        if (reason.size() > 1024) reason.resize(1024);
        return xmlrpc_c::value_boolean(s.fail_task(as_string(p[0], "worker_id"),
                                                   as_string(p[1], "task_id"), reason));
      });
  add("get_results", "A:i,A:ii",
      "get_results(port [, limit]) -> array<ResultRecord>, newest first.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 2, "get_results(port [, limit])");
        const auto port = as_int(p[0], "port");
        const auto limit = p.size() > 1 ? as_int(p[1], "limit") : 0;
        if (limit < 0) type_fault("limit: must be >= 0");
        std::vector<value> out;
        for (const auto& r : s.get_results(static_cast<int>(port), static_cast<std::size_t>(limit))) {
          out.push_back(from_record(r));
        }
        return xmlrpc_c::value_array(out);
      });
  ResultStore* st = store;
  add("get_failures", "A:i,A:ii",
      "get_failures(port [, limit]) -> array<FailureRecord>, newest first (persisted).",
      [st](const paramList& p) -> value {
        check_count(p, 1, 2, "get_failures(port [, limit])");
        const auto port = as_int(p[0], "port");
        const auto limit = p.size() > 1 ? as_int(p[1], "limit") : 100;
        if (limit < 0) type_fault("limit: must be >= 0");
        std::vector<value> out;
        if (st) {
          for (const auto& f : st->failures(static_cast<int>(port), static_cast<std::size_t>(limit))) {
            out.push_back(from_failure(f));
          }
        }
        return xmlrpc_c::value_array(out);
      });
  add("status", "S:", "status() -> {pending, in_progress, completed, failed, workers, ports, ...}",
      [&s](const paramList& p) -> value {
        check_count(p, 0, 0, "status()");
        return from_status(s.status());
      });
  add("get_summary", "A:idd",
      "get_summary(port, interval_s, since_s) -> array<{start, end, frames, labels}>: results "
      "captured in the last since_s seconds, per interval_s bucket, detections per label.",
      [st](const paramList& p) -> value {
        check_count(p, 3, 3, "get_summary(port, interval_s, since_s)");
        const auto port = as_int(p[0], "port");
        const double interval = as_double(p[1], "interval_s");
        const double since_s = as_double(p[2], "since_s");
        if (!(interval >= 0.001)) type_fault("interval_s: must be >= 0.001");
        if (!(since_s > 0) || since_s / interval > 100000) {
          type_fault("since_s: must be > 0 and at most 100000 intervals");
        }
        const double now = std::chrono::duration<double>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
        std::vector<value> out;
        if (st) {
          for (const auto& b : st->summary(static_cast<int>(port), interval, now - since_s)) {
            std::map<std::string, value> labels;
            for (const auto& [label, n] : b.labels) {
              labels.emplace(label, xmlrpc_c::value_int(static_cast<int>(n)));
            }
            out.push_back(xmlrpc_c::value_struct(std::map<std::string, value>{
                {"start", xmlrpc_c::value_double(b.start)},
                {"end", xmlrpc_c::value_double(b.start + interval)},
                {"frames", xmlrpc_c::value_int(static_cast<int>(b.frames))},
                {"labels", xmlrpc_c::value_struct(labels)}}));
          }
        }
        return xmlrpc_c::value_array(out);
      });
  add("get_frame", "S:s",
      "get_frame(task_id) -> ResultRecord plus image:base64, for the last --keep-frames "
      "completed frames of each port; fault 404 when not kept.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 1, "get_frame(task_id)");
        const auto id = as_string(p[0], "task_id");
        auto kept = s.get_frame(id);
        if (!kept) {
          throw xmlrpc_c::fault("unknown task '" + id + "' (or no longer kept: the master keeps "
                                "the last --keep-frames completed frames per port)",
                                static_cast<xmlrpc_c::fault::code_t>(404));
        }
        auto rec = static_cast<std::map<std::string, value>>(
            xmlrpc_c::value_struct(from_record(kept->record)));
        rec.emplace("image", xmlrpc_c::value_bytestring(*kept->image));
        return xmlrpc_c::value_struct(rec);
      });
  add("export_results", "S:idii",
      "export_results(port, since, cursor, limit) -> {results: array<ResultRecord>, cursor}: "
      "persisted results captured at or after since (Unix s), oldest first, after cursor (0 to "
      "start; pass the returned cursor to continue).",
      [st](const paramList& p) -> value {
        check_count(p, 4, 4, "export_results(port, since, cursor, limit)");
        const auto port = as_int(p[0], "port");
        const double since = as_double(p[1], "since");
        const auto cursor = as_int(p[2], "cursor");
        const auto limit = std::clamp<std::int64_t>(as_int(p[3], "limit"), 1, 10000);
        std::vector<value> out;
        std::int64_t last = cursor;
        if (st) {
          for (const auto& r : st->results_after(static_cast<int>(port), since, cursor,
                                                 static_cast<std::size_t>(limit), last)) {
            out.push_back(from_record(r));
          }
        }
        return xmlrpc_c::value_struct(std::map<std::string, value>{
            {"results", xmlrpc_c::value_array(out)},
            {"cursor", last <= INT32_MAX ? value(xmlrpc_c::value_int(static_cast<int>(last)))
                                         : value(xmlrpc_c::value_i8(last))}});
      });
  return methods;
}

}  // namespace fh::master::rpc
