// crc32() / crc32_update() against published check values and against an independent bitwise
// CRC-32 written here (reflected polynomial 0xEDB88320, register ~0, result complemented): every
// length 0..600 at several alignments, datagram-sized buffers, incremental vs one-shot at every
// split point, and single-bit flips.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/protocol.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using fh::shared::crc32;
using fh::shared::crc32_update;

namespace {

/// The textbook CRC-32, one bit at a time: slow, obviously right.
std::uint32_t reference_crc32(const std::uint8_t* p, std::size_t n) {
  std::uint32_t r = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    r ^= p[i];
    for (int b = 0; b < 8; ++b) r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1u)));
  }
  return ~r;
}

std::uint32_t crc_of(const std::string& s) {
  return crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crc32_suite)

BOOST_AUTO_TEST_CASE(published_check_values) {
  BOOST_TEST(crc_of("123456789") == 0xCBF43926u);  // CRC-32/ISO-HDLC check value
  BOOST_TEST(crc_of("") == 0u);
  BOOST_TEST(crc32(nullptr, 0) == 0u);
  BOOST_TEST(crc_of("a") == 0xE8B7BE43u);
  BOOST_TEST(crc_of("abc") == 0x352441C2u);
  BOOST_TEST(crc_of("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
  BOOST_TEST(crc_of(std::string(32, '\0')) == 0x190A55ADu);
  BOOST_TEST(crc_of(std::string(32, '\xFF')) == 0xFF6CAB0Bu);
}

BOOST_AUTO_TEST_CASE(the_reference_is_right_too) {  // else the comparisons below prove nothing
  const std::string check = "123456789";
  BOOST_TEST(reference_crc32(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()) ==
             0xCBF43926u);
  BOOST_TEST(reference_crc32(nullptr, 0) == 0u);
}

BOOST_AUTO_TEST_CASE(equals_the_bitwise_reference_on_every_length_and_alignment) {
  const auto buf = random_bytes(65000 + 64, 2024);
  int mismatches = 0;
  for (std::size_t len = 0; len <= 600; ++len) {
    for (std::size_t off : {0u, 1u, 3u, 8u, 15u, 33u}) {
      mismatches += crc32(buf.data() + off, len) != reference_crc32(buf.data() + off, len);
    }
  }
  for (std::size_t len : {1356u, 1400u, 8000u, 63956u, 64000u, 65000u}) {
    mismatches += crc32(buf.data() + 5, len) != reference_crc32(buf.data() + 5, len);
  }
  BOOST_TEST(mismatches == 0);
}

BOOST_AUTO_TEST_CASE(incremental_equals_one_shot_at_every_split) {
  const auto buf = random_bytes(1500, 99);
  const std::uint32_t whole = crc32(buf.data(), buf.size());
  BOOST_TEST(whole == reference_crc32(buf.data(), buf.size()));
  int mismatches = 0;
  for (std::size_t cut = 0; cut <= buf.size(); ++cut) {
    const std::uint32_t head = crc32(buf.data(), cut);
    mismatches += crc32_update(head, buf.data() + cut, buf.size() - cut) != whole;
  }
  // byte by byte, and in uneven pieces
  std::uint32_t r = 0;
  for (std::uint8_t b : buf) r = crc32_update(r, &b, 1);
  BOOST_TEST(r == whole);
  r = 0;
  std::mt19937 rng(5);
  for (std::size_t at = 0; at < buf.size();) {
    const std::size_t n = std::min<std::size_t>(buf.size() - at, rng() % 300);
    r = crc32_update(r, buf.data() + at, n);
    at += n;
  }
  BOOST_TEST(r == whole);
  BOOST_TEST(crc32_update(whole, buf.data(), 0) == whole);
  BOOST_TEST(mismatches == 0);
}

BOOST_AUTO_TEST_CASE(detects_every_single_bit_flip_in_a_large_payload) {
  std::mt19937 rng(7);
  auto buf = random_bytes(64000, 7);
  const auto good = crc32(buf.data(), buf.size());
  int missed = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::size_t at = rng() % buf.size();
    const auto bit = static_cast<std::uint8_t>(1u << (rng() % 8));
    buf[at] ^= bit;
    missed += crc32(buf.data(), buf.size()) == good;
    buf[at] ^= bit;
  }
  BOOST_TEST(missed == 0);
}

BOOST_AUTO_TEST_SUITE_END()
