// Every detector on odd images (tiny, thin, gray, BGRA, 16-bit) through the per-frame entry
// point run(), and detectors used as in the worker: one per thread, concurrently.
#include "detector_test_util.hpp"
#include "tiny_yolo_model.hpp"

#include "framehive/worker/detector_factory.hpp"

#include <boost/test/unit_test.hpp>

#include <thread>

using namespace fh::worker;

BOOST_AUTO_TEST_SUITE(detector_robustness)

BOOST_AUTO_TEST_CASE(odd_images_never_crash) {
  const test::TinyModel model;
  const std::vector<std::string> caps = {"hog", "null", "haar:frontalface", "haar:eye",
                                         "dnn:" + model.conf("odd", "confidence=0.5\n")};
  std::vector<cv::Mat> images;
  for (const cv::Size s : {cv::Size(1, 1), cv::Size(15, 1), cv::Size(1, 300), cv::Size(24, 24),
                           cv::Size(63, 127), cv::Size(500, 40), cv::Size(64, 128)}) {
    images.emplace_back(s, CV_8UC3, cv::Scalar(30, 160, 90));
  }
  images.emplace_back(120, 160, CV_8UC1, cv::Scalar(77));
  images.emplace_back(120, 160, CV_8UC4, cv::Scalar(1, 2, 3, 4));
  // A region of a bigger image (not continuous).
  const cv::Mat big = test::frame_with_block(320, 240);
  images.push_back(big(cv::Rect(10, 10, 200, 150)));
  for (const auto& cap : caps) {
    auto d = make_detector(cap);
    for (const auto& image : images) {
      const auto r = d->run(image);
      BOOST_TEST(r.ok(), cap << " on " << image.cols << "x" << image.rows << " type "
                             << image.type() << ": " << r.error);
      for (const auto& det : r.detections) {
        BOOST_TEST(det.x >= 0);
        BOOST_TEST(det.y >= 0);
        BOOST_TEST(det.x + det.w <= image.cols);
        BOOST_TEST(det.y + det.h <= image.rows);
      }
    }
    const auto deep = d->run(cv::Mat(100, 100, CV_32FC3, cv::Scalar::all(0.5)));
    if (cap == "null") {
      BOOST_TEST(deep.ok());
    } else {
      BOOST_TEST(!deep.ok(), cap);
      BOOST_TEST(deep.error.find(cap + ": ") == 0u, deep.error);
    }
    BOOST_TEST(!d->run(cv::Mat()).ok());
  }
}

// Detector instances are per thread: two threads, each with its own detectors, find the
// same as one thread does.
BOOST_AUTO_TEST_CASE(one_detector_per_thread) {
  const cv::Mat people = test::via_jpeg(test::video_frame(fh::test::vtest_avi(), 100));
  const cv::Mat faces = test::via_jpeg(test::video_frame(fh::test::megamind_avi(), 40));
  const auto key = [](const std::vector<Detection>& v) {
    std::string k;
    for (const auto& d : v) {
      k += d.label + "@" + std::to_string(d.x) + "," + std::to_string(d.y) + "," +
           std::to_string(d.w) + "," + std::to_string(d.h) + ";";
    }
    return k;
  };
  const std::string want_people = key(make_detector("hog")->detect(people));
  const std::string want_faces = key(make_detector("haar:frontalface")->detect(faces));

  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      // Made in the thread, as the worker will.
      auto hog = make_detector("hog");
      auto haar = make_detector("haar:frontalface");
      got[static_cast<std::size_t>(2 * t)] = key(hog->run(people).detections);
      got[static_cast<std::size_t>(2 * t + 1)] = key(haar->run(faces).detections);
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(!want_people.empty());
  BOOST_TEST(!want_faces.empty());
  BOOST_TEST(got[0] == want_people);
  BOOST_TEST(got[2] == want_people);
  BOOST_TEST(got[1] == want_faces);
  BOOST_TEST(got[3] == want_faces);
}

BOOST_AUTO_TEST_SUITE_END()
