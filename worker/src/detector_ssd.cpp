#include "framehive/worker/detector_ssd.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace fh::worker {

bool is_ssd_output(const cv::Mat& m) {
  return m.depth() == CV_32F && m.channels() == 1 && m.dims == 4 && m.size[0] == 1 &&
         m.size[1] == 1 && m.size[3] == k_ssd_row;
}

std::vector<YoloBox> decode_ssd(const std::vector<cv::Mat>& outputs,
                                const SsdDecodeParams& params) {
  const cv::Size frame = params.frame_size;
  if (frame.width <= 0 || frame.height <= 0) return {};
  std::map<int, ClassCandidates> by_class;
  for (const cv::Mat& out : outputs) {
    if (!is_ssd_output(out) || !out.isContinuous()) continue;
    const int rows = out.size[2];
    const float* data = out.ptr<float>();
    for (int r = 0; r < rows; ++r) {
      const float* p = data + static_cast<std::size_t>(r) * k_ssd_row;
      if (p[0] != 0.0f) continue;  // another image, or padding (-1)
      const float conf = p[2];
      if (!std::isfinite(p[1]) || p[1] < -0.5f || p[1] > 1e6f) continue;
      if (!(conf >= params.confidence) || !(conf > 0.0f)) continue;
      const double x1 = double(p[3]) * frame.width;
      const double y1 = double(p[4]) * frame.height;
      const double x2 = double(p[5]) * frame.width;
      const double y2 = double(p[6]) * frame.height;
      if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2) ||
          !(x2 > x1) || !(y2 > y1)) {
        continue;
      }
      auto& c = by_class[static_cast<int>(std::lround(p[1]))];
      c.boxes.emplace_back(x1, y1, x2 - x1, y2 - y1);
      c.scores.push_back(std::min(conf, 1.0f));
    }
  }
  return nms_per_class(by_class, frame, params.nms);
}

}  // namespace fh::worker
