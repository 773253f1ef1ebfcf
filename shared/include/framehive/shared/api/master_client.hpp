#pragma once
// A typed client of the master's XML-RPC contract (docs/api.md): one method per contract
// method, the contract's types in and out; the wire format stays inside. Throws what RpcClient
// throws (RpcFault with an api::fault code, RpcAuthError, RpcTransportError) and ContractError
// for a reply that does not match the contract. Not thread-safe: one instance per thread.

#include "framehive/shared/api/types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fh::shared {
class RpcClient;
}

namespace fh::shared::api {

class MasterClient {
 public:
  /// url: http://HOST:PORT/RPC2; timeout_ms: whole-call limit; auth_secret: HTTP Basic
  /// password (empty: none).
  MasterClient(std::string url, int timeout_ms, std::string auth_secret = {});
  ~MasterClient();
  MasterClient(const MasterClient&) = delete;
  MasterClient& operator=(const MasterClient&) = delete;

  const std::string& url() const;

  std::string add_task(const Frame& frame);
  std::vector<std::string> add_tasks(const std::vector<Frame>& frames);

  Registration register_worker(const std::string& worker_id, const std::string& address,
                               const std::vector<std::string>& capabilities);
  bool heartbeat(const std::string& worker_id);
  /// A task, or nothing when none came within wait_ms.
  std::optional<Task> request_task(const std::string& worker_id, int wait_ms);
  bool complete_task(const std::string& worker_id, const std::string& task_id,
                     const Result& result);
  bool fail_task(const std::string& worker_id, const std::string& task_id,
                 const std::string& reason);

  std::vector<ResultRecord> get_results(int port, int limit);
  std::vector<FailureRecord> get_failures(int port, int limit);
  Status status();
  std::vector<SummaryBucket> get_summary(int port, double interval_s, double since_s);
  /// Throws RpcFault with fault::not_found when the frame is not kept.
  KeptFrame get_frame(const std::string& task_id);
  ExportPage export_results(int port, double since, std::int64_t cursor, int limit);
  /// A still image (JPEG or PNG bytes) as a task of port 0; detector empty: the default.
  std::string add_image(const std::vector<std::uint8_t>& image, const std::string& detector,
                        const std::string& name);
  /// A receiver's counters per port since it started.
  void report_receiver(const std::string& receiver_id,
                       const std::vector<ReceiverPortCounters>& ports);
  /// Throws RpcFault with fault::not_found for an unknown task.
  TaskInfo get_task(const std::string& task_id);
  /// Events of a port (-1: every port) at or after `since` (Unix seconds) with seq > after,
  /// oldest first, at most limit (1..1000).
  std::vector<Event> get_events(int port, double since, int limit, std::int64_t after = 0);

 private:
  std::unique_ptr<RpcClient> rpc_;  ///< the connection
};

}  // namespace fh::shared::api
