#pragma once
// StreamPublisher: one camera's pipeline (read, pace, detect motion, gate | encode | chunk, send)
// and its counters. run() on one thread (it starts two more: encoding, sending); stop(), stats()
// and final_line() are thread-safe.

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

#include "framehive/sender/bounded_queue.hpp"
#include "framehive/sender/chunker.hpp"
#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/motion_detector.hpp"
#include "framehive/sender/motion_gate.hpp"
#include "framehive/sender/rate_limiter.hpp"
#include "framehive/sender/udp_sender.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

namespace fh::sender {

/// A snapshot of one stream's counters.
struct StreamStats {
  std::uint64_t frames = 0;             ///< frames sent (all their datagrams handled)
  std::uint64_t gated = 0;              ///< frames --motion gate did not send
  std::uint64_t keepalives = 0;         ///< frames sent by --motion gate without motion (idle)
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

/// A pipeline of three threads joined by queues of at most k_queue_frames frames (a full queue
/// makes the stage before it wait: no frame is dropped). The run() thread reads (rewinding
/// files with --loop, reconnecting failed live sources), paces (files and the test pattern
/// follow their timestamps or --fps in real time; live sources pace themselves and --fps only
/// skips frames), detects motion (MotionDetector) and gates (MotionGate) unless --motion off;
/// an encoding thread encodes with JpegEncoder and numbers the frames sent (frame_seq 0, 1,
/// 2, ...); a sending thread splits with Chunker (tagged with --key-file; with the motion
/// extension unless --motion off), withholds datagrams for --test-drop-fraction, rate-limits
/// with RateLimiter and sends with UdpSender in sendmmsg batches. So frame N+1 is encoded
/// (and N+2 read and analysed) while frame N's datagrams are paced and sent. capture_us is
/// the decode time for live sources and the release time for paced files and test patterns.
/// The gate's clock is the frame's time: real time for live sources and paced files, the
/// file's own timestamps when unpaced (--fps 0).
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
    MotionMode motion = MotionMode::off;  ///< --motion
    MotionDetector::Options detector;     ///< --motion-threshold, --motion-min-area, masks
    double idle_interval = 5.0;           ///< --idle-interval, seconds between keep-alives
    double hangover = 1.0;                ///< --motion-hangover, seconds sent after motion
  };

  /// Frames waiting for the encoder, and encoded frames waiting to be sent, at most (each).
  static constexpr std::size_t k_queue_frames = 2;

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

  /// "sender-stats port=.. stream=.. session=<16 hex> frames=.. gated=.. read=.. datagrams=..
  ///  bytes=.. dropped_datagrams=.. frames_damaged=.. send_errors=.. seconds=.. fps=.."
  /// (frames = sent; read = frames + gated + encode errors).
  std::string final_line() const;

  std::uint16_t port() const { return port_; }
  const std::string& stream() const { return stream_; }
  std::uint64_t session() const { return session_; }

  /// A fresh random session id (std::random_device), never 0.
  static std::uint64_t random_session();

 private:
  /// One frame on its way from the reader to the encoder.
  struct RawFrame {
    cv::Mat image;                 ///< the frame (sources allocate each: no copy)
    std::uint64_t capture_us = 0;  ///< capture time
    MotionResult motion;           ///< what the detector saw (--motion flag|gate)
    MotionGate::Verdict verdict = MotionGate::Verdict::still;  ///< why it is sent
    std::uint32_t gated = 0;                                   ///< frames gated just before it
  };

  /// One encoded frame on its way from the encoder to the sending thread.
  struct Encoded {
    std::vector<std::uint8_t> jpeg;  ///< the JPEG
    std::uint32_t seq = 0;           ///< frame_seq
    std::uint64_t capture_us = 0;    ///< capture time
    bool has_motion = false;         ///< carries the motion extension
    shared::MotionExtension motion;  ///< the extension (when has_motion)
  };

  /// Detects motion and gates; queues the frame for encoding. True when the frame was queued or
  /// gated (it counts toward --frames); false when the queue was closed.
  bool prepare(const CapturedFrame& frame, std::uint64_t capture_us, double gate_time);
  /// The encoding thread: encodes queued frames until the queue is closed and empty.
  void encode_loop();
  /// The sending thread: sends encoded frames until their queue is closed and empty.
  void send_loop();
  /// Chunks and sends one frame.
  void send_frame(const Encoded& e);
  /// After a failure on a pipeline thread: stops the stream and opens every queue.
  void abort_pipeline();
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
  MotionDetector detector_;                         ///< motion (run() thread only)
  MotionGate gate_;                                 ///< gating (run() thread only)
  std::unique_ptr<shared::DatagramTagger> tagger_;  ///< integrity tags; null without a key
  Chunker chunker_;                                 ///< datagram builder
  RateLimiter limiter_;                             ///< --max-rate
  std::mt19937_64 drop_rng_;                        ///< --test-drop-fraction generator
  std::atomic<bool> failed_{false};                 ///< the source or sending failed
  std::uint32_t next_seq_ = 0;                      ///< frame_seq of the next frame (encoder)
  std::uint32_t gated_carry_ = 0;    ///< gated before frames that failed to encode (encoder)
  std::uint32_t gated_pending_ = 0;  ///< gated since the last frame queued
  /// The latest frame, when it was gated (sent at the end of the stream so that the frames
  /// gated before it are reported).
  struct LastGated {
    cv::Mat image;                 ///< the frame
    std::uint64_t capture_us = 0;  ///< its capture time
    MotionResult motion;           ///< what the detector saw
  } last_gated_;
  std::uint64_t next_counter_ = 0;           ///< datagram counter of the next datagram
  std::uint64_t frames_since_rewind_ = 0;    ///< guards --loop against an empty file
  std::uint64_t decode_errors_base_ = 0;     ///< decode errors of sources replaced on reconnect
  std::vector<std::uint8_t> datagrams_buf_;  ///< one frame's datagrams back to back (sender)
  std::vector<std::size_t> datagram_ends_;   ///< end offset of each in datagrams_buf_ (sender)
  std::vector<iovec> iov_;                   ///< the batch being built (sender)

  BoundedQueue<RawFrame> to_encode_{k_queue_frames};  ///< reader -> encoder
  BoundedQueue<Encoded> to_send_{k_queue_frames};     ///< encoder -> sender

  std::atomic<bool> stop_{false};    ///< set by stop()
  std::mutex wait_mutex_;            ///< guards nothing but the wait on wait_cv_
  std::condition_variable wait_cv_;  ///< wakes pacing waits on stop()

  std::atomic<std::uint64_t> frames_{0};         ///< see StreamStats
  std::atomic<std::uint64_t> gated_{0};          ///< see StreamStats
  std::atomic<std::uint64_t> keepalives_{0};     ///< see StreamStats
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
