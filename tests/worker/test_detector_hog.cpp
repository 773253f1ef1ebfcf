// HOG people detector on a real vtest.avi frame sent through JPEG, and on frames without
// people.
#include "detector_test_util.hpp"

#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_hog.hpp"

#include <boost/test/unit_test.hpp>

using namespace fh::worker;

namespace {

/// vtest.avi frame 100: several people on the square; HOG finds two of them.
constexpr int k_vtest_frame = 100;

bool inside(const Detection& d, const cv::Mat& image) {
  return d.x >= 0 && d.y >= 0 && d.w > 0 && d.h > 0 && d.x + d.w <= image.cols &&
         d.y + d.h <= image.rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_hog)

BOOST_AUTO_TEST_CASE(finds_people_in_vtest) {
  const cv::Mat frame = test::via_jpeg(test::video_frame(fh::test::vtest_avi(), k_vtest_frame));
  auto hog = make_detector("hog");
  BOOST_TEST(hog->name() == "hog");
  std::vector<Detection> found;
  const double ms = test::ms_per_call(3, [&] { found = hog->detect(frame); });
  BOOST_TEST_MESSAGE("hog on " << frame.cols << "x" << frame.rows << ": " << found.size()
                               << " people, " << ms << " ms/frame (1 OpenCV thread)");
  BOOST_TEST_REQUIRE(found.size() >= 1u);
  bool covers_walker = false;
  for (const auto& d : found) {
    BOOST_TEST_MESSAGE("  person at " << d.x << "," << d.y << " " << d.w << "x" << d.h << " conf "
                                      << d.confidence);
    BOOST_TEST(d.label == "person");
    BOOST_TEST(inside(d, frame));
    BOOST_TEST(d.confidence > 0.0);
    BOOST_TEST(d.confidence < 1.0);
    BOOST_TEST(d.h > d.w);  // upright people
    // The man in black walking at about (365, 225) in this frame.
    if (cv::Rect(d.x, d.y, d.w, d.h).contains(cv::Point(365, 225))) covers_walker = true;
  }
  BOOST_TEST(covers_walker);
  for (std::size_t i = 1; i < found.size(); ++i) {
    BOOST_TEST(found[i - 1].confidence >= found[i].confidence);
  }
}

BOOST_AUTO_TEST_CASE(one_box_per_person_across_a_clip) {
  // Over frames with several walkers, no two boxes of one frame overlap heavily or nest.
  auto hog = make_detector("hog");
  std::size_t total = 0;
  for (int index : {15, 50, 136}) {
    const auto found = hog->detect(test::via_jpeg(test::video_frame(fh::test::vtest_avi(), index)));
    total += found.size();
    for (std::size_t i = 0; i < found.size(); ++i) {
      for (std::size_t j = i + 1; j < found.size(); ++j) {
        const cv::Rect a(found[i].x, found[i].y, found[i].w, found[i].h);
        const cv::Rect b(found[j].x, found[j].y, found[j].w, found[j].h);
        const double inter = (a & b).area();
        BOOST_TEST(inter / (a.area() + b.area() - inter) <= 0.4);
        BOOST_TEST(inter <= 0.8 * std::min(a.area(), b.area()));
      }
    }
  }
  BOOST_TEST(total >= 3u);
}

BOOST_AUTO_TEST_CASE(blank_frame_has_nobody) {
  auto hog = make_detector("hog");
  const cv::Mat gray(576, 768, CV_8UC3, cv::Scalar(128, 128, 128));
  BOOST_TEST(hog->detect(gray).empty());
  BOOST_TEST(hog->detect(test::via_jpeg(gray)).empty());
}

BOOST_AUTO_TEST_CASE(odd_images) {
  HogDetector hog;
  BOOST_TEST(hog.detect(cv::Mat()).empty());
  // Smaller than the 64x128 window (OpenCV 4.6's HOG reads out of bounds on these).
  for (const cv::Size s : {cv::Size(16, 16), cv::Size(15, 1), cv::Size(1, 300), cv::Size(63, 127),
                           cv::Size(500, 40)}) {
    BOOST_TEST(hog.detect(cv::Mat(s, CV_8UC3, cv::Scalar::all(50))).empty());
  }
  BOOST_TEST(hog.detect(cv::Mat(128, 64, CV_8UC3, cv::Scalar::all(50))).empty());
  // Gray and BGRA are converted.
  BOOST_TEST(hog.detect(cv::Mat(200, 100, CV_8UC1, cv::Scalar(128))).empty());
  BOOST_TEST(hog.detect(cv::Mat(200, 100, CV_8UC4, cv::Scalar::all(128))).empty());
  // 16-bit: detect() throws, run() reports.
  const cv::Mat deep(200, 100, CV_16UC3, cv::Scalar::all(1000));
  BOOST_CHECK_THROW(hog.detect(deep), std::invalid_argument);
  const auto r = hog.run(deep);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.error.find("8-bit") != std::string::npos, r.error);
  const auto e = hog.run(cv::Mat());
  BOOST_TEST(!e.ok());
  BOOST_TEST(e.error == "empty image");
}

BOOST_AUTO_TEST_SUITE_END()
