#include "frame_render.hpp"

#include "framehive/shared/jpeg.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cstdio>

namespace fh::master {
namespace {

constexpr std::array<std::uint8_t, 8> k_png_signature = {0x89, 'P',  'N',  'G',
                                                         '\r', '\n', 0x1a, '\n'};

bool is_png(const std::vector<std::uint8_t>& b) {
  return b.size() >= 8 && std::equal(k_png_signature.begin(), k_png_signature.end(), b.begin());
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

/// A colour per label, stable across frames (a hash into a palette readable on video).
cv::Scalar colour_of(const std::string& label) {
  static const std::array<cv::Scalar, 8> k_palette = {
      cv::Scalar(60, 180, 75),  cv::Scalar(0, 130, 255), cv::Scalar(255, 120, 0),
      cv::Scalar(200, 40, 200), cv::Scalar(0, 200, 230), cv::Scalar(40, 40, 230),
      cv::Scalar(180, 180, 0),  cv::Scalar(120, 80, 255)};
  std::size_t h = 0;
  for (unsigned char c : label) h = h * 31 + c;
  return k_palette[h % k_palette.size()];
}

}  // namespace

std::vector<std::uint8_t> upload_to_jpeg(const std::string& content_type,
                                         const std::vector<std::uint8_t>& bytes,
                                         std::size_t max_pixels) {
  const std::string type = media_type(content_type);
  if (type != "image/jpeg" && type != "image/png") {
    throw ImageError(
        415, "unsupported Content-Type '" + content_type + "': send image/jpeg or image/png");
  }
  if (bytes.empty()) throw ImageError(400, "empty body: send the image as the request body");
  if (!is_png(bytes)) {
    const auto check = shared::check_jpeg(bytes.data(), bytes.size(), {max_pixels});
    if (check.error == shared::JpegError::too_large) {
      throw ImageError(413, "image " + check.message + " (the master's --max-pixels)");
    }
    if (!check.ok()) {
      throw ImageError(type == "image/png" ? 415 : 400,
                       "not a JPEG or PNG the workers can decode (" + check.message + ")");
    }
    return bytes;
  }
  // PNG: IHDR is the first chunk; its size bounds what the decoder allocates.
  if (bytes.size() < 33 || std::string(bytes.begin() + 12, bytes.begin() + 16) != "IHDR") {
    throw ImageError(400, "corrupt PNG: no IHDR chunk");
  }
  const std::uint64_t width = be32(&bytes[16]), height = be32(&bytes[20]);
  if (width == 0 || height == 0) throw ImageError(400, "corrupt PNG: zero width or height");
  if (width * height > max_pixels) {
    throw ImageError(413, "PNG of " + std::to_string(width) + "x" + std::to_string(height) +
                              " pixels, over the limit of " + std::to_string(max_pixels) +
                              " (the master's --max-pixels)");
  }
  cv::Mat image;
  try {
    image = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1,
                                 const_cast<std::uint8_t*>(bytes.data())),
                         cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    image.release();
  }
  if (image.empty() || static_cast<std::uint64_t>(image.cols) != width ||
      static_cast<std::uint64_t>(image.rows) != height) {
    throw ImageError(400, "corrupt PNG: it does not decode");
  }
  std::vector<std::uint8_t> jpeg;
  if (!cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95})) {
    throw ImageError(400, "the PNG could not be converted to JPEG");
  }
  return jpeg;
}

std::string render_frame(const std::vector<std::uint8_t>& jpeg,
                         const std::vector<Detection>& detections, const RenderOptions& options) {
  const auto check = shared::check_jpeg(jpeg.data(), jpeg.size());
  if (!check.ok() || check.width <= 0) return {};
  // Decode at a reduced scale when the requested width allows (libjpeg's DCT scaling).
  int reduce = 1;
  if (options.width > 0) {
    while (reduce < 8 && check.width / (reduce * 2) >= options.width) reduce *= 2;
  }
  const int flag = reduce == 8   ? cv::IMREAD_REDUCED_COLOR_8
                   : reduce == 4 ? cv::IMREAD_REDUCED_COLOR_4
                   : reduce == 2 ? cv::IMREAD_REDUCED_COLOR_2
                                 : cv::IMREAD_COLOR;
  cv::Mat image;
  try {
    image = cv::imdecode(
        cv::Mat(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<std::uint8_t*>(jpeg.data())),
        flag);
  } catch (const cv::Exception&) {
    return {};
  }
  if (image.empty()) return {};
  if (options.width > 0 && image.cols > options.width) {
    const double f = static_cast<double>(options.width) / image.cols;
    cv::resize(image, image, cv::Size(options.width, std::max(1, cvRound(image.rows * f))), 0, 0,
               cv::INTER_AREA);
  }
  if (options.boxes) {
    const double scale = static_cast<double>(image.cols) / check.width;
    const int thickness = std::max(1, image.cols / 320);
    const double font = std::clamp(image.cols / 900.0, 0.35, 1.2);
    for (const auto& d : detections) {
      const cv::Rect box(cvRound(d.x * scale), cvRound(d.y * scale), cvRound(d.w * scale),
                         cvRound(d.h * scale));
      const cv::Scalar colour = colour_of(d.label);
      cv::rectangle(image, box, colour, thickness);
      char text[300];
      std::snprintf(text, sizeof text, "%s %.0f%%", d.label.substr(0, 64).c_str(),
                    d.confidence * 100.0);
      int base = 0;
      const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font, 1, &base);
      const int top = std::max(0, box.y - size.height - base - 2);
      const int left = std::max(0, std::min(box.x, image.cols - size.width - 4));  // fits
      cv::rectangle(image, cv::Rect(left, top, size.width + 4, size.height + base + 2), colour,
                    cv::FILLED);
      cv::putText(image, text, cv::Point(left + 2, top + size.height), cv::FONT_HERSHEY_SIMPLEX,
                  font, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
  }
  std::vector<std::uint8_t> out;
  if (!cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, 85})) return {};
  return std::string(out.begin(), out.end());
}

std::string RenderCache::get(const std::string& task_id, const std::vector<std::uint8_t>& jpeg,
                             const std::vector<Detection>& detections,
                             const RenderOptions& options) {
  const std::string key =
      task_id + "|" + std::to_string(options.width) + "|" + (options.boxes ? "1" : "0");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  std::string out = render_frame(jpeg, detections, options);
  std::lock_guard<std::mutex> lock(mutex_);
  renders_++;
  if (out.empty() || out.size() > max_bytes_ || index_.count(key)) return out;
  lru_.emplace_front(key, out);
  index_[key] = lru_.begin();
  bytes_ += out.size();
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().second.size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return out;
}

std::uint64_t RenderCache::renders() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return renders_;
}

}  // namespace fh::master
