// The sender's Boost.Test program: test cases live in the other files of this folder.
#define BOOST_TEST_MODULE sender
#include <boost/test/unit_test.hpp>
#include <opencv2/core/utility.hpp>

namespace {

/// OpenCV single-threaded, as in framehive-sender (sender/src/main.cpp): its TBB workers
/// synchronise in uninstrumented code, so under ThreadSanitizer a buffer allocated on a worker
/// and freed by the test looks like a race.
struct OpenCvThreads {
  OpenCvThreads() { cv::setNumThreads(1); }
};

}  // namespace

BOOST_GLOBAL_FIXTURE(OpenCvThreads);
