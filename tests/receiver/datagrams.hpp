#pragma once
// Test helpers: JPEG-like payloads and their datagrams, built with the shared encoder: plain
// version-1 datagrams (split) and a keyed sender session's version-2 ones (TaggedSession).

#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/received_frame.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace fh::receiver::test {

using Datagram = std::vector<std::uint8_t>;

/// n bytes that start like a JPEG (FF D8 FF) and end like one (FF D9), random in between.
inline std::vector<std::uint8_t> jpeg_like(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> p(n);
  for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  if (n >= 5) {
    p[0] = 0xFF;
    p[1] = 0xD8;
    p[2] = 0xFF;
    p[n - 2] = 0xFF;
    p[n - 1] = 0xD9;
  }
  return p;
}

/// Splits a frame into datagrams whose payloads are chunk_payload bytes (the last: the rest).
inline std::vector<Datagram> split(const std::vector<std::uint8_t>& frame, std::uint64_t session,
                                   std::uint32_t seq, std::size_t chunk_payload = 1000,
                                   const std::string& stream = "cam",
                                   std::uint64_t capture_us = 1'700'000'000'000'000ULL) {
  const std::size_t count = (frame.size() + chunk_payload - 1) / chunk_payload;
  std::vector<Datagram> out;
  for (std::size_t i = 0; i < count; ++i) {
    fh::shared::DatagramHeader h;
    h.session = session;
    h.frame_seq = seq;
    h.chunk_index = static_cast<std::uint16_t>(i);
    h.chunk_count = static_cast<std::uint16_t>(count);
    h.frame_len = static_cast<std::uint32_t>(frame.size());
    h.capture_us = capture_us + seq;
    h.stream = stream;
    const std::size_t off = i * chunk_payload;
    const std::size_t len = std::min(chunk_payload, frame.size() - off);
    Datagram d;
    fh::shared::encode_datagram(h, frame.data() + off, len, d);
    out.push_back(std::move(d));
  }
  return out;
}

/// The datagrams of split() re-encoded with a motion extension (flags k_flag_motion), the same
/// in every chunk, as framehive-sender --motion flag|gate sends them.
inline std::vector<Datagram> with_motion(const std::vector<Datagram>& plain,
                                         const fh::shared::MotionExtension& motion) {
  std::vector<Datagram> out;
  for (const auto& d : plain) {
    fh::shared::DecodedDatagram dd;
    fh::shared::decode_datagram(d.data(), d.size(), dd);
    dd.header.flags |= fh::shared::k_flag_motion;
    dd.header.motion = motion;
    Datagram m;
    fh::shared::encode_datagram(dd.header, dd.payload, dd.payload_size, m);
    out.push_back(std::move(m));
  }
  return out;
}

/// A motion extension: flags (k_motion_moving, k_motion_keepalive), score 0..10000, frames
/// gated before this one, boxes as {x, y, w, h} in 1/65535ths.
inline fh::shared::MotionExtension motion_ext(
    std::uint8_t flags, std::uint16_t score, std::uint32_t gated,
    std::vector<fh::shared::MotionExtension::Box> boxes = {}) {
  fh::shared::MotionExtension m;
  m.flags = flags;
  m.score = score;
  m.gated = gated;
  m.boxes = std::move(boxes);
  return m;
}

/// The datagrams a sender with a key sends in one session to one port: version 2, tagged for
/// that port, datagram counters 0, 1, 2, ... across the frames split so far.
class TaggedSession {
 public:
  /// capture_base_us + seq is each frame's capture time (the ManualClock's start by default;
  /// fh::shared::unix_micros() for a real receiver, whose replay window checks it).
  TaggedSession(const std::string& key, std::uint64_t session, std::uint16_t port,
                std::uint64_t capture_base_us = 1'700'000'000'000'000ULL)
      : tagger_(key), session_(session), port_(port), capture_base_us_(capture_base_us) {}

  /// Frame seq's datagrams (payloads of chunk_payload bytes), the next counters.
  std::vector<Datagram> split(const std::vector<std::uint8_t>& frame, std::uint32_t seq,
                              std::size_t chunk_payload = 1000) {
    return split_impl(frame, seq, nullptr, chunk_payload);
  }
  /// The same with a motion extension in every chunk.
  std::vector<Datagram> split(const std::vector<std::uint8_t>& frame, std::uint32_t seq,
                              const fh::shared::MotionExtension& motion,
                              std::size_t chunk_payload = 1000) {
    return split_impl(frame, seq, &motion, chunk_payload);
  }

  /// The counter the next datagram gets.
  std::uint64_t next_counter() const { return counter_; }
  std::uint8_t key_id() const { return tagger_.key_id(); }

 private:
  std::vector<Datagram> split_impl(const std::vector<std::uint8_t>& frame, std::uint32_t seq,
                                   const fh::shared::MotionExtension* motion,
                                   std::size_t chunk_payload) {
    std::vector<Datagram> out;
    for (auto& d : test::split(frame, session_, seq, chunk_payload, "cam", capture_base_us_)) {
      fh::shared::DecodedDatagram dd;
      fh::shared::decode_datagram(d.data(), d.size(), dd);
      if (motion) {
        dd.header.flags |= fh::shared::k_flag_motion;
        dd.header.motion = *motion;
      }
      dd.header.counter = counter_++;
      Datagram t;
      fh::shared::encode_tagged_datagram(dd.header, dd.payload, dd.payload_size, port_, tagger_, t);
      out.push_back(std::move(t));
    }
    return out;
  }

  fh::shared::DatagramTagger tagger_;  ///< the sender's key
  std::uint64_t session_;              ///< session id
  std::uint16_t port_;                 ///< destination port, covered by the tag
  std::uint64_t capture_base_us_;      ///< capture time of seq 0
  std::uint64_t counter_ = 0;          ///< next datagram counter
};

/// A Reassembler::Listener that keeps every frame.
struct Collector : Reassembler::Listener {
  std::vector<ReceivedFrame> frames;  ///< complete frames, in completion order
  void on_frame(ReceivedFrame&& f) override { frames.push_back(std::move(f)); }
};

}  // namespace fh::receiver::test
