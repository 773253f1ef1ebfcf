// --max-pixels at the receiver: a decompression bomb (a small JPEG whose header declares
// 7900 x 7900 pixels) that arrives complete over UDP is dropped before it is queued and
// counted too_large; the frames around it are delivered. Real sockets on 127.0.0.1.
#include "datagrams.hpp"
#include "process_util.hpp"
#include "temp_dir.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace fh::receiver::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(receiver_drops_a_decompression_bomb_counted_too_large) {
  const int port = fh::test::free_udp_port();
  const TempDir dump("recv-pixels");
  const std::string dir = dump.path() + "/frames";
  ReceiverProcess rx({"--bind", "127.0.0.1", "--ports", std::to_string(port), "--dump", dir,
                      "--stats-interval", "0"},
                     "recv-pixels");
  BOOST_REQUIRE(rx.wait_ready());
  UdpClient tx(port);
  const auto good = fh::test::tiny_jpeg();
  const auto bomb = fh::test::jpeg_declaring(7900, 7900);
  const auto four_k_plus = fh::test::jpeg_declaring(3840, 2161);
  const std::vector<std::vector<unsigned char>> frames = {good, bomb, good, four_k_plus, good};
  for (std::uint32_t seq = 0; seq < frames.size(); ++seq) {
    const std::vector<std::uint8_t> bytes(frames[seq].begin(), frames[seq].end());
    for (const auto& d : split(bytes, 0xB0B, seq)) BOOST_REQUIRE(tx.send(d));
  }
  const auto written = [&] {
    return std::filesystem::exists(dir + "/" + std::to_string(port) + "/4.jpg");
  };
  BOOST_TEST(fh::test::poll_until(written, 10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  const auto f = stats_line(out, "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), out);
  BOOST_TEST(stats_count(f, "frames_complete") == 5u);
  BOOST_TEST(stats_count(f, "too_large") == 2u);
  BOOST_TEST(stats_count(f, "frames_delivered") == 3u);
  BOOST_TEST(!std::filesystem::exists(dir + "/" + std::to_string(port) + "/1.jpg"));
  BOOST_TEST(!std::filesystem::exists(dir + "/" + std::to_string(port) + "/3.jpg"));
  BOOST_TEST(out.find("--max-pixels") != std::string::npos, out);
}
