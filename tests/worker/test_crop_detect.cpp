// --motion-crop with real detectors on real frames: a crop around a detected object yields the
// full-frame detection in frame coordinates; boxes map back exactly from an offset; duplicates
// across crops are suppressed; keep-alive and motion-less frames run whole (TaskRunner).
#include "detector_test_util.hpp"

#include "framehive/shared/jpeg.hpp"
#include "framehive/worker/crop_detect.hpp"
#include "framehive/worker/crop_plan.hpp"
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/task_runner.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>

using namespace fh::worker;
using fh::shared::api::Motion;
using fh::shared::api::MotionBox;

namespace {

/// vtest.avi frame 100: HOG finds people walking on the square (test_detector_hog.cpp).
constexpr int k_vtest_frame = 100;
/// Megamind.avi frame 40: one face (test_detector_haar.cpp).
constexpr int k_megamind_frame = 40;

double iou(const Detection& a, const Detection& b) {
  const cv::Rect ra(a.x, a.y, a.w, a.h);
  const cv::Rect rb(b.x, b.y, b.w, b.h);
  const double inter = (ra & rb).area();
  return inter / (ra.area() + rb.area() - inter);
}

/// Best IoU of d against any of found with the same label.
double best_iou(const Detection& d, const std::vector<Detection>& found) {
  double best = 0;
  for (const auto& f : found) {
    if (f.label == d.label) best = std::max(best, iou(d, f));
  }
  return best;
}

/// The motion info a sender would send for one moving object at d (fractions of the frame).
Motion motion_at(const Detection& d, cv::Size frame) {
  Motion m;
  m.present = true;
  m.score = double(d.w) * d.h / frame.area();
  m.boxes.push_back({double(d.x) / frame.width, double(d.y) / frame.height,
                     double(d.w) / frame.width, double(d.h) / frame.height});
  return m;
}

fh::shared::api::Frame task_frame(const cv::Mat& image, const std::string& detector,
                                  const Motion& motion) {
  fh::shared::api::Frame f;
  f.port = 5000;
  f.detector = detector;
  const auto jpeg = test::to_jpeg(image, 90);
  f.image = std::make_shared<const std::vector<std::uint8_t>>(jpeg.begin(), jpeg.end());
  f.width = image.cols;
  f.height = image.rows;
  f.motion = motion;
  return f;
}

/// For each full-frame detection (that covers must_cover, when given): a motion box on it, the
/// worker's default crop plan, and the cropped run must find it again (IoU >= 0.8, frame
/// coordinates) on a smaller region.
void crop_finds_each_full_frame_detection(const std::string& capability, const cv::Mat& frame,
                                          std::optional<cv::Point> must_cover = std::nullopt,
                                          double pad_fraction = CropParams{}.pad_fraction) {
  auto det = make_detector(capability);
  const auto full = det->run(frame);
  BOOST_TEST_REQUIRE(full.ok(), full.error);
  BOOST_TEST_REQUIRE(!full.detections.empty(), capability << " finds nothing to crop around");
  CropParams params;
  params.min_window = det->min_window();
  params.pad_fraction = pad_fraction;
  std::size_t checked = 0;
  for (const Detection& d : full.detections) {
    if (must_cover && !cv::Rect(d.x, d.y, d.w, d.h).contains(*must_cover)) continue;
    ++checked;
    const CropPlan plan = plan_crops(motion_at(d, frame.size()), frame.size(), params);
    BOOST_TEST_REQUIRE(plan.cropped(), crop_decision_name(plan.decision));
    BOOST_TEST(plan.coverage < 0.6);
    const auto cropped = detect_in_regions(*det, frame, plan.regions);
    BOOST_TEST_REQUIRE(cropped.ok(), cropped.error);
    const double best = best_iou(d, cropped.detections);
    BOOST_TEST_MESSAGE(capability << ": " << d.label << " at " << d.x << "," << d.y << " " << d.w
                                  << "x" << d.h << " crop " << plan.regions[0] << " ("
                                  << plan.coverage * 100 << "% of the frame): IoU " << best);
    BOOST_TEST(best >= 0.8);
    for (const auto& c : cropped.detections) {
      // Frame coordinates: inside the crop it came from, and inside the frame.
      BOOST_TEST((cv::Rect(c.x, c.y, c.w, c.h) & plan.regions[0]) == cv::Rect(c.x, c.y, c.w, c.h));
    }
  }
  BOOST_TEST(checked >= 1u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crop_detect)

BOOST_AUTO_TEST_CASE(hog_crop_matches_the_full_frame_detection) {
  crop_finds_each_full_frame_detection(
      "hog", test::via_jpeg(test::video_frame(fh::test::vtest_avi(), k_vtest_frame)));
}

BOOST_AUTO_TEST_CASE(haar_crop_matches_the_full_frame_detection) {
  crop_finds_each_full_frame_detection(
      "haar:frontalface",
      test::via_jpeg(test::video_frame(fh::test::megamind_avi(), k_megamind_frame)),
      // Roxanne's face. The cascade also reports a 55x55 "face" at (654,367) on this frame
      // that it does not find again in a crop around it: equalizeHist runs per crop, so a
      // marginal box can go either way (docs/motion.md measures what that costs).
      cv::Point(300, 250),
      // The face fills 165x165 px of 720x528: the default padding (100%) would cover most of
      // the frame and run it whole; 25% + 32 px keeps it a crop.
      0.25);
}

BOOST_AUTO_TEST_CASE(boxes_map_back_from_an_offset) {
  // The vtest frame's middle pasted at (300, 150) in a larger gray canvas: detecting on that
  // region of the canvas must give exactly the detections of the pasted image, moved by the
  // offset (the detector sees the same pixels).
  const cv::Mat frame = test::via_jpeg(test::video_frame(fh::test::vtest_avi(), k_vtest_frame));
  const cv::Rect part(200, 60, 380, 400);
  const cv::Mat image = frame(part).clone();
  cv::Mat canvas(900, 1200, CV_8UC3, cv::Scalar(90, 90, 90));
  const cv::Point offset(300, 150);
  image.copyTo(canvas(cv::Rect(offset, image.size())));

  auto hog = make_detector("hog");
  const auto alone = hog->run(image);
  BOOST_TEST_REQUIRE(alone.ok(), alone.error);
  BOOST_TEST_REQUIRE(!alone.detections.empty());
  // A second, empty region elsewhere on the canvas must add nothing.
  const auto mapped =
      detect_in_regions(*hog, canvas, {cv::Rect(offset, image.size()), cv::Rect(20, 20, 200, 300)});
  BOOST_TEST_REQUIRE(mapped.ok(), mapped.error);
  BOOST_TEST_REQUIRE(mapped.detections.size() == alone.detections.size());
  for (std::size_t i = 0; i < alone.detections.size(); ++i) {
    const auto& a = alone.detections[i];
    const auto& m = mapped.detections[i];
    BOOST_TEST(m.x == a.x + offset.x);
    BOOST_TEST(m.y == a.y + offset.y);
    BOOST_TEST(m.w == a.w);
    BOOST_TEST(m.h == a.h);
    BOOST_TEST(m.confidence == a.confidence);
    BOOST_TEST(m.label == a.label);
  }
}

BOOST_AUTO_TEST_CASE(duplicates_across_crops_are_suppressed) {
  // Same object seen by two overlapping crops: one box stays, the stronger.
  std::vector<Detection> boxes = {{"person", 0.7, 100, 100, 64, 128},
                                  {"person", 0.9, 104, 96, 64, 128},  // IoU ~0.83
                                  {"person", 0.8, 300, 100, 64, 128},
                                  {"face", 0.6, 102, 100, 64, 128},    // other label: kept
                                  {"person", 0.5, 310, 120, 30, 60}};  // inside a kept one
  const auto kept = suppress_duplicates(boxes, k_crop_nms_iou);
  BOOST_TEST_REQUIRE(kept.size() == 3u);
  BOOST_TEST(kept[0].confidence == 0.9);
  BOOST_TEST(kept[1].confidence == 0.8);
  BOOST_TEST(kept[2].label == "face");
  // Side by side (IoU 0.33) both stay.
  const auto side = suppress_duplicates(
      {{"person", 0.9, 100, 100, 64, 128}, {"person", 0.8, 132, 100, 64, 128}}, k_crop_nms_iou);
  BOOST_TEST(side.size() == 2u);
}

BOOST_AUTO_TEST_CASE(overlapping_regions_give_one_box_per_object) {
  // Two overlapping crops both containing the same person (regions a plan would have merged,
  // given by hand): the person is reported once.
  const cv::Mat frame = test::via_jpeg(test::video_frame(fh::test::vtest_avi(), k_vtest_frame));
  auto hog = make_detector("hog");
  const auto full = hog->run(frame);
  BOOST_TEST_REQUIRE(!full.detections.empty());
  const Detection& d = full.detections[0];
  const cv::Rect around =
      cv::Rect(d.x - 40, d.y - 40, d.w + 80, d.h + 80) & cv::Rect(0, 0, 768, 576);
  const cv::Rect shifted = (around + cv::Point(10, 6)) & cv::Rect(0, 0, 768, 576);
  const auto one = detect_in_regions(*hog, frame, {around});
  const auto two = detect_in_regions(*hog, frame, {around, shifted});
  BOOST_TEST_REQUIRE(two.ok(), two.error);
  std::size_t near_d = 0;
  for (const auto& c : two.detections) near_d += iou(c, d) > 0.3 ? 1 : 0;
  BOOST_TEST(near_d == 1u);
  BOOST_TEST(two.detections.size() <= one.detections.size() + 1);
}

BOOST_AUTO_TEST_CASE(a_failing_region_fails_the_frame) {
  // A 2-channel image is not a detector input: an error, no partial detections, no throw.
  auto hog = make_detector("hog");
  const cv::Mat two_channel(300, 300, CV_8UC2, cv::Scalar::all(0));
  const auto r = detect_in_regions(*hog, two_channel, {cv::Rect(0, 0, 100, 200)});
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.detections.empty());
  BOOST_TEST(!detect_in_regions(*hog, cv::Mat(), {cv::Rect(0, 0, 10, 10)}).ok());
  // Regions outside the frame are skipped, not an error.
  const auto outside = detect_in_regions(*hog, cv::Mat(300, 300, CV_8UC3, cv::Scalar::all(0)),
                                         {{400, 400, 64, 128}});
  BOOST_TEST(outside.ok());
  BOOST_TEST(outside.detections.empty());
}

BOOST_AUTO_TEST_CASE(task_runner_crops_motion_frames_and_runs_the_rest_whole) {
  const cv::Mat frame = test::via_jpeg(test::video_frame(fh::test::vtest_avi(), k_vtest_frame));
  const std::size_t max_px = fh::shared::k_default_max_jpeg_pixels;
  TaskRunner plain({"hog"}, {}, max_px);
  TaskRunner crop({"hog"}, {}, max_px, /*motion_crop=*/true);

  const auto whole = plain.run(task_frame(frame, "hog", Motion{}));
  BOOST_TEST_REQUIRE(whole.ok(), whole.error);
  BOOST_TEST_REQUIRE(!whole.detections.empty());
  const Detection& d = whole.detections[0];

  // Motion on the first person: cropped, the person found again in frame coordinates.
  const Motion motion = motion_at(d, frame.size());
  const auto cropped = crop.run(task_frame(frame, "hog", motion));
  BOOST_TEST_REQUIRE(cropped.ok(), cropped.error);
  BOOST_TEST(cropped.crop == CropDecision::cropped);
  BOOST_TEST(cropped.crop_regions == 1u);
  BOOST_TEST(cropped.coverage < 0.6);
  BOOST_TEST(best_iou(d, cropped.detections) >= 0.8);

  // Without --motion-crop the same frame runs whole: same result as with no motion at all.
  const auto ignored = plain.run(task_frame(frame, "hog", motion));
  BOOST_TEST(ignored.detections.size() == whole.detections.size());
  BOOST_TEST(ignored.coverage == 1.0);

  // Keep-alive, no motion info, motion without boxes: whole frame, identical detections.
  Motion keepalive = motion;
  keepalive.keepalive = true;
  Motion no_boxes = motion;
  no_boxes.boxes.clear();
  for (const auto& [m, why] : {std::pair{keepalive, CropDecision::keepalive},
                               std::pair{Motion{}, CropDecision::no_motion_info},
                               std::pair{no_boxes, CropDecision::no_boxes}}) {
    const auto out = crop.run(task_frame(frame, "hog", m));
    BOOST_TEST_REQUIRE(out.ok(), out.error);
    BOOST_TEST(out.crop == why, crop_decision_name(why));
    BOOST_TEST(out.coverage == 1.0);
    BOOST_TEST_REQUIRE(out.detections.size() == whole.detections.size());
    for (std::size_t i = 0; i < out.detections.size(); ++i) {
      BOOST_TEST(out.detections[i].x == whole.detections[i].x);
      BOOST_TEST(out.detections[i].y == whole.detections[i].y);
    }
  }

  // Unusable boxes are counted; with none left the frame runs whole.
  Motion bad = motion;
  bad.boxes = {MotionBox{2.0, 2.0, 0.1, 0.1}, MotionBox{0.1, 0.1, -1.0, 0.1}};
  const auto b = crop.run(task_frame(frame, "hog", bad));
  BOOST_TEST(b.ok());
  BOOST_TEST(b.crop == CropDecision::invalid_boxes);
  BOOST_TEST(b.ignored_motion_boxes == 2u);
  BOOST_TEST(b.detections.size() == whole.detections.size());
}

BOOST_AUTO_TEST_SUITE_END()
