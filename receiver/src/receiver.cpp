#include "framehive/receiver/receiver.hpp"

#include "framehive/receiver/frame_consumer.hpp"
#include "framehive/receiver/reassembler.hpp"
#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/log_throttle.hpp"
#include "framehive/shared/logging.hpp"
#include "udp_port.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <ostream>

namespace fh::receiver {

namespace asio = boost::asio;

namespace {

/// net.core.rmem_max, or 0 when unreadable.
std::size_t rmem_max() {
  std::ifstream in("/proc/sys/net/core/rmem_max");
  std::size_t v = 0;
  in >> v;
  return v;
}

std::string join_ports(const std::vector<std::uint16_t>& ports) {
  std::string s;
  for (auto p : ports) s += (s.empty() ? "" : ",") + std::to_string(p);
  return s;
}

}  // namespace

class Receiver::Impl final : public UdpPort::Listener, public Reassembler::Listener {
 public:
  Impl(const ReceiverConfig& config, std::unique_ptr<FrameSink> sink,
       const fh::shared::Clock& clock)
      : config_(config),
        clock_(clock),
        signals_(io_, SIGINT, SIGTERM),
        stats_(config.ports),
        queue_(config.queue_per_port),
        reassembler_(config.reassembly, clock, stats_, *this),
        sink_name_(sink ? sink->name() : "none"),
        sink_(sink.get()),
        consumer_(queue_, std::move(sink), stats_),
        expire_timer_(io_),
        stats_timer_(io_),
        report_timer_(io_) {
    const auto address = asio::ip::make_address(config.bind_address);
    std::size_t granted = config.rcvbuf;
    for (auto port : config.ports) {
      ports_.push_back(std::make_unique<UdpPort>(io_, address, port, batch_, *this));
      granted = std::min(granted, ports_.back()->set_receive_buffer(config.rcvbuf));
    }
    granted_ = granted;
    if (granted < config.rcvbuf) {
      const std::size_t max = rmem_max();
      log_->warn(
          "UDP receive buffer capped: asked for {} bytes per port, the kernel granted {} "
          "(net.core.rmem_max = {}); bursts may lose datagrams. Raise the limit with "
          "'sysctl -w net.core.rmem_max={}' or run as root",
          config.rcvbuf, granted, max, config.rcvbuf);
    }
  }

  int run(std::ostream& out) {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log_->info("signal {} received: stopping", sig);
      shutdown();
    });
    consumer_.start();
    for (auto& p : ports_) p->start();
    schedule_expire();
    last_stats_time_ = clock_.mono();
    last_stats_ = stats_.snapshot();
    schedule_stats();
    schedule_report();
    log_->info(
        "listening on {} UDP ports {} (receive buffer {} bytes, integrity tags {}), "
        "output: {}",
        config_.bind_address, join_ports(config_.ports), granted_,
        config_.reassembly.key.empty()
            ? "not required"
            : (config_.reassembly.old_key.empty() ? "required"
                                                  : "required, previous key still accepted"),
        config_.dump_dir.empty() ? sink_name_ : sink_name_ + " " + config_.dump_dir);
    if (config_.reassembly.key.empty() && config_.bind_address.rfind("127.", 0) != 0) {
      log_->warn(
          "listening on {} without --key-file: anyone who can reach these ports can inject "
          "frames (docs/operations.md, Security)",
          config_.bind_address);
    }
    io_.run();

    // Stopped: frames still partial are given up; frames complete are all delivered.
    reassembler_.drop_all();
    on_burst_end();  // frames completed but not handed over yet (none: each burst hands over)
    consumer_.stop();
    std::uint64_t complete = 0;
    std::uint64_t delivered = 0;
    for (const auto& s : stats_.snapshot()) {
      out << format_stats_line(s, s.average_fps()) << "\n";
      complete += s.frames_complete;
      delivered += s.frames_delivered;
    }
    out.flush();
    log_->info("stopped: {} frames complete, {} delivered", complete, delivered);
    return 0;
  }

  void stop() {
    asio::post(io_, [this] { shutdown(); });
  }

  const StatsTable& stats() const { return stats_; }

  void on_datagram(std::uint16_t port, const std::uint8_t* data, std::size_t size) override {
    reassembler_.push(port, data, size);
  }

  void on_frame(ReceivedFrame&& frame) override {
    const auto port = frame.port;
    // A decompression bomb (a small JPEG declaring a huge image) goes no further. Frames that
    // are not JPEG at all still go on: the master refuses them with a reason (frames_failed).
    const auto jpeg = fh::shared::check_jpeg(frame.jpeg.data(), frame.jpeg.size(), jpeg_limits_);
    if (jpeg.error == fh::shared::JpegError::too_large) {
      if (auto* s = stats_.find(port)) s->too_large.fetch_add(1, std::memory_order_relaxed);
      if (too_large_log_.due()) {
        log_->warn("port {}: frame {} dropped: {} (--max-pixels); {} such frame(s) so far", port,
                   frame.frame_seq, jpeg.message, too_large_log_.calls());
      }
      return;
    }
    if (jpeg.ok()) {
      frame.width = jpeg.width;
      frame.height = jpeg.height;
    }
    // Handed over with the rest of the burst's frames: one lock and one wake-up of the
    // consumer per burst, not per frame.
    completed_.push_back(std::move(frame));
  }

  void on_burst_end() override {
    if (completed_.empty()) return;
    auto count_drops = [this] {
      for (auto port : dropped_ports_) {
        if (auto* s = stats_.find(port)) s->frames_dropped.fetch_add(1, std::memory_order_relaxed);
      }
      dropped_ports_.clear();
    };
    try {
      queue_.push_batch(completed_, dropped_ports_);  // frames not taken stay for the next burst
    } catch (...) {
      count_drops();
      throw;
    }
    count_drops();
  }

 private:
  void shutdown() {
    if (stopping_) return;
    stopping_ = true;
    consumer_.request_stop();  // a sink blocked in retries starts its grace period now
    for (auto& p : ports_) p->close();
    expire_timer_.cancel();
    stats_timer_.cancel();
    report_timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  }

  void schedule_expire() {
    // Check a few times per timeout, at least every 250 ms, at most every 10 ms.
    const double tick = std::clamp(config_.reassembly.frame_timeout / 4, 0.01, 0.25);
    expire_timer_.expires_after(std::chrono::microseconds(static_cast<long>(tick * 1e6)));
    expire_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      reassembler_.expire();
      schedule_expire();
    });
  }

  void schedule_stats() {
    if (config_.stats_interval <= 0) return;
    stats_timer_.expires_after(
        std::chrono::microseconds(static_cast<long>(config_.stats_interval * 1e6)));
    stats_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      log_stats();
      schedule_stats();
    });
  }

  void schedule_report() {
    if (config_.report_interval <= 0 || !sink_) return;
    report_timer_.expires_after(
        std::chrono::microseconds(static_cast<long>(config_.report_interval * 1e6)));
    report_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      sink_->report(stats_.snapshot());  // never blocks: the sink sends it on its own thread
      schedule_report();
    });
  }

  /// One line per port on stderr; fps over the last interval.
  void log_stats() {
    const double now = clock_.mono();
    const double dt = now - last_stats_time_;
    auto snap = stats_.snapshot();
    for (std::size_t i = 0; i < snap.size(); ++i) {
      const auto before = i < last_stats_.size() ? last_stats_[i].frames_complete : 0;
      const double fps = dt > 0 ? static_cast<double>(snap[i].frames_complete - before) / dt : 0.0;
      log_->info("{}", format_stats_line(snap[i], fps));
    }
    last_stats_ = std::move(snap);
    last_stats_time_ = now;
  }

  const ReceiverConfig config_;                                      ///< validated settings
  const fh::shared::Clock& clock_;                                   ///< time source
  std::shared_ptr<spdlog::logger> log_ = fh::shared::logger("net");  ///< "net" logger
  asio::io_context io_;                                              ///< the receive thread's loop
  asio::signal_set signals_;                                         ///< SIGINT/SIGTERM
  StatsTable stats_;                                                 ///< per-port counters
  FrameQueue queue_;                             ///< receive thread -> consumer thread
  Reassembler reassembler_;                      ///< datagrams -> frames (receive thread)
  std::string sink_name_;                        ///< for the start-up log
  FrameSink* sink_;                              ///< owned by consumer_; may be null
  FrameConsumer consumer_;                       ///< queue -> sink (own thread)
  RecvBatch batch_;                              ///< receive buffers of every port
  std::vector<std::unique_ptr<UdpPort>> ports_;  ///< one socket per port
  std::vector<ReceivedFrame> completed_;         ///< this burst's frames, not yet queued
  std::vector<std::uint16_t> dropped_ports_;     ///< scratch of on_burst_end()
  asio::steady_timer expire_timer_;              ///< drives Reassembler::expire()
  asio::steady_timer stats_timer_;               ///< drives log_stats()
  asio::steady_timer report_timer_;              ///< drives the sink's report()
  std::size_t granted_ = 0;                      ///< smallest SO_RCVBUF granted
  std::vector<PortStatsSnapshot> last_stats_;    ///< previous periodic snapshot (receive thread)
  double last_stats_time_ = 0;                   ///< when it was taken
  bool stopping_ = false;                        ///< shutdown() ran (receive thread only)
  const fh::shared::JpegLimits jpeg_limits_{config_.max_pixels};     ///< --max-pixels
  fh::shared::LogThrottle too_large_log_{std::chrono::seconds(10)};  ///< paces that warning
};

Receiver::Receiver(const ReceiverConfig& config, std::unique_ptr<FrameSink> sink,
                   const fh::shared::Clock& clock)
    : impl_(std::make_unique<Impl>(config, std::move(sink), clock)) {}

Receiver::~Receiver() = default;

int Receiver::run(std::ostream& out) { return impl_->run(out); }

void Receiver::stop() { impl_->stop(); }

const StatsTable& Receiver::stats() const { return impl_->stats(); }

void tune_allocator(std::size_t max_frame_bytes) {
  // Values are ints; the frame bound is validated to fit (receiver_options).
  const auto mmap_threshold = std::min<std::size_t>(max_frame_bytes + (1u << 20), 512u << 20);
  ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold));
  ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace fh::receiver
