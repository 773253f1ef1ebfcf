#pragma once
// Chunker: splits one JPEG into framehive datagrams (docs/protocol.md) of at most chunk_size
// bytes each, optionally with integrity tags. Immutable after construction: thread-safe (a
// DatagramTagger passed in belongs to the calling thread).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fh::shared {
class DatagramTagger;
struct MotionExtension;
}  // namespace fh::shared

namespace fh::sender {

/// chunk_size is the whole datagram (header + stream name + payload + tag when tagged); every
/// chunk but the last carries payload_size() = chunk_size - 44 - stream length bytes of the
/// JPEG (tagged: version-2 datagrams, chunk_size - 52 - stream length - 16). A frame sent with a
/// motion extension (docs/protocol.md) carries it in every chunk, and its payload per chunk
/// shrinks by the extension's size (12 + 8 per box), so a datagram never exceeds chunk_size.
class Chunker {
 public:
  static constexpr std::size_t k_default_chunk_size = 1400;
  static constexpr std::size_t k_max_chunk_size = 65000;
  static constexpr std::size_t k_max_chunks = 65535;

  /// Throws std::invalid_argument when the stream name is empty or over 64 bytes, or
  /// chunk_size is outside min_chunk_size(stream, tagged, motion) .. k_max_chunk_size. tagged:
  /// version-2 datagrams with room for the 16-byte integrity tag, which covers port (the
  /// destination). motion: frames may carry a motion extension (room for the largest one, 140
  /// bytes, is required).
  Chunker(std::string stream, std::uint64_t session, std::size_t chunk_size = k_default_chunk_size,
          bool tagged = false, std::uint16_t port = 0, bool motion = false);

  /// Smallest legal chunk size for a stream name: header + name + 1 payload byte (+ tag) (+ the
  /// largest motion extension).
  static std::size_t min_chunk_size(const std::string& stream, bool tagged = false,
                                    bool motion = false);

  /// Payload bytes per (non-last) chunk of a frame with this motion extension (none: null).
  std::size_t payload_size(const fh::shared::MotionExtension* motion = nullptr) const;

  /// Chunks needed for a frame of frame_len bytes (0 for an empty frame).
  std::size_t chunk_count(std::size_t frame_len,
                          const fh::shared::MotionExtension* motion = nullptr) const;

  /// True when a frame of this size can be sent (1 .. k_max_chunks chunks).
  bool fits(std::size_t frame_len, const fh::shared::MotionExtension* motion = nullptr) const;

  /// Encodes chunk `index` of the frame into out (replaced). Precondition: fits(size, motion)
  /// and index < chunk_count(size, motion). A tagged chunker needs a tagger (the tag is
  /// appended), an untagged one none; a motion extension needs a chunker built with motion:
  /// std::invalid_argument otherwise. counter: the session's datagram counter, carried by
  /// tagged (version-2) datagrams; the caller numbers datagrams 0, 1, 2, ...
  void encode_chunk(const std::uint8_t* jpeg, std::size_t size, std::uint32_t frame_seq,
                    std::uint64_t capture_us, std::size_t index, std::vector<std::uint8_t>& out,
                    fh::shared::DatagramTagger* tagger = nullptr, std::uint64_t counter = 0,
                    const fh::shared::MotionExtension* motion = nullptr) const;

  /// encode_chunk, appending the datagram to out (so a frame's datagrams can share a buffer).
  void append_chunk(const std::uint8_t* jpeg, std::size_t size, std::uint32_t frame_seq,
                    std::uint64_t capture_us, std::size_t index, std::vector<std::uint8_t>& out,
                    fh::shared::DatagramTagger* tagger = nullptr, std::uint64_t counter = 0,
                    const fh::shared::MotionExtension* motion = nullptr) const;

  /// All datagrams of one frame, in chunk order, counters first_counter, first_counter + 1, ...;
  /// empty when !fits(jpeg.size(), motion).
  std::vector<std::vector<std::uint8_t>> split(
      const std::vector<std::uint8_t>& jpeg, std::uint32_t frame_seq, std::uint64_t capture_us,
      fh::shared::DatagramTagger* tagger = nullptr, std::uint64_t first_counter = 0,
      const fh::shared::MotionExtension* motion = nullptr) const;

  const std::string& stream() const { return stream_; }
  std::uint64_t session() const { return session_; }
  std::size_t chunk_size() const { return chunk_size_; }
  bool tagged() const { return tagged_; }
  std::uint16_t port() const { return port_; }
  bool motion() const { return motion_; }

 private:
  std::string stream_;        ///< stream name carried in every datagram
  std::uint64_t session_;     ///< session id carried in every datagram
  std::size_t chunk_size_;    ///< whole datagram size
  bool tagged_;               ///< datagrams carry an integrity tag
  std::uint16_t port_;        ///< destination port, covered by the tag
  bool motion_;               ///< frames may carry a motion extension
  std::size_t payload_size_;  ///< chunk_size_ - header - name (- tag), without an extension
};

}  // namespace fh::sender
