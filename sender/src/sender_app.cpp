#include "framehive/sender/sender_app.hpp"

#include <chrono>
#include <thread>

#include "framehive/shared/clock.hpp"
#include "framehive/shared/logging.hpp"

namespace fh::sender {
namespace {

double mono() { return fh::shared::SystemClock::instance().mono(); }

}  // namespace

SenderApp::SenderApp(SenderOptions options) : options_(std::move(options)) { options_.validate(); }

void SenderApp::stop() {
  stop_.store(true);  // also makes blocking libav calls return
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& p : publishers_) p->stop();
  cv_.notify_all();
}

int SenderApp::run(std::ostream& out) {
  const auto log = fh::shared::logger("app");
  FrameSourceOptions source_options;
  source_options.interrupt = &stop_;

  // Open every socket and source before sending anything: a bad source is exit code 1 now.
  std::vector<std::unique_ptr<StreamPublisher>> publishers;
  try {
    for (std::size_t i = 0; i < options_.streams.size(); ++i) {
      const StreamSpec& spec = options_.streams[i];
      auto sender = std::make_unique<UdpSender>(options_.receiver, spec.port);
      auto source = FrameSource::open(spec.source, source_options);
      StreamPublisher::Options po;
      po.fps = options_.fps;
      po.jpeg.quality = options_.quality;
      po.jpeg.width = options_.width;
      po.chunk_size = options_.chunk_size;
      po.frames = options_.frames;
      po.loop = options_.loop;
      po.max_rate_mbit = options_.max_rate_mbit;
      po.drop_fraction = options_.drop_fraction;
      po.seed = options_.seed + i;
      po.datagram_key = options_.datagram_key;
      po.motion = options_.motion;
      po.detector = options_.detector_options();
      po.idle_interval = options_.idle_interval;
      po.hangover = options_.motion_hangover;
      const std::uint64_t session = StreamPublisher::random_session();
      log->info("stream {}: {} -> {} session {:016x}{}, motion {}", spec.stream, source->describe(),
                sender->endpoint(), session,
                po.datagram_key.empty() ? "" : ", datagrams tagged (HMAC-SHA256)",
                motion_mode_name(po.motion));
      StreamPublisher::Reopen reopen = [src = spec.source, source_options] {
        return FrameSource::open(src, source_options);
      };
      publishers.push_back(std::make_unique<StreamPublisher>(spec.port, spec.stream, session,
                                                             std::move(source), std::move(sender),
                                                             po, std::move(reopen)));
    }
  } catch (const std::exception&) {
    if (stop_.load()) {
      log->info("stopped while opening the sources");
      return 0;
    }
    throw;
  }

  {
    std::lock_guard<std::mutex> lock(mutex_);
    publishers_ = std::move(publishers);
    if (stop_.load()) {
      for (auto& p : publishers_) p->stop();
    }
  }
  // publishers_ is not resized from here on, so threads index it without the lock.
  const std::size_t n = publishers_.size();
  std::vector<char> ok(n, 0);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([this, i, &ok] {
      ok[i] = publishers_[i]->run() ? 1 : 0;  // run() never throws
      std::lock_guard<std::mutex> lock(mutex_);
      ++done_;
      cv_.notify_all();
    });
  }

  std::vector<StreamStats> last(n);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    double last_log = mono();
    while (done_ < n) {
      if (options_.stats_interval <= 0) {
        cv_.wait(lock, [&] { return done_ >= n; });
        break;
      }
      const double due = last_log + options_.stats_interval;
      cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, due - mono())));
      const double now = mono();
      if (now >= due && done_ < n) {
        lock.unlock();
        log_periodic(last, now - last_log);
        lock.lock();
        last_log = now;
      }
    }
  }
  for (auto& t : threads) t.join();

  bool all_ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    out << publishers_[i]->final_line() << '\n';
    all_ok = all_ok && ok[i] != 0;
  }
  out.flush();
  return all_ok ? 0 : 1;
}

void SenderApp::log_periodic(std::vector<StreamStats>& last, double dt) const {
  const auto log = fh::shared::logger("app");
  for (std::size_t i = 0; i < publishers_.size(); ++i) {
    const StreamStats s = publishers_[i]->stats();
    const StreamStats& p = last[i];
    const double fps = dt > 0 ? static_cast<double>(s.frames - p.frames) / dt : 0.0;
    const double mbit = dt > 0 ? static_cast<double>(s.bytes - p.bytes) * 8.0 / dt / 1e6 : 0.0;
    log->info(
        "stream {} port {}: {} frames sent ({:.1f} fps), {} gated, {} keep-alives, {} datagrams "
        "({:.1f} Mbit/s), dropped {}, damaged {}, send errors {}, skipped {}, encode errors {}, "
        "decode errors {}, reconnects {}",
        publishers_[i]->stream(), publishers_[i]->port(), s.frames, fps, s.gated, s.keepalives,
        s.datagrams, mbit, s.dropped_datagrams, s.frames_damaged, s.send_errors, s.frames_skipped,
        s.encode_errors, s.decode_errors, s.reconnects);
    last[i] = s;
  }
}

}  // namespace fh::sender
