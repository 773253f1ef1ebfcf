#include "framehive/receiver/master_sink.hpp"

#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/rpc_client.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>

namespace fh::receiver {
namespace {

using Struct = std::map<std::string, xmlrpc_c::value>;

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

xmlrpc_c::value frame_value(const Frame& f) {
  // The frame goes to the master either way (it refuses what is not a JPEG); width and height
  // are sent only when the shared header check accepts the frame, 0 otherwise.
  const auto jpeg = shared::check_jpeg(f.jpeg.data(), f.jpeg.size());
  const int w = jpeg.ok() ? jpeg.width : 0;
  const int h = jpeg.ok() ? jpeg.height : 0;
  const xmlrpc_c::value id = f.frame_seq <= static_cast<std::uint32_t>(INT_MAX)
                                 ? xmlrpc_c::value(xmlrpc_c::value_int(static_cast<int>(f.frame_seq)))
                                 : xmlrpc_c::value(xmlrpc_c::value_i8(f.frame_seq));
  return xmlrpc_c::value_struct(Struct{
      {"port", xmlrpc_c::value_int(f.port)},
      {"stream", xmlrpc_c::value_string(f.stream)},
      {"frame_id", id},
      {"captured_at", xmlrpc_c::value_double(static_cast<double>(f.capture_us) / 1e6)},
      {"received_at", xmlrpc_c::value_double(static_cast<double>(f.received_us) / 1e6)},
      {"width", xmlrpc_c::value_int(w)},
      {"height", xmlrpc_c::value_int(h)},
      {"image", xmlrpc_c::value_bytestring(std::vector<unsigned char>(f.jpeg.begin(), f.jpeg.end()))}});
}

}  // namespace

MasterSink::MasterSink(MasterSinkConfig config)
    : config_(std::move(config)),
      client_(std::make_unique<shared::RpcClient>(config_.url, config_.timeout_ms,
                                                  config_.auth_secret)) {}

MasterSink::~MasterSink() = default;

void MasterSink::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_deadline_ = steady_now() + config_.shutdown_grace_s;
    stop_ = true;
  }
  wake_.notify_all();
}

void MasterSink::close() {}

void MasterSink::wait_backoff(int attempt) {
  const double delay = std::min(config_.max_backoff_s, 0.05 * (1 << std::min(attempt, 10)));
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, std::chrono::duration<double>(delay), [this] { return stop_.load(); });
}

bool MasterSink::send(std::vector<Frame>& batch, std::size_t begin, std::size_t end,
                      std::vector<bool>& failed) {
  auto log = shared::logger("rpc");
  std::vector<xmlrpc_c::value> frames;
  frames.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) frames.push_back(frame_value(batch[i]));
  xmlrpc_c::paramList params;
  params.add(xmlrpc_c::value_array(frames));
  for (int attempt = 0;; ++attempt) {
    try {
      client_->call("add_tasks", params);
      counters_.calls++;
      if (logged_down_) {
        log->info("master {} reachable again", config_.url);
        logged_down_ = false;
      }
      return true;
    } catch (const shared::RpcFault& f) {
      if (end - begin > 1) {
        // One bad frame refuses the whole batch: find it by sending them one by one.
        bool ok = true;
        for (std::size_t i = begin; i < end && ok; ++i) ok = send(batch, i, i + 1, failed);
        return ok;
      }
      counters_.refused++;
      failed[begin] = true;
      log->warn("master refused frame {} of port {}: {}", batch[begin].frame_seq,
                batch[begin].port, f.what());
      return true;
    } catch (const shared::RpcTransportError& e) {
      if (dynamic_cast<const shared::RpcAuthError*>(&e)) {
        counters_.auth_errors++;
        if (auth_log_.due()) {
          log->error("{} ({} time(s) so far); retrying with backoff, oldest frames are dropped "
                     "meanwhile", e.what(), auth_log_.calls());
        }
      } else if (!logged_down_) {
        log->warn("master unreachable ({}); retrying with backoff, oldest frames are dropped "
                  "meanwhile", e.what());
        logged_down_ = true;
      }
      if (stop_ && steady_now() > stop_deadline_) {
        for (std::size_t i = begin; i < end; ++i) failed[i] = true;
        counters_.abandoned += static_cast<std::int64_t>(end - begin);
        return false;
      }
      counters_.retries++;
      wait_backoff(attempt);
    }
  }
}

void MasterSink::deliver(std::vector<Frame>& batch, std::vector<bool>& failed) {
  for (std::size_t begin = 0; begin < batch.size(); begin += config_.batch_max) {
    const std::size_t end = std::min(batch.size(), begin + config_.batch_max);
    if (!send(batch, begin, end, failed)) {
      for (std::size_t i = end; i < batch.size(); ++i) failed[i] = true;
      counters_.abandoned += static_cast<std::int64_t>(batch.size() - end);
      return;
    }
  }
}

}  // namespace fh::receiver
