// decode_jpeg(): good frames decode, corrupt or foreign input gives an error value, no crash.
#include "detector_test_util.hpp"

#include "framehive/worker/detector_jpeg.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgproc.hpp>

#include <random>

using namespace fh::worker;
using fh::worker::test::to_jpeg;

namespace {

cv::Mat pattern(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  cv::randu(m, 0, 255);
  cv::GaussianBlur(m, m, cv::Size(9, 9), 3);
  cv::rectangle(m, cv::Rect(w / 4, h / 4, w / 2, h / 2), cv::Scalar(20, 200, 60), -1);
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_jpeg)

BOOST_AUTO_TEST_CASE(decodes_a_video_frame_to_bgr) {
  const cv::Mat frame = fh::worker::test::video_frame(fh::test::vtest_avi(), 0);
  const auto bytes = to_jpeg(frame, 80);
  const auto r = decode_jpeg(bytes);
  BOOST_TEST_REQUIRE(r.ok(), r.message);
  BOOST_TEST(r.error == JpegError::none);
  BOOST_TEST(r.message.empty());
  BOOST_TEST(r.bgr.cols == 768);
  BOOST_TEST(r.bgr.rows == 576);
  BOOST_TEST(r.bgr.type() == CV_8UC3);
  // q80 is lossy but close.
  BOOST_TEST(cv::norm(r.bgr, frame, cv::NORM_L1) / frame.total() / 3 < 6.0);
}

BOOST_AUTO_TEST_CASE(gray_jpeg_comes_out_three_channel) {
  cv::Mat gray(48, 64, CV_8UC1, cv::Scalar(90));
  const auto r = decode_jpeg(to_jpeg(gray));
  BOOST_TEST_REQUIRE(r.ok(), r.message);
  BOOST_TEST(r.bgr.type() == CV_8UC3);
}

BOOST_AUTO_TEST_CASE(tolerates_zero_padding_after_eoi) {
  auto bytes = to_jpeg(pattern(64, 48));
  bytes.insert(bytes.end(), 7, 0x00);
  const auto r = decode_jpeg(bytes);
  BOOST_TEST(r.ok(), r.message);
}

BOOST_AUTO_TEST_CASE(empty_input) {
  BOOST_TEST(decode_jpeg(nullptr, 0).error == JpegError::empty);
  const auto r = decode_jpeg(std::vector<std::uint8_t>{});
  BOOST_TEST(r.error == JpegError::empty);
  BOOST_TEST(r.bgr.empty());
  BOOST_TEST(!r.message.empty());
}

BOOST_AUTO_TEST_CASE(truncated_jpeg_is_an_error) {
  const auto bytes = to_jpeg(pattern(160, 120));
  for (const std::size_t keep :
       {bytes.size() - 1, bytes.size() / 2, std::size_t{600}, std::size_t{3}}) {
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + keep);
    const auto r = decode_jpeg(cut);
    BOOST_TEST(!r.ok(), "kept " << keep);
    BOOST_TEST(r.bgr.empty());
    BOOST_TEST(!r.message.empty());
    BOOST_TEST_MESSAGE("truncated to " << keep << ": " << r.error << ": " << r.message);
  }
  const auto r = decode_jpeg(std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 100));
  BOOST_TEST(r.error == JpegError::truncated);
}

BOOST_AUTO_TEST_CASE(random_bytes_are_not_jpeg) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> junk(5000);
  for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
  junk[0] = 0x12;
  auto r = decode_jpeg(junk);
  BOOST_TEST(r.error == JpegError::not_jpeg);
  BOOST_TEST(r.message.find("SOI") != std::string::npos, r.message);

  // Random bytes between a real SOI and EOI: rejected by the header check or the decoder.
  junk[0] = 0xFF;
  junk[1] = 0xD8;
  junk[2] = 0xFF;
  junk[junk.size() - 2] = 0xFF;
  junk[junk.size() - 1] = 0xD9;
  r = decode_jpeg(junk);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.bgr.empty());
  BOOST_TEST_MESSAGE("random body: " << r.error << ": " << r.message);
}

BOOST_AUTO_TEST_CASE(png_is_not_jpeg) {
  std::vector<std::uint8_t> png;
  BOOST_TEST_REQUIRE(cv::imencode(".png", pattern(64, 48), png));
  const auto r = decode_jpeg(png);
  BOOST_TEST(r.error == JpegError::not_jpeg);
  BOOST_TEST(r.bgr.empty());
}

BOOST_AUTO_TEST_CASE(headers_without_a_frame_are_bad) {
  // SOI, an APP0 segment whose length runs past the end, EOI.
  const std::vector<std::uint8_t> overrun{0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 'J',
                                          'F',  'I',  'F',  0x00, 0xFF, 0xD9};
  BOOST_TEST(decode_jpeg(overrun).error == JpegError::bad_header);
  // SOI, SOS straight away, EOI.
  const std::vector<std::uint8_t> no_sof{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9};
  BOOST_TEST(decode_jpeg(no_sof).error == JpegError::bad_header);
}

BOOST_AUTO_TEST_CASE(a_header_that_passes_but_does_not_decode_is_corrupt) {
  // Without its quantisation tables (DQT) the header still parses; libjpeg fails only when
  // decoding starts ("Quantization table 0x00 was not defined").
  const auto good = to_jpeg(pattern(64, 48));
  std::vector<std::uint8_t> no_dqt(good.begin(), good.begin() + 2);
  std::size_t i = 2;
  while (i + 4 <= good.size() && good[i + 1] != 0xDA) {
    const std::size_t next = i + 2 + (std::size_t{good[i + 2]} << 8 | good[i + 3]);
    if (good[i + 1] != 0xDB) no_dqt.insert(no_dqt.end(), good.begin() + i, good.begin() + next);
    i = next;
  }
  BOOST_TEST_REQUIRE(no_dqt.size() < i);  // a DQT was dropped
  no_dqt.insert(no_dqt.end(), good.begin() + i, good.end());
  const auto r = decode_jpeg(no_dqt);
  BOOST_TEST(r.error == JpegError::corrupt, r.message);
  BOOST_TEST(r.bgr.empty());
}

BOOST_AUTO_TEST_CASE(pixel_limit) {
  const auto bytes = to_jpeg(pattern(160, 120));
  const auto r = decode_jpeg(bytes, 160 * 120 - 1);
  BOOST_TEST(r.error == JpegError::too_large);
  BOOST_TEST(r.message.find("160x120") != std::string::npos, r.message);
  BOOST_TEST(decode_jpeg(bytes, 160 * 120).ok());
}

BOOST_AUTO_TEST_CASE(corrupted_bytes_never_crash) {
  const auto good = to_jpeg(pattern(96, 64));
  std::mt19937 rng(42);
  int ok = 0;
  int failed = 0;
  for (int i = 0; i < 120; ++i) {
    auto bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
    }
    if (i % 3 == 0) bytes.resize(bytes.size() - rng() % bytes.size());
    const auto r = decode_jpeg(bytes);
    if (r.ok()) {
      ++ok;
      BOOST_TEST(r.bgr.type() == CV_8UC3);
    } else {
      ++failed;
      BOOST_TEST(r.bgr.empty());
      BOOST_TEST(!r.message.empty());
    }
  }
  BOOST_TEST_MESSAGE("corrupted JPEGs: " << ok << " decoded anyway, " << failed << " rejected");
  BOOST_TEST(failed > 0);
}

BOOST_AUTO_TEST_CASE(error_names) {
  BOOST_TEST(std::string(jpeg_error_name(JpegError::none)) == "none");
  BOOST_TEST(std::string(jpeg_error_name(JpegError::truncated)) == "truncated");
  BOOST_TEST(std::string(jpeg_error_name(JpegError::corrupt)) == "corrupt");
}

BOOST_AUTO_TEST_SUITE_END()
