#include "framehive/master/rpc_server.hpp"

#include "framehive/shared/logging.hpp"
#include "rpc_convert.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/girerr.hpp>
#include <xmlrpc-c/registry.hpp>
#include <xmlrpc-c/server_abyss.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace fh::master {
namespace {

using xmlrpc_c::paramList;
using xmlrpc_c::value;

/// One XML-RPC method from a lambda. Exceptions other than faults become faults here, so none
/// escapes into Abyss.
class LambdaMethod : public xmlrpc_c::method2 {
 public:
  using Body = std::function<value(const paramList&)>;
  LambdaMethod(std::string signature, std::string help, Body body) : body_(std::move(body)) {
    _signature = std::move(signature);
    _help = std::move(help);
  }
  void execute(const paramList& params, const xmlrpc_c::callInfo*, value* result) override {
    try {
      *result = body_(params);
    } catch (const xmlrpc_c::fault&) {
      throw;
    } catch (const RequestError& e) {
      throw xmlrpc_c::fault(e.what(), xmlrpc_c::fault::CODE_REQUEST_REFUSED);
    } catch (const girerr::error& e) {
      throw xmlrpc_c::fault(e.what(), xmlrpc_c::fault::CODE_TYPE);
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("internal error: {}", e.what());
      throw xmlrpc_c::fault(std::string("internal error: ") + e.what(),
                            xmlrpc_c::fault::CODE_INTERNAL);
    }
  }

 private:
  Body body_;  ///< the method's work
};

void check_count(const paramList& p, unsigned lo, unsigned hi, const char* usage) {
  if (p.size() < lo || p.size() > hi) {
    rpc::type_fault(std::string("wrong number of parameters (") + std::to_string(p.size()) +
                    "); usage: " + usage);
  }
}

int open_listen_socket(const std::string& bind, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("--bind: '" + bind + "' is not an IPv4 address");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot listen on " + bind + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  if (::listen(fd, 128) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("listen: ") + std::strerror(err));
  }
  return fd;
}

}  // namespace

struct RpcServer::Impl {
  Scheduler& scheduler;
  ResultStore* store;
  RpcServerConfig config;
  xmlrpc_c::registry registry;
  int fd = -1;
  int bound_port = 0;
  std::unique_ptr<xmlrpc_c::serverAbyss> server;
  std::atomic<bool> stopping{false};

  Impl(Scheduler& s, ResultStore* st, RpcServerConfig c)
      : scheduler(s), store(st), config(std::move(c)) {}

  void add(const std::string& name, const std::string& sig, const std::string& help,
           LambdaMethod::Body body) {
    registry.addMethod(name, xmlrpc_c::methodPtr(new LambdaMethod(sig, help, std::move(body))));
  }

  void register_methods();
};

void RpcServer::Impl::register_methods() {
  const std::size_t max_image = config.max_image_bytes;
  const std::size_t max_batch = config.max_batch;
  Scheduler& s = scheduler;

  add("add_task", "s:S", "add_task(Frame) -> task_id. Queues one JPEG frame for detection.",
      [&s, max_image](const paramList& p) -> value {
        check_count(p, 1, 1, "add_task(Frame)");
        std::vector<Frame> frames;
        frames.push_back(rpc::to_frame(p[0], "frame", max_image));
        return xmlrpc_c::value_string(s.add_frames(std::move(frames)).at(0));
      });
  add("add_tasks", "A:A", "add_tasks(array<Frame>) -> array<task_id>. All or none are queued.",
      [&s, max_image, max_batch](const paramList& p) -> value {
        check_count(p, 1, 1, "add_tasks(array<Frame>)");
        if (p[0].type() != value::TYPE_ARRAY) rpc::type_fault("frames: expected array");
        const auto items = xmlrpc_c::value_array(p[0]).vectorValueValue();
        if (items.size() > max_batch) {
          rpc::type_fault("frames: " + std::to_string(items.size()) +
                          " frames in one call, over the limit of " + std::to_string(max_batch));
        }
        std::vector<Frame> frames;
        frames.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
          frames.push_back(rpc::to_frame(items[i], "frames[" + std::to_string(i) + "]", max_image));
        }
        std::vector<value> ids;
        for (auto& id : s.add_frames(std::move(frames))) ids.push_back(xmlrpc_c::value_string(id));
        return xmlrpc_c::value_array(ids);
      });
  add("register_worker", "S:ssA",
      "register_worker(worker_id, address, capabilities) -> {heartbeat_interval, task_timeout}",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "register_worker(worker_id, address, capabilities)");
        const auto id = rpc::as_string(p[0], "worker_id");
        if (id.empty() || id.size() > 256) rpc::type_fault("worker_id: 1 to 256 bytes");
        auto caps = rpc::to_string_list(p[2], "capabilities");
        if (caps.empty()) rpc::type_fault("capabilities: at least one detector name");
        const auto reg = s.register_worker(id, rpc::as_string(p[1], "address"), std::move(caps));
        return xmlrpc_c::value_struct(std::map<std::string, value>{
            {"heartbeat_interval", xmlrpc_c::value_double(reg.heartbeat_interval)},
            {"task_timeout", xmlrpc_c::value_double(reg.task_timeout)}});
      });
  add("heartbeat", "b:s", "heartbeat(worker_id) -> boolean; false: unknown, register again.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 1, "heartbeat(worker_id)");
        return xmlrpc_c::value_boolean(s.heartbeat(rpc::as_string(p[0], "worker_id")));
      });
  add("request_task", "S:s,S:si",
      "request_task(worker_id [, wait_ms]) -> Task or {} when there is nothing to do; waits up "
      "to wait_ms for a task.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 2, "request_task(worker_id [, wait_ms])");
        const auto id = rpc::as_string(p[0], "worker_id");
        const int wait_ms = p.size() > 1
                                ? static_cast<int>(std::clamp<std::int64_t>(
                                      rpc::as_int(p[1], "wait_ms"), 0, 1 << 30))
                                : 0;
        auto task = s.request_task(id, wait_ms);
        if (!task) return xmlrpc_c::value_struct(std::map<std::string, value>{});
        return rpc::from_task(*task);
      });
  add("complete_task", "b:ssS",
      "complete_task(worker_id, task_id, Result) -> boolean; false: unknown or already done.",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "complete_task(worker_id, task_id, Result)");
        return xmlrpc_c::value_boolean(s.complete_task(rpc::as_string(p[0], "worker_id"),
                                                       rpc::as_string(p[1], "task_id"),
                                                       rpc::to_result(p[2])));
      });
  add("fail_task", "b:sss",
      "fail_task(worker_id, task_id, reason) -> boolean. The frame could not be processed.",
      [&s](const paramList& p) -> value {
        check_count(p, 3, 3, "fail_task(worker_id, task_id, reason)");
        auto reason = rpc::as_string(p[2], "reason");
        if (reason.size() > 1024) reason.resize(1024);
        return xmlrpc_c::value_boolean(s.fail_task(rpc::as_string(p[0], "worker_id"),
                                                   rpc::as_string(p[1], "task_id"), reason));
      });
  add("get_results", "A:i,A:ii",
      "get_results(port [, limit]) -> array<ResultRecord>, newest first.",
      [&s](const paramList& p) -> value {
        check_count(p, 1, 2, "get_results(port [, limit])");
        const auto port = rpc::as_int(p[0], "port");
        const auto limit = p.size() > 1 ? rpc::as_int(p[1], "limit") : 0;
        if (limit < 0) rpc::type_fault("limit: must be >= 0");
        std::vector<value> out;
        for (const auto& r : s.get_results(static_cast<int>(port), static_cast<std::size_t>(limit))) {
          out.push_back(rpc::from_record(r));
        }
        return xmlrpc_c::value_array(out);
      });
  ResultStore* st = store;
  add("get_failures", "A:i,A:ii",
      "get_failures(port [, limit]) -> array<FailureRecord>, newest first (persisted).",
      [st](const paramList& p) -> value {
        check_count(p, 1, 2, "get_failures(port [, limit])");
        const auto port = rpc::as_int(p[0], "port");
        const auto limit = p.size() > 1 ? rpc::as_int(p[1], "limit") : 100;
        if (limit < 0) rpc::type_fault("limit: must be >= 0");
        std::vector<value> out;
        if (st) {
          for (const auto& f : st->failures(static_cast<int>(port), static_cast<std::size_t>(limit))) {
            out.push_back(rpc::from_failure(f));
          }
        }
        return xmlrpc_c::value_array(out);
      });
  add("status", "S:", "status() -> {pending, in_progress, completed, failed, workers, ports, ...}",
      [&s](const paramList& p) -> value {
        check_count(p, 0, 0, "status()");
        return rpc::from_status(s.status());
      });
}

RpcServer::RpcServer(Scheduler& scheduler, ResultStore* store, RpcServerConfig config)
    : impl_(std::make_unique<Impl>(scheduler, store, std::move(config))) {
  xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, impl_->config.max_request_bytes);
  impl_->register_methods();
  impl_->fd = open_listen_socket(impl_->config.bind, impl_->config.port);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(impl_->fd, reinterpret_cast<sockaddr*>(&addr), &len);
  impl_->bound_port = ntohs(addr.sin_port);
  impl_->server = std::make_unique<xmlrpc_c::serverAbyss>(
      xmlrpc_c::serverAbyss::constrOpt()
          .registryP(&impl_->registry)
          .socketFd(impl_->fd)
          .maxConn(impl_->config.max_conn)
          .maxConnBacklog(128)
          .keepaliveTimeout(impl_->config.keepalive_timeout_s)
          .keepaliveMaxConn(100000)
          .timeout(impl_->config.request_timeout_s)
          .dontAdvertise(true)
          .serverOwnsSignals(false));
}

RpcServer::~RpcServer() {
  impl_->server.reset();
  if (impl_->fd >= 0) ::close(impl_->fd);
}

int RpcServer::port() const { return impl_->bound_port; }

void RpcServer::run() {
  if (impl_->stopping) return;
  impl_->server->run();
}

void RpcServer::stop() {
  impl_->stopping = true;
  impl_->scheduler.shutdown();
  impl_->server->terminate();
}

}  // namespace fh::master
