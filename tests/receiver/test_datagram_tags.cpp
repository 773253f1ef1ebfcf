// Integrity tags at the receiver: with --key-file a tagged stream arrives intact while spoofed
// datagrams (untagged, tagged with another key, altered in flight, forged chunks of the very
// frames being sent) are dropped and counted as malformed_bad_tag; without a key tagged
// datagrams are accepted unchecked. In process (Reassembler) and over real sockets on 127.0.0.1
// (framehive-receiver, and framehive-sender --key-file).
#include "datagrams.hpp"
#include "process_util.hpp"

#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/datagram_tagger.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

using namespace fh::receiver;
using namespace fh::receiver::test;
using fh::shared::DatagramTagger;
using fh::shared::DecodeError;
using namespace std::chrono_literals;

namespace {

const std::string k_key = "receiver-test-key-0123456789abcdef";

/// Frame seq of a one-frame session tagged with key for port 5000.
std::vector<Datagram> split_tagged(const std::vector<std::uint8_t>& frame, std::uint64_t session,
                                   std::uint32_t seq, const std::string& key) {
  return TaggedSession(key, session, 5000).split(frame, seq);
}

std::uint64_t malformed(const PortStatsSnapshot& s, DecodeError e) {
  return s.malformed_by_reason[static_cast<std::size_t>(e)];
}

std::string key_file(const std::string& dir, const std::string& key) {
  return write_key(dir, "datagram.key", key);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(datagram_tags)

BOOST_AUTO_TEST_CASE(reassembler_with_a_key_takes_only_correctly_tagged_chunks) {
  constexpr std::uint16_t port = 5000;
  fh::shared::ManualClock clock;
  StatsTable stats({port});
  Collector sink;
  ReassemblerConfig cfg;
  cfg.key = k_key;
  Reassembler r(cfg, clock, stats, sink);
  auto push = [&](const Datagram& d) { return r.push(port, d.data(), d.size()); };

  const auto frame = jpeg_like(5500, 1);
  const auto good = split_tagged(frame, 0xA11CE, 0, k_key);
  // forgeries of the same frame: untagged, another key, an altered payload byte
  const auto forged_payload = jpeg_like(5500, 666);
  const auto untagged = split(forged_payload, 0xA11CE, 0);
  const auto other_key = split_tagged(forged_payload, 0xA11CE, 0, "someone-else-0123456789");
  Datagram altered = good[2];
  altered[altered.size() - 20] ^= 0x10;  // in the payload, before the tag

  BOOST_TEST(push(untagged[0]) == DecodeError::bad_tag);
  BOOST_TEST(push(other_key[1]) == DecodeError::bad_tag);
  BOOST_TEST(push(altered) == DecodeError::bad_tag);
  for (const auto& d : good) BOOST_TEST(push(d) == DecodeError::none);
  for (const auto& d : untagged) BOOST_TEST(push(d) == DecodeError::bad_tag);

  BOOST_REQUIRE(sink.frames.size() == 1u);
  BOOST_TEST(sink.frames[0].jpeg == frame, boost::test_tools::per_element());
  const auto s = stats.find(port)->snapshot();
  BOOST_TEST(malformed(s, DecodeError::bad_tag) == 3u + untagged.size());
  BOOST_TEST(s.malformed() == 3u + untagged.size());
  BOOST_TEST(s.frames_complete == 1u);
}

BOOST_AUTO_TEST_CASE(reassembler_without_a_key_accepts_tagged_and_untagged_chunks) {
  constexpr std::uint16_t port = 5000;
  fh::shared::ManualClock clock;
  StatsTable stats({port});
  Collector sink;
  Reassembler r(ReassemblerConfig{}, clock, stats, sink);
  const auto a = jpeg_like(4000, 2);
  const auto b = jpeg_like(4000, 3);
  for (const auto& d : split_tagged(a, 7, 0, k_key)) r.push(port, d.data(), d.size());
  for (const auto& d : split(b, 7, 1)) r.push(port, d.data(), d.size());
  BOOST_REQUIRE(sink.frames.size() == 2u);
  BOOST_TEST(sink.frames[0].jpeg == a, boost::test_tools::per_element());
  BOOST_TEST(sink.frames[1].jpeg == b, boost::test_tools::per_element());
  BOOST_TEST(stats.find(port)->snapshot().malformed() == 0u);
}

BOOST_AUTO_TEST_CASE(receiver_process_drops_spoofed_datagrams_and_keeps_the_tagged_stream) {
  const int port = fh::test::free_udp_port();
  const TempDir dump("recv-tags");
  const std::string& dir = dump.path();
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--dump", dir + "/frames",
       "--key-file", key_file(dir, k_key), "--frame-timeout", "0.3", "--stats-interval", "0"},
      "recv-tags");
  BOOST_REQUIRE(rx.wait_ready());
  BOOST_TEST(rx.output().find("integrity tags required") != std::string::npos, rx.output());
  UdpClient tx(port);

  // Interleaved: every genuine chunk is preceded by a forged one for the same frame and chunk
  // (untagged, another key, or altered in flight), so a receiver that believed any of them
  // would write a corrupted frame.
  std::vector<std::vector<std::uint8_t>> frames;
  std::uint64_t spoofed = 0;
  std::uint64_t sent = 0;
  const auto rx_port = static_cast<std::uint16_t>(port);
  const std::uint64_t now_us = fh::shared::unix_micros();  // inside the replay window
  TaggedSession camera(k_key, 0x5EC, rx_port, now_us);
  TaggedSession attacker("attacker-key-0123456789abcdef", 0x5EC, rx_port, now_us);
  for (std::uint32_t seq = 0; seq < 15; ++seq) {
    frames.push_back(jpeg_like(3'000 + 4'000 * (seq % 5), 100 + seq));
    const auto genuine = camera.split(frames.back(), seq, 1300);
    const auto fake = jpeg_like(frames.back().size(), 900 + seq);
    const auto untagged = split(fake, 0x5EC, seq, 1300, "cam", now_us);
    const auto other = attacker.split(fake, seq, 1300);
    for (std::size_t i = 0; i < genuine.size(); ++i) {
      Datagram forged;
      switch ((seq + i) % 3) {
        case 0:
          forged = untagged[i];
          break;
        case 1:
          forged = other[i];
          break;
        default:
          forged = genuine[i];
          forged[forged.size() / 2] ^= 0x01;
      }
      BOOST_REQUIRE(tx.send(forged));
      BOOST_REQUIRE(tx.send(genuine[i]));
      ++spoofed;
      sent += 2;
    }
    std::this_thread::sleep_for(1ms);  // stay well within the socket buffer
  }
  const bool all_there = fh::test::poll_until(
      [&] {
        for (std::uint32_t seq = 0; seq < frames.size(); ++seq) {
          const auto bytes = fh::test::read_file(dir + "/frames/" + std::to_string(port) + "/" +
                                                 std::to_string(seq) + ".jpg");
          if (std::vector<std::uint8_t>(bytes.begin(), bytes.end()) != frames[seq]) return false;
        }
        return true;
      },
      10000ms);
  BOOST_TEST(all_there);
  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  const auto f = stats_line(out, "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), out);
  BOOST_TEST(stats_count(f, "datagrams") == sent);
  BOOST_TEST(stats_count(f, "malformed_bad_tag") == spoofed);
  BOOST_TEST(stats_count(f, "malformed") == spoofed);
  BOOST_TEST(stats_count(f, "frames_complete") == frames.size());
  BOOST_TEST(stats_count(f, "frames_incomplete") == 0u);
}

BOOST_AUTO_TEST_CASE(tagging_sender_to_keyed_and_keyless_receivers) {
  const TempDir tmp("recv-tag-sender");
  const std::string key = key_file(tmp.path(), k_key);
  const int keyed_port = fh::test::free_udp_port();
  int keyless_port = fh::test::free_udp_port();
  while (keyless_port == keyed_port) keyless_port = fh::test::free_udp_port();
  ReceiverProcess keyed({"--bind", "127.0.0.1", "--ports", std::to_string(keyed_port), "--key-file",
                         key, "--stats-interval", "0.05"},
                        "recv-keyed");
  ReceiverProcess keyless(
      {"--bind", "127.0.0.1", "--ports", std::to_string(keyless_port), "--stats-interval", "0.05"},
      "recv-keyless");
  BOOST_REQUIRE(keyed.wait_ready());
  BOOST_REQUIRE(keyless.wait_ready());
  const int frames = 12;
  const std::string log = tmp.path() + "/sender.log";
  fh::test::Child sender(fh::test::bin("framehive-sender"),
                         {"--source",
                          "test:320x240",
                          "--port",
                          std::to_string(keyed_port),
                          "--source",
                          "test:320x240",
                          "--port",
                          std::to_string(keyless_port),
                          "--receiver",
                          "127.0.0.1",
                          "--fps",
                          "60",
                          "--frames",
                          std::to_string(frames),
                          "--key-file",
                          key,
                          "--stats-interval",
                          "0",
                          "--motion",
                          "off"},
                         log);
  BOOST_REQUIRE(sender.wait(30000ms) == 0);
  BOOST_TEST(fh::test::read_file(log).find("datagrams tagged") != std::string::npos);
  for (ReceiverProcess* rx : {&keyed, &keyless}) {
    const int port = rx == &keyed ? keyed_port : keyless_port;
    BOOST_TEST_CONTEXT("port " << port) {
      // the periodic stats line (stderr) shows when every frame went through
      BOOST_TEST(fh::test::poll_until(
          [&] {
            return rx->output().find("frames_complete=" + std::to_string(frames) + " ") !=
                   std::string::npos;
          },
          10000ms));
      BOOST_TEST(rx->stop() == 0);
      const auto out = rx->output();
      const auto f = stats_line(out, "receiver-stats", port);
      BOOST_REQUIRE_MESSAGE(!f.empty(), out);
      BOOST_TEST(stats_count(f, "frames_complete") == static_cast<std::uint64_t>(frames));
      BOOST_TEST(stats_count(f, "malformed_bad_tag") == 0u);
      if (rx == &keyless) {
        BOOST_TEST(out.find("accepted unchecked") != std::string::npos, out);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
