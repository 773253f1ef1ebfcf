#pragma once
// framehive-ctl: review a master's per-port results over its XML-RPC API only (status,
// results, summary, annotated frames, export) and submit still images for detection (detect). Each
// command writes to an ostream and returns an exit code; errors a user can act on are one line on
// stderr. Not thread-safe.

#include <iosfwd>
#include <string>
#include <vector>

namespace fh::ctl {

/// Exit codes beyond fh::shared's: the master answered that the port or task does not exist.
constexpr int exit_not_found = 3;

struct CtlOptions {
  std::string master = "http://127.0.0.1:8000/RPC2";
  std::string command;              ///< status | results | summary | frame | export
  int port = 0;                     ///< --port
  int limit = 20;                   ///< --limit
  bool follow = false;              ///< --follow
  bool json = false;                ///< --json: JSON lines
  double interval_s = 10.0;         ///< --interval
  double since_s = 600.0;           ///< --since: how far back, seconds
  bool since_given = false;         ///< --since was given
  std::string task;                 ///< --task
  std::string output;               ///< -o
  std::string format = "csv";       ///< --format csv|jsonl
  int timeout_ms = 10000;           ///< per call
  double follow_poll_s = 0.5;       ///< --follow poll period
  std::string auth_secret;          ///< HTTP Basic password (--auth-file); empty: none
  std::vector<std::string> images;  ///< detect: image files (JPEG or PNG)
  std::string detector;             ///< detect: --detector (empty: the master's default)
  double wait_s = 120.0;            ///< detect: --wait, how long to wait for the results
  double poll_s = 0.2;              ///< detect: poll period of get_task
  std::string type;                 ///< events: --type (exact, or FAMILY.*)
};

/// Parses "10s", "5m", "2h", "1d" or plain seconds; throws std::invalid_argument.
double parse_duration(const std::string& text);

/// Runs the command; returns the process exit code.
int run(const CtlOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fh::ctl
