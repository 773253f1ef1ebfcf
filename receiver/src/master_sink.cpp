#include "framehive/receiver/master_sink.hpp"

#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/rpc_client.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>

namespace fh::receiver {
namespace {

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// The contract's ReceivedFrame (add_tasks) of a reassembled frame.
shared::api::Frame to_api(const ReceivedFrame& f) {
  shared::api::Frame out;
  // The frame goes to the master either way (it refuses what is not a JPEG); width and height
  // come from the receiver's header check (0 when it did not accept the frame).
  out.width = f.width;
  out.height = f.height;
  out.port = f.port;
  out.stream = f.stream;
  out.frame_id = f.frame_seq;
  out.captured_at = static_cast<double>(f.capture_us) / 1e6;
  out.received_at = static_cast<double>(f.received_us) / 1e6;
  out.image = std::make_shared<const std::vector<std::uint8_t>>(f.jpeg.begin(), f.jpeg.end());
  if (f.motion) {
    // Wire units to the contract's: score in 1/10000ths, boxes in 1/65535ths of the frame.
    const auto& m = *f.motion;
    out.gated = m.gated;
    out.motion.present = true;
    out.motion.score = shared::decode_motion_score(m.score);
    out.motion.keepalive = (m.flags & shared::k_motion_keepalive) != 0;
    out.motion.boxes.reserve(m.boxes.size());
    for (const auto& b : m.boxes) out.motion.boxes.push_back(shared::decode_motion_box(b));
  }
  return out;
}

}  // namespace

MasterSink::MasterSink(MasterSinkConfig config)
    : config_(std::move(config)),
      client_(std::make_unique<shared::api::MasterClient>(config_.url, config_.timeout_ms,
                                                          config_.auth_secret)) {}

MasterSink::~MasterSink() {
  {
    std::lock_guard<std::mutex> lock(report_mutex_);
    report_stop_ = true;
  }
  report_wake_.notify_all();
  if (reporter_.joinable()) reporter_.join();
}

void MasterSink::report(const std::vector<PortStatsSnapshot>& ports) {
  {
    std::lock_guard<std::mutex> lock(report_mutex_);
    if (report_stop_) return;
    report_ = ports;
    if (!reporter_.joinable()) reporter_ = std::thread([this] { report_loop(); });
  }
  report_wake_.notify_all();
}

void MasterSink::report_loop() {
  // A client of its own: the consumer thread's may be blocked in a retry.
  shared::api::MasterClient client(config_.url, std::min(config_.timeout_ms, 5000),
                                   config_.auth_secret);
  while (true) {
    std::vector<PortStatsSnapshot> ports;
    {
      std::unique_lock<std::mutex> lock(report_mutex_);
      report_wake_.wait(lock, [this] { return report_stop_ || report_.has_value(); });
      if (report_stop_) return;
      ports = std::move(*report_);
      report_.reset();
    }
    std::vector<shared::api::ReceiverPortCounters> out;
    out.reserve(ports.size());
    for (const auto& s : ports) {
      shared::api::ReceiverPortCounters c;
      c.port = s.port;
      c.datagrams = static_cast<std::int64_t>(s.datagrams);
      c.bytes = static_cast<std::int64_t>(s.bytes);
      c.frames_complete = static_cast<std::int64_t>(s.frames_complete);
      c.frames_incomplete = static_cast<std::int64_t>(s.frames_incomplete());
      c.frames_dropped = static_cast<std::int64_t>(s.frames_dropped);
      c.too_large = static_cast<std::int64_t>(s.too_large);
      c.malformed = static_cast<std::int64_t>(s.malformed());
      c.gated = static_cast<std::int64_t>(s.gated);
      out.push_back(c);
    }
    try {
      client.report_receiver(config_.receiver_id, out);
    } catch (const std::exception& e) {
      if (report_log_.due()) {
        shared::logger("rpc")->warn(
            "{} report(s) of the counters not taken by the master so far ({})", report_log_.calls(),
            e.what());
      }
    }
  }
}

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

bool MasterSink::send(std::vector<ReceivedFrame>& batch, std::size_t begin, std::size_t end,
                      std::vector<bool>& failed) {
  auto log = shared::logger("rpc");
  std::vector<shared::api::Frame> frames;
  frames.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) frames.push_back(to_api(batch[i]));
  for (int attempt = 0;; ++attempt) {
    try {
      client_->add_tasks(frames);
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
      log->warn("master refused frame {} of port {}: {}", batch[begin].frame_seq, batch[begin].port,
                f.what());
      return true;
    } catch (const shared::RpcTransportError& e) {
      if (dynamic_cast<const shared::RpcAuthError*>(&e)) {
        counters_.auth_errors++;
        if (auth_log_.due()) {
          log->error(
              "{} ({} time(s) so far); retrying with backoff, oldest frames are dropped "
              "meanwhile",
              e.what(), auth_log_.calls());
        }
      } else if (!logged_down_) {
        log->warn(
            "master unreachable ({}); retrying with backoff, oldest frames are dropped "
            "meanwhile",
            e.what());
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

void MasterSink::deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) {
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
