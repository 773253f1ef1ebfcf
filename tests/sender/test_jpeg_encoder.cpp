// JpegEncoder: decodable output, scaling, determinism.
#include <boost/test/unit_test.hpp>
#include <opencv2/imgcodecs.hpp>

#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/shared/jpeg.hpp"
#include "test_util.hpp"

using fh::sender::CapturedFrame;
using fh::sender::FrameSource;
using fh::sender::JpegEncoder;

namespace {

cv::Mat first_frame(const std::string& spec) {
  auto src = FrameSource::open(spec);
  CapturedFrame f;
  BOOST_REQUIRE(src->next(f));
  return f.image;
}

cv::Mat decode(const std::vector<std::uint8_t>& jpeg) {
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jpeg_encoder)

BOOST_AUTO_TEST_CASE(default_output_decodes_at_native_size) {
  const cv::Mat img = first_frame(fh::test::vtest_avi());
  const JpegEncoder enc;
  BOOST_TEST(enc.options().quality == 80);
  BOOST_TEST(enc.options().width == 0);
  const auto jpeg = enc.encode(img);
  BOOST_REQUIRE(!jpeg.empty());
  BOOST_TEST(fh::shared::looks_like_jpeg(jpeg.data(), jpeg.size()));
  const cv::Mat back = decode(jpeg);
  BOOST_REQUIRE(!back.empty());
  BOOST_TEST(back.size() == cv::Size(768, 576));
  // Lossy but close.
  BOOST_TEST(cv::norm(img, back, cv::NORM_L1) / static_cast<double>(img.total() * 3) < 6.0);
}

BOOST_AUTO_TEST_CASE(width_scaling_keeps_aspect_with_even_height) {
  BOOST_TEST(JpegEncoder::output_size({768, 576}, 0) == cv::Size(768, 576));
  BOOST_TEST(JpegEncoder::output_size({768, 576}, 768) == cv::Size(768, 576));
  BOOST_TEST(JpegEncoder::output_size({768, 576}, 320) == cv::Size(320, 240));
  BOOST_TEST(JpegEncoder::output_size({720, 528}, 320) == cv::Size(320, 234));
  BOOST_TEST(JpegEncoder::output_size({640, 480}, 1280) == cv::Size(1280, 960));
  BOOST_TEST(JpegEncoder::output_size({100, 75}, 10) == cv::Size(10, 8));

  const cv::Mat vt = first_frame(fh::test::vtest_avi());
  BOOST_TEST(decode(JpegEncoder({80, 320}).encode(vt)).size() == cv::Size(320, 240));
  const cv::Mat mm = first_frame(fh::test::megamind_avi());
  BOOST_TEST(decode(JpegEncoder({80, 320}).encode(mm)).size() == cv::Size(320, 234));
  BOOST_TEST(decode(JpegEncoder({80, 1000}).encode(mm)).size() == cv::Size(1000, 734));
}

BOOST_AUTO_TEST_CASE(encoding_is_deterministic) {
  // The receiver's test relies on this: same source, same options, same bytes.
  const cv::Mat a = first_frame(fh::test::vtest_avi());
  const cv::Mat b = first_frame(fh::test::vtest_avi());
  for (const JpegEncoder::Options o : {JpegEncoder::Options{}, JpegEncoder::Options{55, 400}}) {
    const JpegEncoder enc(o);
    const auto x = enc.encode(a);
    const auto y = enc.encode(a);
    const auto z = JpegEncoder(o).encode(b);
    BOOST_TEST(!x.empty());
    BOOST_TEST((x == y));
    BOOST_TEST((x == z));
  }
}

BOOST_AUTO_TEST_CASE(quality_changes_size) {
  const cv::Mat img = first_frame(fh::test::vtest_avi());
  const auto lo = JpegEncoder({20, 0}).encode(img);
  const auto hi = JpegEncoder({95, 0}).encode(img);
  BOOST_TEST(lo.size() < hi.size());
  BOOST_TEST(!decode(lo).empty());
}

BOOST_AUTO_TEST_CASE(bad_input_is_an_error_value) {
  const JpegEncoder enc;
  std::vector<std::uint8_t> out{1, 2, 3};
  BOOST_TEST(!enc.encode(cv::Mat(), out));
  BOOST_TEST(out.empty());
  BOOST_TEST(!enc.encode(cv::Mat(10, 10, CV_32FC1, cv::Scalar(0)), out));
  BOOST_CHECK_THROW(JpegEncoder({0, 0}), std::invalid_argument);
  BOOST_CHECK_THROW(JpegEncoder({101, 0}), std::invalid_argument);
  BOOST_CHECK_THROW(JpegEncoder({80, -1}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
