// make_detector() / is_valid_capability(): known capabilities, clear errors for the rest.
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_haar.hpp"

#include "test_util.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/core/utility.hpp>

#include <fstream>
#include <stdexcept>

using namespace fh::worker;

namespace {

/// The message of the std::invalid_argument that make_detector(capability) throws.
std::string error_of(const std::string& capability, const DetectorOptions& opts = {}) {
  try {
    make_detector(capability, opts);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  BOOST_FAIL("make_detector(\"" << capability << "\") did not throw std::invalid_argument");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_factory)

BOOST_AUTO_TEST_CASE(makes_known_detectors) {
  for (const std::string cap : {"hog", "null", "haar:frontalface", "haar:eye"}) {
    const auto d = make_detector(cap);
    BOOST_TEST_REQUIRE(d.get() != nullptr);
    BOOST_TEST(d->name() == cap);
    std::string why;
    BOOST_TEST(is_valid_capability(cap, {}, &why), why);
  }
  const auto null = make_detector("null");
  BOOST_TEST(null->detect(cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(255))).empty());
  BOOST_TEST(null->run(cv::Mat(10, 10, CV_8UC3)).ok());
}

BOOST_AUTO_TEST_CASE(unknown_capability) {
  for (const std::string cap : {"", "HOG", "yolo", "hog:", "haarfrontalface", " hog"}) {
    const std::string e = error_of(cap);
    BOOST_TEST(contains(e, "unknown detector capability '" + cap + "'"), e);
    BOOST_TEST(contains(e, "hog, null, haar:<cascade> or dnn:<config file>"), e);
    std::string why;
    BOOST_TEST(!is_valid_capability(cap, {}, &why));
    BOOST_TEST(why == e);
  }
}

BOOST_AUTO_TEST_CASE(missing_cascade) {
  std::string e = error_of("haar:nosuchthing");
  BOOST_TEST(contains(e, "haar:nosuchthing: no cascade named 'nosuchthing'"), e);
  BOOST_TEST(contains(e, "frontalface_default"), e);  // lists what is there
  e = error_of("haar:");
  BOOST_TEST(contains(e, "needs a cascade name"), e);
  e = error_of("haar:../../etc/passwd");
  BOOST_TEST(contains(e, "absolute"), e);
  e = error_of("haar:/nonexistent/cascade.xml");
  BOOST_TEST(contains(e, "no such cascade file"), e);
  e = error_of("haar:front face");
  BOOST_TEST(contains(e, "letters, digits and '_'"), e);
  DetectorOptions opts;
  opts.cascade_dir = "/nonexistent";
  e = error_of("haar:frontalface", opts);
  BOOST_TEST(contains(e, "no haarcascade_*.xml files in /nonexistent"), e);
}

BOOST_AUTO_TEST_CASE(unusable_cascade_file) {
  const std::string dir = fh::test::make_temp_dir("worker-haar");
  const std::string path = dir + "/haarcascade_broken.xml";
  std::ofstream(path) << "<?xml version=\"1.0\"?>\n<opencv_storage>\n</opencv_storage>\n";
  const std::string e = error_of("haar:" + path);
  BOOST_TEST(contains(e, path), e);
  BOOST_TEST((contains(e, "not a usable cascade") || contains(e, "cannot load")), e);
}

BOOST_AUTO_TEST_CASE(missing_dnn_config) {
  std::string e = error_of("dnn:/nonexistent/yolo.conf");
  BOOST_TEST(contains(e, "dnn config /nonexistent/yolo.conf not found"), e);
  e = error_of("dnn:");
  BOOST_TEST(contains(e, "needs a config file"), e);
  std::string why;
  BOOST_TEST(!is_valid_capability("dnn:/nonexistent/yolo.conf", {}, &why));
  BOOST_TEST(contains(why, "not found"), why);
}

BOOST_AUTO_TEST_CASE(threads_option) {
  const int before = cv::getNumThreads();
  DetectorOptions opts;
  opts.threads = 2;
  make_detector("null", opts);
  BOOST_TEST(cv::getNumThreads() == 2);
  opts.threads = 0;  // leave alone
  make_detector("null", opts);
  BOOST_TEST(cv::getNumThreads() == 2);
  opts.threads = -1;
  BOOST_TEST(contains(error_of("null", opts), "threads"));
  opts.threads = 1;  // the default, as the other tests expect
  make_detector("null", opts);
  BOOST_TEST(cv::getNumThreads() == 1);
  BOOST_TEST_MESSAGE("OpenCV threads before: " << before);
}

BOOST_AUTO_TEST_SUITE_END()
