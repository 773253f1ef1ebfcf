#pragma once
// FrameSource: where frames come from (file, URL, V4L2 camera or test pattern), as BGR frames;
// deterministic for files and the test pattern. Not thread-safe (except the interrupt flag).

#include <atomic>
#include <memory>
#include <opencv2/core/types.hpp>
#include <stdexcept>
#include <string>

#include "framehive/sender/captured_frame.hpp"

namespace fh::sender {

/// Thrown by FrameSource::open() when a source cannot be opened (missing, corrupt, no video).
struct FrameSourceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FrameSourceOptions {
  /// When set and true, blocking libav calls (open, read) give up: lets SIGINT end a stalled
  /// network read. Must outlive the source.
  const std::atomic<bool>* interrupt = nullptr;
  /// Network sources: socket I/O timeout in seconds (0 = libav's default, often infinite).
  double network_timeout_s = 10.0;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  /// Opens a source from its spec:
  ///   "test:WxH" or "test:WxH@FPS"  synthetic moving pattern (TestPatternSource, 30 fps default)
  ///   "/dev/videoN[?k=v&k=v]"        V4L2 camera via libavdevice; the optional query holds
  ///                                  v4l2 options, e.g. video_size=1280x720&framerate=30
  ///   "scheme://..."                 network stream via libavformat (rtsp, http, udp, ...)
  ///   anything else                  a video file
  /// Files and URLs are decoded with libavcodec and converted to BGR24 with swscale at their
  /// native size (the FFmpeg state lives in src/, behind a pimpl). Throws FrameSourceError
  /// with a one-line message naming the source and the reason. The first frame is decoded
  /// here, so a file without a decodable video frame fails now rather than later.
  static std::unique_ptr<FrameSource> open(const std::string& spec,
                                           const FrameSourceOptions& options = {});

  /// The default stream name of a spec: "test" for test patterns, otherwise the last path
  /// component ("vtest.avi", "video0", "cam1" for rtsp://host/live/cam1), sanitised (no
  /// whitespace or control characters) and cut to 64 bytes.
  static std::string default_stream_name(const std::string& spec);

  /// Next frame in decode order; false at the end of the stream or on a fatal error (then
  /// error() says why). Corrupt packets in the middle are skipped and counted, not fatal.
  virtual bool next(CapturedFrame& frame) = 0;

  /// Restarts from the first frame (files and the test pattern); false when not possible.
  virtual bool rewind() = 0;

  /// Native frame rate in frames per second; 0 when the container does not say.
  virtual double fps() const = 0;

  /// Size of the frames (of the first frame for sources that change size).
  virtual cv::Size size() const = 0;

  /// True for cameras and network streams (they pace themselves and cannot rewind).
  virtual bool live() const = 0;

  /// Empty after a clean end of stream; the reason after a fatal error.
  virtual const std::string& error() const = 0;

  /// Packets or frames that failed to decode and were skipped.
  virtual std::uint64_t decode_errors() const = 0;

  /// Human-readable description for logs, e.g. "vtest.avi (mpeg4 768x576 10.00 fps)".
  virtual std::string describe() const = 0;
};

}  // namespace fh::sender
