// Region planning for --motion-crop: padding, merging, the detector's minimum window, clamping
// to the frame, the coverage fallback, and the frames that always run whole.
#include "framehive/worker/crop_plan.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

using namespace fh::worker;
using fh::shared::api::Motion;
using fh::shared::api::MotionBox;

namespace {

const cv::Size k_frame(768, 576);

/// Plain parameters: no padding, no minimum, no merge gap; each test sets what it checks.
CropParams bare() {
  CropParams p;
  p.pad_fraction = 0;
  p.pad_pixels = 0;
  p.merge_gap = 0;
  p.min_window = {1, 1};
  return p;
}

Motion moving(std::vector<MotionBox> boxes) {
  Motion m;
  m.present = true;
  m.score = 0.1;
  m.boxes = std::move(boxes);
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crop_plan)

BOOST_AUTO_TEST_CASE(normalized_box_to_pixels) {
  // 0.25,0.5 0.125x0.25 of 768x576 = (192,288) 96x144.
  const auto plan = plan_crops(moving({{0.25, 0.5, 0.125, 0.25}}), k_frame, bare());
  BOOST_TEST_REQUIRE(plan.cropped());
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0] == cv::Rect(192, 288, 96, 144));
  BOOST_TEST(std::abs(plan.coverage - 96.0 * 144 / (768 * 576)) < 1e-9);
  BOOST_TEST(plan.ignored_boxes == 0u);
}

BOOST_AUTO_TEST_CASE(padding_is_a_fraction_plus_pixels) {
  CropParams p = bare();
  p.pad_fraction = 0.25;
  p.pad_pixels = 10;
  // 100x40 box at (300,200): x pad 25+10 = 35, y pad 10+10 = 20.
  const auto plan = plan_crops_px({{300, 200, 100, 40}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0] == cv::Rect(265, 180, 170, 80));
}

BOOST_AUTO_TEST_CASE(grows_to_the_minimum_window_about_the_centre) {
  CropParams p = bare();
  p.min_window = {64, 128};
  // 20x20 box centred on (410,310) -> 64x128 centred there.
  const auto plan = plan_crops_px({{400, 300, 20, 20}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0] == cv::Rect(378, 246, 64, 128));
  // A box larger than the window keeps its size.
  const auto big = plan_crops_px({{100, 100, 150, 200}}, k_frame, p);
  BOOST_TEST(big.regions.at(0) == cv::Rect(100, 100, 150, 200));
}

BOOST_AUTO_TEST_CASE(window_at_the_border_shifts_inside) {
  CropParams p = bare();
  p.min_window = {64, 128};
  // In the bottom-right corner: the window moves inside rather than being cut.
  const auto corner = plan_crops_px({{760, 570, 8, 6}}, k_frame, p);
  BOOST_TEST_REQUIRE(corner.regions.size() == 1u);
  BOOST_TEST(corner.regions[0] == cv::Rect(768 - 64, 576 - 128, 64, 128));
  // Top-left likewise.
  const auto origin = plan_crops_px({{0, 0, 4, 4}}, k_frame, p);
  BOOST_TEST(origin.regions.at(0) == cv::Rect(0, 0, 64, 128));
}

BOOST_AUTO_TEST_CASE(clamped_to_the_frame) {
  CropParams p = bare();
  p.pad_pixels = 50;
  // Padding runs past every edge of the frame: clamped, not wrapped or negative.
  const auto plan = plan_crops_px({{-30, 10, 100, 60}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0] == cv::Rect(0, 0, 120, 120));
  const auto right = plan_crops_px({{700, 500, 200, 200}}, k_frame, p);
  BOOST_TEST(right.regions.at(0) == cv::Rect(650, 450, 118, 126));
  for (const auto& r : {plan.regions[0], right.regions[0]}) {
    BOOST_TEST((r & cv::Rect(0, 0, 768, 576)) == r);
  }
}

BOOST_AUTO_TEST_CASE(overlapping_and_close_regions_merge) {
  CropParams p = bare();
  p.merge_gap = 16;
  // Overlapping pair -> one; a box 10 px right of it -> merged too (gap 10 <= 16); a box far
  // away stays separate.
  const auto plan = plan_crops_px(
      {{100, 100, 50, 50}, {130, 120, 50, 50}, {190, 100, 40, 40}, {500, 400, 40, 40}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 2u);
  BOOST_TEST(plan.regions[0] == cv::Rect(100, 100, 130, 70));
  BOOST_TEST(plan.regions[1] == cv::Rect(500, 400, 40, 40));
  // 17 px apart: not merged.
  const auto apart = plan_crops_px({{100, 100, 50, 50}, {167, 100, 50, 50}}, k_frame, p);
  BOOST_TEST(apart.regions.size() == 2u);
}

BOOST_AUTO_TEST_CASE(merging_is_transitive) {
  // A and C are far apart, but B bridges them: once A+B merge, the union reaches C.
  CropParams p = bare();
  const auto plan =
      plan_crops_px({{0, 0, 40, 40}, {300, 0, 40, 40}, {30, 30, 280, 20}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0] == cv::Rect(0, 0, 340, 50));
}

BOOST_AUTO_TEST_CASE(windows_that_overlap_after_growing_merge) {
  // Two small boxes 40 px apart: apart as boxes, but their 64x128 windows overlap.
  CropParams p = bare();
  p.min_window = {64, 128};
  const auto plan = plan_crops_px({{300, 300, 10, 10}, {350, 300, 10, 10}}, k_frame, p);
  BOOST_TEST_REQUIRE(plan.regions.size() == 1u);
  BOOST_TEST(plan.regions[0].width >= 64 + 50);
  BOOST_TEST(plan.regions[0].height == 128);
}

BOOST_AUTO_TEST_CASE(coverage_fallback_runs_the_full_frame) {
  CropParams p = bare();
  // 70% of the frame in one box.
  const auto big = plan_crops(moving({{0.0, 0.0, 0.7, 1.0}}), k_frame, p);
  BOOST_TEST(!big.cropped());
  BOOST_TEST(big.decision == CropDecision::coverage);
  BOOST_TEST(big.regions.empty());
  BOOST_TEST(big.coverage == 1.0);
  // Two separate boxes of 35% each add up to 70%.
  const auto two = plan_crops(moving({{0.0, 0.0, 0.35, 1.0}, {0.6, 0.0, 0.35, 1.0}}), k_frame, p);
  BOOST_TEST(two.decision == CropDecision::coverage);
  // 50% stays cropped; the threshold is a parameter.
  const auto half = plan_crops(moving({{0.0, 0.0, 0.5, 1.0}}), k_frame, p);
  BOOST_TEST(half.cropped());
  p.full_frame_coverage = 0.4;
  BOOST_TEST(plan_crops(moving({{0.0, 0.0, 0.5, 1.0}}), k_frame, p).decision ==
             CropDecision::coverage);
}

BOOST_AUTO_TEST_CASE(frames_that_run_whole) {
  const CropParams p = bare();
  Motion none;  // sender without motion detection
  BOOST_TEST(plan_crops(none, k_frame, p).decision == CropDecision::no_motion_info);
  Motion keepalive = moving({{0.1, 0.1, 0.1, 0.1}});
  keepalive.keepalive = true;  // boxes or not, a keep-alive frame re-checks the whole scene
  const auto k = plan_crops(keepalive, k_frame, p);
  BOOST_TEST(k.decision == CropDecision::keepalive);
  BOOST_TEST(k.regions.empty());
  BOOST_TEST(plan_crops(moving({}), k_frame, p).decision == CropDecision::no_boxes);
  // A frame smaller than the detector's window.
  CropParams hog = p;
  hog.min_window = {64, 128};
  BOOST_TEST(plan_crops(moving({{0.1, 0.1, 0.1, 0.1}}), {100, 100}, hog).decision ==
             CropDecision::window_too_large);
  BOOST_TEST(std::string(crop_decision_name(CropDecision::keepalive)) == "keepalive");
}

BOOST_AUTO_TEST_CASE(bad_boxes_are_ignored_and_counted) {
  const CropParams p = bare();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // All unusable: NaN, infinite, empty, negative size, entirely outside the frame.
  const auto bad = plan_crops(moving({{nan, 0, 0.1, 0.1},
                                      {0, 0, inf, 0.1},
                                      {0.2, 0.2, 0, 0.1},
                                      {0.2, 0.2, -0.1, 0.1},
                                      {1.5, 0.2, 0.1, 0.1},
                                      {0.2, -2, 0.1, 0.5}}),
                              k_frame, p);
  BOOST_TEST(bad.decision == CropDecision::invalid_boxes);
  BOOST_TEST(bad.ignored_boxes == 6u);
  // One good box among bad ones is used; the rest are counted.
  const auto mixed = plan_crops(moving({{nan, 0, 0.1, 0.1}, {0.5, 0.5, 0.1, 0.1}}), k_frame, p);
  BOOST_TEST(mixed.cropped());
  BOOST_TEST(mixed.ignored_boxes == 1u);
  BOOST_TEST(mixed.regions.size() == 1u);
  // More boxes than the contract allows: the first 16 are looked at, the rest counted.
  std::vector<MotionBox> many(40, MotionBox{0.01, 0.01, 0.01, 0.01});
  const auto capped = plan_crops(moving(many), k_frame, p);
  BOOST_TEST(capped.cropped());
  BOOST_TEST(capped.ignored_boxes == 24u);
  // Hostile parameters do not produce hostile regions.
  CropParams odd = bare();
  odd.pad_fraction = nan;
  odd.pad_pixels = -100;
  odd.merge_gap = -5;
  odd.min_window = {-3, 0};
  const auto o = plan_crops(moving({{0.5, 0.5, 0.1, 0.1}}), k_frame, odd);
  BOOST_TEST_REQUIRE(o.regions.size() == 1u);
  BOOST_TEST(o.regions[0].area() > 0);
  // A zero-size frame.
  BOOST_TEST(!plan_crops(moving({{0.5, 0.5, 0.1, 0.1}}), {0, 0}, p).cropped());
}

BOOST_AUTO_TEST_CASE(regions_are_disjoint_and_sorted) {
  CropParams p;  // the worker's defaults
  p.min_window = {64, 128};
  std::vector<MotionBox> boxes;
  for (int i = 0; i < 16; ++i) {
    boxes.push_back({0.24 * (i % 4), 0.2 * (i / 4), 0.02, 0.03});
  }
  const auto plan = plan_crops(moving(boxes), k_frame, p);
  for (std::size_t i = 0; i < plan.regions.size(); ++i) {
    const cv::Rect& r = plan.regions[i];
    BOOST_TEST(r.width >= 64);
    BOOST_TEST(r.height >= 128);
    BOOST_TEST((r & cv::Rect({0, 0}, k_frame)) == r);
    for (std::size_t j = i + 1; j < plan.regions.size(); ++j) {
      BOOST_TEST((r & plan.regions[j]).empty());
    }
    if (i > 0) {
      const cv::Rect& q = plan.regions[i - 1];
      BOOST_TEST((q.y < r.y || (q.y == r.y && q.x < r.x)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
