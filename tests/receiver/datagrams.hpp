#pragma once
// Test helpers: JPEG-like payloads and their datagrams, built with the shared encoder.

#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/received_frame.hpp"
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

/// A Reassembler::Listener that keeps every frame.
struct Collector : Reassembler::Listener {
  std::vector<ReceivedFrame> frames;  ///< complete frames, in completion order
  void on_frame(ReceivedFrame&& f) override { frames.push_back(std::move(f)); }
};

}  // namespace fh::receiver::test
