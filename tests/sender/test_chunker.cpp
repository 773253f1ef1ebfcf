// Chunker (JPEG -> datagrams) and RateLimiter (token bucket).
#include <boost/test/unit_test.hpp>
#include <numeric>
#include <opencv2/imgcodecs.hpp>

#include "framehive/sender/chunker.hpp"
#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/rate_limiter.hpp"
#include "framehive/shared/protocol.hpp"
#include "test_util.hpp"

using fh::sender::Chunker;
using fh::sender::RateLimiter;
namespace proto = fh::shared;

namespace {

std::vector<std::uint8_t> vtest_jpeg() {
  auto src = fh::sender::FrameSource::open(fh::test::vtest_avi());
  fh::sender::CapturedFrame f;
  BOOST_REQUIRE(src->next(f));
  return fh::sender::JpegEncoder().encode(f.image);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chunker)

BOOST_AUTO_TEST_CASE(split_and_reassemble_at_several_chunk_sizes) {
  const auto jpeg = vtest_jpeg();
  BOOST_REQUIRE(jpeg.size() > 65000u);  // so even the largest size needs several chunks
  for (std::size_t chunk_size : {1400u, 9000u, 65000u}) {
    BOOST_TEST_CONTEXT("chunk size " << chunk_size) {
      const Chunker c("vtest.avi", 0xfeedfacecafebeefULL, chunk_size);
      BOOST_TEST(c.payload_size() == chunk_size - 44 - 9);
      const auto datagrams = c.split(jpeg, 42, 1'700'000'000'000'000ULL);
      BOOST_TEST(datagrams.size() == c.chunk_count(jpeg.size()));
      BOOST_TEST(datagrams.size() == (jpeg.size() + c.payload_size() - 1) / c.payload_size());
      std::vector<std::uint8_t> joined;
      for (std::size_t i = 0; i < datagrams.size(); ++i) {
        const auto& d = datagrams[i];
        BOOST_TEST(d.size() <= chunk_size);
        if (i + 1 < datagrams.size()) BOOST_TEST(d.size() == chunk_size);
        proto::DecodedDatagram dd;
        BOOST_REQUIRE(proto::decode_datagram(d.data(), d.size(), dd) == proto::DecodeError::none);
        BOOST_TEST(dd.header.session == 0xfeedfacecafebeefULL);
        BOOST_TEST(dd.header.frame_seq == 42u);
        BOOST_TEST(dd.header.chunk_index == i);
        BOOST_TEST(dd.header.chunk_count == datagrams.size());
        BOOST_TEST(dd.header.frame_len == jpeg.size());
        BOOST_TEST(dd.header.capture_us == 1'700'000'000'000'000ULL);
        BOOST_TEST(dd.header.stream == "vtest.avi");
        joined.insert(joined.end(), dd.payload, dd.payload + dd.payload_size);
      }
      BOOST_TEST((joined == jpeg));
      BOOST_TEST(!cv::imdecode(joined, cv::IMREAD_COLOR).empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(encode_chunk_matches_split) {
  std::vector<std::uint8_t> data(5000);
  std::iota(data.begin(), data.end(), 0);
  const Chunker c("cam", 7, 1000);
  const auto all = c.split(data, 3, 99);
  std::vector<std::uint8_t> one;
  for (std::size_t i = 0; i < all.size(); ++i) {
    c.encode_chunk(data.data(), data.size(), 3, 99, i, one);
    BOOST_TEST((one == all[i]));
  }
  BOOST_TEST(all.size() == 6u);  // 953 payload bytes per chunk
}

BOOST_AUTO_TEST_CASE(limits) {
  const std::string name(64, 'n');
  BOOST_TEST(Chunker::min_chunk_size(name) == 44u + 64u + 1u);
  const Chunker smallest(name, 1, Chunker::min_chunk_size(name));
  BOOST_TEST(smallest.payload_size() == 1u);
  std::vector<std::uint8_t> three{1, 2, 3};
  const auto d = smallest.split(three, 0, 0);
  BOOST_TEST(d.size() == 3u);
  BOOST_TEST(smallest.fits(65535));
  BOOST_TEST(!smallest.fits(65536));
  BOOST_TEST(!smallest.fits(0));
  BOOST_TEST(smallest.split(std::vector<std::uint8_t>(65536), 0, 0).empty());
  BOOST_CHECK_THROW(Chunker(name, 1, Chunker::min_chunk_size(name) - 1), std::invalid_argument);
  BOOST_CHECK_THROW(Chunker("a", 1, 65001), std::invalid_argument);
  BOOST_CHECK_THROW(Chunker("", 1, 1400), std::invalid_argument);
  BOOST_CHECK_THROW(Chunker(std::string(65, 'x'), 1, 1400), std::invalid_argument);
  BOOST_CHECK_NO_THROW(Chunker("a", 1, 65000));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(disabled_never_waits) {
  RateLimiter r(0, 1000);
  BOOST_TEST(!r.enabled());
  for (int i = 0; i < 100; ++i) BOOST_TEST(r.reserve(100000, 0.0) == 0.0);
}

BOOST_AUTO_TEST_CASE(burst_then_steady_rate) {
  RateLimiter r(1000.0, 3000.0);  // 1000 B/s, 3000 B deep
  BOOST_TEST(r.enabled());
  double t = 10.0;
  // The full bucket lets three 1000-byte datagrams out at once...
  BOOST_TEST(r.reserve(1000, t) == 0.0);
  BOOST_TEST(r.reserve(1000, t) == 0.0);
  BOOST_TEST(r.reserve(1000, t) == 0.0);
  // ...the fourth waits one second, the fifth two.
  BOOST_TEST(r.reserve(1000, t) == 1.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r.reserve(1000, t) == 2.0, boost::test_tools::tolerance(1e-9));
  // Sending as told keeps the long-run rate exact.
  t += 2.0;
  for (int i = 0; i < 100; ++i) {
    const double w = r.reserve(500, t);
    t += w;
  }
  BOOST_TEST(t - 12.0 == 50.0, boost::test_tools::tolerance(0.01));
  // A long idle period refills to the burst only.
  t += 1000.0;
  BOOST_TEST(r.reserve(3000, t) == 0.0);
  BOOST_TEST(r.reserve(1000, t) == 1.0, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_SUITE_END()
