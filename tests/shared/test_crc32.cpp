// crc32() against libdeflate (crc32_portable) on every length from 0 to 2,100 bytes, at every
// alignment 0..63, on datagram-sized buffers up to 65,000 bytes, and on the known check value.
// On a CPU without VPCLMULQDQ both are libdeflate and the comparison is trivially equal; the
// test says so in its log.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/protocol.hpp"

#include <random>
#include <vector>

using fh::shared::crc32;
using fh::shared::crc32_portable;

BOOST_AUTO_TEST_SUITE(crc32_suite)

BOOST_AUTO_TEST_CASE(check_value_of_123456789) {
  const std::uint8_t msg[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  BOOST_TEST(crc32(msg, sizeof msg) == 0xCBF43926u);  // the CRC-32 check value
  std::vector<std::uint8_t> zeros(4096, 0);
  BOOST_TEST(crc32(zeros.data(), zeros.size()) == crc32_portable(zeros.data(), zeros.size()));
}

BOOST_AUTO_TEST_CASE(equals_libdeflate_on_every_length_alignment_and_datagram_size) {
  BOOST_TEST_MESSAGE("crc32 VPCLMULQDQ path on this CPU: "
                     << (fh::shared::crc32_is_accelerated() ? "yes" : "no (libdeflate only)"));
  std::mt19937 rng(2024);
  std::vector<std::uint8_t> buf(65000 + 64);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  int mismatches = 0;
  for (std::size_t len = 0; len <= 2100; ++len) {
    const std::size_t off = len % 64;
    mismatches += crc32(buf.data() + off, len) != crc32_portable(buf.data() + off, len);
  }
  for (std::size_t off = 0; off < 64; ++off) {
    for (std::size_t len : {255u, 256u, 257u, 319u, 320u, 511u, 512u, 1356u, 1400u}) {
      mismatches += crc32(buf.data() + off, len) != crc32_portable(buf.data() + off, len);
    }
  }
  for (std::size_t len : {8000u, 63956u, 64000u, 65000u}) {
    mismatches += crc32(buf.data() + 3, len) != crc32_portable(buf.data() + 3, len);
  }
  for (int i = 0; i < 2000; ++i) {  // random lengths and offsets
    const std::size_t off = rng() % 64, len = rng() % 65000;
    mismatches += crc32(buf.data() + off, len) != crc32_portable(buf.data() + off, len);
  }
  BOOST_TEST(mismatches == 0);
}

BOOST_AUTO_TEST_CASE(detects_every_single_bit_flip_in_a_large_payload) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf(64000);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
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
