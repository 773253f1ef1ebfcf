#pragma once
// StreamPublisher: one camera's pipeline (read, pace, encode, chunk, send) and its counters.
// run() on one thread; stop(), stats() and final_line() are thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "framehive/sender/chunker.hpp"
#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/rate_limiter.hpp"
#include "framehive/sender/udp_sender.hpp"
#include "framehive/shared/datagram_tagger.hpp"

namespace fh::sender {

/// A snapshot of one stream's counters.
struct StreamStats {
  std::uint64_t frames = 0;             ///< frames published (all their datagrams handled)
  std::uint64_t datagrams = 0;          ///< datagrams handed to the kernel
  std::uint64_t bytes = 0;              ///< bytes of those datagrams (header + name + payload)
  std::uint64_t dropped_datagrams = 0;  ///< datagrams withheld by --test-drop-fraction
  std::uint64_t frames_damaged = 0;     ///< frames with at least one withheld datagram
  std::uint64_t send_errors = 0;        ///< datagrams the socket refused after retries
  std::uint64_t frames_skipped = 0;     ///< live frames skipped to honour --fps
  std::uint64_t encode_errors = 0;      ///< frames that failed to encode or were too large
  std::uint64_t decode_errors = 0;      ///< packets the source skipped as undecodable
  std::uint64_t reconnects = 0;         ///< live source reopened after a failure
  double seconds = 0;                   ///< time since run() started
};

/// Per frame: read (rewinding files with --loop, reconnecting failed live sources), pace
/// (files and the test pattern follow their timestamps or --fps in real time; live sources
/// pace themselves and --fps only skips frames), encode with JpegEncoder, split with Chunker
/// into frame_seq 0, 1, 2, ... (tagged with --key-file), withhold datagrams for
/// --test-drop-fraction, rate-limit with
/// RateLimiter and send with UdpSender. capture_us is the decode time for live sources and
/// the release time for paced files and test patterns.
class StreamPublisher {
 public:
  struct Options {
    std::optional<double> fps;                               ///< unset: source rate; 0: no pacing
    JpegEncoder::Options jpeg;                               ///< quality and width
    std::size_t chunk_size = Chunker::k_default_chunk_size;  ///< whole datagram size
    std::uint64_t frames = 0;  ///< stop after this many frames, 0 = all
    bool loop = false;         ///< rewind files at EOF
    double max_rate_mbit = 0;  ///< token bucket, 0 = off
    double drop_fraction = 0;  ///< test drop probability per datagram
    std::uint64_t seed = 1;    ///< drop generator seed
    std::string datagram_key;  ///< HMAC key: every datagram gets an integrity tag; empty: none
  };

  /// Reopens a live source after it failed (may throw FrameSourceError).
  using Reopen = std::function<std::unique_ptr<FrameSource>()>;

  /// session: the random session id of this run. Throws std::invalid_argument for options the
  /// chunker or encoder reject.
  StreamPublisher(std::uint16_t port, std::string stream, std::uint64_t session,
                  std::unique_ptr<FrameSource> source, std::unique_ptr<UdpSender> sender,
                  Options options, Reopen reopen = {});

  /// Publishes until the source ends, --frames is reached or stop() is called. Returns true on
  /// a clean end, false when the source failed. Never throws.
  bool run();

  /// Asks run() to return after the current frame. Thread-safe, idempotent.
  void stop();

  StreamStats stats() const;

  /// "sender-stats port=.. stream=.. session=<16 hex> frames=.. datagrams=.. bytes=..
  ///  dropped_datagrams=.. frames_damaged=.. send_errors=.. seconds=.. fps=.."
  std::string final_line() const;

  std::uint16_t port() const { return port_; }
  const std::string& stream() const { return stream_; }
  std::uint64_t session() const { return session_; }

  /// A fresh random session id (std::random_device), never 0.
  static std::uint64_t random_session();

 private:
  /// Encodes, chunks and sends one frame; false (counted) when it could not be encoded.
  bool publish(const CapturedFrame& frame, std::uint64_t capture_us);
  /// Next frame, rewinding (--loop) or reconnecting (live) as needed; false to end the run.
  bool read_frame(CapturedFrame& frame);
  /// Sleeps until a monotonic time; false when stop() came first.
  bool wait_until(double mono_deadline);
  bool stopping() const { return stop_.load(); }
  /// True when the next datagram is to be withheld (--test-drop-fraction).
  bool drop_next();

  std::uint16_t port_;                              ///< receiver port (for stats)
  std::string stream_;                              ///< stream name
  std::uint64_t session_;                           ///< session id
  std::unique_ptr<FrameSource> source_;             ///< frames (replaced on reconnect)
  std::unique_ptr<UdpSender> sender_;               ///< socket
  Options options_;                                 ///< settings
  Reopen reopen_;                                   ///< live-source reconnect
  JpegEncoder encoder_;                             ///< JPEG settings
  std::unique_ptr<shared::DatagramTagger> tagger_;  ///< integrity tags; null without a key
  Chunker chunker_;                                 ///< datagram builder
  RateLimiter limiter_;                             ///< --max-rate
  std::mt19937_64 drop_rng_;                        ///< --test-drop-fraction generator
  bool failed_ = false;                             ///< the source failed (run() returns false)
  std::uint32_t next_seq_ = 0;                      ///< frame_seq of the next frame sent
  std::uint64_t next_counter_ = 0;                  ///< datagram counter of the next datagram
  std::uint64_t frames_since_rewind_ = 0;           ///< guards --loop against an empty file
  std::uint64_t decode_errors_base_ = 0;  ///< decode errors of sources replaced on reconnect
  std::vector<std::uint8_t> jpeg_;        ///< encoded frame (reused)
  std::vector<std::uint8_t> datagram_;    ///< one datagram (reused)

  std::atomic<bool> stop_{false};    ///< set by stop()
  std::mutex wait_mutex_;            ///< guards nothing but the wait on wait_cv_
  std::condition_variable wait_cv_;  ///< wakes pacing waits on stop()

  std::atomic<std::uint64_t> frames_{0};         ///< see StreamStats
  std::atomic<std::uint64_t> datagrams_{0};      ///< see StreamStats
  std::atomic<std::uint64_t> bytes_{0};          ///< see StreamStats
  std::atomic<std::uint64_t> dropped_{0};        ///< see StreamStats
  std::atomic<std::uint64_t> damaged_{0};        ///< see StreamStats
  std::atomic<std::uint64_t> send_errors_{0};    ///< see StreamStats
  std::atomic<std::uint64_t> skipped_{0};        ///< see StreamStats
  std::atomic<std::uint64_t> encode_errors_{0};  ///< see StreamStats
  std::atomic<std::uint64_t> decode_errors_{0};  ///< see StreamStats
  std::atomic<std::uint64_t> reconnects_{0};     ///< see StreamStats
  std::atomic<double> started_{-1.0};            ///< mono time run() began
  std::atomic<double> finished_{-1.0};           ///< mono time run() ended
};

}  // namespace fh::sender
