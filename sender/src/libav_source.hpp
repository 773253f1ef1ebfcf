#pragma once
// LibavSource: the FrameSource over libavformat/libavcodec/swscale (files, URLs, V4L2); private,
// built by FrameSource::open(). Not thread-safe, except the interrupt flag.

#include <memory>
#include <string>

#include "framehive/sender/frame_source.hpp"

namespace fh::sender {

class LibavSource final : public FrameSource {
 public:
  enum class Kind { file, url, device };

  /// Opens and decodes the first frame; throws FrameSourceError with a one-line reason.
  LibavSource(const std::string& spec, Kind kind, const FrameSourceOptions& options);
  ~LibavSource() override;
  LibavSource(const LibavSource&) = delete;
  LibavSource& operator=(const LibavSource&) = delete;

  bool next(CapturedFrame& frame) override;
  bool rewind() override;
  double fps() const override;
  cv::Size size() const override;
  bool live() const override;
  const std::string& error() const override;
  std::uint64_t decode_errors() const override;
  std::string describe() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  ///< all libav state
};

}  // namespace fh::sender
