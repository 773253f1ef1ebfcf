#include "uploads.hpp"

#include "framehive/shared/jpeg.hpp"

#include <atomic>
#include <chrono>
#include <memory>

namespace fh::master {

Upload add_upload(Scheduler& scheduler, std::vector<std::uint8_t> jpeg, std::string detector,
                  const std::string& name) {
  if (detector.size() > 256) throw RequestError("detector: at most 256 bytes");
  for (unsigned char c : detector) {
    if (c <= ' ' || c >= 127) throw RequestError("detector: no spaces or control characters");
  }
  static std::atomic<std::int64_t> next_id{1};
  Frame f;
  f.port = shared::api::k_upload_port;
  std::string shown = name.substr(0, 128);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < ' ' || c == 127) c = '_';
  }
  f.stream = "upload:" + (shown.empty() ? std::string("image") : shown);
  f.frame_id = next_id++;
  f.captured_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto check = shared::check_jpeg(jpeg.data(), jpeg.size());
  f.width = check.width;
  f.height = check.height;
  f.image = std::make_shared<const std::vector<std::uint8_t>>(std::move(jpeg));
  f.detector = std::move(detector);
  std::vector<Frame> frames;
  frames.push_back(std::move(f));
  Upload out;
  out.task_id = scheduler.add_frames(std::move(frames)).at(0);
  const auto info = scheduler.task_info(out.task_id);
  out.detector = info ? info->detector : std::string();
  out.waiting = !scheduler.detector_offered(out.detector);
  return out;
}

}  // namespace fh::master
