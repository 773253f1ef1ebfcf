// DnnDetector end to end on a tiny Darknet YOLO model the test writes itself (no weights
// can be downloaded; see tiny_yolo_model.hpp), and the dnn config file parser.
#include "detector_test_util.hpp"
#include "tiny_yolo_model.hpp"

#include "framehive/worker/detector_dnn.hpp"
#include "framehive/worker/detector_dnn_config.hpp"
#include "framehive/worker/detector_factory.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>

using namespace fh::worker;

namespace {

using test::frame_with_block;
using test::sigmoid;
using test::tiny_cfg;
using test::TinyModel;
using test::write_text;

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_dnn)

BOOST_AUTO_TEST_CASE(tiny_model_known_detection) {
  const TinyModel model;
  const std::string cap = "dnn:" + model.conf("default", "confidence=0.5\nnms=0.4\n");
  auto det = make_detector(cap);
  BOOST_TEST(det->name() == cap);
  const auto* dnn = dynamic_cast<DnnDetector*>(det.get());
  BOOST_TEST_REQUIRE(dnn != nullptr);
  BOOST_TEST(dnn->class_count() == 2);
  BOOST_TEST(dnn->class_names().at(0) == "widget");

  // Through JPEG like a real frame: the block edges blur a little, the result does not move.
  const cv::Mat frame = test::via_jpeg(frame_with_block(256, 256));
  std::vector<Detection> found;
  const double ms = test::ms_per_call(5, [&] { found = det->detect(frame); });
  BOOST_TEST_MESSAGE("tiny dnn: " << ms << " ms/frame");
  BOOST_TEST_REQUIRE(found.size() == 1u);
  const Detection& d = found[0];
  BOOST_TEST(d.label == "widget");
  // Anchor 0 wins: objectness sigmoid(3) times class sigmoid(4).
  BOOST_TEST(std::abs(d.confidence - sigmoid(3) * sigmoid(4)) < 2e-3, d.confidence);
  // Cell centre (1.5/4, 2.5/4) of 256 = (96, 160); anchor 16/64 of 256 = 64 px.
  BOOST_TEST(std::abs(d.x - 64) <= 1);
  BOOST_TEST(std::abs(d.y - 128) <= 1);
  BOOST_TEST(std::abs(d.w - 64) <= 1);
  BOOST_TEST(std::abs(d.h - 64) <= 1);

  // A black frame has nothing over the threshold.
  BOOST_TEST(det->detect(cv::Mat(256, 256, CV_8UC3, cv::Scalar::all(0))).empty());
}

BOOST_AUTO_TEST_CASE(tiny_model_boxes_scale_to_the_frame) {
  const TinyModel model;
  DnnDetector det(model.conf("wide", "confidence=0.5\n"));
  // 512x256: x scales by 8, y by 4 from the 64x64 input.
  const auto found = det.detect(frame_with_block(512, 256));
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].x == 128);
  BOOST_TEST(found[0].y == 128);
  BOOST_TEST(found[0].w == 128);
  BOOST_TEST(found[0].h == 64);
}

BOOST_AUTO_TEST_CASE(tiny_model_nms_and_thresholds) {
  const TinyModel model;
  const cv::Mat frame = frame_with_block(256, 256);

  // NMS off: the three anchors of the white cell, strongest first, 64, 80 and 96 px.
  DnnDetector no_nms(model.conf("no_nms", "confidence=0.5\nnms=1\n"));
  const auto three = no_nms.detect(frame);
  BOOST_TEST_REQUIRE(three.size() == 3u);
  for (int a = 0; a < 3; ++a) {
    const auto& d = three[static_cast<std::size_t>(a)];
    BOOST_TEST(std::abs(d.confidence - sigmoid(3 - a) * sigmoid(4)) < 2e-3);
    BOOST_TEST(d.w == 64 + 16 * a);
    BOOST_TEST(d.x + d.w / 2 == 96);
    BOOST_TEST(d.y + d.h / 2 == 160);
  }

  // Threshold 0: every cell has (tiny) boxes; NMS leaves one per cell, white cell first.
  DnnDetector zero(model.conf("zero", "confidence=0\nnms=0.4\n"));
  const auto all = zero.detect(frame);
  BOOST_TEST(all.size() == 16u);
  BOOST_TEST_REQUIRE(!all.empty());
  BOOST_TEST(all[0].confidence > 0.9);
  BOOST_TEST(all[0].x == 64);
  BOOST_TEST(all[1].confidence < 1e-6);

  // A threshold over the best score: nothing.
  DnnDetector high(model.conf("high", "confidence=0.99\n"));
  BOOST_TEST(high.detect(frame).empty());
}

BOOST_AUTO_TEST_CASE(tiny_model_setup_errors) {
  const TinyModel model;
  // Names that do not match the model's class count.
  write_text(model.dir + "/three.names", "a\nb\nc\n");
  std::string conf = model.dir + "/three.conf";
  write_text(conf, "model=tiny.weights\nconfig=tiny.cfg\nnames=three.names\n");
  try {
    DnnDetector d(conf);
    BOOST_FAIL("no exception for mismatched names");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("has 2 classes but names file") != std::string::npos,
               e.what());
  }
  // A network whose output is not YOLO rows.
  write_text(model.dir + "/plain.cfg", tiny_cfg(false));
  conf = model.dir + "/plain.conf";
  write_text(conf, "model=tiny.weights\nconfig=plain.cfg\ninput=64\n");
  try {
    DnnDetector d(conf);
    BOOST_FAIL("no exception for a non-YOLO network");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("is not a darknet output (rows of 5 + classes)") !=
                   std::string::npos,
               e.what());
  }
  // A model file that is not a network.
  write_text(model.dir + "/junk.onnx", "this is not a model");
  conf = model.dir + "/junk.conf";
  write_text(conf, "model=junk.onnx\n");
  std::string why;
  BOOST_TEST(!is_valid_capability("dnn:" + conf, {}, &why));
  BOOST_TEST(why.find("does not load") != std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(config_parsing) {
  const TinyModel model;
  const DnnConfig c = load_dnn_config(
      model.conf("full", "confidence=0.25\nnms=0.5\nscale=0.5\nswap_rb=false\nformat=yolov5\n"));
  BOOST_TEST(c.model == model.dir + "/tiny.weights");
  BOOST_TEST(c.config == model.dir + "/tiny.cfg");
  BOOST_TEST(c.names == model.dir + "/tiny.names");
  BOOST_TEST(c.input_width == 64);
  BOOST_TEST(c.input_height == 64);
  BOOST_TEST(c.confidence == 0.25f);
  BOOST_TEST(c.nms == 0.5f);
  BOOST_TEST(c.scale == 0.5);
  BOOST_TEST(!c.swap_rb);
  BOOST_TEST((c.format == DnnFormat::yolov5));

  const DnnConfig d = load_dnn_config(model.conf("defaults", ""));
  BOOST_TEST(d.confidence == 0.5f);
  BOOST_TEST(d.nms == 0.4f);
  BOOST_TEST(std::abs(d.scale - 1.0 / 255) < 1e-12);
  BOOST_TEST(d.swap_rb);
  BOOST_TEST((d.format == DnnFormat::darknet));

  write_text(model.dir + "/m.onnx", "x");
  write_text(model.dir + "/onnx.conf", "model=m.onnx\ninput_width=640\ninput_height=480\n");
  const DnnConfig o = load_dnn_config(model.dir + "/onnx.conf");
  BOOST_TEST((o.format == DnnFormat::yolov5));
  BOOST_TEST(o.input_width == 640);
  BOOST_TEST(o.input_height == 480);
  BOOST_TEST(o.config.empty());
}

BOOST_AUTO_TEST_CASE(config_errors) {
  const TinyModel model;
  const auto error_of = [&](const std::string& text) -> std::string {
    const std::string path = model.dir + "/bad.conf";
    write_text(path, text);
    try {
      load_dnn_config(path);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no error)";
  };
  const auto check = [&](const std::string& text, const std::string& expected) {
    const std::string e = error_of(text);
    BOOST_TEST(e.find(expected) != std::string::npos, "'" << e << "' lacks '" << expected << "'");
  };
  const std::string base = "model=tiny.weights\nconfig=tiny.cfg\n";
  check(base + "colour=red\n", "bad.conf:3: colour: unknown key");
  check(base + "confidence=high\n", "confidence: 'high' is not a number");
  check(base + "confidence=1.5\n", "confidence: must be in 0..1");
  check(base + "input=0\n", "input: '0' is not an integer in 1..4096");
  check(base + "input=64\ninput_width=32\n", "either input or input_width");
  check(base + "swap_rb=maybe\n", "not 0/1/true/false");
  check(base + "format=yolov9\n", "'yolov9' is not darknet, yolov5, yolov8 or ssd");
  check(base + "nms=0.3\nnms=0.4\n", "nms: given twice");
  check(base + "just words\n", "expected key=value");
  check(base + "names=\n", "names: empty value");
  check("config=tiny.cfg\n", "no model=");
  check("model=missing.weights\nconfig=tiny.cfg\n",
        "model file " + model.dir + "/missing.weights not found");
  check("model=tiny.weights\n", "needs config=");
  check("model=tiny.weights\nconfig=nope.cfg\n", "config file");
  check(base + "names=nope.names\n", "names file");
  BOOST_CHECK_THROW(load_dnn_config(model.dir + "/nope.conf"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
