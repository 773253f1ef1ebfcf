#include "framehive/shared/protocol.hpp"

#include "framehive/shared/datagram_tagger.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fh::shared {
namespace {

void put_u8(std::vector<std::uint8_t>& o, std::uint8_t v) { o.push_back(v); }
void put_u16(std::vector<std::uint8_t>& o, std::uint16_t v) {
  o.push_back(static_cast<std::uint8_t>(v >> 8));
  o.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(std::vector<std::uint8_t>& o, std::uint32_t v) {
  put_u16(o, static_cast<std::uint16_t>(v >> 16));
  put_u16(o, static_cast<std::uint16_t>(v));
}
void put_u64(std::vector<std::uint8_t>& o, std::uint64_t v) {
  put_u32(o, static_cast<std::uint32_t>(v >> 32));
  put_u32(o, static_cast<std::uint32_t>(v));
}
std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(get_u16(p)) << 16) | get_u16(p + 2);
}
std::uint64_t get_u64(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>(get_u32(p)) << 32) | get_u32(p + 4);
}

}  // namespace

const char* decode_error_name(DecodeError e) {
  switch (e) {
    case DecodeError::none:
      return "none";
    case DecodeError::too_short:
      return "too_short";
    case DecodeError::bad_magic:
      return "bad_magic";
    case DecodeError::bad_version:
      return "bad_version";
    case DecodeError::bad_length:
      return "bad_length";
    case DecodeError::bad_index:
      return "bad_index";
    case DecodeError::bad_checksum:
      return "bad_checksum";
    case DecodeError::too_large:
      return "too_large";
    case DecodeError::inconsistent:
      return "inconsistent";
    case DecodeError::bad_tag:
      return "bad_tag";
    case DecodeError::replayed:
      return "replayed";
    case DecodeError::session_limited:
      return "session_limited";
    case DecodeError::count_:
      break;
  }
  return "unknown";
}

namespace {
std::size_t motion_size(const DatagramHeader& h) {
  return (h.flags & k_flag_motion) ? k_motion_ext_fixed + h.motion.boxes.size() * k_motion_box_bytes
                                   : 0;
}
}  // namespace

std::size_t header_size(const DatagramHeader& h) {
  return (h.version == k_version_2 ? k_fixed_header_bytes_v2 : k_fixed_header_bytes) +
         h.stream.size() + motion_size(h);
}

void encode_datagram(DatagramHeader h, const std::uint8_t* payload, std::size_t size,
                     std::vector<std::uint8_t>& out) {
  if (h.stream.size() > k_max_stream_name) {
    throw std::invalid_argument("stream name longer than 64 bytes");
  }
  if (size > k_max_chunk_payload) {
    throw std::invalid_argument("chunk payload longer than 65000 bytes");
  }
  if (h.version != k_version && h.version != k_version_2) {
    throw std::invalid_argument("datagram version must be 1 or 2");
  }
  const bool motion = (h.flags & k_flag_motion) != 0;
  if (motion) {
    const auto& m = h.motion;
    if (m.boxes.size() > k_motion_ext_max_boxes) {
      throw std::invalid_argument("more than 16 motion boxes");
    }
    if (m.score > 10000) throw std::invalid_argument("motion score over 10000");
    for (const auto& b : m.boxes) {
      if (std::uint32_t{b.x} + b.w > k_motion_box_scale ||
          std::uint32_t{b.y} + b.h > k_motion_box_scale) {
        throw std::invalid_argument("a motion box leaves the frame");
      }
    }
  }
  const bool v2 = h.version == k_version_2;
  h.payload_len = static_cast<std::uint16_t>(size);
  h.payload_crc = crc32(payload, size);
  out.reserve(out.size() + header_size(h) + size);
  put_u32(out, k_magic);
  put_u8(out, h.version);
  put_u8(out, h.flags);
  put_u8(out, static_cast<std::uint8_t>(h.stream.size()));
  put_u8(out, v2 ? h.key_id : 0);
  put_u64(out, h.session);
  put_u32(out, h.frame_seq);
  put_u16(out, h.chunk_index);
  put_u16(out, h.chunk_count);
  put_u32(out, h.frame_len);
  put_u16(out, h.payload_len);
  put_u16(out, 0);
  put_u64(out, h.capture_us);
  put_u32(out, h.payload_crc);
  if (v2) put_u64(out, h.counter);
  out.insert(out.end(), h.stream.begin(), h.stream.end());
  if (motion) {
    const auto& m = h.motion;
    put_u8(out, k_motion_ext_version);
    put_u8(out, static_cast<std::uint8_t>(motion_size(h)));
    put_u8(out, m.flags);
    put_u8(out, static_cast<std::uint8_t>(m.boxes.size()));
    put_u16(out, m.score);
    put_u16(out, 0);
    put_u32(out, m.gated);
    for (const auto& b : m.boxes) {
      put_u16(out, b.x);
      put_u16(out, b.y);
      put_u16(out, b.w);
      put_u16(out, b.h);
    }
  }
  out.insert(out.end(), payload, payload + size);
}

namespace {

/// Both decoders: with taggers the tag is required and checked (for port), without them it is
/// skipped.
DecodeError decode(const std::uint8_t* p, std::size_t size, std::uint16_t port,
                   DatagramTagger* const* taggers, std::size_t n_taggers, DecodedDatagram& out) {
  if (size < k_fixed_header_bytes) return DecodeError::too_short;
  if (get_u32(p) != k_magic) return DecodeError::bad_magic;
  DatagramHeader& h = out.header;
  h.version = p[4];
  if (h.version != k_version && h.version != k_version_2) return DecodeError::bad_version;
  const bool v2 = h.version == k_version_2;
  const std::size_t fixed = v2 ? k_fixed_header_bytes_v2 : k_fixed_header_bytes;
  h.flags = p[5];
  const bool tagged = (h.flags & k_flag_tagged) != 0;
  if (n_taggers > 0) {
    // Before any other field is believed: a forged or altered datagram stops here.
    if (!tagged) return DecodeError::bad_tag;
    // A version-1 tag covers neither the port nor a counter: an old sender, refused.
    if (!v2) return DecodeError::bad_version;
    if (size < fixed + k_tag_bytes) return DecodeError::too_short;
    bool ok = false;
    // The key named by the id first; the others only when it fails (ids may collide).
    for (int pass = 0; pass < 2 && !ok; ++pass) {
      for (std::size_t i = 0; i < n_taggers && !ok; ++i) {
        if ((taggers[i]->key_id() == p[7]) == (pass == 0)) ok = taggers[i]->verify(port, p, size);
      }
    }
    if (!ok) return DecodeError::bad_tag;
  }
  if (size < fixed) return DecodeError::too_short;
  if (tagged) {
    if (size < fixed + k_tag_bytes) return DecodeError::bad_length;
    size -= k_tag_bytes;  // the rest is header + name + payload
  }
  const std::size_t name_len = p[6];
  if (name_len > k_max_stream_name) return DecodeError::bad_length;
  h.key_id = v2 ? p[7] : 0;
  h.session = get_u64(p + 8);
  h.frame_seq = get_u32(p + 16);
  h.chunk_index = get_u16(p + 20);
  h.chunk_count = get_u16(p + 22);
  h.frame_len = get_u32(p + 24);
  h.payload_len = get_u16(p + 28);
  h.capture_us = get_u64(p + 32);
  h.payload_crc = get_u32(p + 40);
  h.counter = v2 ? get_u64(p + 44) : 0;
  std::size_t hdr = fixed + name_len;
  h.motion = MotionExtension{};
  if (h.flags & k_flag_motion) {
    // [version, length, flags, box count, score u16, reserved u16, gated u32, boxes...]
    if (size < hdr + k_motion_ext_fixed) return DecodeError::bad_length;
    const std::uint8_t* e = p + hdr;
    const std::size_t ext_len = e[1];
    const std::size_t n_boxes = e[3];
    if (e[0] == 0 || n_boxes > k_motion_ext_max_boxes ||
        ext_len < k_motion_ext_fixed + n_boxes * k_motion_box_bytes || size < hdr + ext_len) {
      return DecodeError::bad_length;
    }
    auto& m = h.motion;
    m.flags = e[2];
    m.score = get_u16(e + 4);
    m.gated = get_u32(e + 8);
    if (m.score > 10000) return DecodeError::bad_length;
    m.boxes.resize(n_boxes);
    for (std::size_t i = 0; i < n_boxes; ++i) {
      const std::uint8_t* b = e + k_motion_ext_fixed + i * k_motion_box_bytes;
      auto& box = m.boxes[i];
      box = {get_u16(b), get_u16(b + 2), get_u16(b + 4), get_u16(b + 6)};
      if (std::uint32_t{box.x} + box.w > k_motion_box_scale ||
          std::uint32_t{box.y} + box.h > k_motion_box_scale) {
        return DecodeError::bad_length;
      }
    }
    hdr += ext_len;  // fields of later extension versions are skipped
  }
  if (size < hdr || size - hdr != h.payload_len) return DecodeError::bad_length;
  if (h.payload_len > k_max_chunk_payload) return DecodeError::bad_length;
  if (h.chunk_count == 0 || h.chunk_index >= h.chunk_count) return DecodeError::bad_index;
  // Every chunk but the last carries the same payload size, so the frame length must fit
  // within chunk_count chunks and must exceed the space of chunk_count-1 chunks of this size.
  if (h.frame_len == 0 || h.payload_len == 0 || h.payload_len > h.frame_len) {
    return DecodeError::bad_length;
  }
  if (static_cast<std::uint64_t>(h.chunk_count) * k_max_chunk_payload < h.frame_len) {
    return DecodeError::bad_length;
  }
  const std::uint8_t* payload = p + hdr;
  if (crc32(payload, h.payload_len) != h.payload_crc) return DecodeError::bad_checksum;
  h.stream.assign(reinterpret_cast<const char*>(p + fixed), name_len);
  out.payload = payload;
  out.payload_size = h.payload_len;
  return DecodeError::none;
}

}  // namespace

DecodeError decode_datagram(const std::uint8_t* p, std::size_t size, DecodedDatagram& out) {
  return decode(p, size, 0, nullptr, 0, out);
}

DecodeError decode_tagged_datagram(const std::uint8_t* p, std::size_t size, std::uint16_t port,
                                   DatagramTagger* const* taggers, std::size_t n_taggers,
                                   DecodedDatagram& out) {
  return decode(p, size, port, taggers, n_taggers, out);
}

void encode_tagged_datagram(DatagramHeader h, const std::uint8_t* payload, std::size_t size,
                            std::uint16_t port, DatagramTagger& tagger,
                            std::vector<std::uint8_t>& out) {
  static_assert(DatagramTagger::k_tag_bytes == k_tag_bytes, "one tag length");
  h.version = k_version_2;
  h.key_id = tagger.key_id();
  h.flags = static_cast<std::uint8_t>(h.flags | k_flag_tagged);
  const std::size_t begin = out.size();
  out.reserve(begin + header_size(h) + size + k_tag_bytes);
  encode_datagram(std::move(h), payload, size, out);
  const std::size_t body = out.size() - begin;
  out.resize(out.size() + k_tag_bytes);
  if (!tagger.compute(port, out.data() + begin, body, out.data() + begin + body)) {
    out.resize(begin);
    throw std::runtime_error("HMAC-SHA256 of a datagram failed (OpenSSL)");
  }
}

std::uint16_t encode_motion_score(double share) {
  return static_cast<std::uint16_t>(
      std::lround(std::clamp(share, 0.0, 1.0) * double{k_motion_score_scale}));
}

double decode_motion_score(std::uint16_t score) { return score / double{k_motion_score_scale}; }

MotionExtension::Box encode_motion_box(const api::MotionBox& box) {
  const auto unit = [](double v) {
    return static_cast<std::uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * k_motion_box_scale));
  };
  const std::uint32_t x = unit(box.x);
  const std::uint32_t y = unit(box.y);
  MotionExtension::Box b;
  b.x = static_cast<std::uint16_t>(x);
  b.y = static_cast<std::uint16_t>(y);
  b.w = static_cast<std::uint16_t>(std::min(unit(box.w), k_motion_box_scale - x));
  b.h = static_cast<std::uint16_t>(std::min(unit(box.h), k_motion_box_scale - y));
  return b;
}

api::MotionBox decode_motion_box(const MotionExtension::Box& box) {
  constexpr double scale = k_motion_box_scale;
  return api::MotionBox{box.x / scale, box.y / scale, box.w / scale, box.h / scale};
}

}  // namespace fh::shared
