#pragma once
// The framehive datagram format (see docs/protocol.md): encode and decode of one chunk, with an
// optional HMAC integrity tag. Thread-safe except through a DatagramTagger, which is one per
// thread. Decoding never throws: malformed input yields a DecodeError.

#include "framehive/shared/api/types.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace fh::shared {

constexpr std::uint32_t k_magic = 0x46485644;  // "FHVD"
/// Version 1: the plain header (untagged senders, and tagged senders before replay protection).
constexpr std::uint8_t k_version = 1;
/// Version 2: the keyed header, written by senders with a key: version 1's fields, the key id in
/// byte 7 and an 8-byte per-session datagram counter; its tag also covers the destination port.
constexpr std::uint8_t k_version_2 = 2;
/// Fixed header bytes of version 1 (before the stream name).
constexpr std::size_t k_fixed_header_bytes = 44;
/// Fixed header bytes of version 2 (version 1's, then the counter).
constexpr std::size_t k_fixed_header_bytes_v2 = 52;
constexpr std::size_t k_max_stream_name = 64;
constexpr std::size_t k_max_chunk_payload = 65000;
/// flags bit 0: a k_tag_bytes integrity tag follows the payload (not counted in payload_len).
constexpr std::uint8_t k_flag_tagged = 0x01;
constexpr std::size_t k_tag_bytes = 16;
/// flags bit 1: a motion extension (MotionExtension) follows the stream name, before the payload
/// (framehive-sender --motion flag|gate; docs/protocol.md, "Motion extension").
constexpr std::uint8_t k_flag_motion = 0x02;
/// The motion extension's own version; later versions only append fields (a reader skips what
/// it does not know by the extension's length byte).
constexpr std::uint8_t k_motion_ext_version = 1;
/// Bytes of a version-1 motion extension before its boxes; each box adds 8.
constexpr std::size_t k_motion_ext_fixed = 12;
constexpr std::size_t k_motion_box_bytes = 8;
/// Most boxes one extension carries.
constexpr std::size_t k_motion_ext_max_boxes = 16;
/// Motion extension flags.
constexpr std::uint8_t k_motion_moving = 0x01;     ///< the detector saw motion in this frame
constexpr std::uint8_t k_motion_keepalive = 0x02;  ///< sent without motion (idle keep-alive)
/// Box coordinates are fractions of the frame in units of 1/65535.
constexpr std::uint32_t k_motion_box_scale = 65535;
/// The score is a share of the frame's area in units of 1/10000.
constexpr std::uint32_t k_motion_score_scale = 10000;
/// Largest motion extension this build writes (a reader accepts up to 255 bytes).
constexpr std::size_t k_max_motion_ext =
    k_motion_ext_fixed + k_motion_ext_max_boxes * k_motion_box_bytes;
/// Largest valid datagram, tag included.
constexpr std::size_t k_max_datagram =
    k_fixed_header_bytes_v2 + k_max_stream_name + 255 + k_max_chunk_payload + k_tag_bytes;

/// The motion extension of a datagram (flags & k_flag_motion): what the sender's motion
/// detector said about the frame. Every chunk of a frame carries the same extension.
struct MotionExtension {
  std::uint8_t flags = 0;   ///< k_motion_moving, k_motion_keepalive
  std::uint16_t score = 0;  ///< moving share of the frame's area, 0..10000 (1/10000ths)
  std::uint32_t gated = 0;  ///< frames gated (not sent) since the previous frame sent
  struct Box {
    std::uint16_t x = 0, y = 0, w = 0, h = 0;  ///< 1/65535ths of the frame's width, height
  };
  std::vector<Box> boxes;  ///< at most k_motion_ext_max_boxes; x + w and y + h <= 65535
};

inline bool operator==(const MotionExtension::Box& a, const MotionExtension::Box& b) {
  return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}
inline bool operator==(const MotionExtension& a, const MotionExtension& b) {
  return a.flags == b.flags && a.score == b.score && a.gated == b.gated && a.boxes == b.boxes;
}
inline bool operator!=(const MotionExtension& a, const MotionExtension& b) { return !(a == b); }

/// The wire units of the motion extension and the contract's fractions (api::Motion), both
/// ways: the sender encodes, the receiver decodes.
/// A share of the frame (clamped to 0..1) in 1/10000ths, rounded to nearest.
std::uint16_t encode_motion_score(double share);
/// A score in 1/10000ths as a share of the frame.
double decode_motion_score(std::uint16_t score);
/// A box in fractions of the frame (each clamped to 0..1) in 1/65535ths, rounded to nearest;
/// w and h are cut so that x + w and y + h stay within the frame (<= 65535).
MotionExtension::Box encode_motion_box(const api::MotionBox& box);
/// A box in 1/65535ths as fractions of the frame.
api::MotionBox decode_motion_box(const MotionExtension::Box& box);

class DatagramTagger;

/// One chunk's header, host byte order.
struct DatagramHeader {
  std::uint8_t version = k_version;  ///< format version: k_version or k_version_2
  std::uint8_t flags = 0;            ///< k_flag_tagged, k_flag_motion; other bits reserved
  std::uint8_t key_id = 0;           ///< version 2: id of the key that tagged it (0 untagged)
  std::uint64_t session = 0;         ///< random per sender run and stream
  std::uint32_t frame_seq = 0;       ///< frame sequence number within the session
  std::uint16_t chunk_index = 0;     ///< 0 .. chunk_count-1
  std::uint16_t chunk_count = 0;     ///< chunks in this frame, >= 1
  std::uint32_t frame_len = 0;       ///< total JPEG bytes of the frame
  std::uint16_t payload_len = 0;     ///< bytes of payload in this datagram
  std::uint64_t capture_us = 0;      ///< capture time, Unix microseconds
  std::uint32_t payload_crc = 0;     ///< CRC-32 (IEEE) of the payload
  std::uint64_t counter = 0;         ///< version 2: datagram counter in the session, from 0
  std::string stream;                ///< camera name, <= k_max_stream_name bytes
  MotionExtension motion;            ///< when flags & k_flag_motion
};

/// Why a datagram was rejected. Order matches decode_error_names().
enum class DecodeError : std::uint8_t {
  none = 0,
  too_short,        ///< shorter than the fixed header
  bad_magic,        ///< not a framehive datagram
  bad_version,      ///< a version this build does not speak
  bad_length,       ///< payload length disagrees with the datagram size, or impossible sizes
  bad_index,        ///< chunk_count 0 or chunk_index >= chunk_count
  bad_checksum,     ///< payload CRC mismatch
  too_large,        ///< frame_len over the receiver's --max-frame-bytes
  inconsistent,     ///< disagrees with earlier chunks of the same frame
  bad_tag,          ///< a key is configured and the integrity tag is missing or wrong
  replayed,         ///< with a key: outside the replay window, or a datagram counter seen before
  session_limited,  ///< a new session refused: too many new sessions, or every slot is live
  count_            ///< number of reasons (not a reason)
};

constexpr std::size_t k_decode_error_count = static_cast<std::size_t>(DecodeError::count_);

/// Short stable name of a reason, e.g. "bad_magic".
const char* decode_error_name(DecodeError e);

inline std::ostream& operator<<(std::ostream& os, DecodeError e) {
  return os << decode_error_name(e);
}

/// A decoded datagram: header plus a view of the payload inside the caller's buffer.
struct DecodedDatagram {
  DatagramHeader header;
  const std::uint8_t* payload = nullptr;
  std::size_t payload_size = 0;
};

/// CRC-32 (IEEE 802.3; zlib's crc32(0, data, size)) of a buffer, by libdeflate.
std::uint32_t crc32(const std::uint8_t* data, std::size_t size);
/// The CRC-32 of the bytes covered by crc (0 for none) followed by [data, data + size):
/// crc32_update(crc32(a), b) == crc32(a followed by b).
std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* data, std::size_t size);

/// Size of the encoded header (version 1 or 2) for a stream name of this length, with the motion
/// extension when flags has k_flag_motion.
std::size_t header_size(const DatagramHeader& h);

/// Appends header (payload_len and payload_crc are computed here; the layout of h.version, 1
/// or 2) and payload to out. Throws std::invalid_argument when the stream name or payload is
/// too long or the version is neither.
void encode_datagram(DatagramHeader h, const std::uint8_t* payload, std::size_t size,
                     std::vector<std::uint8_t>& out);

/// Decodes one datagram of version 1 or 2; never throws. Checks magic, version, lengths,
/// indices and checksum, and a motion extension's version (>= 1), length, box count, score
/// (<= 10000) and boxes (inside the frame): bad_length otherwise. A tagged datagram (flags &
/// k_flag_tagged) is accepted without checking its tag.
DecodeError decode_datagram(const std::uint8_t* data, std::size_t size, DecodedDatagram& out);

/// encode_datagram as version 2 with k_flag_tagged and tagger's key id, then appends the
/// integrity tag computed by tagger over the destination port (2 bytes, big-endian) and the
/// whole datagram. Throws std::invalid_argument as encode_datagram, std::runtime_error when
/// OpenSSL fails.
void encode_tagged_datagram(DatagramHeader h, const std::uint8_t* payload, std::size_t size,
                            std::uint16_t port, DatagramTagger& tagger,
                            std::vector<std::uint8_t>& out);

/// decode_datagram for a receiver holding keys (the current one and, during a rotation, the
/// previous one: n_taggers 1 or 2), for a datagram received on port. After the magic and
/// version checks: a datagram without k_flag_tagged, or whose tag no key confirms for this
/// port, is bad_tag (so any changed byte, or another port, is bad_tag); a tagged version-1
/// datagram (an old sender) is bad_version. The key whose id matches byte 7 is tried first.
/// Then the other checks. Never throws.
DecodeError decode_tagged_datagram(const std::uint8_t* data, std::size_t size, std::uint16_t port,
                                   DatagramTagger* const* taggers, std::size_t n_taggers,
                                   DecodedDatagram& out);

/// decode_tagged_datagram with one key.
inline DecodeError decode_tagged_datagram(const std::uint8_t* data, std::size_t size,
                                          std::uint16_t port, DatagramTagger& tagger,
                                          DecodedDatagram& out) {
  DatagramTagger* one = &tagger;
  return decode_tagged_datagram(data, size, port, &one, 1, out);
}

}  // namespace fh::shared
