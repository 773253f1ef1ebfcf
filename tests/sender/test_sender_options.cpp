// SenderOptions: flag parsing and validation (usage errors name the flag).
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "framehive/sender/sender_options.hpp"
#include "framehive/shared/cli.hpp"

using fh::sender::SenderOptions;
using fh::shared::UsageError;
namespace po = boost::program_options;

namespace {

using Args = std::vector<std::string>;

SenderOptions parse(const Args& args) {
  po::options_description desc;
  SenderOptions::add_options(desc);
  std::vector<const char*> argv{"framehive-sender"};
  for (const auto& a : args) argv.push_back(a.c_str());
  po::variables_map vm;
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), desc), vm);
  po::notify(vm);
  return SenderOptions::from_vm(vm);
}

/// The UsageError message for args, or "" when they are accepted.
std::string usage_error(const Args& args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sender_options)

BOOST_AUTO_TEST_CASE(defaults) {
  const auto o = parse({"--source", "/data/vtest.avi", "--port", "5000"});
  BOOST_REQUIRE(o.streams.size() == 1u);
  BOOST_TEST(o.streams[0].source == "/data/vtest.avi");
  BOOST_TEST(o.streams[0].port == 5000);
  BOOST_TEST(o.streams[0].stream == "vtest.avi");
  BOOST_TEST(o.receiver == "127.0.0.1");
  BOOST_TEST(!o.fps.has_value());
  BOOST_TEST(o.width == 0);
  BOOST_TEST(o.quality == 80);
  BOOST_TEST(o.chunk_size == 1400u);
  BOOST_TEST(o.frames == 0u);
  BOOST_TEST(!o.loop);
  BOOST_TEST(o.max_rate_mbit == 0.0);
  BOOST_TEST(o.drop_fraction == 0.0);
  BOOST_TEST(o.seed == 1u);
  BOOST_TEST(o.stats_interval == 5.0);
}

BOOST_AUTO_TEST_CASE(several_sources_pair_with_ports_and_streams) {
  const auto o = parse({"--source",   "test:320x240", "--port", "5000",
                        "--source",   "/dev/video0",  "--port", "5001",
                        "--receiver", "recv.lan",     "--fps",  "0",
                        "--loop",     "--width",      "320",    "--quality",
                        "60",         "--chunk-size", "9000",   "--frames",
                        "7",          "--max-rate",   "50",     "--test-drop-fraction",
                        "0.2",        "--test-seed",  "9",      "--stats-interval",
                        "0"});
  BOOST_REQUIRE(o.streams.size() == 2u);
  BOOST_TEST(o.streams[0].stream == "test");
  BOOST_TEST(o.streams[1].stream == "video0");
  BOOST_TEST(o.streams[1].port == 5001);
  BOOST_TEST(o.receiver == "recv.lan");
  BOOST_TEST(o.fps.value() == 0.0);
  BOOST_TEST(o.loop);
  BOOST_TEST(o.width == 320);
  BOOST_TEST(o.quality == 60);
  BOOST_TEST(o.chunk_size == 9000u);
  BOOST_TEST(o.frames == 7u);
  BOOST_TEST(o.max_rate_mbit == 50.0);
  BOOST_TEST(o.drop_fraction == 0.2);
  BOOST_TEST(o.seed == 9u);
  BOOST_TEST(o.stats_interval == 0.0);

  const auto named = parse({"--source", "a.mp4", "--port", "1", "--stream", "lobby", "--source",
                            "b.mp4", "--port", "2", "--stream", "door"});
  BOOST_TEST(named.streams[0].stream == "lobby");
  BOOST_TEST(named.streams[1].stream == "door");
}

BOOST_AUTO_TEST_CASE(chunk_size_bounds_depend_on_the_stream_name) {
  // "vtest.avi" is 9 bytes: 44 + 9 + 1 = 54 with --motion off.
  const Args off{"--source", "vtest.avi", "--port", "1", "--motion", "off", "--chunk-size"};
  const auto with = [](Args a, const char* v) {
    a.push_back(v);
    return a;
  };
  BOOST_TEST(usage_error(with(off, "54")).empty());
  BOOST_TEST(usage_error(with(off, "65000")).empty());
  const auto msg = usage_error(with(off, "53"));
  BOOST_TEST(msg.find("--chunk-size must be in 54 .. 65000") != std::string::npos);
  BOOST_TEST(!usage_error(with(off, "65001")).empty());
  BOOST_TEST(!usage_error(with(off, "-5")).empty());
  // With motion (flag, or gate, the default) there must be room for the largest extension:
  // 16 boxes, 12 + 16 * 8 = 140 bytes.
  for (const char* mode : {"flag", "gate"}) {
    const Args motion{"--source", "vtest.avi", "--port", "1", "--motion", mode, "--chunk-size"};
    BOOST_TEST(usage_error(with(motion, "194")).empty());
    const auto m = usage_error(with(motion, "193"));
    BOOST_TEST(m.find("--chunk-size must be in 194 .. 65000") != std::string::npos, m);
    BOOST_TEST(m.find("140-byte motion extension") != std::string::npos, m);
  }
  BOOST_TEST(!usage_error({"--source", "vtest.avi", "--port", "1", "--chunk-size", "193"}).empty());
}

BOOST_AUTO_TEST_CASE(motion_options_and_their_defaults) {
  const auto d = parse({"--source", "x.avi", "--port", "1"});
  BOOST_TEST((d.motion == fh::sender::MotionMode::gate));  // the camera operator's default
  BOOST_TEST(d.idle_interval == 5.0);
  BOOST_TEST(d.motion_hangover == 1.0);
  BOOST_TEST(d.motion_threshold == 25);
  BOOST_TEST(d.motion_min_area == 0.0005);
  BOOST_TEST(d.motion_masks.empty());
  const auto o =
      parse({"--source", "x.avi", "--port", "1", "--motion", "flag", "--idle-interval", "2.5",
             "--motion-hangover", "0", "--motion-threshold", "12", "--motion-min-area", "0.01",
             "--motion-mask", "0,0 0.3,0 0.3,0.1 0,0.1", "--motion-mask", "0.5,0.5 1,0.5 1,1"});
  BOOST_TEST((o.motion == fh::sender::MotionMode::flag));
  BOOST_TEST(o.idle_interval == 2.5);
  BOOST_TEST(o.motion_hangover == 0.0);
  BOOST_REQUIRE(o.motion_masks.size() == 2u);
  BOOST_TEST(o.motion_masks[1].size() == 3u);
  const auto det = o.detector_options();
  BOOST_TEST(det.threshold == 12);
  BOOST_TEST(det.min_area == 0.01);
  BOOST_TEST(det.masks.size() == 2u);
  BOOST_TEST((parse({"--source", "x.avi", "--port", "1", "--motion", "off"}).motion ==
              fh::sender::MotionMode::off));
  // A mask error quotes the polygon and says what is wrong.
  const auto msg =
      usage_error({"--source", "x.avi", "--port", "1", "--motion-mask", "0,0 1,0 1:1"});
  BOOST_TEST(msg.find("--motion-mask: mask polygon '0,0 1,0 1:1': point 3 '1:1' is not two "
                      "numbers x,y") == 0u,
             msg);
}

BOOST_AUTO_TEST_CASE(bad_values_are_usage_errors_naming_the_flag) {
  const std::pair<Args, const char*> cases[] = {
      {{"--port", "5000"}, "--source"},
      {{"--source", "x.avi"}, "--port"},
      {{"--source", "x.avi", "--port", "1", "--port", "2"}, "--port"},
      {{"--source", "x.avi", "--port", "0"}, "--port"},
      {{"--source", "x.avi", "--port", "65536"}, "--port"},
      {{"--source", "x.avi", "--port", "1", "--source", "y.avi", "--port", "1"}, "--port"},
      {{"--source", "x.avi", "--port", "1", "--source", "y.avi", "--port", "2", "--stream", "a"},
       "--stream"},
      {{"--source", "x.avi", "--port", "1", "--stream", "has space"}, "--stream"},
      {{"--source", "x.avi", "--port", "1", "--stream", ""}, "--stream"},
      {{"--source", "x.avi", "--port", "1", "--stream",
        "0123456789012345678901234567890123456789012345678901234567890123456789"},
       "--stream"},
      {{"--source", "x.avi", "--port", "1", "--quality", "0"}, "--quality"},
      {{"--source", "x.avi", "--port", "1", "--quality", "101"}, "--quality"},
      {{"--source", "x.avi", "--port", "1", "--width", "-1"}, "--width"},
      {{"--source", "x.avi", "--port", "1", "--width", "4"}, "--width"},
      {{"--source", "x.avi", "--port", "1", "--fps", "-1"}, "--fps"},
      {{"--source", "x.avi", "--port", "1", "--fps", "nan"}, "--fps"},
      {{"--source", "x.avi", "--port", "1", "--frames", "-1"}, "--frames"},
      {{"--source", "x.avi", "--port", "1", "--max-rate", "-3"}, "--max-rate"},
      {{"--source", "x.avi", "--port", "1", "--test-drop-fraction", "1.5"}, "--test-drop-fraction"},
      {{"--source", "x.avi", "--port", "1", "--test-seed", "-2"}, "--test-seed"},
      {{"--source", "x.avi", "--port", "1", "--stats-interval", "-1"}, "--stats-interval"},
      {{"--source", "x.avi", "--port", "1", "--receiver", ""}, "--receiver"},
      {{"--source", "test:10x10", "--port", "1"}, "--source"},
      {{"--source", "test:abc", "--port", "1"}, "--source"},
      {{"--source", "test:64x64:windy", "--port", "1"}, "--source"},
      {{"--source", "x.avi", "--port", "1", "--motion", "on"}, "--motion"},
      {{"--source", "x.avi", "--port", "1", "--idle-interval", "0"}, "--idle-interval"},
      {{"--source", "x.avi", "--port", "1", "--idle-interval", "inf"}, "--idle-interval"},
      {{"--source", "x.avi", "--port", "1", "--motion-hangover", "-1"}, "--motion-hangover"},
      {{"--source", "x.avi", "--port", "1", "--motion-threshold", "0"}, "--motion-threshold"},
      {{"--source", "x.avi", "--port", "1", "--motion-threshold", "256"}, "--motion-threshold"},
      {{"--source", "x.avi", "--port", "1", "--motion-min-area", "0"}, "--motion-min-area"},
      {{"--source", "x.avi", "--port", "1", "--motion-min-area", "2"}, "--motion-min-area"},
      {{"--source", "x.avi", "--port", "1", "--motion-mask", "0,0 1,0"}, "--motion-mask"},
      {{"--source", "x.avi", "--port", "1", "--motion-mask", "0,0 1,0 1,2"}, "--motion-mask"},
  };
  for (const auto& [args, flag] : cases) {
    const std::string msg = usage_error(args);
    BOOST_TEST_INFO("expected an error about " << flag);
    BOOST_TEST(msg.find(flag) != std::string::npos, "message: '" << msg << "'");
  }
}

BOOST_AUTO_TEST_SUITE_END()
