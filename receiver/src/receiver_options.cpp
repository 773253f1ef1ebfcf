#include "framehive/receiver/receiver_options.hpp"

#include "framehive/shared/cli.hpp"
#include "framehive/shared/secret.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace fh::receiver {

namespace po = boost::program_options;
using fh::shared::UsageError;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::uint16_t parse_port(const std::string& text, const std::string& list) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    throw UsageError("--ports: '" + text + "' is not a port number (in '" + list + "')");
  }
  const long v = std::stol(text);
  if (v < 1 || v > 65535) {
    throw UsageError("--ports: port " + text + " is out of range 1..65535");
  }
  return static_cast<std::uint16_t>(v);
}

/// An integer option in [lo, hi].
std::int64_t int_in(const po::variables_map& vm, const char* name, std::int64_t lo,
                    std::int64_t hi) {
  const auto v = vm[name].as<std::int64_t>();
  if (v < lo || v > hi) {
    throw UsageError(std::string("--") + name + " must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi) + ", got " + std::to_string(v));
  }
  return v;
}

/// A finite number option in [lo, hi].
double number_in(const po::variables_map& vm, const char* name, double lo, double hi) {
  const auto v = vm[name].as<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    throw UsageError(std::string("--") + name + " must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi) + ", got " + std::to_string(v));
  }
  return v;
}

}  // namespace

std::vector<std::uint16_t> parse_port_list(const std::string& text) {
  std::vector<std::uint16_t> ports;
  std::set<std::uint16_t> seen;
  auto add = [&](std::uint16_t p) {
    if (!seen.insert(p).second) {
      throw UsageError("--ports: port " + std::to_string(p) + " is listed twice");
    }
    if (ports.size() >= k_max_ports) {
      throw UsageError("--ports: more than " + std::to_string(k_max_ports) + " ports");
    }
    ports.push_back(p);
  };
  if (trim(text).empty()) throw UsageError("--ports: empty port list");
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item =
        trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) throw UsageError("--ports: empty item in '" + text + "'");
    const auto dash = item.find('-');
    if (dash == std::string::npos) {
      add(parse_port(item, text));
    } else {
      const auto lo = parse_port(trim(item.substr(0, dash)), text);
      const auto hi = parse_port(trim(item.substr(dash + 1)), text);
      if (lo > hi) {
        throw UsageError("--ports: range '" + item + "' runs backwards");
      }
      if (static_cast<std::size_t>(hi - lo) + 1 > k_max_ports) {
        throw UsageError("--ports: range '" + item + "' has more than " +
                         std::to_string(k_max_ports) + " ports");
      }
      for (std::uint32_t p = lo; p <= hi; ++p) add(static_cast<std::uint16_t>(p));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ports;
}

void add_receiver_options(po::options_description& opts) {
  const ReceiverConfig d;  // every default below is its member value, never a second literal
  opts.add_options()(
      "ports", po::value<std::string>()->required()->value_name("LIST"),
      "UDP ports to listen on, one per camera: a list and/or ranges, e.g. 5000-5003, "
      "5000,5002 or 5000-5001,5005 (required)")(
      "bind", po::value<std::string>()->default_value(d.bind_address)->value_name("ADDR"),
      "local address to listen on; 0.0.0.0 = every IPv4 interface, 127.0.0.1 = this machine "
      "only, :: = every IPv6 (and usually IPv4) interface")(
      "rcvbuf",
      po::value<std::int64_t>()
          ->default_value(static_cast<std::int64_t>(d.rcvbuf))
          ->value_name("BYTES"),
      "UDP receive buffer (SO_RCVBUF) per port; the kernel caps it at net.core.rmem_max "
      "unless run as root (SO_RCVBUFFORCE); a warning says when it was capped")(
      "dump", po::value<std::string>()->value_name("DIR"),
      "write every complete frame to DIR/<port>/<frame_seq>.jpg (created; files appear "
      "atomically). Without --dump frames are counted (frames_discarded) and dropped")(
      "master", po::value<std::string>()->value_name("URL"),
      "forward every complete frame to a framehive-master, e.g. http://127.0.0.1:8000/RPC2, "
      "with add_tasks in batches; while the master is unreachable it retries with backoff and "
      "the per-port queue drops its oldest frames (counted frames_dropped). Exclusive with --dump")(
      "batch",
      po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.batch))->value_name("N"),
      "with --master: at most N frames per add_tasks call")(
      "frame-timeout",
      po::value<double>()->default_value(d.reassembly.frame_timeout)->value_name("SECONDS"),
      "give up a frame this long after its first chunk arrived (counted timed_out)")(
      "reorder-window",
      po::value<std::int64_t>()->default_value(d.reassembly.reorder_window)->value_name("N"),
      "when frame S completes, give up unfinished frames of the same sender with seq <= S-N "
      "(counted superseded)")(
      "max-partial-frames",
      po::value<std::int64_t>()
          ->default_value(static_cast<std::int64_t>(d.reassembly.max_partial_frames))
          ->value_name("N"),
      "unfinished frames kept per port; the oldest is given up beyond (counted evicted)")(
      "max-frame-bytes",
      po::value<std::int64_t>()
          ->default_value(static_cast<std::int64_t>(d.reassembly.max_frame_bytes))
          ->value_name("BYTES"),
      "largest accepted frame; bigger ones are malformed (too_large)")(
      "max-pixels", po::value<std::string>()->default_value(fh::shared::k_default_max_pixels_text),
      (std::string(fh::shared::k_max_pixels_help) +
       "; larger complete frames are dropped (counted too_large)")
          .c_str())(
      "max-partial-bytes",
      po::value<std::int64_t>()
          ->default_value(static_cast<std::int64_t>(d.reassembly.max_partial_bytes))
          ->value_name("BYTES"),
      "memory for unfinished frames, all ports together; the port holding most gives up its "
      "oldest frame beyond (counted evicted)")(
      "queue-per-port",
      po::value<std::int64_t>()
          ->default_value(static_cast<std::int64_t>(d.queue_per_port))
          ->value_name("N"),
      "complete frames waiting for the output, per port; when full the oldest is dropped "
      "(counted frames_dropped)")(
      "stats-interval", po::value<double>()->default_value(d.stats_interval)->value_name("SECONDS"),
      "print per-port statistics to stderr this often; 0 = only at exit (to stdout)")(
      "report-interval",
      po::value<double>()->default_value(d.report_interval)->value_name("SECONDS"),
      "with --master: send the per-port counters (datagrams, complete, incomplete, dropped, "
      "malformed ...) to the master this often, for its status, console and /metrics; 0 = "
      "never")(
      "key-file", po::value<std::string>()->value_name("PATH"),
      "require an integrity tag (HMAC-SHA256, docs/protocol.md) on every datagram, keyed with "
      "the first line of PATH (whitespace trimmed; the file must not be readable by group or "
      "others); untagged or wrongly tagged datagrams are dropped and counted "
      "(malformed_bad_tag). Without it the key comes from FRAMEHIVE_DATAGRAM_KEY; with "
      "neither, tags are not required and, when present, not checked")(
      "old-key-file", po::value<std::string>()->value_name("PATH"),
      "during a key rotation: the previous key (same file rules), accepted as well as "
      "--key-file's until every sender uses the new one (docs/operations.md)")(
      "replay-window",
      po::value<double>()->default_value(d.reassembly.replay_window)->value_name("SECONDS"),
      "with a key: refuse datagrams whose capture time is further than this from the "
      "receiver's clock (counted malformed_replayed; camera clocks need NTP); 0 = no time "
      "check (repeated datagram counters are still refused)")(
      "auth-file", po::value<std::string>()->value_name("PATH"),
      "with --master: the master's shared secret (first line of PATH, same rules), sent as "
      "HTTP Basic credentials. Without it the secret comes from FRAMEHIVE_AUTH_SECRET")(
      "ca-file", po::value<std::string>()->value_name("PATH"),
      "with an https:// --master: CA certificate(s) (PEM) its certificate is checked against; "
      "default: the system's trusted CAs");
}

std::string receiver_help_epilog() {
  return "Examples:\n"
         "  framehive-receiver --ports 5000-5003 --dump /tmp/frames\n"
         "      four cameras on ports 5000..5003 of every interface, frames written to\n"
         "      /tmp/frames/5000/0.jpg, /tmp/frames/5000/1.jpg, ...\n"
         "  framehive-receiver --ports 5000-5001 --master http://10.0.0.5:8000/RPC2\n"
         "      two cameras, frames forwarded to a master for detection\n"
         "  framehive-receiver --bind 127.0.0.1 --ports 5000,5002 --stats-interval 1\n"
         "      two local cameras, statistics every second, frames counted and discarded\n"
         "  FRAMEHIVE_PORTS=5000-5001,5005 framehive-receiver --rcvbuf 33554432\n"
         "      ports from the environment, a 32 MiB receive buffer\n"
         "  framehive-receiver --ports 5000-5003 --key-file /etc/framehive/datagram.key \\\n"
         "      --master http://10.0.0.5:8000/RPC2 --auth-file /etc/framehive/secret\n"
         "      only datagrams tagged with the shared key; an authenticated master\n"
         "\n"
         "Statistics: every --stats-interval seconds on stderr, and at exit on stdout, one line\n"
         "per port:\n"
         "  receiver-stats port=5000 datagrams=N bytes=N frames_complete=N frames_incomplete=N\n"
         "  gated=N frames_dropped=N frames_delivered=N duplicate_datagrams=N timed_out=N\n"
         "  superseded=N evicted=N missing=N malformed=N malformed_<reason>=N ... frames_failed=N\n"
         "  frames_discarded=N late_datagrams=N fps=F\n"
         "frames_incomplete = timed_out + superseded + evicted + missing (frames never seen).\n"
         "gated = frames the sender's motion gating did not send (framehive-sender --motion\n"
         "gate), as the motion extension of each frame's first chunk says; reported to the\n"
         "master with the other counters.\n"
         "\n"
         "Kernel buffer: the stock net.core.rmem_max (212992 bytes) holds less than one frame of\n"
         "datagrams; as a non-root user raise it, e.g. 'sysctl -w net.core.rmem_max=8388608'.\n"
         "Exit status: 0 after SIGINT/SIGTERM (queued frames are written first), 1 on a runtime\n"
         "error (e.g. a port already in use), 2 on a bad flag.";
}

ReceiverConfig receiver_config_from(const po::variables_map& vm) {
  ReceiverConfig c;
  c.ports = parse_port_list(vm["ports"].as<std::string>());
  c.bind_address = trim(vm["bind"].as<std::string>());
  boost::system::error_code ec;
  boost::asio::ip::make_address(c.bind_address, ec);
  if (ec) throw UsageError("--bind: '" + c.bind_address + "' is not an IP address");
  c.rcvbuf = static_cast<std::size_t>(int_in(vm, "rcvbuf", 4096, 1ll << 30));
  c.reassembly.frame_timeout = number_in(vm, "frame-timeout", 0.001, 3600);
  c.reassembly.reorder_window =
      static_cast<std::uint32_t>(int_in(vm, "reorder-window", 1, 1 << 20));
  c.reassembly.max_partial_frames =
      static_cast<std::size_t>(int_in(vm, "max-partial-frames", 1, 1 << 16));
  c.reassembly.max_frame_bytes =
      static_cast<std::size_t>(int_in(vm, "max-frame-bytes", 1, 1ll << 31));
  c.reassembly.max_partial_bytes =
      static_cast<std::size_t>(int_in(vm, "max-partial-bytes", 1, 1ll << 40));
  if (c.reassembly.max_partial_bytes < c.reassembly.max_frame_bytes) {
    throw UsageError("--max-partial-bytes must be at least --max-frame-bytes");
  }
  c.max_pixels = fh::shared::parse_max_pixels(vm["max-pixels"].as<std::string>());
  c.queue_per_port = static_cast<std::size_t>(int_in(vm, "queue-per-port", 1, 1 << 20));
  c.stats_interval = number_in(vm, "stats-interval", 0, 86400);
  c.report_interval = number_in(vm, "report-interval", 0, 86400);
  if (vm.count("dump")) {
    c.dump_dir = vm["dump"].as<std::string>();
    if (c.dump_dir.empty()) throw UsageError("--dump: empty directory name");
  }
  if (vm.count("master")) {
    c.master_url = trim(vm["master"].as<std::string>());
    fh::shared::check_endpoint_url(c.master_url, "--master");
    if (!c.dump_dir.empty()) throw UsageError("--master and --dump: choose one output");
  }
  c.batch = static_cast<std::size_t>(int_in(vm, "batch", 1, 1000));
  if (auto key = fh::shared::load_secret(vm, "key-file", fh::shared::k_datagram_key_env)) {
    c.reassembly.key = std::move(*key);
  }
  if (vm.count("old-key-file")) {
    if (c.reassembly.key.empty()) throw UsageError("--old-key-file needs --key-file");
    c.reassembly.old_key = *fh::shared::load_secret(vm, "old-key-file", nullptr);
  }
  c.reassembly.replay_window = number_in(vm, "replay-window", 0, 86400);
  // Read (and taken out of the environment) even without --master: no secret lingers.
  if (auto secret = fh::shared::load_secret(vm, "auth-file", fh::shared::k_auth_secret_env)) {
    if (!c.master_url.empty()) c.auth_secret = std::move(*secret);
  }
  if (!c.master_url.empty() && vm.count("ca-file")) {
    c.ca_file = vm["ca-file"].as<std::string>();
  }
  return c;
}

}  // namespace fh::receiver
