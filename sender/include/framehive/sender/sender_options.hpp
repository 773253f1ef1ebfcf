#pragma once
// SenderOptions: every framehive-sender flag, declared for boost::program_options and
// validated (UsageError naming the flag). A plain value type; not synchronised.

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framehive/sender/motion_detector.hpp"
#include "framehive/sender/motion_gate.hpp"

namespace fh::sender {

/// One published camera: the i-th --source, --port and --stream.
struct StreamSpec {
  std::string source;      ///< FrameSource spec
  std::uint16_t port = 0;  ///< receiver UDP port
  std::string stream;      ///< stream name in the datagrams
};

struct SenderOptions {
  std::vector<StreamSpec> streams;       ///< at least one
  std::string receiver = "127.0.0.1";    ///< receiver host name or IPv4 address
  std::optional<double> fps;             ///< unset: the source's own rate; 0: as fast as possible
  int width = 0;                         ///< JPEG width, 0 = native
  int quality = 80;                      ///< JPEG quality 1..100
  std::size_t chunk_size = 1400;         ///< whole datagram size
  std::uint64_t frames = 0;              ///< stop after this many frames per stream, 0 = all
  bool loop = false;                     ///< restart files at EOF
  double max_rate_mbit = 0;              ///< token-bucket limit per stream, Mbit/s, 0 = none
  double drop_fraction = 0;              ///< test: fraction of datagrams dropped on purpose
  std::uint64_t seed = 1;                ///< test: seed of the drop generator
  double stats_interval = 5;             ///< seconds between periodic stats, 0 = off
  std::string datagram_key;              ///< --key-file / FRAMEHIVE_DATAGRAM_KEY; empty: no tags
  MotionMode motion = MotionMode::gate;  ///< --motion (docs/motion.md: why gate is the default)
  double idle_interval = 5;              ///< --idle-interval, seconds between keep-alives
  double motion_hangover = 1;            ///< --motion-hangover, seconds sent after motion
  int motion_threshold = MotionDetector::Options{}.threshold;   ///< --motion-threshold
  double motion_min_area = MotionDetector::Options{}.min_area;  ///< --motion-min-area
  std::vector<NormPolygon> motion_masks;                        ///< --motion-mask

  /// Declares the flags (with help text) on desc.
  static void add_options(boost::program_options::options_description& desc);

  /// Builds and validates the options from parsed flags. Throws fh::shared::UsageError.
  static SenderOptions from_vm(const boost::program_options::variables_map& vm);

  /// Re-checks an already built value (also called by from_vm). Throws UsageError.
  void validate() const;

  /// The motion detector's settings from the --motion-* flags.
  MotionDetector::Options detector_options() const;

  /// Examples for the end of --help.
  static std::string help_epilog();
};

}  // namespace fh::sender
