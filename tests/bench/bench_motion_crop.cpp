// What --motion-crop costs in recall and saves in detection time, per detector: motion boxes
// come from the video itself (OpenCV MOG2 background subtraction on a 320 px wide gray copy,
// like a camera-side detector; not framehive-sender's own, which is built separately), each
// frame with motion is detected whole and on its crops (the worker's plan_crops() defaults and
// the detector's min_window()), and full-frame detections are the reference. Frames go through
// JPEG q80 first, as a worker receives them. Prints a table.
//   bench_motion_crop [--detector hog] [--video PATH] [--frames 300] [--step 1] [--warmup 30]
//                     [--pad 0.25] [--pad-px 16]   (CropParams pad_fraction, pad_pixels)
// recall: full-frame detections matched by a cropped one (same label, IoU >= 0.5); moving:
// the same over the full-frame detections that overlap a motion box (the others are objects
// standing still, which crops skip by design; keep-alive frames re-check them whole);
// floor: the same recall of the detector on the whole frame shifted by 4 px (the view
// cropped from (4,4)), i.e. how far the detector's own output moves with the pixel grid,
// which bounds what any crop can match; extra: cropped detections that match no full-frame one;
// time: detector ms per motion frame (1 OpenCV thread), full vs cropped (plan + crops); saved = 1 -
// cropped/full.
#include "framehive/worker/crop_detect.hpp"
#include "framehive/worker/crop_plan.hpp"
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_jpeg.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

using fh::worker::Detection;

double iou(const Detection& a, const Detection& b) {
  const cv::Rect ra(a.x, a.y, a.w, a.h), rb(b.x, b.y, b.w, b.h);
  const double inter = (ra & rb).area();
  return inter / (ra.area() + rb.area() - inter);
}

/// Greedy one-to-one matching at IoU >= 0.5, same label: how many of ref are found.
std::size_t matched(const std::vector<Detection>& ref, const std::vector<Detection>& got) {
  std::vector<bool> used(got.size(), false);
  std::size_t n = 0;
  for (const auto& r : ref) {
    double best = 0.5;
    int at = -1;
    for (std::size_t j = 0; j < got.size(); ++j) {
      if (used[j] || got[j].label != r.label) continue;
      const double v = iou(r, got[j]);
      if (v >= best) best = v, at = static_cast<int>(j);
    }
    if (at >= 0) used[static_cast<std::size_t>(at)] = true, ++n;
  }
  return n;
}

/// Motion boxes of a frame in frame pixels: MOG2 on a 320 px wide gray copy, shadows and
/// speckle removed, contours of at least min_area (of the small image), the 16 largest.
class MotionBoxes {
 public:
  std::vector<cv::Rect2d> operator()(const cv::Mat& bgr) {
    const double s = 320.0 / bgr.cols;
    cv::resize(bgr, small_, cv::Size(), s, s, cv::INTER_AREA);
    cv::cvtColor(small_, gray_, cv::COLOR_BGR2GRAY);
    cv::GaussianBlur(gray_, gray_, cv::Size(5, 5), 0);
    mog_->apply(gray_, mask_);
    cv::threshold(mask_, mask_, 200, 255, cv::THRESH_BINARY);  // drop shadows (127)
    cv::morphologyEx(mask_, mask_, cv::MORPH_OPEN, kernel_);
    cv::dilate(mask_, mask_, kernel_, cv::Point(-1, -1), 2);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask_, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    std::vector<cv::Rect> rects;
    for (const auto& c : contours) {
      const cv::Rect r = cv::boundingRect(c);
      if (r.area() >= 40) rects.push_back(r);
    }
    std::sort(rects.begin(), rects.end(),
              [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });
    if (rects.size() > 16) rects.resize(16);
    std::vector<cv::Rect2d> out;
    for (const auto& r : rects) out.emplace_back(r.x / s, r.y / s, r.width / s, r.height / s);
    return out;
  }

 private:
  cv::Ptr<cv::BackgroundSubtractorMOG2> mog_ = cv::createBackgroundSubtractorMOG2(500, 16, true);
  cv::Mat kernel_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
  cv::Mat small_, gray_, mask_;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string detector = "hog", video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  int frames = 300, step = 1, warmup = 30;
  const fh::worker::CropParams defaults;
  double pad = defaults.pad_fraction;
  int pad_px = defaults.pad_pixels;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--detector") {
      detector = v;
    } else if (k == "--video") {
      video = v;
    } else if (k == "--frames") {
      frames = std::stoi(v);
    } else if (k == "--step") {
      step = std::max(1, std::stoi(v));
    } else if (k == "--warmup") {
      warmup = std::stoi(v);
    } else if (k == "--pad") {
      pad = std::stod(v);
    } else if (k == "--pad-px") {
      pad_px = std::stoi(v);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  cv::VideoCapture cap(video);
  if (!cap.isOpened()) {
    std::fprintf(stderr, "cannot open %s\n", video.c_str());
    return 1;
  }
  auto det = fh::worker::make_detector(detector);  // 1 OpenCV thread
  fh::worker::CropParams params;
  params.min_window = det->min_window();
  params.pad_fraction = pad;
  params.pad_pixels = pad_px;
  MotionBoxes motion;

  std::map<std::string, int> decisions;
  std::size_t looked = 0, motion_frames = 0, ref_total = 0, found_total = 0, extra_total = 0;
  std::size_t moving_total = 0, moving_found = 0, shifted_found = 0;
  double full_ms = 0, crop_ms = 0, coverage_sum = 0;
  cv::Mat img;
  for (int index = 0; cap.read(img) && static_cast<int>(looked) < frames; ++index) {
    const auto boxes = motion(img);  // every frame feeds the background model
    if (index < warmup || (index - warmup) % step != 0) continue;
    ++looked;
    if (boxes.empty()) continue;  // a gating sender would not send it
    ++motion_frames;
    std::vector<std::uint8_t> jpeg;
    cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
    const cv::Mat frame = fh::worker::decode_jpeg(jpeg).bgr;

    auto t0 = std::chrono::steady_clock::now();
    const auto full = det->run(frame);
    full_ms += ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto plan = fh::worker::plan_crops_px(boxes, frame.size(), params);
    const auto cropped =
        plan.cropped() ? fh::worker::detect_in_regions(*det, frame, plan.regions) : det->run(frame);
    crop_ms += ms_since(t0);
    if (!full.ok() || !cropped.ok()) {
      std::fprintf(stderr, "detector error: %s%s\n", full.error.c_str(), cropped.error.c_str());
      return 1;
    }
    decisions[fh::worker::crop_decision_name(plan.decision)]++;
    coverage_sum += plan.coverage;
    const std::size_t m = matched(full.detections, cropped.detections);
    const cv::Rect shift(4, 4, frame.cols - 4, frame.rows - 4);
    const auto shifted = fh::worker::detect_in_regions(*det, frame, {shift});
    shifted_found += matched(full.detections, shifted.detections);
    ref_total += full.detections.size();
    found_total += m;
    std::vector<Detection> moving;
    for (const auto& d : full.detections) {
      for (const auto& b : boxes) {
        if ((cv::Rect2d(d.x, d.y, d.w, d.h) & b).area() > 0) {
          moving.push_back(d);
          break;
        }
      }
    }
    moving_total += moving.size();
    moving_found += matched(moving, cropped.detections);
    extra_total += cropped.detections.size() - matched(cropped.detections, full.detections);
  }
  std::string decided;
  for (const auto& [k, v] : decisions)
    decided += (decided.empty() ? "" : " ") + k + "=" + std::to_string(v);
  const double n = std::max<std::size_t>(motion_frames, 1);
  std::printf("%-18s %-13s %5s %6s %6s %8s %9s %6s %7s %7s %7s %6s %8s %8s %6s  %s\n", "detector",
              "video", "pad", "frames", "motion", "coverage", "reference", "floor", "recall",
              "moving", "recall", "extra", "full_ms", "crop_ms", "saved", "plans");
  std::printf(
      "%-18s %-13s %5s %6zu %6zu %7.1f%% %9zu %5.1f%% %6.1f%% %7zu %6.1f%% %6zu %8.1f %8.1f "
      "%5.0f%%  %s\n",
      detector.c_str(), video.substr(video.find_last_of('/') + 1).c_str(),
      (std::to_string(static_cast<int>(pad * 100)) + "+" + std::to_string(pad_px)).c_str(), looked,
      motion_frames, 100.0 * coverage_sum / n, ref_total,
      ref_total ? 100.0 * shifted_found / ref_total : 100.0,
      ref_total ? 100.0 * found_total / ref_total : 100.0, moving_total,
      moving_total ? 100.0 * moving_found / moving_total : 100.0, extra_total, full_ms / n,
      crop_ms / n, full_ms > 0 ? 100.0 * (1 - crop_ms / full_ms) : 0.0, decided.c_str());
  return 0;
}
