// The bare loop the end-to-end benchmark is judged against: JPEG decode + detection of the same
// frames, on the same number of threads, with no network, queue or master. Frames are vtest.avi
// JPEG q80 (as the sender makes them by default). Prints one key=value line.
//   bench_detect_loop [--detector hog] [--threads 2] [--frames 200] [--first 0]
#include "framehive/worker/detector_factory.hpp"
#include "framehive/worker/detector_jpeg.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  std::string detector = "hog", video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  int threads = 2, frames = 200, first = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--detector")
      detector = v;
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--frames")
      frames = std::stoi(v);
    else if (k == "--first")
      first = std::stoi(v);
    else if (k == "--video")
      video = v;
  }
  cv::VideoCapture cap(video);
  cap.set(cv::CAP_PROP_POS_FRAMES, first);
  std::vector<std::vector<std::uint8_t>> jpegs;
  cv::Mat img;
  while (static_cast<int>(jpegs.size()) < frames && cap.read(img)) {
    std::vector<std::uint8_t> buf;
    cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 80});
    jpegs.push_back(std::move(buf));
  }
  fh::worker::DetectorOptions opts;
  opts.threads = 1;
  std::atomic<std::size_t> next{0};
  std::atomic<long> detections{0};
  std::vector<double> detect_ms(jpegs.size());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      auto det = fh::worker::make_detector(detector, opts);
      for (std::size_t i; (i = next++) < jpegs.size();) {
        const auto s = std::chrono::steady_clock::now();
        auto decoded = fh::worker::decode_jpeg(jpegs[i]);
        auto r = det->run(decoded.bgr);
        detections += static_cast<long>(r.detections.size());
        detect_ms[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
      }
    });
  }
  for (auto& t : pool) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> sorted = detect_ms;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "detector=%s threads=%d frames=%zu seconds=%.3f frames_per_s=%.2f "
      "decode_detect_ms_p50=%.1f decode_detect_ms_mean=%.2f detections=%ld\n",
      detector.c_str(), threads, jpegs.size(), secs, static_cast<double>(jpegs.size()) / secs,
      sorted.empty() ? 0.0 : sorted[sorted.size() / 2],
      sorted.empty() ? 0.0 : std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size(),
      detections.load());
  return 0;
}
