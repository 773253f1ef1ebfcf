// FrameSource: real files, the test pattern, and clear errors for missing or corrupt input.
#include <boost/test/unit_test.hpp>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <random>

#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/test_pattern_source.hpp"
#include "sender_test_util.hpp"
#include "test_util.hpp"

using fh::sender::CapturedFrame;
using fh::sender::FrameSource;
using fh::sender::FrameSourceError;
using fh::sender::TestPatternSource;

namespace {

/// The exception message of FrameSource::open(spec), or "" when it opened.
std::string open_error(const std::string& spec) {
  try {
    FrameSource::open(spec);
  } catch (const FrameSourceError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_source)

BOOST_AUTO_TEST_CASE(vtest_yields_795_frames_of_768x576) {
  auto src = FrameSource::open(fh::test::vtest_avi());
  BOOST_TEST(!src->live());
  BOOST_TEST(src->size() == cv::Size(768, 576));
  BOOST_TEST(src->fps() == 10.0, boost::test_tools::tolerance(0.01));
  CapturedFrame f;
  int n = 0;
  double last_pts = -1;
  bool pts_increasing = true;
  while (src->next(f)) {
    BOOST_REQUIRE(f.image.type() == CV_8UC3);
    BOOST_REQUIRE(f.image.isContinuous());
    BOOST_REQUIRE(f.image.size() == cv::Size(768, 576));
    if (f.index != n) BOOST_FAIL("frame index " << f.index << " at position " << n);
    if (!(f.pts > last_pts)) pts_increasing = false;
    last_pts = f.pts;
    ++n;
  }
  BOOST_TEST(n == 795);
  BOOST_TEST(pts_increasing);
  BOOST_TEST(src->error().empty());
  BOOST_TEST(src->decode_errors() == 0u);
  BOOST_TEST(last_pts == 79.4, boost::test_tools::tolerance(0.001));
}

BOOST_AUTO_TEST_CASE(vtest_pixels_match_opencv_videocapture_closely) {
  // Both decode with libav; only the YUV->BGR conversion details may differ slightly.
  auto src = FrameSource::open(fh::test::vtest_avi());
  cv::VideoCapture cap(fh::test::vtest_avi());
  BOOST_REQUIRE(cap.isOpened());
  CapturedFrame f;
  cv::Mat ref;
  for (int i = 0; i < 5; ++i) {
    BOOST_REQUIRE(src->next(f));
    BOOST_REQUIRE(cap.read(ref));
  }
  BOOST_REQUIRE(ref.size() == f.image.size());
  const double mean_abs =
      cv::norm(ref, f.image, cv::NORM_L1) / static_cast<double>(ref.total() * 3);
  BOOST_TEST(mean_abs < 3.0);
}

BOOST_AUTO_TEST_CASE(megamind_opens_at_720x528) {
  auto src = FrameSource::open(fh::test::megamind_avi());
  BOOST_TEST(src->size() == cv::Size(720, 528));
  BOOST_TEST(src->fps() > 23.0);
  CapturedFrame f;
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(src->next(f));
    BOOST_TEST(f.image.size() == cv::Size(720, 528));
  }
  BOOST_TEST(FrameSource::open(fh::test::megamind_avi())->describe().find("Megamind.avi") == 0u);
}

BOOST_AUTO_TEST_CASE(decoding_is_deterministic_and_rewind_restarts) {
  auto a = FrameSource::open(fh::test::vtest_avi());
  auto b = FrameSource::open(fh::test::vtest_avi());
  CapturedFrame fa, fb, first;
  for (int i = 0; i < 30; ++i) {
    BOOST_REQUIRE(a->next(fa));
    BOOST_REQUIRE(b->next(fb));
    if (i == 0) first.image = fa.image;  // frames own fresh buffers: this stays valid
    BOOST_REQUIRE(cv::norm(fa.image, fb.image, cv::NORM_INF) == 0);
  }
  BOOST_TEST(cv::norm(first.image, fa.image, cv::NORM_INF) > 0);
  BOOST_REQUIRE(a->rewind());
  BOOST_REQUIRE(a->next(fa));
  BOOST_TEST(fa.index == 0);
  BOOST_TEST(cv::norm(first.image, fa.image, cv::NORM_INF) == 0);
}

BOOST_AUTO_TEST_CASE(mjpeg_file_written_by_opencv_is_read_and_rewinds) {
  const std::string dir = fh::test::make_temp_dir("sender-src");
  const std::string path = dir + "/five.avi";
  {
    cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 15.0, cv::Size(160, 120));
    BOOST_REQUIRE(w.isOpened());
    TestPatternSource pattern(160, 120);
    CapturedFrame f;
    for (int i = 0; i < 5; ++i) {
      pattern.next(f);
      w.write(f.image);
    }
  }
  auto src = FrameSource::open(path);
  BOOST_TEST(src->fps() == 15.0, boost::test_tools::tolerance(0.01));
  CapturedFrame f;
  int n = 0;
  while (src->next(f)) ++n;
  BOOST_TEST(n == 5);
  BOOST_REQUIRE(src->rewind());
  n = 0;
  while (src->next(f)) ++n;
  BOOST_TEST(n == 5);
}

BOOST_AUTO_TEST_CASE(test_pattern_has_requested_size_and_moves) {
  auto src = FrameSource::open("test:640x480");
  BOOST_TEST(src->size() == cv::Size(640, 480));
  BOOST_TEST(src->fps() == 30.0);
  BOOST_TEST(!src->live());
  CapturedFrame prev, cur;
  BOOST_REQUIRE(src->next(prev));
  for (int i = 1; i < 10; ++i) {
    BOOST_REQUIRE(src->next(cur));
    BOOST_TEST(cur.image.size() == cv::Size(640, 480));
    BOOST_TEST(cur.index == i);
    BOOST_TEST(cur.pts == i / 30.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(cv::norm(prev.image, cur.image, cv::NORM_L1) > 0);
    prev = cur;
  }
  auto odd = FrameSource::open("test:321x243@12.5");
  BOOST_TEST(odd->size() == cv::Size(321, 243));
  BOOST_TEST(odd->fps() == 12.5);
  BOOST_REQUIRE(odd->next(cur));
  BOOST_TEST(cur.image.size() == cv::Size(321, 243));
}

BOOST_AUTO_TEST_CASE(test_pattern_is_deterministic) {
  TestPatternSource a(320, 240), b(320, 240);
  CapturedFrame fa, fb;
  for (int i = 0; i < 5; ++i) {
    a.next(fa);
    b.next(fb);
    BOOST_TEST(cv::norm(fa.image, fb.image, cv::NORM_INF) == 0);
  }
  cv::Mat again;
  a.render(4, again);
  BOOST_TEST(cv::norm(fa.image, again, cv::NORM_INF) == 0);
}

BOOST_AUTO_TEST_CASE(bad_test_pattern_specs_are_rejected) {
  for (const char* spec : {"test:", "test:640", "test:640x", "test:x480", "test:10x10",
                           "test:640x480@0", "test:640x480@", "test:99999x480", "test:-5x480"}) {
    BOOST_TEST_INFO(spec);
    BOOST_TEST(!open_error(spec).empty());
  }
}

BOOST_AUTO_TEST_CASE(missing_file_gives_a_clear_error) {
  const std::string msg = open_error("/nonexistent/dir/missing.avi");
  BOOST_TEST(msg.find("/nonexistent/dir/missing.avi") != std::string::npos);
  BOOST_TEST(msg.find("No such file") != std::string::npos);
  BOOST_TEST(msg.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupt_and_empty_files_give_a_clear_error) {
  const std::string dir = fh::test::make_temp_dir("sender-src");
  std::mt19937 rng(12345);
  for (std::size_t size : {200'000u, 4096u, 0u}) {
    std::vector<std::uint8_t> junk(size);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    const std::string path = dir + "/junk" + std::to_string(size) + ".avi";
    fh::sender_test::write_file(path, junk);
    const std::string msg = open_error(path);
    BOOST_TEST_INFO(path);
    BOOST_TEST(msg.find("cannot open source '" + path + "'") == 0u);
  }
  // A real file cut short still yields its first frames.
  const std::string whole = fh::test::read_file(fh::test::vtest_avi());
  const std::string cut = dir + "/cut.avi";
  fh::sender_test::write_file(
      cut, std::vector<std::uint8_t>(whole.begin(), whole.begin() + whole.size() / 10));
  auto src = FrameSource::open(cut);
  CapturedFrame f;
  int n = 0;
  while (src->next(f)) ++n;
  BOOST_TEST(n > 10);
  BOOST_TEST(n < 795);
}

BOOST_AUTO_TEST_CASE(missing_camera_gives_a_clear_error) {
  const std::string msg = open_error("/dev/video99");
  BOOST_TEST(msg.find("cannot open source '/dev/video99'") == 0u);
  BOOST_TEST(msg.find('\n') == std::string::npos);
  BOOST_TEST(FrameSource::default_stream_name("/dev/video99?video_size=640x480") == "video99");
}

BOOST_AUTO_TEST_CASE(a_directory_is_not_a_source) {
  BOOST_TEST(!open_error(fh::test::make_temp_dir("sender-src")).empty());
  BOOST_TEST(!open_error("").empty());
}

BOOST_AUTO_TEST_CASE(default_stream_names) {
  BOOST_TEST(FrameSource::default_stream_name("test:640x480") == "test");
  BOOST_TEST(FrameSource::default_stream_name(fh::test::vtest_avi()) == "vtest.avi");
  BOOST_TEST(FrameSource::default_stream_name("vtest.avi") == "vtest.avi");
  BOOST_TEST(FrameSource::default_stream_name("/dev/video0") == "video0");
  BOOST_TEST(FrameSource::default_stream_name("rtsp://user:pw@cam/live/cam1?x=1") == "cam1");
  BOOST_TEST(FrameSource::default_stream_name("http://user@cam2:8080/") == "cam2:8080");
  BOOST_TEST(FrameSource::default_stream_name("/tmp/my video.mp4") == "my_video.mp4");
  BOOST_TEST(FrameSource::default_stream_name(std::string(100, 'a')).size() == 64u);
}

BOOST_AUTO_TEST_SUITE_END()
