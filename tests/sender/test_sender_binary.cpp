// Real runs of the framehive-sender binary against a UDP socket on 127.0.0.1.
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <set>

#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/test_pattern_source.hpp"
#include "framehive/shared/jpeg.hpp"
#include "sender_test_util.hpp"
#include "stats_line.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using fh::sender_test::Reassembly;
using fh::sender_test::UdpCollector;
using fh::test::stats_count;
using fh::test::stats_line;

namespace {

struct Run {
  int status = -1000;
  std::string output;  ///< stdout and stderr together
  std::map<std::string, std::string> stats;
};

/// Runs the sender to completion (at most `timeout`), merging stdout and stderr. With --motion
/// off (added here) so that every frame is sent: these tests count them (tests of the motion
/// modes are in test_motion_sender.cpp).
Run run_sender(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
  if (args.size() > 1) {
    args.push_back("--motion");
    args.push_back("off");
  }
  static int counter = 0;
  static const std::string dir = fh::test::make_temp_dir("sender-run");
  const std::string log = dir + "/run" + std::to_string(counter++) + ".log";
  Run r;
  {
    fh::test::Child child(fh::test::bin("framehive-sender"), args, log);
    r.status = child.wait(timeout);
  }
  r.output = fh::test::read_file(log);
  r.stats = stats_line(r.output, "sender-stats");
  return r;
}

/// Waits until the socket has seen `n` datagrams or the deadline passes.
void wait_for_datagrams(const UdpCollector& c, std::size_t n) {
  fh::test::poll_until([&] { return c.count() >= n; }, 5s);
  std::this_thread::sleep_for(50ms);  // anything extra (which would be a bug) shows up too
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sender_binary)

BOOST_AUTO_TEST_CASE(test_pattern_20_frames_reassemble_into_jpegs) {
  UdpCollector sock;
  const auto r = run_sender({"--source", "test:640x480", "--port", std::to_string(sock.port()),
                             "--frames", "20", "--fps", "0", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  const auto& s = r.stats;
  BOOST_REQUIRE(!s.empty());
  BOOST_TEST(s.at("port") == std::to_string(sock.port()));
  BOOST_TEST(s.at("stream") == "test");
  BOOST_TEST(s.at("session").size() == 16u);
  BOOST_TEST(stats_count(s, "frames") == 20u);
  BOOST_TEST(stats_count(s, "dropped_datagrams") == 0u);
  BOOST_TEST(stats_count(s, "frames_damaged") == 0u);
  BOOST_TEST(stats_count(s, "send_errors") == 0u);
  BOOST_TEST(s.count("seconds") == 1u);
  BOOST_TEST(s.count("fps") == 1u);

  wait_for_datagrams(sock, stats_count(s, "datagrams"));
  const auto datagrams = sock.datagrams();
  BOOST_TEST(datagrams.size() == stats_count(s, "datagrams"));
  std::uint64_t bytes = 0;
  for (const auto& d : datagrams) {
    bytes += d.size();
    BOOST_TEST(d.size() <= 1400u);
  }
  BOOST_TEST(bytes == stats_count(s, "bytes"));

  const Reassembly ra = fh::sender_test::reassemble(datagrams);
  BOOST_TEST(ra.bad == 0u);
  BOOST_TEST(ra.duplicates == 0u);
  BOOST_REQUIRE(ra.frames.size() == 20u);
  std::uint32_t expect_seq = 0;
  std::uint64_t last_capture = 0;
  fh::sender::TestPatternSource pattern(640, 480);
  const fh::sender::JpegEncoder encoder;
  for (const auto& [key, f] : ra.frames) {
    BOOST_TEST(key.first == std::stoull(s.at("session"), nullptr, 16));
    BOOST_TEST(key.second == expect_seq);
    BOOST_REQUIRE(f.complete());
    BOOST_TEST(f.stream == "test");
    BOOST_TEST(f.capture_us >= last_capture);
    last_capture = f.capture_us;
    const auto jpeg = f.bytes();
    BOOST_TEST(jpeg.size() == f.frame_len);
    BOOST_TEST(fh::shared::looks_like_jpeg(jpeg.data(), jpeg.size()));
    const cv::Mat img = cv::imdecode(jpeg, cv::IMREAD_COLOR);
    BOOST_REQUIRE(!img.empty());
    BOOST_TEST(img.size() == cv::Size(640, 480));
    // Byte for byte what the library produces for the same frame.
    fh::sender::CapturedFrame frame;
    pattern.next(frame);
    BOOST_TEST((encoder.encode(frame.image) == jpeg));
    ++expect_seq;
  }
  // capture_us is wall-clock Unix microseconds.
  const auto now_us =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  BOOST_TEST(last_capture <= now_us);
  BOOST_TEST(last_capture > now_us - 60'000'000ULL);
}

BOOST_AUTO_TEST_CASE(drop_fraction_is_seeded_and_consistent_with_what_arrives) {
  std::set<std::pair<std::uint32_t, std::uint16_t>> first_run;
  std::uint64_t first_dropped = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    UdpCollector sock;
    const auto r =
        run_sender({"--source", "test:640x480", "--port", std::to_string(sock.port()), "--frames",
                    "20", "--fps", "0", "--chunk-size", "1200", "--test-drop-fraction", "0.2",
                    "--test-seed", "7", "--stats-interval", "0"});
    BOOST_TEST_INFO(r.output);
    BOOST_REQUIRE(r.status == 0);
    const auto& s = r.stats;
    const std::uint64_t sent = stats_count(s, "datagrams");
    const std::uint64_t dropped = stats_count(s, "dropped_datagrams");
    const std::uint64_t damaged = stats_count(s, "frames_damaged");
    BOOST_TEST(stats_count(s, "frames") == 20u);
    wait_for_datagrams(sock, sent);
    const auto datagrams = sock.datagrams();
    BOOST_TEST(datagrams.size() == sent);
    // Roughly a fifth withheld.
    const double fraction = static_cast<double>(dropped) / static_cast<double>(sent + dropped);
    BOOST_TEST(fraction > 0.12);
    BOOST_TEST(fraction < 0.28);

    const Reassembly ra = fh::sender_test::reassemble(datagrams);
    BOOST_TEST(ra.bad == 0u);
    std::uint64_t missing_chunks = 0;
    std::uint64_t incomplete = 20 - ra.frames.size();  // frames with no chunk at all
    std::set<std::pair<std::uint32_t, std::uint16_t>> got;
    for (const auto& [key, f] : ra.frames) {
      missing_chunks += f.chunk_count - f.chunks.size();
      if (!f.complete()) ++incomplete;
      if (f.complete()) {
        BOOST_TEST(!cv::imdecode(f.bytes(), cv::IMREAD_COLOR).empty());
      }
      for (const auto& [index, payload] : f.chunks) got.insert({key.second, index});
    }
    BOOST_TEST(incomplete == damaged);
    if (ra.frames.size() == 20u) BOOST_TEST(missing_chunks == dropped);
    BOOST_TEST(missing_chunks <= dropped);
    BOOST_TEST(damaged > 0u);
    BOOST_TEST(damaged <= 20u);
    // The same seed withholds the same datagrams (JPEG bytes are deterministic too).
    if (attempt == 0) {
      first_run = got;
      first_dropped = dropped;
    } else {
      BOOST_TEST(dropped == first_dropped);
      BOOST_TEST((got == first_run));
    }
  }
}

BOOST_AUTO_TEST_CASE(file_source_with_width_quality_chunk_size_and_rate_limit) {
  UdpCollector sock;
  const auto r = run_sender({"--source",
                             fh::test::vtest_avi(),
                             "--port",
                             std::to_string(sock.port()),
                             "--frames",
                             "8",
                             "--fps",
                             "0",
                             "--width",
                             "320",
                             "--quality",
                             "60",
                             "--chunk-size",
                             "9000",
                             "--max-rate",
                             "8",
                             "--stream",
                             "hall",
                             "--stats-interval",
                             "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  const auto& s = r.stats;
  BOOST_TEST(s.at("stream") == "hall");
  BOOST_TEST(stats_count(s, "frames") == 8u);
  wait_for_datagrams(sock, stats_count(s, "datagrams"));
  const auto datagrams = sock.datagrams();
  BOOST_TEST(datagrams.size() == stats_count(s, "datagrams"));
  const Reassembly ra = fh::sender_test::reassemble(datagrams);
  BOOST_REQUIRE(ra.frames.size() == 8u);
  auto src = fh::sender::FrameSource::open(fh::test::vtest_avi());
  const fh::sender::JpegEncoder enc({60, 320});
  for (const auto& [key, f] : ra.frames) {
    BOOST_REQUIRE(f.complete());
    BOOST_TEST(f.stream == "hall");
    const auto jpeg = f.bytes();
    BOOST_TEST(cv::imdecode(jpeg, cv::IMREAD_COLOR).size() == cv::Size(320, 240));
    fh::sender::CapturedFrame frame;
    BOOST_REQUIRE(src->next(frame));
    BOOST_TEST((enc.encode(frame.image) == jpeg));
  }
  for (const auto& d : datagrams) BOOST_TEST(d.size() <= 9000u);
  // 8 Mbit/s = 1 MB/s: everything past the bucket depth (2 datagrams) is paced.
  const double bytes =
      static_cast<double>(stats_count(s, "bytes") + 28 * stats_count(s, "datagrams"));
  const double min_seconds = (bytes - 2 * (9000 + 28)) / 1e6;
  BOOST_TEST(std::stod(s.at("seconds")) >= 0.9 * min_seconds);
}

BOOST_AUTO_TEST_CASE(default_pacing_follows_the_source_rate) {
  UdpCollector sock;
  // 10 frames at the pattern's 30 fps: 9 intervals = 0.3 s.
  const auto paced = run_sender({"--source", "test:160x120", "--port", std::to_string(sock.port()),
                                 "--frames", "10", "--stats-interval", "0"});
  BOOST_REQUIRE(paced.status == 0);
  BOOST_TEST(std::stod(paced.stats.at("seconds")) >= 0.28);
  BOOST_TEST(std::stod(paced.stats.at("seconds")) < 2.0);
  // --fps overrides it: 11 frames at 100 fps = 0.1 s.
  const auto fast = run_sender({"--source", "test:160x120@5", "--port", std::to_string(sock.port()),
                                "--frames", "11", "--fps", "100", "--stats-interval", "0"});
  BOOST_REQUIRE(fast.status == 0);
  BOOST_TEST(std::stod(fast.stats.at("seconds")) >= 0.095);
  BOOST_TEST(std::stod(fast.stats.at("seconds")) < 1.5);
}

BOOST_AUTO_TEST_CASE(loop_restarts_the_file_and_keeps_counting) {
  const std::string dir = fh::test::make_temp_dir("sender-loop");
  const std::string path = dir + "/five.avi";
  {
    cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25.0, cv::Size(160, 120));
    BOOST_REQUIRE(w.isOpened());
    fh::sender::TestPatternSource pattern(160, 120);
    fh::sender::CapturedFrame f;
    for (int i = 0; i < 5; ++i) {
      pattern.next(f);
      w.write(f.image);
    }
  }
  UdpCollector sock;
  const auto r = run_sender({"--source", path, "--port", std::to_string(sock.port()), "--loop",
                             "--frames", "12", "--fps", "0", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(r.stats.at("stream") == "five.avi");
  BOOST_TEST(stats_count(r.stats, "frames") == 12u);
  wait_for_datagrams(sock, stats_count(r.stats, "datagrams"));
  const Reassembly ra = fh::sender_test::reassemble(sock.datagrams());
  BOOST_REQUIRE(ra.frames.size() == 12u);
  std::vector<std::vector<std::uint8_t>> jpegs;
  for (const auto& [key, f] : ra.frames) {
    BOOST_TEST(key.second == jpegs.size());
    jpegs.push_back(f.bytes());
  }
  BOOST_TEST((jpegs[0] == jpegs[5]));
  BOOST_TEST((jpegs[1] == jpegs[11]));
  BOOST_TEST((jpegs[0] != jpegs[1]));
  // Without --loop the file ends after its 5 frames.
  const auto once = run_sender({"--source", path, "--port", std::to_string(sock.port()), "--fps",
                                "0", "--stats-interval", "0"});
  BOOST_TEST(once.status == 0);
  BOOST_TEST(stats_count(once.stats, "frames") == 5u);
}

BOOST_AUTO_TEST_CASE(several_sources_in_one_process) {
  UdpCollector a, b;
  const auto r =
      run_sender({"--source", "test:320x240", "--port", std::to_string(a.port()), "--stream",
                  "left", "--source", "test:160x120", "--port", std::to_string(b.port()),
                  "--stream", "right", "--frames", "6", "--fps", "0", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  const auto sa = stats_line(r.output, "sender-stats", a.port());
  const auto sb = stats_line(r.output, "sender-stats", b.port());
  BOOST_TEST(sa.at("stream") == "left");
  BOOST_TEST(sb.at("stream") == "right");
  BOOST_TEST(sa.at("session") != sb.at("session"));
  wait_for_datagrams(a, stats_count(sa, "datagrams"));
  wait_for_datagrams(b, stats_count(sb, "datagrams"));
  const Reassembly ra = fh::sender_test::reassemble(a.datagrams());
  const Reassembly rb = fh::sender_test::reassemble(b.datagrams());
  BOOST_REQUIRE(ra.frames.size() == 6u);
  BOOST_REQUIRE(rb.frames.size() == 6u);
  BOOST_TEST(ra.frames.begin()->second.stream == "left");
  BOOST_TEST(cv::imdecode(ra.frames.begin()->second.bytes(), cv::IMREAD_COLOR).size() ==
             cv::Size(320, 240));
  BOOST_TEST(rb.frames.begin()->second.stream == "right");
  BOOST_TEST(cv::imdecode(rb.frames.begin()->second.bytes(), cv::IMREAD_COLOR).size() ==
             cv::Size(160, 120));
}

BOOST_AUTO_TEST_CASE(sigint_stops_after_the_current_frame_with_final_stats) {
  UdpCollector sock;
  const std::string dir = fh::test::make_temp_dir("sender-sig");
  const std::string log = dir + "/run.log";
  fh::test::Child child(fh::test::bin("framehive-sender"),
                        {"--source", "test:320x240", "--port", std::to_string(sock.port()),
                         "--stats-interval", "0.2", "--motion", "off"},
                        log);
  // Runs until told to stop: wait for a few frames to arrive, then interrupt.
  BOOST_REQUIRE(fh::test::poll_until([&] { return sock.count() > 20; }, 10s));
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        return fh::test::read_file(log).find("port " + std::to_string(sock.port())) !=
               std::string::npos;
      },
      5s));  // a periodic stats line
  child.signal(SIGINT);
  BOOST_TEST(child.wait(5s) == 0);
  const std::string out = fh::test::read_file(log);
  BOOST_TEST_INFO(out);
  const auto s = stats_line(out, "sender-stats");
  BOOST_REQUIRE(!s.empty());
  wait_for_datagrams(sock, stats_count(s, "datagrams"));
  const Reassembly ra = fh::sender_test::reassemble(sock.datagrams());
  BOOST_TEST(ra.frames.size() == stats_count(s, "frames"));
  for (const auto& [key, f] : ra.frames) BOOST_TEST(f.complete());

  // SIGTERM works the same way.
  const std::string log2 = dir + "/term.log";
  fh::test::Child term(
      fh::test::bin("framehive-sender"),
      {"--source", "test:64x48", "--port", std::to_string(sock.port()), "--motion", "off"}, log2);
  BOOST_REQUIRE(fh::test::poll_until(
      [&] { return fh::test::read_file(log2).find("session") != std::string::npos; }, 5s));
  term.signal(SIGTERM);
  BOOST_TEST(term.wait(5s) == 0);
  BOOST_TEST(!stats_line(fh::test::read_file(log2), "sender-stats").empty());
}

BOOST_AUTO_TEST_CASE(network_camera_is_paced_by_itself_thinned_by_fps_and_reconnected) {
  fh::sender_test::MjpegHttpServer camera(320, 240, 25.0);
  UdpCollector sock;
  const std::string dir = fh::test::make_temp_dir("sender-cam");
  const std::string log = dir + "/run.log";
  fh::test::Child child(fh::test::bin("framehive-sender"),
                        {"--source", camera.url(), "--port", std::to_string(sock.port()), "--fps",
                         "10", "--stats-interval", "0", "--log-level", "debug", "--motion", "off"},
                        log);
  const auto frames_seen = [&] {
    return fh::sender_test::reassemble(sock.datagrams()).frames.size();
  };
  BOOST_REQUIRE(fh::test::poll_until([&] { return frames_seen() >= 5; }, 10s));
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t n0 = frames_seen();
  // The camera drops the connection: the sender reopens it and goes on.
  camera.drop_client();
  BOOST_REQUIRE(fh::test::poll_until([&] { return camera.connections() >= 2; }, 10s));
  BOOST_REQUIRE(fh::test::poll_until([&] { return frames_seen() >= n0 + 5; }, 10s));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  child.signal(SIGINT);
  BOOST_REQUIRE(child.wait(5s) == 0);
  const std::string out = fh::test::read_file(log);
  BOOST_TEST_INFO(out);
  BOOST_TEST(out.find("reconnected") != std::string::npos);
  const auto s = stats_line(out, "sender-stats");
  BOOST_REQUIRE(!s.empty());
  BOOST_TEST(s.at("stream") == "video.mjpg");
  wait_for_datagrams(sock, stats_count(s, "datagrams"));
  const Reassembly ra = fh::sender_test::reassemble(sock.datagrams());
  BOOST_TEST(ra.frames.size() == stats_count(s, "frames"));
  // --fps 10 from a 25 fps camera: at most ~10 frames per second were published.
  const double total = std::stod(s.at("seconds"));
  BOOST_TEST(static_cast<double>(stats_count(s, "frames")) <= 10.0 * total + 2.0);
  BOOST_TEST(secs >= 0.4);  // 5 frames at <= 10 fps
  std::uint32_t expect = 0;
  for (const auto& [key, f] : ra.frames) {
    BOOST_TEST(key.second == expect++);
    BOOST_REQUIRE(f.complete());
    BOOST_TEST(cv::imdecode(f.bytes(), cv::IMREAD_COLOR).size() == cv::Size(320, 240));
  }
}

BOOST_AUTO_TEST_CASE(no_receiver_listening_is_not_fatal) {
  // Nothing listens on this port: ICMP port unreachable must not end the stream.
  const int port = fh::test::free_udp_port();
  const auto r = run_sender({"--source", "test:160x120", "--port", std::to_string(port), "--frames",
                             "30", "--fps", "200", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_TEST(r.status == 0);
  BOOST_TEST(stats_count(r.stats, "frames") == 30u);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  const std::vector<std::vector<std::string>> cases = {
      {"--source", "test:64x48", "--port", "5000", "--quality", "0"},
      {"--source", "test:64x48", "--port", "5000", "--bogus"},
      {"--source", "test:64x48"},
      {"--source", "test:64x48", "--port", "x"},
      {"--source", "test:64x48", "--port", "5000", "--chunk-size", "40"},
      {"--source", "test:64x48", "--port", "5000", "--log-level", "loud"},
      {"--source", "test:8x8", "--port", "5000"},
  };
  for (const auto& args : cases) {
    const auto r = run_sender(args, 5s);
    BOOST_TEST_INFO(r.output);
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.output.find("--help") != std::string::npos);
    BOOST_TEST(r.stats.empty());
  }
}

BOOST_AUTO_TEST_CASE(missing_or_corrupt_source_exits_1_with_one_line) {
  const auto missing = run_sender({"--source", "/nonexistent/missing.avi", "--port", "5000"}, 5s);
  BOOST_TEST_INFO(missing.output);
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(missing.output.find("cannot open source '/nonexistent/missing.avi'") !=
             std::string::npos);
  BOOST_TEST(count_lines(missing.output) == 1u);

  const std::string dir = fh::test::make_temp_dir("sender-bad");
  std::vector<std::uint8_t> junk(100'000);
  std::uint32_t x = 7;
  for (auto& b : junk) b = static_cast<std::uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  fh::sender_test::write_file(dir + "/junk.avi", junk);
  const auto corrupt = run_sender({"--source", dir + "/junk.avi", "--port", "5000"}, 5s);
  BOOST_TEST_INFO(corrupt.output);
  BOOST_TEST(corrupt.status == 1);
  BOOST_TEST(corrupt.output.find("cannot open source") != std::string::npos);
  BOOST_TEST(count_lines(corrupt.output) == 1u);
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  const auto help = run_sender({"--help"}, 5s);
  BOOST_TEST(help.status == 0);
  for (const char* flag : {"--source",
                           "--receiver",
                           "--port",
                           "--stream",
                           "--fps",
                           "--width",
                           "--quality",
                           "--chunk-size",
                           "--frames",
                           "--loop",
                           "--max-rate",
                           "--stats-interval",
                           "--test-drop-fraction",
                           "--test-seed",
                           "--log-level",
                           "--version",
                           "Examples:",
                           "sender-stats",
                           "--motion MODE (=gate)",
                           "--idle-interval S (=5)",
                           "--motion-hangover",
                           "--motion-threshold",
                           "--motion-min-area F (=0.0005)",
                           "--motion-mask",
                           "gated=N"}) {
    BOOST_TEST(help.output.find(flag) != std::string::npos, flag);
  }
  const auto version = run_sender({"--version"}, 5s);
  BOOST_TEST(version.status == 0);
  BOOST_TEST(version.output.find("framehive-sender ") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
