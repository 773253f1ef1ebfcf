#include "framehive/worker/detector_yolo.hpp"

#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cmath>
#include <map>

namespace fh::worker {
namespace {

cv::Rect clip_to_frame(const cv::Rect2d& b, const cv::Size& frame) {
  const int x0 = static_cast<int>(std::lround(std::clamp(b.x, 0.0, double(frame.width))));
  const int y0 = static_cast<int>(std::lround(std::clamp(b.y, 0.0, double(frame.height))));
  const int x1 = static_cast<int>(std::lround(std::clamp(b.x + b.width, 0.0, double(frame.width))));
  const int y1 =
      static_cast<int>(std::lround(std::clamp(b.y + b.height, 0.0, double(frame.height))));
  return {x0, y0, x1 - x0, y1 - y0};
}

}  // namespace

bool parse_yolo_layout(const std::string& text, YoloLayout& out) {
  if (text == "darknet") {
    out = YoloLayout::darknet;
  } else if (text == "yolov5") {
    out = YoloLayout::yolov5;
  } else if (text == "yolov8") {
    out = YoloLayout::yolov8;
  } else {
    return false;
  }
  return true;
}

std::vector<YoloBox> decode_yolo(const std::vector<cv::Mat>& outputs,
                                 const YoloDecodeParams& params) {
  std::vector<YoloBox> result;
  const cv::Size frame = params.frame_size;
  if (frame.width <= 0 || frame.height <= 0) return result;
  double sx = frame.width;  // darknet: fractions of the input -> frame pixels
  double sy = frame.height;
  if (params.layout != YoloLayout::darknet) {
    if (params.input_size.width <= 0 || params.input_size.height <= 0) return result;
    sx /= params.input_size.width;  // input pixels -> frame pixels
    sy /= params.input_size.height;
  }

  const bool v8 = params.layout == YoloLayout::yolov8;
  const int first_score = v8 ? 4 : 5;  // index of score_0 in a row
  std::map<int, ClassCandidates> by_class;
  cv::Mat transposed;
  for (const cv::Mat& raw : outputs) {
    if (raw.empty() || raw.depth() != CV_32F || raw.channels() != 1 || raw.dims < 2 ||
        !raw.isContinuous()) {
      continue;
    }
    cv::Mat out = raw;
    if (v8) {
      // [.., 4+C, N] with one image: rows of the transposed [N, 4+C].
      const int k = raw.size[raw.dims - 2];
      const int n = raw.size[raw.dims - 1];
      if (raw.total() != static_cast<std::size_t>(k) * static_cast<std::size_t>(n)) continue;
      cv::transpose(cv::Mat(k, n, CV_32F, const_cast<float*>(raw.ptr<float>())), transposed);
      out = transposed;
    }
    const int cols = out.size[out.dims - 1];
    if (cols < first_score + 1) continue;
    const std::size_t rows = out.total() / static_cast<std::size_t>(cols);
    const float* data = out.ptr<float>();
    for (std::size_t r = 0; r < rows; ++r) {
      const float* p = data + r * static_cast<std::size_t>(cols);
      const float* best = std::max_element(p + first_score, p + cols);
      const float conf = params.layout == YoloLayout::yolov5 ? p[4] * *best : *best;
      if (!(conf >= params.confidence) || !(conf > 0.0f)) continue;
      const double w = double(p[2]) * sx;
      const double h = double(p[3]) * sy;
      const double x = double(p[0]) * sx - w / 2;
      const double y = double(p[1]) * sy - h / 2;
      if (!std::isfinite(x) || !std::isfinite(y) || !(w > 0) || !(h > 0) || !std::isfinite(w) ||
          !std::isfinite(h)) {
        continue;
      }
      auto& c = by_class[static_cast<int>(best - (p + first_score))];
      c.boxes.emplace_back(x, y, w, h);
      c.scores.push_back(std::min(conf, 1.0f));
    }
  }

  return nms_per_class(by_class, frame, params.nms);
}

std::vector<YoloBox> nms_per_class(const std::map<int, ClassCandidates>& by_class, cv::Size frame,
                                   float nms) {
  std::vector<YoloBox> result;
  std::vector<int> keep;
  for (const auto& [class_id, c] : by_class) {
    keep.clear();
    if (nms < 1.0f) {
      cv::dnn::NMSBoxes(c.boxes, c.scores, /*score_threshold=*/0.0f, std::max(nms, 0.0f), keep);
    } else {
      keep.resize(c.boxes.size());
      for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = static_cast<int>(i);
    }
    for (const int i : keep) {
      const cv::Rect box = clip_to_frame(c.boxes[i], frame);
      if (box.width <= 0 || box.height <= 0) continue;
      result.push_back({class_id, c.scores[i], box});
    }
  }
  std::sort(result.begin(), result.end(), [](const YoloBox& a, const YoloBox& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.class_id != b.class_id) return a.class_id < b.class_id;
    if (a.box.x != b.box.x) return a.box.x < b.box.x;
    return a.box.y < b.box.y;
  });
  return result;
}

}  // namespace fh::worker
