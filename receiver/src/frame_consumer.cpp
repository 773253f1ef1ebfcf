#include "framehive/receiver/frame_consumer.hpp"

#include "framehive/shared/logging.hpp"

#include <algorithm>
#include <chrono>

namespace fh::receiver {

FrameConsumer::FrameConsumer(FrameQueue& queue, std::unique_ptr<FrameSink> sink, StatsTable& stats,
                             std::size_t max_batch)
    : queue_(queue),
      sink_(std::move(sink)),
      stats_(stats),
      max_batch_(std::max<std::size_t>(max_batch, 1)) {}

FrameConsumer::~FrameConsumer() { stop(); }

void FrameConsumer::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void FrameConsumer::request_stop() {
  if (!sink_) return;
  try {
    sink_->request_stop();
  } catch (const std::exception& e) {
    fh::shared::logger("net")->error("{} sink: request_stop failed: {}", sink_->name(), e.what());
  }
}

void FrameConsumer::stop() {
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void FrameConsumer::run() {
  std::vector<ReceivedFrame> batch;
  while (true) {
    batch.clear();
    if (!queue_.pop_batch(batch, max_batch_, std::chrono::milliseconds(200))) break;
    if (!batch.empty()) deliver(batch);
  }
  if (sink_) {
    try {
      sink_->close();
    } catch (const std::exception& e) {
      fh::shared::logger("net")->error("{} sink: close failed: {}", sink_->name(), e.what());
    }
  }
}

void FrameConsumer::deliver(std::vector<ReceivedFrame>& batch) {
  constexpr auto relaxed = std::memory_order_relaxed;
  std::vector<std::uint16_t> ports;
  ports.reserve(batch.size());
  for (const auto& f : batch) ports.push_back(f.port);
  if (!sink_) {
    for (auto p : ports) {
      if (auto* s = stats_.find(p)) s->frames_discarded.fetch_add(1, relaxed);
    }
    return;
  }
  std::vector<bool> failed(batch.size(), false);
  try {
    sink_->deliver(batch, failed);
  } catch (const std::exception& e) {
    fh::shared::logger("net")->error("{} sink threw: {}", sink_->name(), e.what());
    failed.assign(ports.size(), true);
  } catch (...) {
    fh::shared::logger("net")->error("{} sink threw an unknown exception", sink_->name());
    failed.assign(ports.size(), true);
  }
  failed.resize(ports.size(), true);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (auto* s = stats_.find(ports[i])) {
      (failed[i] ? s->frames_failed : s->frames_delivered).fetch_add(1, relaxed);
    }
  }
}

}  // namespace fh::receiver
