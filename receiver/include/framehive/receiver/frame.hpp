#pragma once
// A complete, reassembled video frame as the receiver hands it on (queue, sinks).
// Plain value type; not synchronised (move it between threads through FrameQueue).

#include <cstdint>
#include <string>
#include <vector>

namespace fh::receiver {

struct Frame {
  std::uint16_t port = 0;          ///< UDP port it arrived on (one port = one camera)
  std::string stream;              ///< camera name from the datagram header
  std::uint64_t session = 0;       ///< sender session (random per sender run and stream)
  std::uint32_t frame_seq = 0;     ///< frame sequence number within the session
  std::uint64_t capture_us = 0;    ///< capture time at the sender, Unix microseconds
  std::uint64_t received_us = 0;   ///< time the last chunk arrived, Unix microseconds
  std::vector<std::uint8_t> jpeg;  ///< the JPEG bytes, exactly as sent
};

}  // namespace fh::receiver
