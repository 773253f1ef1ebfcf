#pragma once
// Pictures for people (docs/http-api.md): a frame's JPEG with its detections drawn (boxes,
// label and confidence), optionally scaled down, rendered on demand (when someone looks) and
// cached; and the conversion of an uploaded still image (JPEG or PNG) into the JPEG a task
// carries, with the same pixel bound as frames checked on the header before any decode.
// Thread-safe: the cache has its own lock; rendering runs unlocked.

#include "framehive/master/types.hpp"

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace fh::master {

/// Why an upload is refused: the HTTP status it means (400, 413, 415) and a message.
struct ImageError : std::runtime_error {
  ImageError(int status, const std::string& message)
      : std::runtime_error(message), http_status(status) {}
  int http_status;
};

/// The JPEG of an uploaded image: JPEG bytes as they are (checked), PNG converted (quality 95).
/// content_type: "image/jpeg" or "image/png" (parameters after ';' ignored); throws ImageError
/// (415 for another type or bytes that are neither, 413 over max_pixels, 400 undecodable).
std::vector<std::uint8_t> upload_to_jpeg(const std::string& content_type,
                                         const std::vector<std::uint8_t>& bytes,
                                         std::size_t max_pixels);

struct RenderOptions {
  int width = 0;      ///< scale to this width (0: as captured; never enlarged)
  bool boxes = true;  ///< draw the detections
};

/// The JPEG of a frame with detections drawn; empty when the JPEG does not decode.
std::string render_frame(const std::vector<std::uint8_t>& jpeg,
                         const std::vector<Detection>& detections, const RenderOptions& options);

/// Renders kept by (task id, options), least recently used out beyond max_bytes.
class RenderCache {
 public:
  explicit RenderCache(std::size_t max_bytes = std::size_t{32} << 20) : max_bytes_(max_bytes) {}
  /// The cached render, or renders it (unlocked; two callers may render the same frame once
  /// each) and keeps it.
  std::string get(const std::string& task_id, const std::vector<std::uint8_t>& jpeg,
                  const std::vector<Detection>& detections, const RenderOptions& options);
  std::uint64_t renders() const;  ///< frames rendered so far (cache misses)

 private:
  using Entry = std::pair<std::string, std::string>;  ///< key, JPEG
  std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  ///< most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t bytes_ = 0;
  std::uint64_t renders_ = 0;
};

}  // namespace fh::master
