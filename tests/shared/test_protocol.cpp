#define BOOST_TEST_MODULE shared
#include <boost/test/unit_test.hpp>

#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/protocol.hpp"

#include <random>
#include <set>

using namespace fh::shared;

namespace {

std::vector<std::uint8_t> payload_of(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> p(n);
  for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  return p;
}

DatagramHeader sample_header() {
  DatagramHeader h;
  h.session = 0x0123456789abcdefULL;
  h.frame_seq = 4242;
  h.chunk_index = 3;
  h.chunk_count = 7;
  h.frame_len = 9000;
  h.capture_us = 1'700'000'000'123'456ULL;
  h.stream = "cam-lobby";
  return h;
}

std::vector<std::uint8_t> encoded(const DatagramHeader& h, const std::vector<std::uint8_t>& p) {
  std::vector<std::uint8_t> out;
  encode_datagram(h, p.data(), p.size(), out);
  return out;
}

DecodeError decode(const std::vector<std::uint8_t>& d) {
  DecodedDatagram out;
  return decode_datagram(d.data(), d.size(), out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field) {
  const auto p = payload_of(1400, 1);
  const auto h = sample_header();
  const auto d = encoded(h, p);
  BOOST_TEST(d.size() == k_fixed_header_bytes + h.stream.size() + p.size());
  DecodedDatagram out;
  BOOST_REQUIRE(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
  BOOST_TEST(out.header.session == h.session);
  BOOST_TEST(out.header.frame_seq == h.frame_seq);
  BOOST_TEST(out.header.chunk_index == h.chunk_index);
  BOOST_TEST(out.header.chunk_count == h.chunk_count);
  BOOST_TEST(out.header.frame_len == h.frame_len);
  BOOST_TEST(out.header.payload_len == 1400);
  BOOST_TEST(out.header.capture_us == h.capture_us);
  BOOST_TEST(out.header.stream == h.stream);
  BOOST_TEST(out.payload_size == p.size());
  BOOST_TEST(std::equal(p.begin(), p.end(), out.payload));
}

BOOST_AUTO_TEST_CASE(round_trip_with_empty_and_maximal_names) {
  for (std::size_t len : {std::size_t{0}, k_max_stream_name}) {
    auto h = sample_header();
    h.stream = std::string(len, 'x');
    const auto d = encoded(h, payload_of(100, 2));
    DecodedDatagram out;
    BOOST_REQUIRE(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
    BOOST_TEST(out.header.stream == h.stream);
  }
}

BOOST_AUTO_TEST_CASE(encode_refuses_oversized_inputs) {
  auto h = sample_header();
  h.stream = std::string(k_max_stream_name + 1, 'x');
  std::vector<std::uint8_t> out;
  const auto p = payload_of(10, 3);
  BOOST_CHECK_THROW(encode_datagram(h, p.data(), p.size(), out), std::invalid_argument);
  const auto big = payload_of(k_max_chunk_payload + 1, 3);
  BOOST_CHECK_THROW(encode_datagram(sample_header(), big.data(), big.size(), out),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(every_malformed_case_has_its_reason) {
  const auto p = payload_of(500, 4);
  const auto good = encoded(sample_header(), p);
  BOOST_REQUIRE(decode(good) == DecodeError::none);

  // too short: every prefix shorter than the fixed header
  for (std::size_t n = 0; n < k_fixed_header_bytes; ++n) {
    std::vector<std::uint8_t> d(good.begin(), good.begin() + static_cast<long>(n));
    BOOST_TEST(decode(d) == DecodeError::too_short);
  }
  auto d = good;
  d[0] ^= 0xFF;
  BOOST_TEST(decode(d) == DecodeError::bad_magic);
  d = good;
  d[4] = 3;  // versions 1 and 2 exist
  BOOST_TEST(decode(d) == DecodeError::bad_version);
  d = good;
  d.pop_back();  // truncated payload
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d.push_back(0);  // trailing byte
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[6] = 200;  // name longer than allowed
  BOOST_TEST(decode(d) == DecodeError::bad_length);

  auto h = sample_header();
  h.chunk_index = 7;  // == count
  BOOST_TEST(decode(encoded(h, p)) == DecodeError::bad_index);
  h = sample_header();
  h.chunk_count = 0;
  h.chunk_index = 0;
  BOOST_TEST(decode(encoded(h, p)) == DecodeError::bad_index);
  h = sample_header();
  h.frame_len = 100;  // smaller than this chunk's payload
  BOOST_TEST(decode(encoded(h, p)) == DecodeError::bad_length);
  h = sample_header();
  h.frame_len = 0;
  BOOST_TEST(decode(encoded(h, p)) == DecodeError::bad_length);
  h = sample_header();
  h.chunk_count = 1;
  h.chunk_index = 0;
  h.frame_len = 70000;  // cannot fit in one chunk
  BOOST_TEST(decode(encoded(h, p)) == DecodeError::bad_length);

  d = good;
  d.back() ^= 0x01;  // payload bit flip
  BOOST_TEST(decode(d) == DecodeError::bad_checksum);
  d = good;
  d[41] ^= 0x01;  // stored checksum altered
  BOOST_TEST(decode(d) == DecodeError::bad_checksum);
}

namespace {
DatagramHeader motion_header(std::size_t n_boxes) {
  auto h = sample_header();
  h.flags = k_flag_motion;
  h.motion.flags = k_motion_moving;
  h.motion.score = 1234;
  h.motion.gated = 0x01020304;
  for (std::size_t i = 0; i < n_boxes; ++i) {
    h.motion.boxes.push_back(
        {static_cast<std::uint16_t>(100 * i), 200, static_cast<std::uint16_t>(1000 + i), 65335});
  }
  return h;
}
}  // namespace

BOOST_AUTO_TEST_CASE(motion_extension_round_trips_between_name_and_payload) {
  const auto p = payload_of(700, 5);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, k_motion_ext_max_boxes}) {
    BOOST_TEST_CONTEXT(n << " boxes") {
      const auto h = motion_header(n);
      const auto d = encoded(h, p);
      BOOST_TEST(header_size(h) == k_fixed_header_bytes + h.stream.size() + 12 + 8 * n);
      BOOST_TEST(d.size() == header_size(h) + p.size());
      // The extension's bytes as docs/protocol.md lays them out.
      const std::size_t e = k_fixed_header_bytes + h.stream.size();
      BOOST_TEST(d[5] == k_flag_motion);
      BOOST_TEST(d[e] == 1);                            // extension version
      BOOST_TEST(std::size_t{d[e + 1]} == 12 + 8 * n);  // its length
      BOOST_TEST(d[e + 2] == k_motion_moving);
      BOOST_TEST(std::size_t{d[e + 3]} == n);
      BOOST_TEST(d[e + 4] == 0x04);  // score 1234 = 0x04d2, big-endian
      BOOST_TEST(d[e + 5] == 0xd2);
      BOOST_TEST(d[e + 8] == 0x01);  // gated, big-endian
      BOOST_TEST(d[e + 11] == 0x04);
      DecodedDatagram out;
      BOOST_REQUIRE(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
      BOOST_TEST(out.header.stream == h.stream);
      BOOST_TEST((out.header.motion == h.motion));
      BOOST_TEST(out.payload_size == p.size());
      BOOST_TEST(std::equal(p.begin(), p.end(), out.payload));
    }
  }
  // Without the flag there is no extension, byte for byte as before.
  const auto plain = encoded(sample_header(), p);
  BOOST_TEST(plain.size() == k_fixed_header_bytes + 9 + p.size());
  DecodedDatagram out;
  BOOST_REQUIRE(decode_datagram(plain.data(), plain.size(), out) == DecodeError::none);
  BOOST_TEST(out.header.motion.boxes.empty());
  BOOST_TEST(out.header.motion.gated == 0u);
}

BOOST_AUTO_TEST_CASE(motion_extension_of_a_later_version_is_skipped_by_its_length) {
  // A version-2 extension with 4 more bytes: this reader takes the version-1 fields and the
  // payload after the whole extension.
  const auto p = payload_of(300, 6);
  auto d = encoded(motion_header(2), p);
  const std::size_t e = k_fixed_header_bytes + 9;
  d[e] = 2;
  d[e + 1] = static_cast<std::uint8_t>(d[e + 1] + 4);
  d.insert(d.begin() + static_cast<long>(e + 12 + 16), {0xAA, 0xBB, 0xCC, 0xDD});
  DecodedDatagram out;
  BOOST_REQUIRE(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
  BOOST_TEST(out.header.motion.boxes.size() == 2u);
  BOOST_TEST(out.header.motion.gated == 0x01020304u);
  BOOST_TEST(std::equal(p.begin(), p.end(), out.payload));
}

BOOST_AUTO_TEST_CASE(malformed_motion_extensions_are_bad_length) {
  const auto p = payload_of(300, 7);
  const auto good = encoded(motion_header(3), p);
  const std::size_t e = k_fixed_header_bytes + 9;
  auto d = good;
  d[e] = 0;  // version 0
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[e + 1] = 11;  // shorter than its fixed part
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[e + 3] = 17;  // too many boxes
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[e + 3] = 4;  // more boxes than its length holds
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[e + 4] = 0x27;  // score 10001
  d[e + 5] = 0x11;
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d = good;
  d[e + 12] = 0xFF;  // x + w past the frame
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  d.assign(good.begin(), good.begin() + static_cast<long>(e + 5));  // cut in the extension
  BOOST_TEST(decode(d) == DecodeError::bad_length);
  auto h = motion_header(1);
  h.motion.boxes[0].x = 1;  // the encoder refuses what the decoder would
  h.motion.boxes[0].w = 65535;
  std::vector<std::uint8_t> out;
  BOOST_CHECK_THROW(encode_datagram(h, p.data(), p.size(), out), std::invalid_argument);
  h = motion_header(k_motion_ext_max_boxes + 1);
  BOOST_CHECK_THROW(encode_datagram(h, p.data(), p.size(), out), std::invalid_argument);
}

// The motion extension's wire units and the contract's fractions: exact at 0, 1 unit and the
// maximum, to nearest in between, clamped outside 0..1, boxes cut to the frame.
BOOST_AUTO_TEST_CASE(motion_units_round_trip_between_wire_and_fractions) {
  for (std::uint16_t s : {0, 1, 5000, 9999, 10000}) {
    BOOST_TEST(encode_motion_score(decode_motion_score(s)) == s);
  }
  BOOST_TEST(decode_motion_score(0) == 0.0);
  BOOST_TEST(decode_motion_score(10000) == 1.0);
  BOOST_TEST(decode_motion_score(1) == 1e-4, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(encode_motion_score(0.12344) == 1234);  // 1234.4 -> 1234
  BOOST_TEST(encode_motion_score(0.12346) == 1235);  // 1234.6 -> 1235
  BOOST_TEST(encode_motion_score(0.00005) == 1);     // a half unit rounds away from zero
  BOOST_TEST(encode_motion_score(-0.5) == 0);
  BOOST_TEST(encode_motion_score(1.5) == 10000);

  for (std::uint16_t v : {0, 1, 2, 32767, 65534, 65535}) {
    const MotionExtension::Box b{v, v, static_cast<std::uint16_t>(65535 - v),
                                 static_cast<std::uint16_t>(65535 - v)};
    const auto back = encode_motion_box(decode_motion_box(b));
    BOOST_TEST_CONTEXT("unit " << v) {
      BOOST_TEST(back.x == b.x);
      BOOST_TEST(back.y == b.y);
      BOOST_TEST(back.w == b.w);
      BOOST_TEST(back.h == b.h);
    }
  }
  const auto one = decode_motion_box({1, 0, 65535, 65535});
  BOOST_TEST(one.x == 1.0 / 65535, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(one.y == 0.0);
  BOOST_TEST(one.w == 1.0);
  // 0.25 * 65535 = 16383.75 -> 16384; 0.1 * 65535 = 6553.5 -> 6554 (half away from zero).
  const auto mid = encode_motion_box({0.25, 0.1, 0.5, 0.2});
  BOOST_TEST(mid.x == 16384);
  BOOST_TEST(mid.y == 6554);
  BOOST_TEST(mid.w == 32768);  // 32767.5 -> 32768
  BOOST_TEST(mid.h == 13107);
  // Outside 0..1 clamped; a box over the edge cut so that x + w stays 65535.
  const auto edge = encode_motion_box({-0.2, 0.9, 2.0, 0.5});
  BOOST_TEST(edge.x == 0);
  BOOST_TEST(edge.w == 65535);
  BOOST_TEST(edge.y == 58982);  // 58981.5 -> 58982
  BOOST_TEST(edge.h == 65535 - 58982);
}

BOOST_AUTO_TEST_CASE(random_garbage_never_decodes_and_never_crashes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    auto d = payload_of(rng() % 2000, static_cast<unsigned>(i));
    BOOST_TEST((decode(d) != DecodeError::none));
  }
}

BOOST_AUTO_TEST_CASE(reason_names_are_distinct) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < k_decode_error_count; ++i) {
    names.insert(decode_error_name(static_cast<DecodeError>(i)));
  }
  BOOST_TEST(names.size() == k_decode_error_count);
}

BOOST_AUTO_TEST_CASE(jpeg_markers) {
  const std::uint8_t ok[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0xFF, 0xD9};
  const std::uint8_t bad[] = {0x89, 'P', 'N', 'G', 0x00, 0xFF, 0xD9};
  BOOST_TEST(looks_like_jpeg(ok, sizeof ok));
  BOOST_TEST(!looks_like_jpeg(bad, sizeof bad));
  BOOST_TEST(!looks_like_jpeg(ok, 3));
}

BOOST_AUTO_TEST_CASE(crc32_is_the_standard_ieee_crc) {
  const std::string check = "123456789";  // the standard check value of CRC-32/ISO-HDLC
  BOOST_TEST(crc32(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()) ==
             0xCBF43926u);
  BOOST_TEST(crc32(nullptr, 0) == 0u);
}
