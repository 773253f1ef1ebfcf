#pragma once
// Uploaded still images as tasks (docs/http-api.md, POST /api/v1/images; XML-RPC add_image):
// the image becomes an ordinary frame of the reserved source port 0 (stream "upload:NAME"),
// in the same queue as camera frames: capability-aware, retried, recorded. Thread-safe.

#include "framehive/master/scheduler.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fh::master {

struct Upload {
  std::string task_id;
  std::string detector;  ///< the one it waits for
  bool waiting = false;  ///< no live worker offers the detector now
};

/// Queues a JPEG (already checked: upload_to_jpeg) for detector (empty: the master's default
/// for port 0). name is what the stream shows (cut to 128 bytes, control characters replaced).
/// Throws RequestError for a malformed detector name, LimitError when too many uploads wait.
Upload add_upload(Scheduler& scheduler, std::vector<std::uint8_t> jpeg, std::string detector,
                  const std::string& name);

}  // namespace fh::master
