#include "framehive/sender/sender_options.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "framehive/sender/chunker.hpp"
#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/test_pattern_source.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/protocol.hpp"
#include "framehive/shared/secret.hpp"

namespace fh::sender {

namespace po = boost::program_options;
using fh::shared::UsageError;

namespace {

template <typename T>
std::string str(T v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_range(const char* flag, double v, double lo, double hi) {
  if (!std::isfinite(v) || v < lo || v > hi) {
    throw UsageError(std::string("--") + flag + " must be in " + str(lo) + " .. " + str(hi) +
                     " (got " + str(v) + ")");
  }
}

void check_stream_name(const std::string& name) {
  if (name.empty()) throw UsageError("--stream must not be empty");
  if (name.size() > fh::shared::k_max_stream_name) {
    throw UsageError("--stream '" + name + "' is longer than 64 bytes");
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      throw UsageError("--stream '" + name + "' must not contain spaces or control characters");
    }
  }
}

}  // namespace

void SenderOptions::add_options(po::options_description& desc) {
  const SenderOptions d;  // every default below is its member value, never a second literal
  // clang-format off
  desc.add_options()
    ("source", po::value<std::vector<std::string>>()->value_name("SRC"),
     "what to publish; repeat for several cameras (one thread each). SRC is a video file "
     "(e.g. vtest.avi), a network URL (rtsp://, http://, ...), a V4L2 camera (/dev/video0) or "
     "the synthetic moving pattern test:WIDTHxHEIGHT[@FPS] (e.g. test:640x480, 30 fps)")
    ("port", po::value<std::vector<int>>()->value_name("N"),
     "receiver UDP port, one per --source: the i-th --source goes to the i-th --port")
    ("stream", po::value<std::vector<std::string>>()->value_name("NAME"),
     "stream name carried in every datagram, one per --source (default: the source's file "
     "name, e.g. vtest.avi or video0, or \"test\"); 1..64 bytes, no spaces")
    ("receiver", po::value<std::string>()->default_value(d.receiver)->value_name("HOST"),
     "receiver host name or IPv4 address")
    ("fps", po::value<double>()->value_name("F"),
     "frames per second to publish (default: the source's own rate, paced in real time by "
     "the frame timestamps); 0 = as fast as possible. Files are slowed down or sped up; live "
     "sources skip frames to stay at or under F")
    ("width", po::value<int>()->default_value(d.width)->value_name("W"),
     "scale frames to this width before encoding, keeping the aspect ratio (even height); "
     "0 = native size")
    ("quality", po::value<int>()->default_value(d.quality)->value_name("Q"),
     "JPEG quality, 1..100")
    ("chunk-size",
     po::value<long long>()->default_value(static_cast<long long>(d.chunk_size))
         ->value_name("B"),
     "size of each whole UDP datagram (44-byte header + stream name + payload; with --key-file "
     "a 52-byte header and a 16-byte tag); 1400 never fragments on a 1500-byte MTU. Range: 44 "
     "+ name length + 1 (52 + name length + 1 + 16 with a key) .. 65000")
    ("key-file", po::value<std::string>()->value_name("PATH"),
     "append an integrity tag (HMAC-SHA256, docs/protocol.md) to every datagram, keyed with "
     "the first line of PATH (whitespace trimmed; the file must not be readable by group or "
     "others); the datagrams become version 2 (a key id and a datagram counter; the tag also "
     "covers the destination port), which a receiver with the same --key-file needs: it drops "
     "every datagram not tagged with it, and replays. "
     "Without it the key comes from FRAMEHIVE_DATAGRAM_KEY; with neither, datagrams are not "
     "tagged")
    ("frames",
     po::value<long long>()->default_value(static_cast<long long>(d.frames))->value_name("N"),
     "stop each stream after N frames read from the source (sent, gated by --motion gate or "
     "failed to encode); 0 = until the source ends")
    ("loop", po::bool_switch(),
     "restart files from the beginning at the end (frame numbers keep counting)")
    ("max-rate", po::value<double>()->default_value(d.max_rate_mbit)->value_name("MBIT"),
     "pace each stream's datagrams with a token bucket at this many Mbit/s so a large frame "
     "does not leave as one burst; 0 = no limit")
    ("stats-interval", po::value<double>()->default_value(d.stats_interval)->value_name("S"),
     "seconds between periodic statistics on stderr; 0 = only the final line")
    ("motion", po::value<std::string>()->default_value(motion_mode_name(d.motion))
         ->value_name("MODE"),
     "motion detection at the camera (docs/motion.md): off = none, datagrams exactly as "
     "without this option; flag = every frame is sent with its motion score and boxes in the "
     "datagram header; gate = only frames with motion are sent, plus --motion-hangover seconds "
     "after motion ends and one keep-alive frame per --idle-interval (the first frame is always "
     "sent); each frame sent says how many were gated before it. flag and gate need a receiver "
     "that reads the motion extension (docs/protocol.md)")
    ("idle-interval", po::value<double>()->default_value(d.idle_interval)->value_name("S"),
     "--motion gate: send one keep-alive frame after S seconds without a frame sent, so the "
     "console stays fresh and stationary objects are re-checked; 0.1 .. 86400. Real time for "
     "cameras and paced files, the file's timestamps with --fps 0")
    ("motion-hangover",
     po::value<double>()->default_value(d.motion_hangover)->value_name("S"),
     "--motion gate: keep sending for S seconds after the last frame with motion, so an object "
     "is seen leaving; 0 .. 60")
    ("motion-threshold",
     po::value<int>()->default_value(d.motion_threshold)->value_name("T"),
     "motion: a pixel moves when its brightness (0..255, after a 5x5 blur of a grayscale copy "
     "at most 320 pixels wide) differs from the learnt background by more than T; 1 .. 255. "
     "Lower finds fainter motion, and more noise")
    ("motion-min-area",
     po::value<double>()->default_value(d.motion_min_area, str(d.motion_min_area))
         ->value_name("F"),
     "motion: smallest moving region that counts, as a share of the frame's area "
     "(0.0005 = 0.05%, about a 6x6 patch at 320x240); 0.00001 .. 1")
    ("motion-mask", po::value<std::vector<std::string>>()->value_name("POLYGON"),
     "motion: ignore this region (trees, clocks, timestamps); repeatable, applies to every "
     "--source; none by default. POLYGON is \"x,y x,y x,y ...\" (or \"x,y;x,y;x,y;...\") with 3 .. 64 "
     "points, "
     "coordinates 0..1 as shares of the width and height from the top left, e.g. "
     "\"0,0 0.3,0 0.3,0.1 0,0.1\" for a timestamp in the top-left corner")
    ("test-drop-fraction",
     po::value<double>()->default_value(d.drop_fraction)->value_name("F"),
     "testing: withhold this fraction (0..1) of datagrams, chosen by a seeded generator, and "
     "count them as dropped_datagrams / frames_damaged")
    ("test-seed",
     po::value<long long>()->default_value(static_cast<long long>(d.seed))->value_name("S"),
     "testing: seed of the drop generator (stream i uses S + i)");
  // clang-format on
}

SenderOptions SenderOptions::from_vm(const po::variables_map& vm) {
  SenderOptions o;
  const auto sources =
      vm.count("source") ? vm["source"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const auto ports = vm.count("port") ? vm["port"].as<std::vector<int>>() : std::vector<int>{};
  const auto names =
      vm.count("stream") ? vm["stream"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (sources.empty()) throw UsageError("--source is required (e.g. --source test:640x480)");
  if (ports.size() != sources.size()) {
    throw UsageError("give one --port per --source (got " + str(sources.size()) + " --source, " +
                     str(ports.size()) + " --port)");
  }
  if (!names.empty() && names.size() != sources.size()) {
    throw UsageError("give one --stream per --source, or none (got " + str(sources.size()) +
                     " --source, " + str(names.size()) + " --stream)");
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (ports[i] < 1 || ports[i] > 65535) {
      throw UsageError("--port must be in 1 .. 65535 (got " + str(ports[i]) + ")");
    }
    StreamSpec s;
    s.source = sources[i];
    s.port = static_cast<std::uint16_t>(ports[i]);
    s.stream = names.empty() ? FrameSource::default_stream_name(sources[i]) : names[i];
    o.streams.push_back(std::move(s));
  }
  o.receiver = vm["receiver"].as<std::string>();
  if (vm.count("fps")) o.fps = vm["fps"].as<double>();
  o.width = vm["width"].as<int>();
  o.quality = vm["quality"].as<int>();
  const long long chunk = vm["chunk-size"].as<long long>();
  // Out-of-range values are reported by validate(), which knows each stream's minimum.
  o.chunk_size = chunk < 0 ? 0 : static_cast<std::size_t>(std::min(chunk, 1'000'000LL));
  const long long frames = vm["frames"].as<long long>();
  if (frames < 0) throw UsageError("--frames must be >= 0 (got " + str(frames) + ")");
  o.frames = static_cast<std::uint64_t>(frames);
  o.loop = vm["loop"].as<bool>();
  o.max_rate_mbit = vm["max-rate"].as<double>();
  o.stats_interval = vm["stats-interval"].as<double>();
  o.drop_fraction = vm["test-drop-fraction"].as<double>();
  const long long seed = vm["test-seed"].as<long long>();
  if (seed < 0) throw UsageError("--test-seed must be >= 0 (got " + str(seed) + ")");
  o.seed = static_cast<std::uint64_t>(seed);
  const std::string mode = vm["motion"].as<std::string>();
  if (!parse_motion_mode(mode, o.motion)) {
    throw UsageError("--motion must be off, flag or gate (got '" + mode + "')");
  }
  o.idle_interval = vm["idle-interval"].as<double>();
  o.motion_hangover = vm["motion-hangover"].as<double>();
  o.motion_threshold = vm["motion-threshold"].as<int>();
  o.motion_min_area = vm["motion-min-area"].as<double>();
  if (vm.count("motion-mask")) {
    for (const auto& text : vm["motion-mask"].as<std::vector<std::string>>()) {
      try {
        o.motion_masks.push_back(parse_polygon(text));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--motion-mask: ") + e.what());
      }
    }
  }
  if (auto key = fh::shared::load_secret(vm, "key-file", fh::shared::k_datagram_key_env)) {
    o.datagram_key = std::move(*key);
  }
  o.validate();
  return o;
}

void SenderOptions::validate() const {
  if (streams.empty()) throw UsageError("--source is required (e.g. --source test:640x480)");
  if (receiver.empty()) throw UsageError("--receiver must not be empty");
  std::set<std::uint16_t> seen;
  for (const auto& s : streams) {
    if (s.source.empty()) throw UsageError("--source must not be empty");
    if (s.port == 0) throw UsageError("--port must be in 1 .. 65535 (got 0)");
    if (!seen.insert(s.port).second) {
      throw UsageError("--port " + str(s.port) +
                       " is given twice: each --source needs its own port");
    }
    check_stream_name(s.stream);
    if (s.source.rfind("test:", 0) == 0) {
      try {
        TestPatternSource::from_spec(s.source);
      } catch (const FrameSourceError& e) {
        throw UsageError(std::string("--source: ") + e.what());
      }
    }
    const bool tagged = !datagram_key.empty();
    const bool with_motion = motion != MotionMode::off;
    const std::size_t min = Chunker::min_chunk_size(s.stream, tagged, with_motion);
    if (chunk_size < min || chunk_size > Chunker::k_max_chunk_size) {
      const std::string ext = with_motion ? "140-byte motion extension (--motion " +
                                                std::string(motion_mode_name(motion)) + ") + "
                                          : std::string();
      throw UsageError("--chunk-size must be in " + str(min) + " .. " +
                       str(Chunker::k_max_chunk_size) + " bytes for stream '" + s.stream + "' (" +
                       (tagged ? "52" : "44") + "-byte header + " + str(s.stream.size()) +
                       "-byte name + " + ext + "at least 1 payload byte" +
                       (tagged ? " + 16-byte tag" : "") + "; got " + str(chunk_size) + ")");
    }
  }
  if (fps) check_range("fps", *fps, 0, 1000);
  if (width != 0 && (width < 8 || width > 16384)) {
    throw UsageError("--width must be 0 (native) or 8 .. 16384 (got " + str(width) + ")");
  }
  if (quality < 1 || quality > 100) {
    throw UsageError("--quality must be in 1 .. 100 (got " + str(quality) + ")");
  }
  check_range("max-rate", max_rate_mbit, 0, 100000);
  check_range("stats-interval", stats_interval, 0, 86400);
  check_range("test-drop-fraction", drop_fraction, 0, 1);
  check_range("idle-interval", idle_interval, 0.1, 86400);
  check_range("motion-hangover", motion_hangover, 0, 60);
  if (motion_threshold < 1 || motion_threshold > 255) {
    throw UsageError("--motion-threshold must be in 1 .. 255 (got " + str(motion_threshold) + ")");
  }
  check_range("motion-min-area", motion_min_area, 0.00001, 1);
  try {
    MotionDetector check(detector_options());
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--motion-mask: ") + e.what());
  }
}

MotionDetector::Options SenderOptions::detector_options() const {
  MotionDetector::Options mo;
  mo.threshold = motion_threshold;
  mo.min_area = motion_min_area;
  mo.masks = motion_masks;
  return mo;
}

std::string SenderOptions::help_epilog() {
  return "Examples:\n"
         "  # publish a file in real time to a receiver listening on port 5000\n"
         "  framehive-sender --source vtest.avi --receiver 10.0.0.5 --port 5000\n"
         "  # a USB camera and an IP camera from one process, 640 pixels wide, JPEG quality 70\n"
         "  framehive-sender --receiver recv.lan --width 640 --quality 70 \\\n"
         "      --source /dev/video0 --port 5000 --stream lobby \\\n"
         "      --source rtsp://cam2/stream1 --port 5001 --stream door\n"
         "  # a synthetic pattern, 20 frames as fast as possible, 8 KB datagrams, 200 Mbit/s\n"
         "  framehive-sender --source test:640x480 --port 5000 --frames 20 --fps 0 \\\n"
         "      --chunk-size 8000 --max-rate 200\n"
         "  # loop a file forever and withhold 20% of datagrams (receiver loss test)\n"
         "  framehive-sender --source vtest.avi --port 5000 --loop --test-drop-fraction 0.2 "
         "--test-seed 7\n"
         "  # send only frames with motion (the default, --motion gate) and a keep-alive every\n"
         "  # 10 s, ignoring the timestamp in the top-left corner of the picture\n"
         "  framehive-sender --source rtsp://cam3/stream1 --receiver recv.lan --port 5002 \\\n"
         "      --idle-interval 10 --motion-mask \"0,0 0.3,0 0.3,0.08 0,0.08\"\n"
         "  # every frame, datagrams exactly as before motion detection existed\n"
         "  framehive-sender --source vtest.avi --port 5000 --motion off\n"
         "  # tag every datagram with the key the receiver's --key-file holds\n"
         "  framehive-sender --source /dev/video0 --receiver recv.lan --port 5000 \\\n"
         "      --key-file /etc/framehive/datagram.key\n"
         "\n"
         "At the end (source finished, --frames reached, SIGINT or SIGTERM) one line per stream\n"
         "is printed on stdout:\n"
         "  sender-stats port=5000 stream=vtest.avi session=<16 hex digits> frames=N gated=N\n"
         "    read=N datagrams=N bytes=N dropped_datagrams=N frames_damaged=N send_errors=N\n"
         "    seconds=S fps=F\n"
         "frames were sent; gated were held back by --motion gate; read = frames + gated + frames\n"
         "that failed to encode (--frames N stops after N frames read).\n"
         "datagrams/bytes count what was handed to the network; dropped_datagrams were withheld\n"
         "by --test-drop-fraction; frames_damaged frames lost at least one datagram that way.\n"
         "Logs go to stderr. Exit status: 0 ok, 1 runtime error (e.g. the source cannot be\n"
         "opened), 2 usage error.";
}

}  // namespace fh::sender
