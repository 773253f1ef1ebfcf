// MotionDetector on synthetic scenes (the test pattern's still, square and bursts scenes, with
// sensor noise and JPEG re-encoding), masks and their parsing, and MotionGate with its own clock.
#include <boost/test/unit_test.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/motion_detector.hpp"
#include "framehive/sender/motion_gate.hpp"
#include "framehive/sender/test_pattern_source.hpp"
#include "test_util.hpp"

using fh::sender::MotionDetector;
using fh::sender::MotionGate;
using fh::sender::MotionMode;
using fh::sender::MotionResult;
using fh::sender::TestPatternSource;
using Scene = fh::sender::TestPatternSource::Scene;

namespace {

/// Frame n of a scene as a camera would deliver it: rendered (with sensor noise), then JPEG
/// encoded at quality 75 and decoded again.
cv::Mat camera_frame(const TestPatternSource& src, std::int64_t n) {
  cv::Mat img;
  src.render(n, img);
  const auto jpeg = fh::sender::JpegEncoder({75, 0}).encode(img);
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

double iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

cv::Rect2f normalized(const cv::Rect& r, cv::Size size) {
  return {static_cast<float>(r.x) / size.width, static_cast<float>(r.y) / size.height,
          static_cast<float>(r.width) / size.width, static_cast<float>(r.height) / size.height};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(motion_detector)

BOOST_AUTO_TEST_CASE(still_scene_with_noise_and_jpeg_gives_no_motion) {
  // 150 frames of a static picture, fresh Gaussian noise (sigma 4) in each and re-encoded as
  // JPEG: never motion, at two sizes (one shrunk for analysis, one analysed as it is).
  for (const cv::Size size : {cv::Size(640, 480), cv::Size(320, 240)}) {
    BOOST_TEST_CONTEXT("size " << size) {
      const TestPatternSource src(size.width, size.height, 10, Scene::still);
      MotionDetector det;
      int moving = 0;
      double max_score = 0;
      for (int n = 0; n < 150; ++n) {
        const MotionResult r = det.detect(camera_frame(src, n));
        moving += r.moving ? 1 : 0;
        max_score = std::max(max_score, r.score);
        BOOST_TEST(r.boxes.empty());
      }
      BOOST_TEST(moving == 0);
      BOOST_TEST(max_score == 0.0);
    }
  }
  // The frames really differ from each other (the noise is there).
  const TestPatternSource src(320, 240, 10, Scene::still);
  cv::Mat a, b, d;
  src.render(1, a);
  src.render(2, b);
  cv::absdiff(a, b, d);
  BOOST_TEST(cv::mean(d)[0] > 2.0);
}

BOOST_AUTO_TEST_CASE(moving_square_gives_motion_with_its_box) {
  // Still for a while, then a white square crosses the room (the bursts scene).
  const TestPatternSource src(640, 480, 10, Scene::bursts);
  MotionDetector det;
  int frames_with_square = 0, detected = 0, matched = 0, false_alarms = 0;
  for (int n = 0; n < TestPatternSource::k_burst_cycle; ++n) {
    const MotionResult r = det.detect(camera_frame(src, n));
    const auto square = src.square_at(n);
    if (!square) {
      false_alarms += r.moving ? 1 : 0;
      continue;
    }
    ++frames_with_square;
    if (!r.moving) continue;
    ++detected;
    BOOST_TEST(r.score > 0.0);
    BOOST_TEST(r.score <= 1.0);
    const cv::Rect2f truth = normalized(*square, {640, 480});
    double best = 0;
    for (const auto& b : r.boxes) best = std::max(best, iou(b, truth));
    BOOST_TEST_INFO("frame " << n << " square " << *square << " boxes " << r.boxes.size());
    BOOST_TEST(best >= 0.5);
    if (best >= 0.5) ++matched;
    // The share of moving pixels is about the square's share of the frame.
    const double share = truth.area();
    BOOST_TEST(r.score > 0.3 * share);
    BOOST_TEST(r.score < 3.0 * share);
  }
  BOOST_TEST(false_alarms == 0);
  BOOST_TEST(frames_with_square ==
             TestPatternSource::k_burst_cycle - TestPatternSource::k_burst_still);
  // Every frame with the square moving is seen, with its box.
  BOOST_TEST(detected == frames_with_square);
  BOOST_TEST(matched == frames_with_square);
}

BOOST_AUTO_TEST_CASE(mask_over_the_square_hides_it) {
  const TestPatternSource src(640, 480, 10, Scene::bursts);
  // Where the square goes during the cycle, with a margin.
  cv::Rect span;
  for (int n = 0; n < TestPatternSource::k_burst_cycle; ++n) {
    if (const auto sq = src.square_at(n)) span = span.area() ? (span | *sq) : *sq;
  }
  BOOST_REQUIRE(span.area() > 0);
  const float x0 = std::max(0.f, span.x / 640.f - 0.03f);
  const float y0 = std::max(0.f, span.y / 480.f - 0.03f);
  const float x1 = std::min(1.f, (span.x + span.width) / 640.f + 0.03f);
  const float y1 = std::min(1.f, (span.y + span.height) / 480.f + 0.03f);
  std::ostringstream poly;
  poly << x0 << ',' << y0 << ' ' << x1 << ',' << y0 << ' ' << x1 << ',' << y1 << ' ' << x0 << ','
       << y1;
  MotionDetector::Options masked;
  masked.masks.push_back(fh::sender::parse_polygon(poly.str()));
  MotionDetector with_mask(masked);
  MotionDetector without;
  int seen_without = 0, seen_with = 0;
  for (int n = 0; n < TestPatternSource::k_burst_cycle; ++n) {
    const cv::Mat f = camera_frame(src, n);
    seen_without += without.detect(f).moving ? 1 : 0;
    const MotionResult r = with_mask.detect(f);
    seen_with += r.moving ? 1 : 0;
    BOOST_TEST(r.score == 0.0);
  }
  BOOST_TEST(seen_without > 20);  // the same frames have motion without the mask
  BOOST_TEST(seen_with == 0);
}

BOOST_AUTO_TEST_CASE(boxes_are_merged_and_at_most_the_limit) {
  // 40 small squares scattered over a flat picture appear at once: up to 16 boxes (here 4),
  // each inside the frame, together covering every square.
  for (const int max_boxes : {16, 4}) {
    BOOST_TEST_CONTEXT("max_boxes " << max_boxes) {
      MotionDetector::Options o;
      o.max_boxes = max_boxes;
      MotionDetector det(o);
      const cv::Mat flat(240, 320, CV_8UC3, cv::Scalar(100, 100, 100));
      det.detect(flat);
      det.detect(flat);
      cv::Mat dots = flat.clone();
      std::vector<cv::Rect> squares;
      for (int i = 0; i < 40; ++i) {
        const cv::Rect r((i % 8) * 40 + 5, (i / 8) * 48 + 5, 8, 8);
        squares.push_back(r);
        cv::rectangle(dots, r, cv::Scalar(250, 250, 250), cv::FILLED);
      }
      const MotionResult r = det.detect(dots);
      BOOST_TEST(r.moving);
      BOOST_TEST(r.boxes.size() <= static_cast<std::size_t>(max_boxes));
      BOOST_TEST(r.boxes.size() >= 1u);
      for (const auto& b : r.boxes) {
        BOOST_TEST(b.x >= 0.f);
        BOOST_TEST(b.y >= 0.f);
        BOOST_TEST(b.x + b.width <= 1.0001f);
        BOOST_TEST(b.y + b.height <= 1.0001f);
      }
      for (const auto& sq : squares) {
        const cv::Point2f c((sq.x + 4) / 320.f, (sq.y + 4) / 240.f);
        bool covered = false;
        for (const auto& b : r.boxes) covered = covered || b.contains(c);
        BOOST_TEST(covered, "square at " << sq << " is in a box");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(scene_change_restarts_the_background) {
  MotionDetector det;
  const cv::Mat dark(240, 320, CV_8UC3, cv::Scalar(30, 30, 30));
  const cv::Mat bright(240, 320, CV_8UC3, cv::Scalar(200, 200, 200));
  BOOST_TEST(!det.detect(dark).moving);  // seeds the background
  BOOST_TEST(!det.detect(dark).moving);
  const MotionResult r = det.detect(bright);  // lights on
  BOOST_TEST(r.moving);
  BOOST_TEST(r.scene_change);
  BOOST_REQUIRE(r.boxes.size() == 1u);
  BOOST_TEST(r.boxes[0].area() == 1.0f);
  BOOST_TEST(!det.detect(bright).moving);  // the new scene is the background now
}

BOOST_AUTO_TEST_CASE(bad_frames_are_counted_not_fatal) {
  MotionDetector det;
  BOOST_TEST(!det.detect(cv::Mat()).moving);
  BOOST_TEST(!det.detect(cv::Mat(10, 10, CV_32FC1, cv::Scalar(0))).moving);
  BOOST_TEST(det.bad_frames() == 2u);
  // A change of size restarts the background instead of comparing different sizes.
  BOOST_TEST(!det.detect(cv::Mat(100, 100, CV_8UC3, cv::Scalar(0, 0, 0))).moving);
  BOOST_TEST(!det.detect(cv::Mat(50, 80, CV_8UC3, cv::Scalar(255, 255, 255))).moving);
  BOOST_TEST(!det.detect(cv::Mat(50, 80, CV_8UC1, cv::Scalar(255))).moving);  // gray works
  BOOST_TEST(det.bad_frames() == 2u);
}

BOOST_AUTO_TEST_CASE(mask_polygons_parse_or_say_why_not) {
  const auto poly = fh::sender::parse_polygon("0,0 0.3,0 0.3,0.1  0,0.1");
  BOOST_REQUIRE(poly.size() == 4u);
  BOOST_TEST(poly[1].x == 0.3f);
  BOOST_TEST(poly[2].y == 0.1f);
  BOOST_TEST((fh::sender::parse_polygon("0,0;0.3,0;0.3,0.1;0,0.1") == poly));
  const auto error = [](const std::string& text) {
    try {
      fh::sender::parse_polygon(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const auto has = [](const std::string& msg, const std::string& part) {
    BOOST_TEST_INFO(msg);
    BOOST_TEST(msg.find(part) != std::string::npos);
  };
  has(error(""), "at least 3 points, got 0");
  has(error("0,0 1,1"), "at least 3 points, got 2");
  has(error("0,0 1,0 1:1"), "point 3 '1:1' is not two numbers x,y");
  has(error("0,0 1,0 x,1"), "is not two numbers");
  has(error("0,0 1,0 1,1.5"), "point 3 '1,1.5' lies outside 0..1");
  has(error("0,0 -0.1,0 1,1"), "lies outside 0..1");
  has(error("0,0 nan,0 1,1"), "is not two numbers");
  has(error("0,0 1,0 1,1"), "");  // accepted: the message is empty
  std::string many;
  for (int i = 0; i < 65; ++i) many += "0.5,0.5 ";
  has(error(many), "more than 64 points");
  // Every message shows the expected form.
  has(error("junk"), "expected \"x,y x,y x,y ...\"");
  // The detector refuses a bad polygon given directly.
  MotionDetector::Options o;
  o.masks.push_back({{0.f, 0.f}, {2.f, 0.f}, {1.f, 1.f}});
  BOOST_CHECK_THROW(MotionDetector{o}, std::invalid_argument);
  o.masks = {{{0.f, 0.f}, {1.f, 0.f}}};
  BOOST_CHECK_THROW(MotionDetector{o}, std::invalid_argument);
  MotionDetector::Options t;
  t.threshold = 0;
  BOOST_CHECK_THROW(MotionDetector{t}, std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(motion_gate)

BOOST_AUTO_TEST_CASE(gate_sends_first_motion_hangover_and_keepalives) {
  using V = MotionGate::Verdict;
  MotionGate g(MotionMode::gate, 5.0, 1.0);
  BOOST_TEST((g.decide(100.0, false) == V::keepalive));  // the first frame is always sent
  BOOST_TEST((g.decide(100.1, false) == V::gated));
  BOOST_TEST((g.decide(104.9, false) == V::gated));
  BOOST_TEST((g.decide(105.0, false) == V::keepalive));  // 5 s after the last frame sent
  BOOST_TEST((g.decide(105.1, false) == V::gated));
  BOOST_TEST((g.decide(106.0, true) == V::motion));
  BOOST_TEST((g.decide(106.5, false) == V::hangover));
  BOOST_TEST((g.decide(107.0, false) == V::hangover));  // 1 s after the last motion
  BOOST_TEST((g.decide(107.1, false) == V::gated));
  BOOST_TEST((g.decide(111.9, false) == V::gated));
  BOOST_TEST((g.decide(112.0, false) == V::keepalive));  // 5 s after the last hang-over frame
  // A clock stepping back counts as no time passing.
  BOOST_TEST((g.decide(50.0, false) == V::gated));
  BOOST_TEST((g.decide(116.9, false) == V::gated));
  BOOST_TEST((g.decide(117.0, false) == V::keepalive));
}

BOOST_AUTO_TEST_CASE(flag_and_off_send_everything) {
  using V = MotionGate::Verdict;
  for (const MotionMode m : {MotionMode::flag, MotionMode::off}) {
    MotionGate g(m, 5.0, 0.0);
    for (int i = 0; i < 20; ++i) {
      const bool moving = i % 7 == 3;
      BOOST_TEST((g.decide(i * 0.1, moving) == (moving ? V::motion : V::still)));
    }
  }
  BOOST_CHECK_THROW(MotionGate(MotionMode::gate, 0.0, 1.0), std::invalid_argument);
  BOOST_CHECK_THROW(MotionGate(MotionMode::gate, 5.0, -1.0), std::invalid_argument);
  MotionMode m;
  BOOST_TEST(fh::sender::parse_motion_mode("gate", m));
  BOOST_TEST((m == MotionMode::gate));
  BOOST_TEST(!fh::sender::parse_motion_mode("Gate", m));
}

BOOST_AUTO_TEST_SUITE_END()
