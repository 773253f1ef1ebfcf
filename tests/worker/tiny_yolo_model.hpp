#pragma once
// A tiny Darknet YOLO model written by the tests themselves (no weights can be downloaded).
// Not thread-safe (use from the test thread).
//
// The model: 64x64 input -> [maxpool 16x16] -> 4x4 grid -> [1x1 conv, 21 filters] ->
// [yolo] with 3 anchors (16, 20, 24 px) and 2 classes. Conv weights are zero except the
// objectness filters, which see the pooled brightness: anchor a's objectness logit is
// 10 * (R + G + B) - 27 - a, so a white cell gives logits 3, 2, 1 (objectness 0.953,
// 0.881, 0.731) and a black cell about -27 (~2e-12). Class logits are +4 / -4 from the
// biases, so class 0 ("widget") wins with p = 0.982. Boxes sit at the cell centre with the
// anchor's size. In-layer NMS is off (nms_threshold=0), so only decode_yolo() suppresses.

#include "test_util.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace fh::worker::test {

constexpr int k_anchors = 3;
constexpr int k_classes = 2;
constexpr int k_filters = k_anchors * (5 + k_classes);

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  BOOST_TEST_REQUIRE(out.good(), "cannot write " << path);
}

/// The Darknet cfg. with_yolo=false leaves the conv output as the net's output (not YOLO).
inline std::string tiny_cfg(bool with_yolo = true) {
  std::string cfg =
      "[net]\nwidth=64\nheight=64\nchannels=3\n\n"
      "[maxpool]\nsize=16\nstride=16\npadding=0\n\n"
      "[convolutional]\nsize=1\nstride=1\npad=0\nfilters=" +
      std::to_string(k_filters) + "\nactivation=linear\n\n";
  if (with_yolo) {
    cfg += "[yolo]\nmask=0,1,2\nanchors=16,16, 20,20, 24,24\nclasses=" + std::to_string(k_classes) +
           "\nnum=3\nthresh=0\nnms_threshold=0\n";
  }
  return cfg;
}

/// The Darknet weights: header (major 0, minor 2, revision 0, seen as uint64), then the
/// conv layer's biases [filters] and weights [filters][3][1][1].
inline void write_tiny_weights(const std::string& path) {
  std::vector<float> bias(k_filters, 0.0f);
  std::vector<float> weights(k_filters * 3, 0.0f);
  for (int a = 0; a < k_anchors; ++a) {
    const int base = a * (5 + k_classes);
    bias[base + 4] = -27.0f - static_cast<float>(a);  // objectness
    for (int c = 0; c < 3; ++c) weights[(base + 4) * 3 + c] = 10.0f;
    bias[base + 5] = 4.0f;   // class 0
    bias[base + 6] = -4.0f;  // class 1
  }
  std::ofstream out(path, std::ios::binary);
  const std::int32_t header[3] = {0, 2, 0};
  const std::uint64_t seen = 0;
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
  out.write(reinterpret_cast<const char*>(bias.data()), bias.size() * sizeof(float));
  out.write(reinterpret_cast<const char*>(weights.data()), weights.size() * sizeof(float));
  BOOST_TEST_REQUIRE(out.good());
}

/// A directory with tiny.cfg, tiny.weights, tiny.names and helpers to write configs.
struct TinyModel {
  std::string dir = fh::test::make_temp_dir("worker-dnn");

  TinyModel() {
    write_text(dir + "/tiny.cfg", tiny_cfg());
    write_tiny_weights(dir + "/tiny.weights");
    write_text(dir + "/tiny.names", "widget\ngadget\n");
  }

  /// Writes <name>.conf with the model lines plus extra; returns its path.
  std::string conf(const std::string& name, const std::string& extra) const {
    const std::string path = dir + "/" + name + ".conf";
    write_text(path,
               "# tiny test model\nmodel = tiny.weights\nconfig=tiny.cfg\nnames=tiny.names\n"
               "input=64\n" +
                   extra);
    return path;
  }
};

/// A black frame of the given size with a white block on grid cell (col 1, row 2) of 4x4.
inline cv::Mat frame_with_block(int w, int h) {
  cv::Mat m(h, w, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(m, cv::Rect(w / 4, h / 2, w / 4, h / 4), cv::Scalar::all(255), cv::FILLED);
  return m;
}

}  // namespace fh::worker::test
