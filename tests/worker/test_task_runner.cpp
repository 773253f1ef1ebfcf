// TaskRunner: a worker runs only the detectors it registered (nothing from the network becomes
// a file path) and fails frames over --max-pixels from the JPEG header, without decoding.
#include "framehive/shared/jpeg.hpp"
#include "framehive/worker/task_runner.hpp"

#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>

using namespace fh::worker;

namespace {

fh::shared::api::Frame frame_of(std::vector<unsigned char> jpeg, const std::string& detector) {
  fh::shared::api::Frame f;
  f.port = 5000;
  f.detector = detector;
  f.image = std::make_shared<const std::vector<std::uint8_t>>(jpeg.begin(), jpeg.end());
  return f;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const std::string k_eye_cascade = "/usr/share/opencv4/haarcascades/haarcascade_eye.xml";

}  // namespace

BOOST_AUTO_TEST_SUITE(task_runner)

BOOST_AUTO_TEST_CASE(runs_a_registered_detector) {
  TaskRunner runner({"null"}, {}, fh::shared::k_default_max_jpeg_pixels);
  const auto out = runner.run(frame_of(fh::test::tiny_jpeg(), "null"));
  BOOST_TEST(out.ok(), out.error);
}

BOOST_AUTO_TEST_CASE(a_detector_it_did_not_register_is_an_unknown_detector) {
  // A valid cascade file that this worker would happily load if the task could choose it.
  TaskRunner runner({"null", "hog"}, {}, fh::shared::k_default_max_jpeg_pixels);
  for (const std::string& det : {"haar:" + k_eye_cascade, std::string("haar:eye"),
                                 std::string("dnn:/etc/passwd"), std::string("")}) {
    const auto out = runner.run(frame_of(fh::test::tiny_jpeg(), det));
    BOOST_TEST(!out.ok(), det);
    BOOST_TEST(starts_with(out.error, TaskRunner::k_unknown_detector), out.error);
    BOOST_TEST(out.error.find("this worker offers: hog, null") != std::string::npos, out.error);
  }
  // A long hostile name is cut in the reason.
  const auto out = runner.run(frame_of(fh::test::tiny_jpeg(), std::string(10000, 'x')));
  BOOST_TEST(out.error.size() < 300u);
}

BOOST_AUTO_TEST_CASE(the_same_detector_registered_by_path_runs) {
  TaskRunner runner({"haar:" + k_eye_cascade}, {}, fh::shared::k_default_max_jpeg_pixels);
  const auto out = runner.run(frame_of(fh::test::tiny_jpeg(), "haar:" + k_eye_cascade));
  BOOST_TEST(out.ok(), out.error);
}

BOOST_AUTO_TEST_CASE(a_frame_over_max_pixels_fails_without_decoding) {
  TaskRunner runner({"null"}, {}, fh::shared::k_default_max_jpeg_pixels);
  const auto bomb = runner.run(frame_of(fh::test::jpeg_declaring(7900, 7900), "null"));
  BOOST_TEST(!bomb.ok());
  BOOST_TEST(bomb.error.find("too_large") != std::string::npos, bomb.error);
  // 3840 x 2160 is the default limit: one pixel row more is over it.
  const auto over = runner.run(frame_of(fh::test::jpeg_declaring(3840, 2161), "null"));
  BOOST_TEST(over.error.find("too_large") != std::string::npos, over.error);
  // A smaller limit applies to small frames too.
  TaskRunner small({"null"}, {}, 7 * 8);
  const auto tiny = small.run(frame_of(fh::test::tiny_jpeg(), "null"));
  BOOST_TEST(tiny.error.find("too_large") != std::string::npos, tiny.error);
}

BOOST_AUTO_TEST_CASE(a_task_without_an_image_fails) {
  TaskRunner runner({"null"}, {}, fh::shared::k_default_max_jpeg_pixels);
  fh::shared::api::Frame f;
  f.detector = "null";
  BOOST_TEST(!runner.run(f).ok());
}

BOOST_AUTO_TEST_SUITE_END()
