// Haar cascades: a face in a real Megamind.avi frame sent through JPEG; cascade lookup
// and labels; frames without faces.
#include "detector_test_util.hpp"

#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_haar.hpp"

#include <boost/test/unit_test.hpp>

using namespace fh::worker;

namespace {

/// Megamind.avi frame 40: Roxanne's face fills about (221,171)-(383,333), centre ~(300,250).
constexpr int k_megamind_frame = 40;
const char* const k_dir = "/usr/share/opencv4/haarcascades";

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_haar)

BOOST_AUTO_TEST_CASE(finds_the_face_in_megamind) {
  const cv::Mat frame =
      test::via_jpeg(test::video_frame(fh::test::megamind_avi(), k_megamind_frame));
  auto haar = make_detector("haar:frontalface");
  BOOST_TEST(haar->name() == "haar:frontalface");
  std::vector<Detection> found;
  const double ms = test::ms_per_call(3, [&] { found = haar->detect(frame); });
  BOOST_TEST_MESSAGE("haar:frontalface on " << frame.cols << "x" << frame.rows << ": "
                                            << found.size() << " faces, " << ms
                                            << " ms/frame (1 OpenCV thread)");
  BOOST_TEST_REQUIRE(found.size() >= 1u);
  bool face = false;
  for (const auto& d : found) {
    BOOST_TEST_MESSAGE("  face at " << d.x << "," << d.y << " " << d.w << "x" << d.h << " conf "
                                    << d.confidence);
    BOOST_TEST(d.label == "face");
    BOOST_TEST(d.x >= 0);
    BOOST_TEST(d.y >= 0);
    BOOST_TEST(d.x + d.w <= frame.cols);
    BOOST_TEST(d.y + d.h <= frame.rows);
    BOOST_TEST(d.confidence > 0.0);
    BOOST_TEST(d.confidence < 1.0);
    if (cv::Rect(d.x, d.y, d.w, d.h).contains(cv::Point(300, 250)) && d.w >= 100 && d.w <= 250) {
      face = true;
    }
  }
  BOOST_TEST(face);
}

BOOST_AUTO_TEST_CASE(blank_frame_has_no_faces) {
  auto haar = make_detector("haar:frontalface");
  const cv::Mat gray(528, 720, CV_8UC3, cv::Scalar(128, 128, 128));
  BOOST_TEST(haar->detect(gray).empty());
  BOOST_TEST(haar->detect(test::via_jpeg(gray)).empty());
  BOOST_TEST(haar->detect(cv::Mat()).empty());
  BOOST_TEST(haar->detect(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0))).empty());
}

BOOST_AUTO_TEST_CASE(cascade_lookup) {
  BOOST_TEST(HaarDetector::find_cascade("frontalface", k_dir) ==
             std::string(k_dir) + "/haarcascade_frontalface_default.xml");
  BOOST_TEST(HaarDetector::find_cascade("frontalface_alt2", k_dir) ==
             std::string(k_dir) + "/haarcascade_frontalface_alt2.xml");
  BOOST_TEST(HaarDetector::find_cascade("eye", k_dir) ==
             std::string(k_dir) + "/haarcascade_eye.xml");
  BOOST_TEST(HaarDetector::find_cascade("haarcascade_fullbody", k_dir) ==
             std::string(k_dir) + "/haarcascade_fullbody.xml");
  const std::string abs = std::string(k_dir) + "/haarcascade_profileface.xml";
  BOOST_TEST(HaarDetector::find_cascade(abs, "/nonexistent") == abs);
}

BOOST_AUTO_TEST_CASE(labels) {
  BOOST_TEST(HaarDetector::label_for("frontalface") == "face");
  BOOST_TEST(HaarDetector::label_for("/x/haarcascade_frontalface_alt_tree.xml") == "face");
  BOOST_TEST(HaarDetector::label_for("haarcascade_profileface.xml") == "face");
  BOOST_TEST(HaarDetector::label_for("haarcascade_frontalcatface_extended") == "cat_face");
  BOOST_TEST(HaarDetector::label_for("haarcascade_fullbody.xml") == "person");
  BOOST_TEST(HaarDetector::label_for("haarcascade_eye_tree_eyeglasses.xml") == "eye");
  BOOST_TEST(HaarDetector::label_for("haarcascade_lefteye_2splits.xml") == "eye");
  BOOST_TEST(HaarDetector::label_for("haarcascade_smile.xml") == "smile");
  BOOST_TEST(HaarDetector::label_for("/opt/cascades/widget.xml") == "widget");
}

BOOST_AUTO_TEST_CASE(variants_load_and_label) {
  const cv::Mat frame = test::video_frame(fh::test::megamind_avi(), k_megamind_frame);
  HaarDetector alt2("frontalface_alt2", DetectorOptions{});
  BOOST_TEST(alt2.label() == "face");
  BOOST_TEST(alt2.name() == "haar:frontalface_alt2");
  BOOST_TEST(!alt2.detect(frame).empty());
  auto eye = make_detector(std::string("haar:") + k_dir + "/haarcascade_eye.xml");
  for (const auto& d : eye->detect(frame)) BOOST_TEST(d.label == "eye");
}

BOOST_AUTO_TEST_SUITE_END()
