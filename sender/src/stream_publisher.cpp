#include "framehive/sender/stream_publisher.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <thread>

#include "framehive/shared/clock.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/stats_line.hpp"

namespace fh::sender {
namespace {

/// IPv4 + UDP header bytes, counted by the rate limiter as wire overhead.
constexpr std::size_t k_ip_udp_overhead = 28;
/// Seconds between reconnect attempts of a failed live source.
constexpr double k_reconnect_delay_s = 2.0;
/// Falling further behind than this does not make the pacer burst to catch up.
constexpr double k_max_lag_s = 1.0;

double mono() { return fh::shared::SystemClock::instance().mono(); }

const std::shared_ptr<spdlog::logger>& app_log() {
  static const auto log = fh::shared::logger("app");
  return log;
}

/// Schedules file / test-pattern frames in real time: each frame leaves its timestamp
/// difference (or 1/fps) after the previous one; schedules build on each other, so no drift.
class FilePacer {
 public:
  FilePacer(double fixed_fps, double native_fps)
      : fixed_(fixed_fps), interval_(native_fps > 0 ? 1.0 / native_fps : 1.0 / 25.0) {}

  /// Video time of the frame with this pts on a clock that never waits: 0 for the first frame,
  /// then the timestamp differences (or 1/fps) added up.
  double advance(double pts) {
    if (last_due_ < 0) {
      last_due_ = 0;
      last_pts_ = pts;
      return 0;
    }
    last_due_ += step(pts);
    return last_due_;
  }

  /// Monotonic time at which the frame with this pts should leave.
  double due(double pts, double now) {
    if (last_due_ < 0) {
      last_due_ = now;
      last_pts_ = pts;
      return now;
    }
    last_due_ = std::max(last_due_ + step(pts), now - k_max_lag_s);
    return last_due_;
  }

 private:
  /// Seconds from the previous frame to this one; remembers pts.
  double step(double pts) {
    double step = interval_;
    if (fixed_ > 0) {
      step = 1.0 / fixed_;
    } else if (pts >= 0 && last_pts_ >= 0 && pts > last_pts_ && pts - last_pts_ < 10.0) {
      step = pts - last_pts_;  // a rewind or a timestamp jump falls back to 1/fps
    }
    last_pts_ = pts;
    return step;
  }

  double fixed_;            ///< --fps, 0 = follow the timestamps
  double interval_;         ///< 1 / native rate
  double last_due_ = -1.0;  ///< schedule of the previous frame
  double last_pts_ = -1.0;  ///< pts of the previous frame
};

}  // namespace

StreamPublisher::StreamPublisher(std::uint16_t port, std::string stream, std::uint64_t session,
                                 std::unique_ptr<FrameSource> source,
                                 std::unique_ptr<UdpSender> sender, Options options, Reopen reopen)
    : port_(port),
      stream_(std::move(stream)),
      session_(session),
      source_(std::move(source)),
      sender_(std::move(sender)),
      options_(std::move(options)),
      reopen_(std::move(reopen)),
      encoder_(options_.jpeg),
      detector_(options_.detector),
      gate_(options_.motion, options_.idle_interval, options_.hangover),
      tagger_(options_.datagram_key.empty()
                  ? nullptr
                  : std::make_unique<shared::DatagramTagger>(options_.datagram_key)),
      chunker_(stream_, session_, options_.chunk_size, tagger_ != nullptr, port_,
               options_.motion != MotionMode::off),
      limiter_(options_.max_rate_mbit * 1e6 / 8.0,
               std::max(2.0 * static_cast<double>(options_.chunk_size + k_ip_udp_overhead),
                        options_.max_rate_mbit * 1e6 / 8.0 * 0.002)),
      drop_rng_(options_.seed) {
  if (!source_ || !sender_)
    throw std::invalid_argument("StreamPublisher needs a source and a socket");
}

std::uint64_t StreamPublisher::random_session() {
  std::random_device rd;
  std::uint64_t s = 0;
  while (s == 0) s = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return s;
}

void StreamPublisher::stop() {
  {
    std::lock_guard<std::mutex> lock(wait_mutex_);
    stop_.store(true);
  }
  wait_cv_.notify_all();
}

namespace {

/// The wire form of a detector result (docs/protocol.md, "Motion extension").
shared::MotionExtension to_extension(const MotionResult& m, MotionGate::Verdict v,
                                     std::uint32_t gated) {
  shared::MotionExtension e;
  if (m.moving) e.flags |= shared::k_motion_moving;
  if (v == MotionGate::Verdict::keepalive) e.flags |= shared::k_motion_keepalive;
  e.score = shared::encode_motion_score(m.score);
  e.gated = gated;
  for (const auto& b : m.boxes) {
    if (e.boxes.size() == shared::k_motion_ext_max_boxes) break;
    e.boxes.push_back(shared::encode_motion_box({b.x, b.y, b.width, b.height}));
  }
  return e;
}

}  // namespace

void StreamPublisher::abort_pipeline() {
  failed_.store(true);
  stop();
  to_encode_.close();
  to_send_.close();
}

void StreamPublisher::encode_loop() {
  const auto& log = app_log();
  RawFrame raw;
  while (to_encode_.pop(raw)) {
    const std::uint32_t gated = raw.gated + gated_carry_;
    gated_carry_ = 0;
    Encoded e;
    if (!encoder_.encode(raw.image, e.jpeg)) {
      if (encode_errors_.fetch_add(1) == 0) {
        log->warn("stream {}: a frame failed to encode (further failures only counted)", stream_);
      }
      gated_carry_ = gated;  // reported by the next frame sent
      continue;
    }
    if (options_.motion != MotionMode::off) {
      e.has_motion = true;
      e.motion = to_extension(raw.motion, raw.verdict, gated);
    }
    if (!chunker_.fits(e.jpeg.size(), e.has_motion ? &e.motion : nullptr)) {
      if (encode_errors_.fetch_add(1) == 0) {
        log->warn(
            "stream {}: a {}-byte JPEG needs more than {} chunks of {} bytes; raise "
            "--chunk-size (further failures only counted)",
            stream_, e.jpeg.size(), Chunker::k_max_chunks, chunker_.chunk_size());
      }
      gated_carry_ = gated;
      continue;
    }
    e.seq = next_seq_++;
    e.capture_us = raw.capture_us;
    if (!to_send_.push(std::move(e))) break;
    if (raw.verdict == MotionGate::Verdict::keepalive) keepalives_.fetch_add(1);
  }
  to_send_.close();
}

void StreamPublisher::send_loop() {
  Encoded e;
  while (to_send_.pop(e)) send_frame(e);
}

bool StreamPublisher::wait_until(double deadline) {
  std::unique_lock<std::mutex> lock(wait_mutex_);
  while (!stop_.load()) {
    const double left = deadline - mono();
    if (left <= 0) return true;
    wait_cv_.wait_for(lock, std::chrono::duration<double>(left));
  }
  return false;
}

bool StreamPublisher::drop_next() {
  if (options_.drop_fraction <= 0) return false;
  const double u = static_cast<double>(drop_rng_() >> 11) * 0x1.0p-53;  // uniform [0, 1)
  return u < options_.drop_fraction;
}

bool StreamPublisher::read_frame(CapturedFrame& frame) {
  const auto& log = app_log();
  while (true) {
    if (source_->next(frame)) {
      ++frames_since_rewind_;
      decode_errors_.store(decode_errors_base_ + source_->decode_errors());
      return true;
    }
    if (stopping()) return false;
    const std::string error = source_->error();
    if (!source_->live()) {
      if (!error.empty()) {
        log->error("stream {}: source failed: {}", stream_, error);
        failed_ = true;
        return false;
      }
      if (!options_.loop) return false;
      if (frames_since_rewind_ == 0 || !source_->rewind()) {
        log->error("stream {}: cannot restart the source{}", stream_,
                   source_->error().empty() ? "" : ": " + source_->error());
        failed_ = true;
        return false;
      }
      frames_since_rewind_ = 0;
      log->debug("stream {}: end of file, looping", stream_);
      continue;
    }
    // A live source (camera, network stream) is never finished: whether it failed or its
    // connection closed, reopen it until stop() or --frames ends the stream.
    if (!reopen_) {
      if (!error.empty()) {
        log->error("stream {}: source failed: {}", stream_, error);
        failed_ = true;
      }
      return false;
    }
    log->warn("stream {}: source {}; reconnecting every {:.0f} s", stream_,
              error.empty() ? "ended" : "failed: " + error, k_reconnect_delay_s);
    decode_errors_base_ += source_->decode_errors();
    while (true) {
      if (!wait_until(mono() + k_reconnect_delay_s)) return false;
      try {
        source_ = reopen_();
        reconnects_.fetch_add(1);
        log->info("stream {}: reconnected: {}", stream_, source_->describe());
        break;
      } catch (const std::exception& e) {
        if (stopping()) return false;
        log->debug("stream {}: reconnect failed: {}", stream_, e.what());
      }
    }
  }
}

bool StreamPublisher::prepare(const CapturedFrame& frame, std::uint64_t capture_us,
                              double gate_time) {
  MotionResult motion;
  MotionGate::Verdict verdict = MotionGate::Verdict::still;
  // A frame the detector cannot read is never gated: the encoder then counts it (no silent loss).
  const bool readable =
      !frame.image.empty() && (frame.image.type() == CV_8UC3 || frame.image.type() == CV_8UC1);
  if (options_.motion != MotionMode::off && readable) {
    motion = detector_.detect(frame.image);
    verdict = gate_.decide(gate_time, motion.moving);
    if (verdict == MotionGate::Verdict::gated) {
      ++gated_pending_;
      gated_.fetch_add(1);
      // Kept (a reference: sources allocate every frame) in case it is the stream's last.
      last_gated_ = LastGated{frame.image, capture_us, std::move(motion)};
      return true;
    }
  }
  last_gated_ = LastGated{};
  RawFrame raw{frame.image, capture_us, std::move(motion), verdict, gated_pending_};
  if (!to_encode_.push(std::move(raw))) return false;
  gated_pending_ = 0;
  return true;
}

void StreamPublisher::send_frame(const Encoded& e) {
  const shared::MotionExtension* motion = e.has_motion ? &e.motion : nullptr;
  const std::size_t count = chunker_.chunk_count(e.jpeg.size(), motion);
  bool damaged = false;
  // Every datagram of the frame back to back in one buffer, then sent in sendmmsg batches
  // (cut short where the rate limiter asks for a pause).
  datagrams_buf_.clear();
  datagram_ends_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    if (drop_next()) {
      dropped_.fetch_add(1);
      damaged = true;
      continue;
    }
    // Each datagram of the session gets the next counter (tagged datagrams carry it): the
    // receiver's replay window refuses any counter it has seen.
    chunker_.append_chunk(e.jpeg.data(), e.jpeg.size(), e.seq, e.capture_us, i, datagrams_buf_,
                          tagger_.get(), next_counter_++, motion);
    datagram_ends_.push_back(datagrams_buf_.size());
  }
  const auto flush = [this] {
    if (iov_.empty()) return;
    std::size_t bytes = 0;
    const std::size_t sent = sender_->send_batch(iov_.data(), iov_.size(), &bytes);
    if (sent != iov_.size()) send_errors_.fetch_add(iov_.size() - sent);
    datagrams_.fetch_add(sent);
    bytes_.fetch_add(bytes);
    iov_.clear();
  };
  iov_.clear();
  std::size_t begin = 0;
  for (const std::size_t end : datagram_ends_) {
    const std::size_t size = end - begin;
    if (limiter_.enabled()) {
      const double wait = limiter_.reserve(size + k_ip_udp_overhead, mono());
      // After stop() the rest of the frame goes out unpaced, so a tiny --max-rate cannot
      // delay the shutdown.
      if (wait > 0 && !stopping()) {
        flush();
        wait_until(mono() + wait);
      }
    }
    iov_.push_back(iovec{datagrams_buf_.data() + begin, size});
    if (iov_.size() == UdpSender::k_max_batch) flush();
    begin = end;
  }
  flush();
  if (damaged) damaged_.fetch_add(1);
  frames_.fetch_add(1);
  app_log()->trace("stream {}: frame {} sent: {} bytes in {} chunks", stream_, e.seq, e.jpeg.size(),
                   count);
}

bool StreamPublisher::run() {
  const auto& log = app_log();
  started_.store(mono());
  // The encoding and sending threads: frame N's datagrams are paced and sent while frame N+1
  // is encoded and N+2 read. A stage that fails stops the stream (never throws out).
  const auto stage = [this, &log](const char* what, void (StreamPublisher::*loop)()) {
    return std::thread([this, &log, what, loop] {
      try {
        (this->*loop)();
      } catch (const std::exception& e) {
        log->error("stream {}: {} failed: {}", stream_, what, e.what());
        abort_pipeline();
      } catch (...) {
        log->error("stream {}: {} failed: unknown exception", stream_, what);
        abort_pipeline();
      }
    });
  };
  std::thread encoding = stage("encoding", &StreamPublisher::encode_loop);
  std::thread sending = stage("sending", &StreamPublisher::send_loop);
  try {
    const bool live = source_->live();
    const double fixed = options_.fps.value_or(0.0);
    const bool unpaced = options_.fps.has_value() && fixed == 0;
    FilePacer pacer(fixed, source_->fps());
    // Unpaced files: the gate's clock follows the file's timestamps (never sleeps).
    FilePacer media_clock(0.0, source_->fps());
    const double native = source_->fps();
    const double tolerance = 0.5 / (native > 0 ? std::max(native, fixed) : std::max(fixed, 1.0));
    double next_slot = -1.0;
    std::uint64_t handled = 0;  // frames queued or gated, for --frames
    CapturedFrame frame;
    while (!stopping()) {
      if (options_.frames != 0 && handled >= options_.frames) break;
      if (!read_frame(frame)) break;
      const double now = mono();
      std::uint64_t capture_us = frame.capture_us;
      double gate_time = now;
      if (live) {
        // Live sources pace themselves; --fps only thins them out.
        if (fixed > 0) {
          if (next_slot >= 0 && now < next_slot - tolerance) {
            skipped_.fetch_add(1);
            continue;
          }
          next_slot = std::max(next_slot < 0 ? now : next_slot, now - 1.0 / fixed) + 1.0 / fixed;
        }
      } else if (!unpaced) {
        gate_time = pacer.due(frame.pts, now);
        if (!wait_until(gate_time)) break;
        // A file frame is "captured" when it is released in simulated real time.
        capture_us = fh::shared::unix_micros();
      } else {
        gate_time = media_clock.advance(frame.pts);
        capture_us = fh::shared::unix_micros();
      }
      if (prepare(frame, capture_us, gate_time)) ++handled;
    }
  } catch (const std::exception& e) {
    log->error("stream {}: {}", stream_, e.what());
    failed_.store(true);
  } catch (...) {
    log->error("stream {}: unknown exception", stream_);
    failed_.store(true);
  }
  // The frames gated since the last one sent are only reported by a frame sent after them: the
  // stream's last frame, when gated, is sent after all (as a keep-alive).
  if (gated_pending_ > 0 && !last_gated_.image.empty() && !failed_.load()) {
    try {
      LastGated last = std::move(last_gated_);
      --gated_pending_;
      gated_.fetch_sub(1);
      RawFrame raw{last.image, last.capture_us, std::move(last.motion),
                   MotionGate::Verdict::keepalive, gated_pending_};
      if (to_encode_.push(std::move(raw))) {
        gated_pending_ = 0;
      } else {
        gated_.fetch_add(1);  // not sent after all: still gated
      }
    } catch (const std::exception& e) {
      log->error("stream {}: {}", stream_, e.what());
      failed_.store(true);
    }
  }
  to_encode_.close();  // the encoder drains it, then closes to_send_
  encoding.join();
  sending.join();
  finished_.store(mono());
  return !failed_.load();
}

StreamStats StreamPublisher::stats() const {
  StreamStats s;
  s.frames = frames_.load();
  s.gated = gated_.load();
  s.keepalives = keepalives_.load();
  s.datagrams = datagrams_.load();
  s.bytes = bytes_.load();
  s.dropped_datagrams = dropped_.load();
  s.frames_damaged = damaged_.load();
  s.send_errors = send_errors_.load();
  s.frames_skipped = skipped_.load();
  s.encode_errors = encode_errors_.load();
  s.decode_errors = decode_errors_.load();
  s.reconnects = reconnects_.load();
  const double start = started_.load();
  const double end = finished_.load();
  if (start >= 0) s.seconds = (end >= 0 ? end : mono()) - start;
  return s;
}

std::string StreamPublisher::final_line() const {
  const StreamStats s = stats();
  const double fps = s.seconds > 0 ? static_cast<double>(s.frames) / s.seconds : 0.0;
  char session[17];
  std::snprintf(session, sizeof session, "%016" PRIx64, session_);
  return shared::StatsLine("sender")
      .add("port", static_cast<unsigned>(port_))
      .add("stream", stream_)
      .add("session", session)
      .add("frames", s.frames)
      .add("gated", s.gated)
      .add("read", s.frames + s.gated + s.encode_errors)
      .add("datagrams", s.datagrams)
      .add("bytes", s.bytes)
      .add("dropped_datagrams", s.dropped_datagrams)
      .add("frames_damaged", s.frames_damaged)
      .add("send_errors", s.send_errors)
      .add("seconds", s.seconds, 3)
      .add("fps", fps, 2)
      .str();
}

}  // namespace fh::sender
