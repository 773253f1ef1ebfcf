// The dnn detector on real model files of each supported layout, built by the test itself with
// tests/worker/make_dnn_models.py (Debian's python3-onnx; no weights can be downloaded): SSD as
// ONNX and as Caffe (the MobileNet-SSD head: PriorBox + DetectionOutput), YOLOv8 [1, 4+C, N]
// and YOLOv5 [1, N, 5+C] as ONNX. Each decodes the known boxes of its model (see the script's
// notes: a white 64x64-grid cell is "widget", a blue one "gadget"), with classes, confidences,
// names, NMS, mean and the errors for a model whose output is not its config's layout.
#include "detector_test_util.hpp"
#include "tiny_yolo_model.hpp"

#include "framehive/worker/detector_dnn.hpp"
#include "framehive/worker/detector_dnn_config.hpp"
#include "framehive/worker/detector_factory.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdlib>
#include <stdexcept>

using namespace fh::worker;

namespace {

using test::sigmoid;
using test::write_text;

/// The models, written once per test process.
const std::string& model_dir() {
  static const std::string dir = [] {
    const std::string d = fh::test::make_temp_dir("worker-dnn-models");
    const std::string cmd =
        "/usr/bin/python3 " + std::string(FH_SOURCE_DIR) + "/tests/worker/make_dnn_models.py " + d;
    const int rc = std::system(cmd.c_str());
    BOOST_TEST_REQUIRE(rc == 0, cmd << " failed (exit " << rc
                                    << "); scripts/install-deps.sh installs python3-onnx");
    return d;
  }();
  return dir;
}

/// Writes <name>.conf in the model directory; returns "dnn:<path>".
std::string conf(const std::string& name, const std::string& text) {
  const std::string path = model_dir() + "/" + name + ".conf";
  write_text(path, "# test model\n" + text);
  return "dnn:" + path;
}

/// 256x256 black, the grid cell (col 1, row 2) white and (col 3, row 0) blue: with 64 px
/// cells, white (64,128)-(128,192) and blue (192,0)-(256,64).
cv::Mat scene() {
  cv::Mat m(256, 256, CV_8UC3, cv::Scalar::all(0));
  m(cv::Rect(64, 128, 64, 64)).setTo(cv::Scalar::all(255));
  m(cv::Rect(192, 0, 64, 64)).setTo(cv::Scalar(255, 0, 0));  // BGR blue
  return m;
}

std::string error_of(const std::string& capability) {
  std::string why;
  BOOST_TEST(!is_valid_capability(capability, {}, &why), capability << " loaded");
  return why;
}

bool near(double a, double b, double tol = 2e-3) { return std::abs(a - b) <= tol; }

double softmax0(double a, double b, double c) {
  return std::exp(a) / (std::exp(a) + std::exp(b) + std::exp(c));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(detector_dnn_models)

BOOST_AUTO_TEST_CASE(ssd_onnx) {
  auto det =
      make_detector(conf("ssd_onnx", "model=ssd.onnx\nnames=ssd.names\ninput=64\nformat=ssd\n"));
  const auto found = det->detect(scene());
  BOOST_TEST_REQUIRE(found.size() == 2u);
  // Widget: conf logit 2+2+4-3 = 5; the box is its cell.
  BOOST_TEST(found[0].label == "widget");
  BOOST_TEST(near(found[0].confidence, sigmoid(5)), found[0].confidence);
  BOOST_TEST(
      (cv::Rect(found[0].x, found[0].y, found[0].w, found[0].h) == cv::Rect(64, 128, 64, 64)));
  // Gadget: 4-3 = 1.
  BOOST_TEST(found[1].label == "gadget");
  BOOST_TEST(near(found[1].confidence, sigmoid(1)), found[1].confidence);
  BOOST_TEST(
      (cv::Rect(found[1].x, found[1].y, found[1].w, found[1].h) == cv::Rect(192, 0, 64, 64)));
  // Through JPEG, as a worker gets frames: the same boxes.
  const auto jpeg = det->detect(test::via_jpeg(scene()));
  BOOST_TEST(jpeg.size() == 2u);
  // Frame size other than the input: boxes scale (512x256 doubles x).
  cv::Mat wide;
  cv::resize(scene(), wide, cv::Size(512, 256), 0, 0, cv::INTER_NEAREST);
  const auto w = det->detect(wide);
  BOOST_TEST_REQUIRE(w.size() == 2u);
  BOOST_TEST((cv::Rect(w[0].x, w[0].y, w[0].w, w[0].h) == cv::Rect(128, 128, 128, 64)));
  // The confidence threshold.
  auto strict = make_detector(
      conf("ssd_onnx_strict",
           "model=ssd.onnx\nnames=ssd.names\ninput=64\nformat=ssd\nconfidence=0.9\n"));
  BOOST_TEST(strict->detect(scene()).size() == 1u);
  BOOST_TEST(det->detect(cv::Mat(256, 256, CV_8UC3, cv::Scalar::all(0))).empty());
}

BOOST_AUTO_TEST_CASE(ssd_mean_is_per_channel_in_network_order) {
  // swap_rb=1 feeds R, G, B: mean 0,0,255 removes blue only. The blue cell turns black
  // (nothing); the white one turns yellow: class logit -100 -> widget, conf 2+2-3 = 1.
  auto det = make_detector(
      conf("ssd_mean", "model=ssd.onnx\nnames=ssd.names\ninput=64\nformat=ssd\nmean=0, 0, 255\n"));
  const auto found = det->detect(scene());
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].label == "widget");
  BOOST_TEST(near(found[0].confidence, sigmoid(1)), found[0].confidence);
  // One value for every channel: everything at or below 0 -> black -> nothing.
  auto dark = make_detector(
      conf("ssd_mean1", "model=ssd.onnx\nnames=ssd.names\ninput=64\nformat=ssd\nmean=255\n"));
  BOOST_TEST(dark->detect(scene()).empty());
}

BOOST_AUTO_TEST_CASE(ssd_caffe_mobilenet_head) {
  // PriorBox (16 px, one per cell) + DetectionOutput (softmax over background, widget,
  // gadget; its own NMS): the format is ssd by default for a .caffemodel.
  const std::string cap =
      conf("ssd_caffe", "model=ssd.caffemodel\nconfig=ssd.prototxt\nnames=ssd.names\ninput=64\n");
  auto det = make_detector(cap);
  const auto* dnn = dynamic_cast<DnnDetector*>(det.get());
  BOOST_TEST_REQUIRE(dnn != nullptr);
  BOOST_TEST((dnn->config().format == DnnFormat::ssd));
  BOOST_TEST(dnn->class_count() == 0);  // the model numbers its classes
  BOOST_TEST(dnn->min_window() == cv::Size(64, 64));
  const auto found = det->detect(test::via_jpeg(scene()));
  BOOST_TEST_REQUIRE(found.size() == 2u);
  // White: logits bg -9, widget 6, gadget -5. Blue: bg -1, widget -2, gadget 3.
  BOOST_TEST(found[0].label == "widget");
  BOOST_TEST(near(found[0].confidence, softmax0(6, -9, -5)), found[0].confidence);
  BOOST_TEST(
      (cv::Rect(found[0].x, found[0].y, found[0].w, found[0].h) == cv::Rect(64, 128, 64, 64)));
  BOOST_TEST(found[1].label == "gadget");
  BOOST_TEST(near(found[1].confidence, softmax0(3, -1, -2)), found[1].confidence);
  BOOST_TEST(
      (cv::Rect(found[1].x, found[1].y, found[1].w, found[1].h) == cv::Rect(192, 0, 64, 64)));

  // Without names: labels are the model's class ids.
  auto bare = make_detector(
      conf("ssd_caffe_bare", "model=ssd.caffemodel\nconfig=ssd.prototxt\ninput=64\n"));
  const auto ids = bare->detect(scene());
  BOOST_TEST_REQUIRE(ids.size() == 2u);
  BOOST_TEST(ids[0].label == "class1");
  BOOST_TEST(ids[1].label == "class2");
}

BOOST_AUTO_TEST_CASE(yolov8_onnx) {
  auto det = make_detector(
      conf("yolov8", "model=yolov8.onnx\nnames=yolo.names\ninput=64\nformat=yolov8\n"));
  const auto* dnn = dynamic_cast<DnnDetector*>(det.get());
  BOOST_TEST_REQUIRE(dnn != nullptr);
  BOOST_TEST(dnn->class_count() == 2);
  const auto found = det->detect(test::via_jpeg(scene()));
  BOOST_TEST_REQUIRE(found.size() == 2u);
  // 24x24 input px on the cell centre -> 96x96 frame px; no objectness.
  BOOST_TEST(found[0].label == "widget");
  BOOST_TEST(near(found[0].confidence, sigmoid(5)), found[0].confidence);
  BOOST_TEST(
      (cv::Rect(found[0].x, found[0].y, found[0].w, found[0].h) == cv::Rect(48, 112, 96, 96)));
  BOOST_TEST(found[1].label == "gadget");
  BOOST_TEST(near(found[1].confidence, sigmoid(1)), found[1].confidence);
  // Centre (224, 32): clipped to the frame.
  BOOST_TEST(
      (cv::Rect(found[1].x, found[1].y, found[1].w, found[1].h) == cv::Rect(176, 0, 80, 80)));
}

BOOST_AUTO_TEST_CASE(yolov8_nms) {
  // Two white cells side by side: their 96x96 boxes overlap by IoU 0.2.
  cv::Mat two(256, 256, CV_8UC3, cv::Scalar::all(0));
  two(cv::Rect(64, 128, 128, 64)).setTo(cv::Scalar::all(255));
  const std::string base = "model=yolov8.onnx\nnames=yolo.names\ninput=64\nformat=yolov8\n";
  BOOST_TEST(make_detector(conf("v8_nms_loose", base + "nms=0.3\n"))->detect(two).size() == 2u);
  BOOST_TEST(make_detector(conf("v8_nms_tight", base + "nms=0.1\n"))->detect(two).size() == 1u);
  BOOST_TEST(make_detector(conf("v8_nms_off", base + "nms=1\n"))->detect(two).size() == 2u);
}

BOOST_AUTO_TEST_CASE(yolov5_onnx) {
  // The default format of an .onnx model. Confidence = objectness * class score.
  auto det = make_detector(conf("yolov5", "model=yolov5.onnx\nnames=yolo.names\ninput=64\n"));
  const auto found = det->detect(scene());
  BOOST_TEST_REQUIRE(found.size() == 2u);
  BOOST_TEST(found[0].label == "widget");
  BOOST_TEST(near(found[0].confidence, sigmoid(9) * sigmoid(5)), found[0].confidence);
  BOOST_TEST(
      (cv::Rect(found[0].x, found[0].y, found[0].w, found[0].h) == cv::Rect(48, 112, 96, 96)));
  BOOST_TEST(found[1].label == "gadget");
  BOOST_TEST(near(found[1].confidence, sigmoid(5) * sigmoid(1)), found[1].confidence);
}

BOOST_AUTO_TEST_CASE(each_layout_at_opsets_11_to_17) {
  // The same graphs exported at other opsets load and decode the same (opset 12 above).
  for (const int opset : {11, 13, 17}) {
    const std::string op = "_op" + std::to_string(opset);
    for (const auto& [model, extra] :
         {std::pair<std::string, std::string>{"ssd", "format=ssd\nnames=ssd.names\n"},
          {"yolov8", "format=yolov8\nnames=yolo.names\n"},
          {"yolov5", "names=yolo.names\n"}}) {
      auto det = make_detector(
          conf(model + op, "model=" + model + op + ".onnx\ninput=64\nconfidence=0.9\n" + extra));
      const auto found = det->detect(scene());
      BOOST_TEST_REQUIRE(found.size() == 1u, model << op);
      BOOST_TEST(found[0].label == "widget", model << op);
      BOOST_TEST(found[0].confidence > 0.99, model << op);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_model_in_another_layout_is_a_clear_error) {
  const auto check = [](const std::string& name, const std::string& text,
                        const std::string& expected) {
    const std::string e = error_of(conf(name, text));
    BOOST_TEST(e.find(expected) != std::string::npos, "'" << e << "' lacks '" << expected << "'");
  };
  check("v8_as_ssd", "model=yolov8.onnx\ninput=64\nformat=ssd\n",
        "output [1, 6, 16] is not a ssd output ([1, 1, N, 7])");
  check("ssd_as_v8", "model=ssd.onnx\ninput=64\nformat=yolov8\n",
        "output [1, 1, 16, 7] is not a yolov8 output ([1, 4 + classes, N])");
  check("fm_as_v5", "model=feature_map.onnx\ninput=64\n",
        "output [1, 7, 4, 4] is not a yolov5 output (rows of 5 + classes)");
  check("fm_as_ssd", "model=feature_map.onnx\ninput=64\nformat=ssd\n", "is not a ssd output");
  check("v8_names", "model=yolov8.onnx\ninput=64\nformat=yolov8\nnames=ssd.names\n",
        "has 2 classes but names file");
  // The stock YOLOv8 head's stride multiply: loads, fails on its first forward pass in 4.6.
  check("v8_stock", "model=yolov8_stock_head.onnx\ninput=64\nformat=yolov8\n",
        "fails on a 64x64 input");
  // A Caffe model needs its prototxt.
  check("caffe_no_proto", "model=ssd.caffemodel\ninput=64\n", "needs config=<deploy.prototxt>");
}

BOOST_AUTO_TEST_SUITE_END()
