// Acceptance test of the receiver issue: real framehive-sender processes stream a video file
// and a test pattern at full speed into one framehive-receiver on two ports; every frame
// arrives, decodes, and is byte-identical to what the sender encoded. With datagrams withheld
// on purpose, the receiver's counts add up with the sender's.
#include "process_util.hpp"

#include "framehive/sender/frame_source.hpp"
#include "framehive/sender/jpeg_encoder.hpp"

#include <boost/test/unit_test.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <map>

using namespace fh::receiver::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Jpeg = std::vector<std::uint8_t>;

constexpr std::size_t k_vtest_frames = 795;
constexpr std::size_t k_pattern_frames = 300;
const std::string k_pattern = "test:640x480";

/// The JPEGs framehive-sender sends for a source, rebuilt through the sender library's public
/// API (same decoder, same encoder at its default quality 80, native size).
const std::vector<Jpeg>& sent_jpegs(const std::string& spec, std::size_t limit) {
  static std::map<std::string, std::vector<Jpeg>> cache;
  auto& out = cache[spec];
  if (out.empty()) {
    auto source = fh::sender::FrameSource::open(spec);
    const fh::sender::JpegEncoder encoder;
    fh::sender::Frame frame;
    while (out.size() < limit && source->next(frame)) out.push_back(encoder.encode(frame.image));
  }
  return out;
}

std::size_t jpeg_files(const std::string& dir) {
  if (!fs::is_directory(dir)) return 0;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".jpg";
  return n;
}

/// Shows the stats lines in the test log (ctest runs with --log_level=message).
void log_lines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) BOOST_TEST_MESSAGE(line);
  }
}

Jpeg file_bytes(const std::string& path) {
  const auto s = fh::test::read_file(path);
  return Jpeg(s.begin(), s.end());
}

/// framehive-sender for one source; returns its "sender-stats" fields after it exits.
class SenderProcess {
 public:
  SenderProcess(const std::vector<std::string>& args, const std::string& tag)
      : dir_(tag),
        log_(dir_.path() + "/sender.log"),
        child_(fh::test::bin("framehive-sender"), args, log_) {}

  Fields finish(int port) {
    const int rc = child_.wait(60000ms);
    const auto out = fh::test::read_file(log_);
    BOOST_TEST(rc == 0, "framehive-sender exit status " << rc << ":\n" << out);
    const auto f = stats_line(out, "sender-stats", port);
    log_lines(out, "sender-stats");
    BOOST_REQUIRE_MESSAGE(f, "no sender-stats line for port " << port << ":\n" << out);
    return *f;
  }

 private:
  TempDir dir_;            ///< holds the log; removed last
  std::string log_;        ///< its stdout + stderr
  fh::test::Child child_;  ///< the process
};

std::vector<std::string> sender_args(const std::string& source, int port,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> a{"--source", source, "--receiver", "127.0.0.1",
                             "--port", std::to_string(port), "--fps", "0",
                             "--stats-interval", "0"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> receiver_args(int a, int b, const std::string& dir) {
  return {"--bind", "127.0.0.1", "--ports", std::to_string(a) + "," + std::to_string(b),
          "--dump", dir, "--rcvbuf", "33554432", "--stats-interval", "0"};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acceptance)

// Two cameras at full speed (--fps 0) into one receiver: vtest.avi (795 frames) on port A and
// the 640x480 test pattern (300 frames) on port B. Every frame arrives, in DIR/<port>/<seq>.jpg,
// decodable and byte-identical to what the sender encoded; nothing is lost or malformed.
BOOST_AUTO_TEST_CASE(two_cameras_full_speed_every_frame_arrives_byte_identical) {
  const int port_a = fh::test::free_udp_port();
  int port_b = fh::test::free_udp_port();
  while (port_b == port_a) port_b = fh::test::free_udp_port();
  const TempDir dump("accept");
  const std::string& dir = dump.path();
  ReceiverProcess rx(receiver_args(port_a, port_b, dir), "accept-rx");
  BOOST_REQUIRE(rx.wait_ready());

  SenderProcess video(sender_args(fh::test::vtest_avi(), port_a, {}), "accept-tx-a");
  SenderProcess pattern(
      sender_args(k_pattern, port_b, {"--frames", std::to_string(k_pattern_frames)}),
      "accept-tx-b");
  const auto sent_a = video.finish(port_a);
  const auto sent_b = pattern.finish(port_b);
  BOOST_TEST(num(sent_a, "frames") == k_vtest_frames);
  BOOST_TEST(num(sent_b, "frames") == k_pattern_frames);

  const std::string dir_a = dir + "/" + std::to_string(port_a);
  const std::string dir_b = dir + "/" + std::to_string(port_b);
  BOOST_TEST(fh::test::poll_until(
      [&] {
        return jpeg_files(dir_a) == k_vtest_frames && jpeg_files(dir_b) == k_pattern_frames;
      },
      20000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  log_lines(out, "receiver-stats");
  const auto got_a = stats_line(out, "receiver-stats", port_a);
  const auto got_b = stats_line(out, "receiver-stats", port_b);
  BOOST_REQUIRE_MESSAGE(got_a && got_b, out);
  for (const auto& [got, sent] : {std::pair{*got_a, sent_a}, std::pair{*got_b, sent_b}}) {
    BOOST_TEST_CONTEXT("port " << got.at("port")) {
      BOOST_TEST(num(got, "datagrams") == num(sent, "datagrams"));
      BOOST_TEST(num(got, "bytes") == num(sent, "bytes"));
      BOOST_TEST(num(got, "frames_complete") == num(sent, "frames"));
      BOOST_TEST(num(got, "frames_delivered") == num(sent, "frames"));
      BOOST_TEST(num(got, "frames_incomplete") == 0u);
      BOOST_TEST(num(got, "frames_dropped") == 0u);
      BOOST_TEST(num(got, "malformed") == 0u);
    }
  }

  const auto& jpegs_a = sent_jpegs(fh::test::vtest_avi(), k_vtest_frames);
  const auto& jpegs_b = sent_jpegs(k_pattern, k_pattern_frames);
  BOOST_REQUIRE(jpegs_a.size() == k_vtest_frames);
  BOOST_REQUIRE(jpegs_b.size() == k_pattern_frames);
  for (const auto& [d, jpegs, size] : {std::tuple{dir_a, &jpegs_a, cv::Size(768, 576)},
                                       std::tuple{dir_b, &jpegs_b, cv::Size(640, 480)}}) {
    std::size_t identical = 0;
    std::size_t decodable = 0;
    for (std::size_t seq = 0; seq < jpegs->size(); ++seq) {
      const auto bytes = file_bytes(d + "/" + std::to_string(seq) + ".jpg");
      identical += bytes == (*jpegs)[seq];
      const cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
      decodable += !img.empty() && img.size() == size;
    }
    BOOST_TEST_CONTEXT(d) {
      BOOST_TEST(identical == jpegs->size());
      BOOST_TEST(decodable == jpegs->size());
    }
  }
}

// The sender withholds 5% of its datagrams (seed 3): frames that lost a datagram are damaged.
// Per port the receiver accounts for every frame: complete + incomplete = frames sent, and
// complete = frames - damaged. Whatever completed is still byte-identical.
BOOST_AUTO_TEST_CASE(with_withheld_datagrams_the_counts_add_up) {
  const int port_a = fh::test::free_udp_port();
  int port_b = fh::test::free_udp_port();
  while (port_b == port_a) port_b = fh::test::free_udp_port();
  const TempDir dump("accept-drop");
  const std::string& dir = dump.path();
  ReceiverProcess rx(receiver_args(port_a, port_b, dir), "accept-drop-rx");
  BOOST_REQUIRE(rx.wait_ready());

  const std::vector<std::string> drop{"--test-drop-fraction", "0.05", "--test-seed", "3"};
  SenderProcess video(sender_args(fh::test::vtest_avi(), port_a, drop), "accept-drop-tx-a");
  auto pattern_args = drop;
  pattern_args.insert(pattern_args.end(), {"--frames", std::to_string(k_pattern_frames)});
  SenderProcess pattern(sender_args(k_pattern, port_b, pattern_args), "accept-drop-tx-b");
  const std::map<int, Fields> sent{{port_a, video.finish(port_a)},
                                   {port_b, pattern.finish(port_b)}};

  for (const auto& [port, s] : sent) {
    const std::string d = dir + "/" + std::to_string(port);
    const auto complete = num(s, "frames") - num(s, "frames_damaged");
    BOOST_TEST(fh::test::poll_until([&] { return jpeg_files(d) == complete; }, 20000ms));
  }
  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  log_lines(out, "receiver-stats");
  for (const auto& [port, s] : sent) {
    const auto got = stats_line(out, "receiver-stats", port);
    BOOST_REQUIRE_MESSAGE(got, out);
    BOOST_TEST_CONTEXT("port " << port) {
      BOOST_TEST(num(s, "frames_damaged") > 0u);
      BOOST_TEST(num(*got, "datagrams") ==
                 num(s, "datagrams"));
      BOOST_TEST(num(*got, "frames_complete") + num(*got, "frames_incomplete") ==
                 num(s, "frames"));
      BOOST_TEST(num(*got, "frames_complete") == num(s, "frames") - num(s, "frames_damaged"));
      BOOST_TEST(num(*got, "frames_incomplete") ==
                 num(*got, "timed_out") + num(*got, "superseded") + num(*got, "evicted") +
                     num(*got, "missing"));
      BOOST_TEST(num(*got, "malformed") == 0u);
    }
  }
  // Damaged frames never produce a file; complete ones are exact.
  const std::map<int, const std::vector<Jpeg>*> jpegs{
      {port_a, &sent_jpegs(fh::test::vtest_avi(), k_vtest_frames)},
      {port_b, &sent_jpegs(k_pattern, k_pattern_frames)}};
  for (const auto& [port, list] : jpegs) {
    const std::string d = dir + "/" + std::to_string(port);
    std::size_t checked = 0;
    std::size_t identical = 0;
    for (const auto& e : fs::directory_iterator(d)) {
      if (e.path().extension() != ".jpg") continue;
      const auto seq = std::stoul(e.path().stem().string());
      BOOST_REQUIRE(seq < list->size());
      ++checked;
      identical += file_bytes(e.path().string()) == (*list)[seq];
    }
    BOOST_TEST(identical == checked);
  }
}

BOOST_AUTO_TEST_SUITE_END()
