#pragma once
// Everything framehive-receiver is told on its command line, validated. Plain value type.

#include "framehive/receiver/reassembler.hpp"
#include "framehive/shared/jpeg.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fh::receiver {

struct ReceiverConfig {
  std::string bind_address = "0.0.0.0";  ///< local address to listen on (all IPv4 interfaces)
  std::vector<std::uint16_t> ports;      ///< one UDP port per camera
  std::size_t rcvbuf = 8u << 20;         ///< SO_RCVBUF to ask for, bytes
  ReassemblerConfig reassembly;          ///< timeouts and memory caps
  /// Complete frames whose JPEG header declares more pixels are dropped (counted too_large).
  std::size_t max_pixels = shared::k_default_max_jpeg_pixels;
  std::size_t queue_per_port = 64;  ///< complete frames queued per port (oldest dropped)
  double stats_interval = 5.0;      ///< seconds between stats lines on stderr, 0 = off
  /// seconds between reports of the per-port counters to the sink (the master's
  /// report_receiver), 0 = off
  double report_interval = 5.0;
  std::string dump_dir;     ///< --dump DIR, empty when not dumping
  std::string master_url;   ///< --master URL, empty when not forwarding
  std::size_t batch = 16;   ///< frames per add_tasks call
  std::string ca_file;      ///< with --master: --ca-file (set_tls_ca_file); empty: system CAs
  std::string auth_secret;  ///< with --master: HTTP Basic password; empty: none
};

}  // namespace fh::receiver
