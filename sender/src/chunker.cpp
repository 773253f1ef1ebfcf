#include "framehive/sender/chunker.hpp"

#include <algorithm>
#include <stdexcept>

#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

namespace fh::sender {

namespace proto = fh::shared;

namespace {

std::size_t motion_bytes(const proto::MotionExtension* m) {
  return m ? proto::k_motion_ext_fixed + m->boxes.size() * proto::k_motion_box_bytes : 0;
}

}  // namespace

Chunker::Chunker(std::string stream, std::uint64_t session, std::size_t chunk_size, bool tagged,
                 std::uint16_t port, bool motion)
    : stream_(std::move(stream)),
      session_(session),
      chunk_size_(chunk_size),
      tagged_(tagged),
      port_(port),
      motion_(motion) {
  if (stream_.empty() || stream_.size() > proto::k_max_stream_name) {
    throw std::invalid_argument("stream name must be 1..64 bytes");
  }
  if (chunk_size_ < min_chunk_size(stream_, tagged_, motion_) || chunk_size_ > k_max_chunk_size) {
    throw std::invalid_argument("chunk size " + std::to_string(chunk_size_) + " is outside " +
                                std::to_string(min_chunk_size(stream_, tagged_, motion_)) + " .. " +
                                std::to_string(k_max_chunk_size) + " for stream '" + stream_ + "'");
  }
  payload_size_ = chunk_size_ - min_chunk_size(stream_, tagged_) + 1;
}

std::size_t Chunker::min_chunk_size(const std::string& stream, bool tagged, bool motion) {
  return (tagged ? proto::k_fixed_header_bytes_v2 + proto::k_tag_bytes
                 : proto::k_fixed_header_bytes) +
         stream.size() + 1 + (motion ? proto::k_max_motion_ext : 0);
}

std::size_t Chunker::payload_size(const proto::MotionExtension* motion) const {
  // The constructor guarantees room for the largest extension when motion_ is set; a bigger
  // one (too many boxes) is refused by encode_datagram.
  const std::size_t ext = std::min(motion_bytes(motion), proto::k_max_motion_ext);
  return payload_size_ - (motion_ ? ext : 0);
}

std::size_t Chunker::chunk_count(std::size_t frame_len,
                                 const proto::MotionExtension* motion) const {
  const std::size_t n = payload_size(motion);
  return (frame_len + n - 1) / n;
}

bool Chunker::fits(std::size_t frame_len, const proto::MotionExtension* motion) const {
  return frame_len > 0 && frame_len <= 0xFFFFFFFFu &&
         chunk_count(frame_len, motion) <= k_max_chunks;
}

void Chunker::encode_chunk(const std::uint8_t* jpeg, std::size_t size, std::uint32_t frame_seq,
                           std::uint64_t capture_us, std::size_t index,
                           std::vector<std::uint8_t>& out, proto::DatagramTagger* tagger,
                           std::uint64_t counter, const proto::MotionExtension* motion) const {
  out.clear();
  append_chunk(jpeg, size, frame_seq, capture_us, index, out, tagger, counter, motion);
}

void Chunker::append_chunk(const std::uint8_t* jpeg, std::size_t size, std::uint32_t frame_seq,
                           std::uint64_t capture_us, std::size_t index,
                           std::vector<std::uint8_t>& out, proto::DatagramTagger* tagger,
                           std::uint64_t counter, const proto::MotionExtension* motion) const {
  if ((tagger != nullptr) != tagged_) {
    throw std::invalid_argument(tagged_ ? "a tagged chunker needs a DatagramTagger"
                                        : "an untagged chunker takes no DatagramTagger");
  }
  if (motion && !motion_) {
    throw std::invalid_argument("a chunker built without motion takes no motion extension");
  }
  proto::DatagramHeader h;
  h.session = session_;
  h.frame_seq = frame_seq;
  h.chunk_index = static_cast<std::uint16_t>(index);
  h.chunk_count = static_cast<std::uint16_t>(chunk_count(size, motion));
  h.frame_len = static_cast<std::uint32_t>(size);
  h.capture_us = capture_us;
  h.counter = counter;
  h.stream = stream_;
  if (motion) {
    h.flags = static_cast<std::uint8_t>(h.flags | proto::k_flag_motion);
    h.motion = *motion;
  }
  const std::size_t per_chunk = payload_size(motion);
  const std::size_t offset = index * per_chunk;
  const std::size_t n = std::min(per_chunk, size - offset);
  if (tagger) {
    proto::encode_tagged_datagram(std::move(h), jpeg + offset, n, port_, *tagger, out);
  } else {
    proto::encode_datagram(std::move(h), jpeg + offset, n, out);
  }
}

std::vector<std::vector<std::uint8_t>> Chunker::split(const std::vector<std::uint8_t>& jpeg,
                                                      std::uint32_t frame_seq,
                                                      std::uint64_t capture_us,
                                                      proto::DatagramTagger* tagger,
                                                      std::uint64_t first_counter,
                                                      const proto::MotionExtension* motion) const {
  std::vector<std::vector<std::uint8_t>> out;
  if (!fits(jpeg.size(), motion)) return out;
  const std::size_t count = chunk_count(jpeg.size(), motion);
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    encode_chunk(jpeg.data(), jpeg.size(), frame_seq, capture_us, i, out[i], tagger,
                 first_counter + i, motion);
  }
  return out;
}

}  // namespace fh::sender
