// Integrity tags on datagrams: HMAC-SHA256 against the RFC 4231 vectors, tagged (version-2)
// round trips, and every way a forged, altered or misdirected datagram must fail (bad_tag),
// key ids and two keys at once (rotation), plus a receiver without a key accepting tagged
// datagrams unchecked.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

#include <chrono>
#include <ctime>
#include <random>
#include <string>
#include <vector>

using namespace fh::shared;

namespace {

const std::string k_key = "0123456789abcdef0123456789abcdef";
constexpr std::uint16_t k_port = 5000;  ///< the destination port the tags are made for

std::vector<std::uint8_t> payload_of(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> p(n);
  for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  return p;
}

DatagramHeader sample_header() {
  DatagramHeader h;
  h.session = 0x0123456789abcdefULL;
  h.frame_seq = 77;
  h.chunk_index = 1;
  h.chunk_count = 3;
  h.frame_len = 3000;
  h.capture_us = 1'700'000'000'123'456ULL;
  h.counter = 0x0102030405060708ULL;
  h.stream = "lobby";
  return h;
}

std::vector<std::uint8_t> tagged(const std::string& key, const std::vector<std::uint8_t>& p,
                                 DatagramHeader h = sample_header()) {
  DatagramTagger tagger(key);
  std::vector<std::uint8_t> out;
  encode_tagged_datagram(std::move(h), p.data(), p.size(), k_port, tagger, out);
  return out;
}

std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(datagram_tagger)

BOOST_AUTO_TEST_CASE(hmac_sha256_matches_rfc_4231_truncated_to_128_bits) {
  // RFC 4231 test case 2, and test case 6 (a key longer than the SHA-256 block).
  const std::string data2 = "what do ya want for nothing?";
  DatagramTagger t2("Jefe");
  std::uint8_t tag[DatagramTagger::k_tag_bytes];
  BOOST_REQUIRE(t2.compute(reinterpret_cast<const std::uint8_t*>(data2.data()), data2.size(), tag));
  BOOST_TEST(hex(tag, sizeof tag) == "5bdcc146bf60754e6a042426089575c7");
  // the key schedule is reused: the same input gives the same tag again
  BOOST_REQUIRE(t2.compute(reinterpret_cast<const std::uint8_t*>(data2.data()), data2.size(), tag));
  BOOST_TEST(hex(tag, sizeof tag) == "5bdcc146bf60754e6a042426089575c7");

  const std::string key6(131, '\xaa');
  const std::string data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  DatagramTagger t6(key6);
  BOOST_REQUIRE(t6.compute(reinterpret_cast<const std::uint8_t*>(data6.data()), data6.size(), tag));
  BOOST_TEST(hex(tag, sizeof tag) == "60e431591ee0b67f0d8a26aacbf5b77f");
}

BOOST_AUTO_TEST_CASE(an_empty_key_is_refused) {
  BOOST_CHECK_THROW(DatagramTagger(""), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(tagged_round_trip_keeps_every_field_and_the_payload) {
  const auto p = payload_of(1000, 1);
  const auto h = sample_header();
  const auto d = tagged(k_key, p);
  BOOST_TEST(d.size() == k_fixed_header_bytes_v2 + h.stream.size() + p.size() + k_tag_bytes);
  BOOST_TEST(d[4] == k_version_2);
  BOOST_TEST((d[5] & k_flag_tagged) != 0);
  DatagramTagger verifier(k_key);
  DecodedDatagram out;
  BOOST_REQUIRE(decode_tagged_datagram(d.data(), d.size(), k_port, verifier, out) ==
                DecodeError::none);
  BOOST_TEST(out.header.session == h.session);
  BOOST_TEST(out.header.frame_seq == h.frame_seq);
  BOOST_TEST(out.header.chunk_index == h.chunk_index);
  BOOST_TEST(out.header.chunk_count == h.chunk_count);
  BOOST_TEST(out.header.frame_len == h.frame_len);
  BOOST_TEST(out.header.payload_len == p.size());  // the tag is not part of payload_len
  BOOST_TEST(out.header.capture_us == h.capture_us);
  BOOST_TEST(out.header.stream == h.stream);
  BOOST_TEST(out.header.counter == h.counter);
  BOOST_TEST(out.header.key_id == verifier.key_id());
  BOOST_TEST((out.header.flags & k_flag_tagged) != 0);
  BOOST_TEST(std::vector<std::uint8_t>(out.payload, out.payload + out.payload_size) == p,
             boost::test_tools::per_element());
  // one verifier checks many datagrams in a row
  for (unsigned seed = 2; seed < 20; ++seed) {
    const auto q = payload_of(1000, seed);
    const auto e = tagged(k_key, q);
    BOOST_TEST(decode_tagged_datagram(e.data(), e.size(), k_port, verifier, out) ==
               DecodeError::none);
  }
}

BOOST_AUTO_TEST_CASE(any_altered_byte_is_bad_tag) {
  const auto d = tagged(k_key, payload_of(300, 3));
  DatagramTagger verifier(k_key);
  for (std::size_t i = 0; i < d.size(); ++i) {
    for (const std::uint8_t mask : {0x01, 0x80}) {
      auto bad = d;
      bad[i] ^= mask;
      DecodedDatagram out;
      const DecodeError e = decode_tagged_datagram(bad.data(), bad.size(), k_port, verifier, out);
      // magic and version are checked first; every other byte is covered by the tag
      const DecodeError want = i < 4 ? DecodeError::bad_magic
                                     : (i == 4 ? DecodeError::bad_version : DecodeError::bad_tag);
      BOOST_TEST(e == want, "byte " << i << " ^ " << int(mask) << ": " << e);
    }
  }
  // a byte more or less, or a truncated tag
  DecodedDatagram out;
  auto longer = d;
  longer.push_back(0);
  BOOST_TEST(decode_tagged_datagram(longer.data(), longer.size(), k_port, verifier, out) ==
             DecodeError::bad_tag);
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size() - 1, k_port, verifier, out) ==
             DecodeError::bad_tag);
  BOOST_TEST(decode_tagged_datagram(d.data(), k_fixed_header_bytes + 4, k_port, verifier, out) ==
             DecodeError::too_short);
}

BOOST_AUTO_TEST_CASE(a_wrong_key_is_bad_tag) {
  const auto d = tagged("the sender's key, not ours......", payload_of(500, 4));
  DatagramTagger verifier(k_key);
  DecodedDatagram out;
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, verifier, out) ==
             DecodeError::bad_tag);
  // a key that differs in its last byte only
  std::string near = k_key;
  near.back() = 'g';
  const auto e = tagged(near, payload_of(500, 4));
  BOOST_TEST(decode_tagged_datagram(e.data(), e.size(), k_port, verifier, out) ==
             DecodeError::bad_tag);
}

BOOST_AUTO_TEST_CASE(untagged_datagrams_are_bad_tag_with_a_key) {
  const auto p = payload_of(500, 5);
  std::vector<std::uint8_t> d;
  encode_datagram(sample_header(), p.data(), p.size(), d);
  DatagramTagger verifier(k_key);
  DecodedDatagram out;
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, verifier, out) ==
             DecodeError::bad_tag);
  // the same datagram with the flag set by a forger but no valid tag appended: as version 1
  // it is refused for its version (version-1 tags are not accepted with a key), as version 2
  // for its tag
  d[5] |= k_flag_tagged;
  d.insert(d.end(), k_tag_bytes, 0);
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, verifier, out) ==
             DecodeError::bad_version);
  auto h = sample_header();
  h.version = k_version_2;
  h.flags = k_flag_tagged;
  std::vector<std::uint8_t> v2;
  encode_datagram(h, p.data(), p.size(), v2);
  v2.insert(v2.end(), k_tag_bytes, 0);
  BOOST_TEST(decode_tagged_datagram(v2.data(), v2.size(), k_port, verifier, out) ==
             DecodeError::bad_tag);
  // garbage keeps its structural reason
  std::vector<std::uint8_t> junk(100, 0x42);
  BOOST_TEST(decode_tagged_datagram(junk.data(), junk.size(), k_port, verifier, out) ==
             DecodeError::bad_magic);
  BOOST_TEST(decode_tagged_datagram(junk.data(), 10, k_port, verifier, out) ==
             DecodeError::too_short);
}

BOOST_AUTO_TEST_CASE(without_a_key_tagged_datagrams_are_accepted_unchecked) {
  const auto p = payload_of(800, 6);
  auto d = tagged(k_key, p);
  DecodedDatagram out;
  BOOST_REQUIRE(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
  BOOST_TEST(out.payload_size == p.size());
  BOOST_TEST(std::vector<std::uint8_t>(out.payload, out.payload + out.payload_size) == p,
             boost::test_tools::per_element());
  // the tag is not checked...
  d.back() ^= 0xFF;
  BOOST_TEST(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
  // ...but the sizes still are: a tagged datagram whose tag is missing is bad_length
  BOOST_TEST(decode_datagram(d.data(), d.size() - k_tag_bytes, out) == DecodeError::bad_length);
  // and the payload checksum too
  d[k_fixed_header_bytes_v2 + 5 + 10] ^= 1;
  BOOST_TEST(decode_datagram(d.data(), d.size(), out) == DecodeError::bad_checksum);
}

BOOST_AUTO_TEST_CASE(a_datagram_tagged_for_another_port_is_bad_tag) {
  const auto d = tagged(k_key, payload_of(400, 8));
  DatagramTagger verifier(k_key);
  DecodedDatagram out;
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, verifier, out) ==
             DecodeError::none);
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port + 1, verifier, out) ==
             DecodeError::bad_tag);
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), 0, verifier, out) == DecodeError::bad_tag);
}

BOOST_AUTO_TEST_CASE(a_version_1_tag_is_refused_by_a_keyed_receiver) {
  // An old sender's tagged datagram: version 1, tag over the datagram alone (no port).
  const auto p = payload_of(300, 9);
  std::vector<std::uint8_t> d;
  encode_datagram(sample_header(), p.data(), p.size(), d);
  d[5] |= k_flag_tagged;
  DatagramTagger tagger(k_key);
  const std::size_t body = d.size();
  d.resize(body + k_tag_bytes);
  BOOST_REQUIRE(tagger.compute(d.data(), body, d.data() + body));
  DecodedDatagram out;
  BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, tagger, out) ==
             DecodeError::bad_version);
  // A receiver without a key still takes it, unchecked, as before.
  BOOST_TEST(decode_datagram(d.data(), d.size(), out) == DecodeError::none);
  BOOST_TEST(out.header.counter == 0u);
}

BOOST_AUTO_TEST_CASE(two_keys_are_accepted_during_a_rotation) {
  const std::string old_key = "the previous key, still in use..";
  DatagramTagger current(k_key);
  DatagramTagger previous(old_key);
  BOOST_TEST(current.key_id() == DatagramTagger(k_key).key_id());  // derived, stable
  DatagramTagger* both[] = {&current, &previous};
  DecodedDatagram out;
  for (const auto* key : {&k_key, &old_key}) {
    auto d = tagged(*key, payload_of(200, 10));
    BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, both, 2, out) ==
               DecodeError::none);
    // A wrong key id only changes which key is tried first.
    d[7] ^= 0x5A;
    BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, both, 2, out) ==
               DecodeError::bad_tag);  // the id is covered by the tag
  }
  const auto third = tagged("a third key, not configured......", payload_of(200, 11));
  BOOST_TEST(decode_tagged_datagram(third.data(), third.size(), k_port, both, 2, out) ==
             DecodeError::bad_tag);
  BOOST_TEST(decode_tagged_datagram(third.data(), third.size(), k_port, both, 1, out) ==
             DecodeError::bad_tag);
}

BOOST_AUTO_TEST_CASE(new_reasons_have_stable_names_after_the_older_ones) {
  BOOST_TEST(std::string(decode_error_name(DecodeError::bad_tag)) == "bad_tag");
  BOOST_TEST(std::string(decode_error_name(DecodeError::replayed)) == "replayed");
  BOOST_TEST(std::string(decode_error_name(DecodeError::session_limited)) == "session_limited");
  BOOST_TEST(static_cast<int>(DecodeError::bad_tag) ==
             static_cast<int>(DecodeError::inconsistent) + 1);
  BOOST_TEST(static_cast<int>(DecodeError::replayed) == static_cast<int>(DecodeError::bad_tag) + 1);
  BOOST_TEST(k_decode_error_count == static_cast<std::size_t>(DecodeError::session_limited) + 1);
}

BOOST_AUTO_TEST_CASE(cost_per_datagram_is_reported) {
  // Not a pass/fail benchmark: prints the CPU time of tagging and of verifying one datagram,
  // so the cost shows in the test log (ctest --output-on-failure -V).
  DatagramTagger tagger(k_key);
  for (const std::size_t size : {1400u, 8000u}) {
    const auto p = payload_of(size - k_fixed_header_bytes - 5 - k_tag_bytes, 7);
    DatagramHeader h = sample_header();
    h.frame_len = 100000;
    h.chunk_count = 100;
    std::vector<std::uint8_t> d;
    const int n = 5000;
    double t0 = thread_cpu_seconds();
    for (int i = 0; i < n; ++i) {
      d.clear();
      encode_tagged_datagram(h, p.data(), p.size(), k_port, tagger, d);
    }
    const double encode_us = (thread_cpu_seconds() - t0) / n * 1e6;
    std::uint8_t tag[k_tag_bytes];
    t0 = thread_cpu_seconds();
    for (int i = 0; i < n; ++i) tagger.compute(k_port, d.data(), d.size() - k_tag_bytes, tag);
    const double hmac_us = (thread_cpu_seconds() - t0) / n * 1e6;
    DecodedDatagram out;
    t0 = thread_cpu_seconds();
    for (int i = 0; i < n; ++i) decode_datagram(d.data(), d.size(), out);
    const double decode_us = (thread_cpu_seconds() - t0) / n * 1e6;
    t0 = thread_cpu_seconds();
    for (int i = 0; i < n; ++i) decode_tagged_datagram(d.data(), d.size(), k_port, tagger, out);
    const double decode_tagged_us = (thread_cpu_seconds() - t0) / n * 1e6;
    BOOST_TEST_MESSAGE(size << "-byte datagram, CPU per datagram: HMAC " << hmac_us
                            << " us; encode+tag " << encode_us << " us; decode " << decode_us
                            << " us; decode+verify " << decode_tagged_us << " us");
    BOOST_TEST(decode_tagged_datagram(d.data(), d.size(), k_port, tagger, out) ==
               DecodeError::none);
  }
}

BOOST_AUTO_TEST_SUITE_END()
