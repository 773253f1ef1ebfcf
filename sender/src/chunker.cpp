#include "framehive/sender/chunker.hpp"

#include <stdexcept>

#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

namespace fh::sender {

namespace proto = fh::shared;

Chunker::Chunker(std::string stream, std::uint64_t session, std::size_t chunk_size, bool tagged,
                 std::uint16_t port)
    : stream_(std::move(stream)),
      session_(session),
      chunk_size_(chunk_size),
      tagged_(tagged),
      port_(port) {
  if (stream_.empty() || stream_.size() > proto::k_max_stream_name) {
    throw std::invalid_argument("stream name must be 1..64 bytes");
  }
  if (chunk_size_ < min_chunk_size(stream_, tagged_) || chunk_size_ > k_max_chunk_size) {
    throw std::invalid_argument("chunk size " + std::to_string(chunk_size_) + " is outside " +
                                std::to_string(min_chunk_size(stream_, tagged_)) + " .. " +
                                std::to_string(k_max_chunk_size) + " for stream '" + stream_ + "'");
  }
  payload_size_ = chunk_size_ - min_chunk_size(stream_, tagged_) + 1;
}

std::size_t Chunker::min_chunk_size(const std::string& stream, bool tagged) {
  return (tagged ? proto::k_fixed_header_bytes_v2 + proto::k_tag_bytes
                 : proto::k_fixed_header_bytes) +
         stream.size() + 1;
}

std::size_t Chunker::chunk_count(std::size_t frame_len) const {
  return (frame_len + payload_size_ - 1) / payload_size_;
}

bool Chunker::fits(std::size_t frame_len) const {
  return frame_len > 0 && frame_len <= 0xFFFFFFFFu && chunk_count(frame_len) <= k_max_chunks;
}

void Chunker::encode_chunk(const std::uint8_t* jpeg, std::size_t size, std::uint32_t frame_seq,
                           std::uint64_t capture_us, std::size_t index,
                           std::vector<std::uint8_t>& out, proto::DatagramTagger* tagger,
                           std::uint64_t counter) const {
  if ((tagger != nullptr) != tagged_) {
    throw std::invalid_argument(tagged_ ? "a tagged chunker needs a DatagramTagger"
                                        : "an untagged chunker takes no DatagramTagger");
  }
  proto::DatagramHeader h;
  h.session = session_;
  h.frame_seq = frame_seq;
  h.chunk_index = static_cast<std::uint16_t>(index);
  h.chunk_count = static_cast<std::uint16_t>(chunk_count(size));
  h.frame_len = static_cast<std::uint32_t>(size);
  h.capture_us = capture_us;
  h.counter = counter;
  h.stream = stream_;
  const std::size_t offset = index * payload_size_;
  const std::size_t n = std::min(payload_size_, size - offset);
  out.clear();
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
                                                      std::uint64_t first_counter) const {
  std::vector<std::vector<std::uint8_t>> out;
  if (!fits(jpeg.size())) return out;
  const std::size_t count = chunk_count(jpeg.size());
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    encode_chunk(jpeg.data(), jpeg.size(), frame_seq, capture_us, i, out[i], tagger,
                 first_counter + i);
  }
  return out;
}

}  // namespace fh::sender
