// check_jpeg(): the shared JPEG header check on the fuzz seeds (real JPEGs from OpenCV's
// encoder), on foreign and broken input, and on the regression inputs.
#include "framehive/shared/jpeg.hpp"

#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace fh::shared;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes source_file(const std::string& relative) {
  const std::string s = fh::test::read_file(std::string(FH_SOURCE_DIR) + "/" + relative);
  return Bytes(s.begin(), s.end());
}

Bytes seed(const std::string& name) { return source_file("tests/fuzz/corpus/jpeg/" + name); }

JpegCheck check(const Bytes& b, const JpegLimits& limits = {}) {
  return check_jpeg(b.data(), b.size(), limits);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jpeg)

BOOST_AUTO_TEST_CASE(reads_the_frame_header_of_real_jpegs) {
  const auto color = check(seed("color_32x24_q75.jpg"));
  BOOST_TEST_REQUIRE(color.ok(), color.message);
  BOOST_TEST(color.message.empty());
  BOOST_TEST(color.width == 32);
  BOOST_TEST(color.height == 24);
  BOOST_TEST(color.components == 3);
  BOOST_TEST((color.colorspace == JpegColorspace::ycbcr));
  BOOST_TEST((color.subsampling == JpegSubsampling::s420));  // OpenCV's default

  const auto gray = check(seed("gray_32x24_q50.jpg"));
  BOOST_TEST_REQUIRE(gray.ok(), gray.message);
  BOOST_TEST(gray.components == 1);
  BOOST_TEST((gray.colorspace == JpegColorspace::gray));
  BOOST_TEST((gray.subsampling == JpegSubsampling::gray));

  for (const char* name : {"progressive_32x24.jpg", "restart_32x24.jpg", "optimized_8x8.jpg"}) {
    const auto c = check(seed(name));
    BOOST_TEST(c.ok(), name << ": " << c.message);
    BOOST_TEST(c.size == seed(name).size(), name);
  }
}

BOOST_AUTO_TEST_CASE(zero_padding_after_eoi_is_not_part_of_the_jpeg) {
  auto bytes = seed("color_32x24_q75.jpg");
  const auto size = bytes.size();
  bytes.insert(bytes.end(), 5, 0x00);
  const auto c = check(bytes);
  BOOST_TEST_REQUIRE(c.ok(), c.message);
  BOOST_TEST(c.size == size);
}

BOOST_AUTO_TEST_CASE(empty_foreign_and_truncated_input) {
  BOOST_TEST(check_jpeg(nullptr, 0).error == JpegError::empty);
  BOOST_TEST(check(Bytes{}).error == JpegError::empty);

  const Bytes png{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0};
  const auto foreign = check(png);
  BOOST_TEST(foreign.error == JpegError::not_jpeg);
  BOOST_TEST(foreign.message.find("SOI") != std::string::npos, foreign.message);
  BOOST_TEST(check(Bytes{0xFF, 0xD8, 0xFF}).error == JpegError::not_jpeg);

  const auto bytes = seed("color_32x24_q75.jpg");
  const auto cut = check(Bytes(bytes.begin(), bytes.end() - 100));
  BOOST_TEST(cut.error == JpegError::truncated);
  BOOST_TEST(cut.message.find("EOI") != std::string::npos, cut.message);
}

BOOST_AUTO_TEST_CASE(headers_libjpeg_cannot_use_are_bad) {
  // SOI, an APP0 segment whose length runs past the end, EOI.
  const Bytes overrun{0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 'J', 'F', 'I', 'F', 0x00, 0xFF, 0xD9};
  BOOST_TEST(check(overrun).error == JpegError::bad_header);
  // SOI, SOS straight away, EOI.
  const Bytes no_sof{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9};
  BOOST_TEST(check(no_sof).error == JpegError::bad_header);
  // A tables-only stream (SOI, one DQT, EOI): libjpeg-turbo accepts it, but it has no image.
  Bytes tables{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
  tables.insert(tables.end(), 64, 0x01);
  tables.insert(tables.end(), {0xFF, 0xD9});
  const auto t = check(tables);
  BOOST_TEST(t.error == JpegError::bad_header);
  BOOST_TEST(t.message.find("tables only") != std::string::npos, t.message);
}

BOOST_AUTO_TEST_CASE(a_header_libjpeg_warns_about_is_bad) {
  // Garbage after the APP0 segment, where a marker belongs: libjpeg skips it with a warning.
  auto bytes = seed("color_32x24_q75.jpg");
  const std::size_t after_app0 = 4 + (std::size_t{bytes[4]} << 8 | bytes[5]);
  BOOST_TEST_REQUIRE(bytes[after_app0] == 0xFF);
  bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(after_app0), {0x00, 0x11, 0x22});
  const auto c = check(bytes);
  BOOST_TEST(c.error == JpegError::bad_header);
  BOOST_TEST(c.message.find("extraneous bytes") != std::string::npos, c.message);
}

BOOST_AUTO_TEST_CASE(pixel_limit) {
  const auto bytes = seed("color_32x24_q75.jpg");
  const auto over = check(bytes, JpegLimits{32 * 24 - 1});
  BOOST_TEST(over.error == JpegError::too_large);
  BOOST_TEST(over.message.find("32x24") != std::string::npos, over.message);
  BOOST_TEST(over.width == 32);  // reported although refused
  BOOST_TEST(check(bytes, JpegLimits{32 * 24}).ok());
}

// Bug 7 (docs/reliability.md): a stray FF 00 where a marker belongs hid a frame header of
// 29279x28519 from the old marker walker; libjpeg found it and imdecode allocated 2.5 GB.
// libjpeg-turbo's parse sees that frame header: refused by the pixel limit, and, with no
// limit, still refused because libjpeg warns about the bytes it skipped to find it.
BOOST_AUTO_TEST_CASE(bug7_stray_ff00_hiding_a_frame_header) {
  const auto bytes = source_file("tests/fuzz/regressions/jpeg/oom-stray-ff00-hides-sof");
  const auto c = check(bytes);
  BOOST_TEST(c.error == JpegError::too_large, c.message);
  BOOST_TEST(c.width == 29279);
  BOOST_TEST(c.height == 28519);
  const auto unlimited = check(bytes, JpegLimits{static_cast<std::size_t>(-1)});
  BOOST_TEST(unlimited.error == JpegError::bad_header, unlimited.message);
  BOOST_TEST(unlimited.message.find("warned") != std::string::npos, unlimited.message);
}

BOOST_AUTO_TEST_CASE(looks_like_jpeg_checks_only_the_markers) {
  const auto bytes = seed("color_32x24_q75.jpg");
  BOOST_TEST(looks_like_jpeg(bytes.data(), bytes.size()));
  BOOST_TEST(!looks_like_jpeg(bytes.data(), bytes.size() - 1));
  const Bytes shell{0xFF, 0xD8, 0xFF, 0xFF, 0xD9};
  BOOST_TEST(looks_like_jpeg(shell.data(), shell.size()));
  BOOST_TEST(!check(shell).ok());
}

BOOST_AUTO_TEST_CASE(error_names) {
  BOOST_TEST(std::string(jpeg_error_name(JpegError::none)) == "none");
  BOOST_TEST(std::string(jpeg_error_name(JpegError::bad_header)) == "bad_header");
  BOOST_TEST(std::string(jpeg_error_name(JpegError::too_large)) == "too_large");
}

BOOST_AUTO_TEST_SUITE_END()
