// A UDP flood of garbage at one port of a real framehive-receiver while a valid camera
// streams to another port: the garbage is counted (malformed or given-up frames, never a
// delivered frame), memory stays within the receiver's configured bounds, and every frame of
// the valid stream arrives byte-identical. The flood mixes random bytes with well-formed
// headers (right CRC and chunk geometry) that each claim a large frame under a fresh session —
// the datagrams that cost the receiver most. scripts/reliability.sh floods harder, longer.
#include "test_reliability_util.hpp"

#include "framehive/shared/protocol.hpp"

#include <atomic>
#include <random>
#include <thread>

using fh::reltest::num;
using fh::test::bin;
using fh::test::Child;
using fh::test::poll_until;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(garbage_flood_on_one_port_is_counted_bounded_and_spares_the_others) {
  const auto dir = fh::test::make_temp_dir("rel-flood");
  const int frames = 60;
  const auto ref = fh::reltest::reference_frames(dir, "test:640x480", frames, 80);
  const int flood_port = fh::test::free_udp_port();
  int valid_port = fh::test::free_udp_port();
  while (valid_port == flood_port) valid_port = fh::test::free_udp_port();
  const long partial_cap = 32L << 20;  // --max-partial-bytes: the memory garbage may claim
  Child receiver(
      bin("framehive-receiver"),
      {"--bind", "127.0.0.1", "--ports",
       std::to_string(flood_port) + "," + std::to_string(valid_port), "--dump", dir + "/dump",
       "--max-frame-bytes", std::to_string(4 << 20), "--max-partial-bytes",
       std::to_string(partial_cap), "--stats-interval", "0", "--log-level", "warn"},
      dir + "/receiver.log");
  BOOST_REQUIRE(poll_until(
      [&] { return fh::reltest::udp_bound(flood_port) && fh::reltest::udp_bound(valid_port); },
      5s));
  const long rss0 = fh::reltest::rss_kib(receiver.pid());

  std::atomic<bool> flooding{true};
  std::atomic<long> sent{0}, peak_kib{rss0};
  std::thread flooder([&] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(flood_port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::mt19937 rng(7);
    std::vector<std::uint8_t> payload(1300), dgram;
    for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
    std::uint32_t seq = 0;
    while (flooding) {
      for (int i = 0; i < 200; ++i) {
        dgram.clear();
        if (i % 2) {
          dgram.resize(1 + rng() % 1400);
          for (auto& b : dgram) b = static_cast<std::uint8_t>(rng());
          if (i % 4 == 1 && dgram.size() >= 4) {  // the right magic, garbage after it
            dgram[0] = 'F', dgram[1] = 'H', dgram[2] = 'V', dgram[3] = 'D';
          }
        } else {
          fh::shared::DatagramHeader h;
          h.session = (static_cast<std::uint64_t>(rng()) << 32) | rng();
          h.frame_seq = ++seq;
          h.frame_len = 4u << 20;
          h.chunk_count =
              static_cast<std::uint16_t>((h.frame_len + payload.size() - 1) / payload.size());
          h.chunk_index = static_cast<std::uint16_t>(rng() % (h.chunk_count - 1));
          h.capture_us = 1;
          h.stream = "flood";
          fh::shared::encode_datagram(h, payload.data(), payload.size(), dgram);
        }
        if (::sendto(fd, dgram.data(), dgram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) > 0) {
          sent++;
        }
      }
      peak_kib = std::max(peak_kib.load(), fh::reltest::rss_kib(receiver.pid()));
      std::this_thread::sleep_for(
          2ms);  // tens of thousands per second: heavy, but leaves CPU to the rest
    }
    ::close(fd);
  });
  Child sender(bin("framehive-sender"),
               {"--source", "test:640x480", "--port", std::to_string(valid_port), "--fps", "30",
                "--frames", std::to_string(frames), "--stats-interval", "0", "--motion", "off"},
               dir + "/sender.log");
  const int sender_status = sender.wait(30s);
  flooding = false;
  flooder.join();
  BOOST_REQUIRE(sender_status == 0);
  const std::string valid_dir = dir + "/dump/" + std::to_string(valid_port);
  poll_until([&] { return fh::reltest::count_dump(valid_dir) >= static_cast<std::size_t>(frames); },
             10s);
  BOOST_TEST(receiver.running());
  receiver.signal(SIGTERM);
  BOOST_REQUIRE(receiver.wait(10s) == 0);

  const std::string log = fh::test::read_file(dir + "/receiver.log");
  const auto fl = fh::reltest::stats_line(log, "receiver-stats", flood_port);
  const auto ok = fh::reltest::stats_line(log, "receiver-stats", valid_port);
  BOOST_TEST_MESSAGE("flood: " << sent << " datagrams sent, " << num(fl, "datagrams")
                               << " received, " << num(fl, "malformed") << " malformed, "
                               << num(fl, "frames_incomplete") << " frames given up; receiver RSS "
                               << rss0 << " KiB, peak " << peak_kib << " KiB");
  BOOST_TEST(num(fl, "datagrams") > 1000);
  BOOST_TEST(num(fl, "malformed") > 0);
  BOOST_TEST(num(fl, "frames_incomplete") > 0);
  BOOST_TEST(num(fl, "frames_complete") == 0);
  BOOST_TEST(num(fl, "frames_delivered") == 0);
  // memory: the partial-frame cap plus a working margin, however long the flood
  BOOST_TEST(peak_kib - rss0 < partial_cap / 1024 + 32 * 1024);
  // the valid camera: every frame complete and byte-identical
  BOOST_TEST(num(ok, "frames_complete") == frames);
  BOOST_TEST(num(ok, "malformed") == 0);
  const auto files = fh::reltest::read_dump(valid_dir);
  int identical = 0;
  for (const auto& [seq, bytes] : files) identical += ref.count(seq) && ref.at(seq) == bytes;
  BOOST_TEST(identical == frames);
}
