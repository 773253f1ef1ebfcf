// framehive-sender --motion end to end through a real UDP socket on 127.0.0.1: keep-alives of a
// still camera, a moving square sent with its boxes, the gated accounting in the headers, the
// extension with a key, --motion off byte for byte as before; UdpSender's sendmmsg batches.
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <set>

#include "framehive/sender/chunker.hpp"
#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/test_pattern_source.hpp"
#include "framehive/sender/udp_sender.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"
#include "sender_test_util.hpp"
#include "stats_line.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using fh::sender::TestPatternSource;
using fh::sender_test::UdpCollector;
using fh::test::stats_count;
namespace proto = fh::shared;

namespace {

struct Run {
  int status = -1000;
  std::string output;                        ///< stdout and stderr together
  std::map<std::string, std::string> stats;  ///< the sender-stats line
};

Run run_sender(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 30s) {
  static int counter = 0;
  static const std::string dir = fh::test::make_temp_dir("sender-motion");
  const std::string log = dir + "/run" + std::to_string(counter++) + ".log";
  Run r;
  {
    fh::test::Child child(fh::test::bin("framehive-sender"), args, log);
    r.status = child.wait(timeout);
  }
  r.output = fh::test::read_file(log);
  r.stats = fh::test::stats_line(r.output, "sender-stats");
  return r;
}

/// One frame as received: its header (chunk 0's; every chunk carries the same extension).
struct SentFrame {
  proto::DatagramHeader header;
  std::size_t chunks = 0;
};

/// Decodes every datagram (all must be valid and at most chunk_size bytes) and groups them by
/// frame_seq; checks that all chunks of a frame carry the same motion extension.
std::map<std::uint32_t, SentFrame> frames_of(const std::vector<std::vector<std::uint8_t>>& all,
                                             std::size_t chunk_size) {
  std::map<std::uint32_t, SentFrame> frames;
  for (const auto& d : all) {
    BOOST_TEST(d.size() <= chunk_size);
    proto::DecodedDatagram dd;
    BOOST_REQUIRE(proto::decode_datagram(d.data(), d.size(), dd) == proto::DecodeError::none);
    auto& f = frames[dd.header.frame_seq];
    if (f.chunks == 0) {
      f.header = dd.header;
    } else {
      BOOST_TEST((f.header.motion == dd.header.motion));
      BOOST_TEST(f.header.flags == dd.header.flags);
    }
    ++f.chunks;
  }
  return frames;
}

/// Waits until the socket holds the datagrams the sender says it sent.
std::vector<std::vector<std::uint8_t>> collect(const UdpCollector& sock, const Run& r) {
  const std::size_t n = stats_count(r.stats, "datagrams");
  BOOST_REQUIRE(fh::test::poll_until([&] { return sock.count() >= n; }, 5s));
  auto all = sock.datagrams();
  BOOST_TEST(all.size() == n);
  return all;
}

cv::Rect2f box_of(const proto::MotionExtension::Box& b) {
  const float s = static_cast<float>(proto::k_motion_box_scale);
  return {b.x / s, b.y / s, b.w / s, b.h / s};
}

double iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(motion_sender)

BOOST_AUTO_TEST_CASE(still_camera_sends_keepalives_about_every_idle_interval) {
  UdpCollector sock;
  const double idle = 0.4;
  const int frames = 50;  // 2.5 s of a 20 fps camera, paced in real time
  const auto r = run_sender({"--source", "test:320x240@20:still", "--port",
                             std::to_string(sock.port()), "--frames", std::to_string(frames),
                             "--idle-interval", "0.4", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  const auto sent = frames_of(collect(sock, r), 1400);
  const std::uint64_t n_sent = stats_count(r.stats, "frames");
  BOOST_TEST(sent.size() == n_sent);
  BOOST_TEST(stats_count(r.stats, "read") == static_cast<std::uint64_t>(frames));
  BOOST_TEST(stats_count(r.stats, "frames") + stats_count(r.stats, "gated") ==
             static_cast<std::uint64_t>(frames));
  // frame_seq counts frames sent: 0 .. sent-1 without gaps; the gated counts in the headers
  // add up to the frames read.
  std::uint64_t gated = 0;
  std::uint32_t expect = 0;
  std::vector<double> times;
  for (const auto& [seq, f] : sent) {
    BOOST_TEST(seq == expect++);
    const auto& h = f.header;
    BOOST_TEST((h.flags & proto::k_flag_motion) != 0);
    BOOST_TEST((h.motion.flags & proto::k_motion_moving) == 0);  // nothing moves
    BOOST_TEST((h.motion.flags & proto::k_motion_keepalive) != 0);
    BOOST_TEST(h.motion.score == 0u);
    BOOST_TEST(h.motion.boxes.empty());
    gated += h.motion.gated;
    times.push_back(static_cast<double>(h.capture_us) * 1e-6);
  }
  BOOST_TEST(n_sent + gated == static_cast<std::uint64_t>(frames));
  // The first frame, one per idle interval over the run's own measured duration, and the last.
  const double seconds = std::stod(r.stats.at("seconds"));
  const double span = times.back() - times.front();
  BOOST_TEST_INFO("seconds " << seconds << " span " << span << " sent " << n_sent);
  BOOST_TEST(n_sent >= 1 + static_cast<std::uint64_t>(span / idle) - 1);
  BOOST_TEST(n_sent <= 2 + static_cast<std::uint64_t>(seconds / idle) + 1);
  BOOST_TEST(n_sent >= 4u);  // 2.5 s at 0.4 s: far more than the first and the last frame
  // Consecutive keep-alives (not counting the stream's last frame) are an idle interval apart,
  // give or take a frame period and scheduling.
  for (std::size_t i = 1; i + 1 < times.size(); ++i) {
    BOOST_TEST(times[i] - times[i - 1] >= idle - 0.06, "gap " << times[i] - times[i - 1]);
    BOOST_TEST(times[i] - times[i - 1] <= idle + 0.5, "gap " << times[i] - times[i - 1]);
  }
}

BOOST_AUTO_TEST_CASE(moving_square_is_sent_with_its_boxes_and_idle_frames_are_gated) {
  UdpCollector sock;
  // Two burst cycles: still stretches, then the square crossing. --fps 0: the gate's clock is
  // the pattern's own timestamps (20 fps), so the idle interval is 1 s = 20 frames.
  const int frames = 2 * TestPatternSource::k_burst_cycle;
  const auto r =
      run_sender({"--source", "test:640x480@20:bursts", "--port", std::to_string(sock.port()),
                  "--frames", std::to_string(frames), "--fps", "0", "--idle-interval", "1",
                  "--motion-hangover", "0.25", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  const auto sent = frames_of(collect(sock, r), 1400);
  BOOST_TEST(sent.size() == stats_count(r.stats, "frames"));
  const TestPatternSource scene(640, 480, 20, TestPatternSource::Scene::bursts);
  std::int64_t n = -1;  // the source frame of each frame sent: gated frames come before it
  std::uint32_t expect = 0;
  std::size_t with_square = 0, matched = 0, keepalives = 0, hangovers = 0;
  std::int64_t last_keepalive = -1;
  std::set<std::int64_t> sent_frames;
  for (const auto& [seq, f] : sent) {
    BOOST_TEST(seq == expect++);
    const auto& m = f.header.motion;
    n += 1 + m.gated;
    sent_frames.insert(n);
    const bool moving = (m.flags & proto::k_motion_moving) != 0;
    const bool keepalive = (m.flags & proto::k_motion_keepalive) != 0;
    BOOST_TEST(!(moving && keepalive));
    if (const auto square = scene.square_at(n)) {
      ++with_square;
      BOOST_TEST_CONTEXT("frame " << n << " (seq " << seq << ")") {
        BOOST_TEST(moving);
        BOOST_TEST(m.score > 0u);
        BOOST_TEST(!m.boxes.empty());
        const cv::Rect2f truth(square->x / 640.f, square->y / 480.f, square->width / 640.f,
                               square->height / 480.f);
        double best = 0;
        for (const auto& b : m.boxes) best = std::max(best, iou(box_of(b), truth));
        BOOST_TEST(best >= 0.5);
        matched += best >= 0.5 ? 1 : 0;
      }
    } else if (keepalive) {
      ++keepalives;
      BOOST_TEST(m.boxes.empty());
      // At least the idle interval after the previous keep-alive (20 frames), unless it is the
      // stream's last frame.
      if (last_keepalive >= 0 && n != frames - 1) BOOST_TEST(n - last_keepalive >= 20);
      last_keepalive = n;
    } else {
      ++hangovers;  // the hang-over after the square left: neither moving nor keep-alive
      BOOST_TEST(!moving);
    }
  }
  BOOST_TEST(n == frames - 1);  // the stream's last frame is always sent
  // Every frame showing the square was sent, each with a box on the square.
  std::size_t square_frames = 0;
  for (std::int64_t k = 0; k < frames; ++k) {
    if (scene.square_at(k)) {
      ++square_frames;
      BOOST_TEST(sent_frames.count(k) == 1u, "frame " << k << " with the square was sent");
    }
  }
  BOOST_TEST(with_square == square_frames);
  BOOST_TEST(matched == square_frames);
  BOOST_TEST(keepalives >= 2u);
  // Most of the still frames were gated.
  BOOST_TEST(stats_count(r.stats, "gated") >
             static_cast<std::uint64_t>(frames - static_cast<int>(square_frames)) / 2);
  BOOST_TEST(stats_count(r.stats, "frames") + stats_count(r.stats, "gated") ==
             static_cast<std::uint64_t>(frames));
  (void)hangovers;
}

BOOST_AUTO_TEST_CASE(flag_sends_every_frame_with_the_extension_and_a_key) {
  const std::string dir = fh::test::make_temp_dir("sender-motion-key");
  const std::string key = "motion-test-key-0123456789abcdef";
  const std::string key_file = dir + "/datagram.key";
  {
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()));
    ::close(fd);
  }
  UdpCollector sock;
  const int frames = 30;
  const auto r =
      run_sender({"--source", "test:320x240@10:square", "--port", std::to_string(sock.port()),
                  "--frames", std::to_string(frames), "--fps", "0", "--motion", "flag",
                  "--key-file", key_file, "--chunk-size", "600", "--stats-interval", "0"});
  std::filesystem::remove_all(dir);
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(stats_count(r.stats, "frames") == static_cast<std::uint64_t>(frames));
  BOOST_TEST(stats_count(r.stats, "gated") == 0u);
  const auto all = collect(sock, r);
  proto::DatagramTagger tagger(key);
  const auto port = static_cast<std::uint16_t>(sock.port());
  std::map<std::uint32_t, std::size_t> chunks;
  std::size_t moving = 0;
  for (const auto& d : all) {
    BOOST_TEST(d.size() <= 600u);
    proto::DecodedDatagram dd;
    BOOST_REQUIRE(proto::decode_tagged_datagram(d.data(), d.size(), port, tagger, dd) ==
                  proto::DecodeError::none);
    const auto& h = dd.header;
    BOOST_TEST((h.flags & proto::k_flag_motion) != 0);
    BOOST_TEST(h.motion.gated == 0u);
    BOOST_TEST((h.motion.flags & proto::k_motion_keepalive) == 0);
    if (h.chunk_index == 0 && (h.motion.flags & proto::k_motion_moving)) ++moving;
    ++chunks[h.frame_seq];
    // Every chunk but the last is exactly chunk_size: the payload shrank by the extension.
    if (h.chunk_index + 1 < h.chunk_count) BOOST_TEST(d.size() == 600u);
  }
  BOOST_TEST(chunks.size() == static_cast<std::size_t>(frames));
  BOOST_TEST(moving >= static_cast<std::size_t>(frames) - 2);  // the square moves all along
}

BOOST_AUTO_TEST_CASE(motion_off_datagrams_are_byte_for_byte_as_before) {
  UdpCollector sock;
  const int frames = 6;
  const auto r = run_sender({"--source", "test:320x240@10:bursts", "--port",
                             std::to_string(sock.port()), "--frames", std::to_string(frames),
                             "--fps", "0", "--motion", "off", "--stats-interval", "0"});
  BOOST_TEST_INFO(r.output);
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(stats_count(r.stats, "frames") == static_cast<std::uint64_t>(frames));
  BOOST_TEST(stats_count(r.stats, "gated") == 0u);
  const auto all = collect(sock, r);
  // What the chunker without motion (the format before the extension existed) makes of the
  // same JPEGs, with the session and capture times the sender used.
  TestPatternSource scene(320, 240, 10, TestPatternSource::Scene::bursts);
  const fh::sender::JpegEncoder encoder;
  std::map<std::uint32_t, std::vector<std::vector<std::uint8_t>>> by_frame;
  for (const auto& d : all) {
    proto::DecodedDatagram dd;
    BOOST_REQUIRE(proto::decode_datagram(d.data(), d.size(), dd) == proto::DecodeError::none);
    BOOST_TEST((dd.header.flags & proto::k_flag_motion) == 0);
    BOOST_TEST(dd.header.version == proto::k_version);
    auto& v = by_frame[dd.header.frame_seq];
    v.resize(dd.header.chunk_count);
    v[dd.header.chunk_index] = d;
  }
  BOOST_REQUIRE(by_frame.size() == static_cast<std::size_t>(frames));
  for (const auto& [seq, datagrams] : by_frame) {
    proto::DecodedDatagram first;
    BOOST_REQUIRE(proto::decode_datagram(datagrams[0].data(), datagrams[0].size(), first) ==
                  proto::DecodeError::none);
    cv::Mat img;
    scene.render(seq, img);
    const fh::sender::Chunker chunker("test", first.header.session, 1400);
    const auto expected = chunker.split(encoder.encode(img), seq, first.header.capture_us);
    BOOST_TEST((expected == datagrams), "frame " << seq);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(udp_sender_batches)

BOOST_AUTO_TEST_CASE(sendmmsg_batches_keep_every_datagram_in_order) {
  UdpCollector sock;
  fh::sender::UdpSender tx("127.0.0.1", static_cast<std::uint16_t>(sock.port()));
  // 1000 datagrams of varied sizes (numbered in their first 4 bytes), then one too large for
  // UDP in the middle of another batch: refused and counted, the others still go.
  std::vector<std::vector<std::uint8_t>> data;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    std::vector<std::uint8_t> d(100 + (i * 37) % 1300, static_cast<std::uint8_t>(i));
    d[0] = static_cast<std::uint8_t>(i >> 24);
    d[1] = static_cast<std::uint8_t>(i >> 16);
    d[2] = static_cast<std::uint8_t>(i >> 8);
    d[3] = static_cast<std::uint8_t>(i);
    data.push_back(std::move(d));
  }
  std::vector<iovec> iov;
  std::size_t bytes_expected = 0;
  for (auto& d : data) {
    iov.push_back({d.data(), d.size()});
    bytes_expected += d.size();
  }
  std::size_t bytes = 0;
  BOOST_TEST(tx.send_batch(iov.data(), iov.size(), &bytes) == 1000u);
  BOOST_TEST(bytes == bytes_expected);
  BOOST_TEST(tx.send_errors() == 0u);
  // At most 64 per call: at least 16 calls, and far fewer than one per datagram.
  BOOST_TEST(tx.batches() >= 16u);
  BOOST_TEST(tx.batches() < 1000u);
  BOOST_REQUIRE(fh::test::poll_until([&] { return sock.count() >= 1000; }, 5s));
  const auto got = sock.datagrams();
  BOOST_REQUIRE(got.size() == 1000u);
  for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST((got[i] == data[i]), "datagram " << i);

  std::vector<std::uint8_t> huge(70000, 0xAB);
  std::vector<iovec> mixed{{data[0].data(), data[0].size()},
                           {huge.data(), huge.size()},
                           {data[1].data(), data[1].size()}};
  bytes = 0;
  BOOST_TEST(tx.send_batch(mixed.data(), mixed.size(), &bytes) == 2u);
  BOOST_TEST(bytes == data[0].size() + data[1].size());
  BOOST_TEST(tx.send_errors() == 1u);
  BOOST_REQUIRE(fh::test::poll_until([&] { return sock.count() >= 1002; }, 5s));
  const auto after = sock.datagrams();
  BOOST_REQUIRE(after.size() == 1002u);
  BOOST_TEST((after[1000] == data[0]));
  BOOST_TEST((after[1001] == data[1]));
  BOOST_TEST(tx.send_batch(nullptr, 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
