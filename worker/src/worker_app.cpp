#include "framehive/worker/worker_app.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "framehive/worker/detector.hpp"
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_jpeg.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fh::worker {
namespace {

using shared::RpcAuthError;
using shared::RpcClient;
using shared::RpcFault;
using shared::RpcTransportError;
using Struct = std::map<std::string, xmlrpc_c::value>;

constexpr int k_fault_refused = -507;  // xmlrpc_c::fault::CODE_REQUEST_REFUSED: unknown worker

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "worker";
  return buf;
}

const xmlrpc_c::value* field(const Struct& s, const char* name) {
  auto it = s.find(name);
  return it == s.end() ? nullptr : &it->second;
}

xmlrpc_c::value result_value(const std::vector<Detection>& dets, double processing_ms) {
  std::vector<xmlrpc_c::value> out;
  out.reserve(dets.size());
  for (const auto& d : dets) {
    out.push_back(xmlrpc_c::value_struct(Struct{{"label", xmlrpc_c::value_string(d.label)},
                                                {"confidence", xmlrpc_c::value_double(d.confidence)},
                                                {"x", xmlrpc_c::value_int(d.x)},
                                                {"y", xmlrpc_c::value_int(d.y)},
                                                {"w", xmlrpc_c::value_int(d.w)},
                                                {"h", xmlrpc_c::value_int(d.h)}}));
  }
  return xmlrpc_c::value_struct(Struct{{"detections", xmlrpc_c::value_array(out)},
                                       {"processing_ms", xmlrpc_c::value_double(processing_ms)}});
}

}  // namespace

WorkerApp::WorkerApp(WorkerConfig config) : config_(std::move(config)) {
  if (config_.detectors.empty()) throw std::invalid_argument("--detector: at least one");
  if (config_.threads < 1 || config_.threads > 256) {
    throw std::invalid_argument("--threads: 1..256");
  }
  if (config_.id.empty()) config_.id = host_name() + "-" + std::to_string(::getpid());
  for (const auto& d : config_.detectors) make_detector(d, config_.detector_options);
}

bool WorkerApp::register_now() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (registered_) return true;
  RpcClient client(config_.master_url, 10000, config_.auth_secret);
  std::vector<xmlrpc_c::value> caps;
  for (const auto& d : config_.detectors) caps.push_back(xmlrpc_c::value_string(d));
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_string(config_.id));
  p.add(xmlrpc_c::value_string(host_name() + ":" + std::to_string(::getpid())));
  p.add(xmlrpc_c::value_array(caps));
  const auto reply = static_cast<Struct>(xmlrpc_c::value_struct(client.call("register_worker", p)));
  if (config_.heartbeat_interval > 0) {
    heartbeat_interval_ = config_.heartbeat_interval;
  } else if (const auto* hb = field(reply, "heartbeat_interval")) {
    heartbeat_interval_ = std::max(0.1, static_cast<double>(xmlrpc_c::value_double(*hb)));
  }
  registered_ = true;
  counters_.registrations++;
  shared::logger("rpc")->info("registered as {} with {} (heartbeat every {:.1f} s)", config_.id,
                              config_.master_url, heartbeat_interval_.load());
  return true;
}

bool WorkerApp::ensure_registered() {
  int attempt = 0;
  while (!stopping()) {
    try {
      if (register_now()) return true;
    } catch (const RpcAuthError&) {
      auth_refused("register_worker");
    } catch (const RpcTransportError& e) {
      counters_.rpc_errors++;
      if (attempt == 0) shared::logger("rpc")->warn("master unreachable: {}; retrying", e.what());
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("register_worker: {}", e.what());
    }
    backoff(attempt);
  }
  return false;
}

void WorkerApp::backoff(int& attempt) {
  const double delay = std::min(5.0, 0.1 * (1 << std::min(attempt, 6)));
  ++attempt;
  std::unique_lock<std::mutex> lock(mutex_);
  stop_cv_.wait_for(lock, std::chrono::duration<double>(delay), [this] { return stopping(); });
}

void WorkerApp::auth_refused(const char* call) {
  counters_.auth_errors++;
  if (auth_log_.due()) {
    shared::logger("rpc")->error("{}: {} ({} time(s) so far; retrying with backoff)", call,
                                 RpcAuthError::k_message, auth_log_.calls());
  }
}

void WorkerApp::run() {
  std::vector<std::thread> threads;
  std::thread heartbeat([this] { heartbeat_loop(); });
  for (int i = 0; i < config_.threads; ++i) threads.emplace_back([this, i] { task_loop(i); });
  for (auto& t : threads) t.join();
  stop();  // task threads ended (stop or max_tasks): end the heartbeat too
  heartbeat.join();
}

void WorkerApp::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

void WorkerApp::heartbeat_loop() {
  RpcClient client(config_.master_url, 10000, config_.auth_secret);
  int attempt = 0;
  while (!stopping()) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      stop_cv_.wait_for(lock, std::chrono::duration<double>(heartbeat_interval_.load()),
                        [this] { return stopping(); });
    }
    if (stopping()) break;
    if (!registered_) continue;  // a task thread is registering
    try {
      xmlrpc_c::paramList p;
      p.add(xmlrpc_c::value_string(config_.id));
      const bool known = xmlrpc_c::value_boolean(client.call("heartbeat", p));
      attempt = 0;
      if (!known) {
        shared::logger("rpc")->warn("master forgot this worker; registering again");
        registered_ = false;
        ensure_registered();
      }
    } catch (const RpcAuthError&) {
      auth_refused("heartbeat");
    } catch (const RpcTransportError& e) {
      counters_.rpc_errors++;
      if (attempt++ == 0) shared::logger("rpc")->warn("heartbeat: {}", e.what());
    } catch (const std::exception& e) {
      shared::logger("rpc")->error("heartbeat: {}", e.what());
    }
  }
}

void WorkerApp::task_loop(int index) {
  // The long poll plus a margin: curl rounds the timeout up to whole seconds.
  RpcClient client(config_.master_url, config_.wait_ms + 15000, config_.auth_secret);
  std::map<std::string, std::unique_ptr<Detector>> detectors;  // per thread, made on first use
  int attempt = 0;
  auto log = shared::logger("rpc");
  while (!stopping()) {
    if (!registered_ && !ensure_registered()) break;
    if (config_.max_tasks > 0 && tasks_taken_.load() >= config_.max_tasks) break;
    Struct task;
    try {
      xmlrpc_c::paramList p;
      p.add(xmlrpc_c::value_string(config_.id));
      p.add(xmlrpc_c::value_int(config_.wait_ms));
      task = static_cast<Struct>(xmlrpc_c::value_struct(client.call("request_task", p)));
      attempt = 0;
    } catch (const RpcFault& f) {
      if (f.code == k_fault_refused) {
        registered_ = false;  // the master restarted or declared us dead
        continue;
      }
      log->error("request_task: fault {}: {}", f.code, f.what());
      backoff(attempt);
      continue;
    } catch (const RpcAuthError&) {
      auth_refused("request_task");
      backoff(attempt);
      continue;
    } catch (const std::exception& e) {
      counters_.rpc_errors++;
      if (attempt == 0) log->warn("request_task: {}; retrying with backoff", e.what());
      backoff(attempt);
      continue;
    }
    if (task.empty()) continue;  // nothing to do within wait_ms
    tasks_taken_++;

    std::string task_id, detector, error;
    std::vector<Detection> found;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      task_id = xmlrpc_c::value_string(task.at("task_id"));
      detector = xmlrpc_c::value_string(task.at("detector"));
      const auto bytes = xmlrpc_c::value_bytestring(task.at("image")).vectorUcharValue();
      auto decoded = decode_jpeg(bytes);
      if (!decoded.ok()) {
        error = std::string("corrupt JPEG (") + jpeg_error_name(decoded.error) + "): " +
                decoded.message;
      } else {
        auto& det = detectors[detector];
        if (!det) det = make_detector(detector, config_.detector_options);
        auto r = det->run(decoded.bgr);
        if (r.ok()) {
          found = std::move(r.detections);
        } else {
          error = "detector " + detector + ": " + r.error;
        }
      }
    } catch (const std::exception& e) {
      error = std::string("cannot process task: ") + e.what();
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (task_id.empty()) {
      log->error("malformed task from master: {}", error);
      continue;
    }

    // Report, retrying while the master is briefly unreachable; after that the master's
    // timeout hands the task to someone else.
    for (int tries = 0; tries < 6; ++tries) {
      try {
        xmlrpc_c::paramList p;
        p.add(xmlrpc_c::value_string(config_.id));
        p.add(xmlrpc_c::value_string(task_id));
        if (error.empty()) {
          p.add(result_value(found, ms));
          const bool ok = xmlrpc_c::value_boolean(client.call("complete_task", p));
          (ok ? counters_.completed : counters_.rejected)++;
        } else {
          p.add(xmlrpc_c::value_string(error));
          client.call("fail_task", p);
          counters_.failed++;
          log->warn("task {} failed: {}", task_id, error);
        }
        break;
      } catch (const RpcFault& f) {
        log->error("reporting task {}: fault {}: {}", task_id, f.code, f.what());
        break;
      } catch (const RpcAuthError&) {
        auth_refused("reporting a task");
        int a = tries;
        backoff(a);
        if (stopping() && tries >= 2) break;
      } catch (const std::exception& e) {
        counters_.rpc_errors++;
        int a = tries;
        backoff(a);
        if (stopping() && tries >= 2) break;
      }
    }
  }
  log->debug("task thread {} ends", index);
}

std::string WorkerApp::summary() const {
  std::ostringstream os;
  os << "worker-stats id=" << config_.id << " completed=" << counters_.completed
     << " rejected=" << counters_.rejected << " failed=" << counters_.failed
     << " registrations=" << counters_.registrations << " rpc_errors=" << counters_.rpc_errors
     << " auth_errors=" << counters_.auth_errors;
  return os.str();
}

}  // namespace fh::worker
