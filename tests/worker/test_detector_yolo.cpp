// decode_yolo() on hand-built outputs: known boxes in, known boxes out after threshold,
// per-class NMS, scaling and clipping.
#include "framehive/worker/detector_ssd.hpp"
#include "framehive/worker/detector_yolo.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

using namespace fh::worker;

namespace {

/// A 2-D output [rows, 7] (2 classes) from a list of rows.
cv::Mat rows_of(std::initializer_list<std::array<float, 7>> rows) {
  cv::Mat m(static_cast<int>(rows.size()), 7, CV_32F);
  int r = 0;
  for (const auto& row : rows) {
    for (int c = 0; c < 7; ++c) m.at<float>(r, c) = row[static_cast<std::size_t>(c)];
    ++r;
  }
  return m;
}

std::string str(const YoloBox& b) {
  std::ostringstream os;
  os << "class " << b.class_id << " conf " << b.confidence << " " << b.box;
  return os.str();
}

/// The YOLOv5 output [1, N, 5+C] of three candidates, in input pixels; confidence =
/// objectness * class score.
cv::Mat yolov5_output() {
  const int sizes[] = {1, 3, 7};
  cv::Mat out(3, sizes, CV_32F);
  const float rows[3][7] = {
      {160, 160, 32, 32, 0.8f, 0.9f, 0.1f},  // 0.72, class 0
      {100, 100, 32, 32, 0.5f, 0.9f, 0.1f},  // 0.45: under threshold
      {10, 10, 20, 20, 0.9f, 0.2f, 0.6f},    // 0.54, class 1, at the corner
  };
  std::memcpy(out.ptr<float>(), rows, sizeof rows);
  return out;
}

/// The YOLOv8 output [1, 4+C, N] of the same places, one column per candidate, input pixels,
/// no objectness.
cv::Mat yolov8_output() {
  const int sizes[] = {1, 6, 3};
  cv::Mat out(3, sizes, CV_32F);
  const float cols[3][6] = {
      {160, 160, 32, 32, 0.9f, 0.1f},  // 0.9, class 0
      {100, 100, 32, 32, 0.4f, 0.3f},  // 0.4: under threshold
      {10, 10, 20, 20, 0.2f, 0.6f},    // 0.6, class 1, at the corner
  };
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 6; ++k) out.ptr<float>()[k * 3 + c] = cols[c][k];
  }
  return out;
}

YoloDecodeParams yolo_params(YoloLayout layout) {
  YoloDecodeParams p;
  p.layout = layout;
  p.input_size = cv::Size(320, 320);
  p.frame_size = cv::Size(640, 480);  // x2, x1.5
  p.confidence = 0.5f;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_yolo)

// Darknet layout, frame 200x100: values are fractions of the input; scores include objectness.
BOOST_AUTO_TEST_CASE(darknet_threshold_nms_clip) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  //                        cx     cy    w     h    obj  s0    s1
  const cv::Mat out1 = rows_of({{0.25f, 0.5f, 0.2f, 0.4f, 0.9f, 0.9f, 0.0f},    // A
                                {0.25f, 0.5f, 0.2f, 0.4f, 0.9f, 0.1f, 0.7f},    // C: class 1
                                {0.75f, 0.5f, 0.1f, 0.2f, 0.9f, 0.6f, 0.0f},    // D
                                {0.5f, 0.5f, 0.1f, 0.1f, 0.9f, 0.3f, 0.0f},     // E: weak
                                {0.98f, 0.1f, 0.1f, 0.4f, 0.9f, 0.55f, 0.0f},   // F: clipped
                                {0.3f, 0.3f, 0.0f, 0.2f, 0.9f, 0.95f, 0.0f},    // G: no width
                                {nan, 0.3f, 0.1f, 0.2f, 0.9f, 0.95f, 0.0f}});   // H: NaN
  const cv::Mat out2 = rows_of({{0.26f, 0.5f, 0.2f, 0.4f, 0.9f, 0.8f, 0.0f}});  // B: ~A
  YoloDecodeParams p;
  p.layout = YoloLayout::darknet;
  p.input_size = cv::Size(64, 64);  // unused for darknet
  p.frame_size = cv::Size(200, 100);
  p.confidence = 0.5f;
  p.nms = 0.4f;
  const auto boxes = decode_yolo({out1, out2}, p);
  for (const auto& b : boxes) BOOST_TEST_MESSAGE(str(b));
  BOOST_TEST_REQUIRE(boxes.size() == 4u);
  // A: centre (50,50), 40x40.
  BOOST_TEST(boxes[0].class_id == 0);
  BOOST_TEST(boxes[0].confidence == 0.9f);
  BOOST_TEST(boxes[0].box == cv::Rect(30, 30, 40, 40));
  // C: same box, other class: NMS is per class.
  BOOST_TEST(boxes[1].class_id == 1);
  BOOST_TEST(boxes[1].confidence == 0.7f);
  BOOST_TEST(boxes[1].box == cv::Rect(30, 30, 40, 40));
  // D: centre (150,50), 20x20.
  BOOST_TEST(boxes[2].class_id == 0);
  BOOST_TEST(boxes[2].box == cv::Rect(140, 40, 20, 20));
  // F: centre (196,10), 20x40 -> x 186..206, y -10..30, clipped to the frame.
  BOOST_TEST(boxes[3].confidence == 0.55f);
  BOOST_TEST(boxes[3].box == cv::Rect(186, 0, 14, 30));

  // Without NMS, B (IoU 0.9 with A, from the other output) comes back.
  p.nms = 1.0f;
  const auto all = decode_yolo({out1, out2}, p);
  BOOST_TEST_REQUIRE(all.size() == 5u);
  BOOST_TEST(all[1].confidence == 0.8f);
  BOOST_TEST(all[1].box == cv::Rect(32, 30, 40, 40));

  // Threshold 0 keeps E too; a threshold over everything keeps nothing.
  p.nms = 0.4f;
  p.confidence = 0.0f;
  BOOST_TEST(decode_yolo({out1, out2}, p).size() == 5u);
  p.confidence = 0.96f;
  BOOST_TEST(decode_yolo({out1, out2}, p).empty());
}

// YOLOv5 and YOLOv8 layouts: the same two candidates over the threshold come back scaled to the
// frame, the one under it is dropped.
BOOST_AUTO_TEST_CASE(yolov5_and_yolov8_layouts) {
  struct Case {
    const char* name;
    YoloLayout layout;
    cv::Mat out;
    float confidence0, confidence1;  ///< of the class-0 and the class-1 box
  };
  const Case cases[] = {
      {"yolov5", YoloLayout::yolov5, yolov5_output(), 0.72f, 0.54f},
      {"yolov8", YoloLayout::yolov8, yolov8_output(), 0.9f, 0.6f},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const auto boxes = decode_yolo({c.out}, yolo_params(c.layout));
      for (const auto& b : boxes) BOOST_TEST_MESSAGE(str(b));
      BOOST_TEST_REQUIRE(boxes.size() == 2u);
      BOOST_TEST(boxes[0].class_id == 0);
      BOOST_TEST(std::abs(boxes[0].confidence - c.confidence0) < 1e-6f);
      BOOST_TEST(boxes[0].box == cv::Rect(288, 216, 64, 48));
      BOOST_TEST(boxes[1].class_id == 1);
      BOOST_TEST(std::abs(boxes[1].confidence - c.confidence1) < 1e-6f);
      BOOST_TEST(boxes[1].box == cv::Rect(0, 0, 40, 30));
    }
  }
}

// YOLOv8: a batch of two is not one image's candidates: skipped, like rows too short for a box.
BOOST_AUTO_TEST_CASE(yolov8_skips_batches_and_short_rows) {
  const auto p = yolo_params(YoloLayout::yolov8);
  const int batch2[] = {2, 6, 3};
  BOOST_TEST(decode_yolo({cv::Mat(3, batch2, CV_32F, cv::Scalar(0.9))}, p).empty());
  const int short_rows[] = {1, 4, 3};
  BOOST_TEST(decode_yolo({cv::Mat(3, short_rows, CV_32F, cv::Scalar(0.9))}, p).empty());
}

// SSD layout: [1, 1, N, 7] rows of image_id, class, confidence, x1, y1, x2, y2 (fractions).
BOOST_AUTO_TEST_CASE(ssd_layout) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float rows[][7] = {
      {0, 15, 0.9f, 0.25f, 0.5f, 0.5f, 1.0f},   // class 15, kept
      {0, 15, 0.8f, 0.26f, 0.5f, 0.51f, 1.0f},  // same object, weaker: NMS
      {0, 7, 0.7f, 0.26f, 0.5f, 0.51f, 1.0f},   // same place, other class: kept
      {0, 2, 0.4f, 0.1f, 0.1f, 0.2f, 0.2f},     // under threshold
      {-1, 0, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},    // OpenCV's padding row
      {1, 3, 0.9f, 0.1f, 0.1f, 0.2f, 0.2f},     // another image of a batch
      {0, nan, 0.9f, 0.1f, 0.1f, 0.2f, 0.2f},   // no class
      {0, 3, 0.9f, nan, 0.1f, 0.2f, 0.2f},      // no box
      {0, 3, 0.9f, 0.5f, 0.5f, 0.4f, 0.6f},     // x2 < x1
      {0, 4, 0.95f, -0.1f, -0.2f, 0.1f, 0.1f},  // clipped to the frame
  };
  const int n = static_cast<int>(sizeof rows / sizeof rows[0]);
  const int sizes[] = {1, 1, n, 7};
  cv::Mat out(4, sizes, CV_32F);
  std::memcpy(out.ptr<float>(), rows, sizeof rows);
  BOOST_TEST(is_ssd_output(out));
  SsdDecodeParams p{cv::Size(200, 100), 0.5f, 0.45f};
  const auto boxes = decode_ssd({out}, p);
  for (const auto& b : boxes) BOOST_TEST_MESSAGE(str(b));
  BOOST_TEST_REQUIRE(boxes.size() == 3u);
  BOOST_TEST(boxes[0].class_id == 4);
  BOOST_TEST(boxes[0].box == cv::Rect(0, 0, 20, 10));
  BOOST_TEST(boxes[1].class_id == 15);
  BOOST_TEST(std::abs(boxes[1].confidence - 0.9f) < 1e-6f);
  BOOST_TEST(boxes[1].box == cv::Rect(50, 50, 50, 50));
  BOOST_TEST(boxes[2].class_id == 7);
  // NMS off keeps the weaker duplicate.
  p.nms = 1.0f;
  BOOST_TEST(decode_ssd({out}, p).size() == 4u);
  // Other shapes are not SSD outputs and are skipped.
  const cv::Mat rows2d(3, 7, CV_32F, cv::Scalar(0.5));
  const int wide[] = {1, 1, 3, 8};
  BOOST_TEST(!is_ssd_output(rows2d));
  BOOST_TEST(!is_ssd_output(cv::Mat(4, wide, CV_32F, cv::Scalar(0))));
  BOOST_TEST(decode_ssd({rows2d, cv::Mat()}, p).empty());
  p.frame_size = cv::Size();
  BOOST_TEST(decode_ssd({out}, p).empty());
}

BOOST_AUTO_TEST_CASE(odd_outputs_are_skipped) {
  YoloDecodeParams p;
  p.frame_size = cv::Size(100, 100);
  const cv::Mat good = rows_of({{0.5f, 0.5f, 0.2f, 0.2f, 1.0f, 0.9f, 0.0f}});
  const cv::Mat narrow(4, 5, CV_32F, cv::Scalar(0.9));
  const cv::Mat wrong_type(4, 7, CV_64F, cv::Scalar(0.9));
  BOOST_TEST(decode_yolo({cv::Mat(), narrow, wrong_type, good}, p).size() == 1u);
  BOOST_TEST(decode_yolo({}, p).empty());
  p.frame_size = cv::Size();
  BOOST_TEST(decode_yolo({good}, p).empty());
  // A box wholly outside the frame disappears when clipped.
  p.frame_size = cv::Size(100, 100);
  BOOST_TEST(decode_yolo({rows_of({{1.5f, 0.5f, 0.2f, 0.2f, 1.0f, 0.9f, 0.0f}})}, p).empty());
}

BOOST_AUTO_TEST_CASE(layout_names) {
  YoloLayout l = YoloLayout::darknet;
  BOOST_TEST(parse_yolo_layout("yolov5", l));
  BOOST_TEST((l == YoloLayout::yolov5));
  BOOST_TEST(parse_yolo_layout("darknet", l));
  BOOST_TEST((l == YoloLayout::darknet));
  BOOST_TEST(parse_yolo_layout("yolov8", l));
  BOOST_TEST((l == YoloLayout::yolov8));
  BOOST_TEST(!parse_yolo_layout("ssd", l));
  BOOST_TEST(!parse_yolo_layout("yolov9", l));
}

BOOST_AUTO_TEST_SUITE_END()
