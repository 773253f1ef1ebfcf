#pragma once
// The --dump sink: writes each complete frame as DIR/<port>/<frame_seq>.jpg, through a temporary
// name and rename(), so a reader never sees a partial file. A restarted sender (new session)
// overwrites earlier files of the same seq. Used from the consumer thread only (not thread-safe).

#include "framehive/receiver/frame_sink.hpp"

#include <cstdint>
#include <set>
#include <string>

namespace fh::receiver {

class DumpSink final : public FrameSink {
 public:
  /// Creates dir (and parents) now; throws std::runtime_error when it cannot.
  explicit DumpSink(std::string dir);

  void deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) override;
  std::string name() const override { return "dump"; }

  /// Where a frame goes: DIR/<port>/<frame_seq>.jpg
  std::string path_for(std::uint16_t port, std::uint32_t frame_seq) const;

 private:
  /// Writes one frame; false (and logs, rate-limited) on failure.
  bool write(const ReceivedFrame& frame);

  std::string dir_;                    ///< the dump directory
  std::set<std::uint16_t> made_dirs_;  ///< ports whose sub-directory exists
  std::uint64_t failures_ = 0;         ///< write failures so far (for rate-limited logging)
};

}  // namespace fh::receiver
