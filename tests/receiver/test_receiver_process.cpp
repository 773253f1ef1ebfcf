// framehive-receiver as a process: its command line, its exit codes, and its robustness
// against garbage on the wire.
#include "datagrams.hpp"
#include "process_util.hpp"

#include "framehive/shared/protocol.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>
#include <thread>

using namespace fh::receiver::test;
using fh::shared::DecodeError;
using namespace std::chrono_literals;

namespace {

/// Runs framehive-receiver to completion; returns (exit status, output).
std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args) {
  ReceiverProcess p(args, "recv-cli");
  const int rc = p.wait(10000ms);
  return {rc, p.output()};
}

std::string reason_key(DecodeError e) {
  return std::string("malformed_") + fh::shared::decode_error_name(e);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(receiver_process)

BOOST_AUTO_TEST_CASE(help_explains_every_flag) {
  const auto [rc, out] = run_to_exit({"--help"});
  BOOST_TEST(rc == 0);
  for (const char* flag : {"--ports",
                           "--bind",
                           "--rcvbuf",
                           "--dump",
                           "--frame-timeout",
                           "--reorder-window",
                           "--max-partial-frames",
                           "--max-frame-bytes",
                           "--max-partial-bytes",
                           "--queue-per-port",
                           "--stats-interval",
                           "--log-level",
                           "--version",
                           "Examples",
                           "0.0.0.0",
                           "rmem_max",
                           "receiver-stats",
                           "--key-file",
                           "FRAMEHIVE_DATAGRAM_KEY",
                           "malformed_bad_tag",
                           "--auth-file",
                           "FRAMEHIVE_AUTH_SECRET"}) {
    BOOST_TEST_CONTEXT(flag) { BOOST_TEST(out.find(flag) != std::string::npos); }
  }
  const auto [vrc, vout] = run_to_exit({"--version"});
  BOOST_TEST(vrc == 0);
  BOOST_TEST(vout.find("framehive-receiver 0.1.0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_flags_exit_2_with_a_clear_message) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{}, "--ports"},
      {{"--ports", "0"}, "out of range"},
      {{"--ports", "65536"}, "out of range"},
      {{"--ports", "5000,5000"}, "listed twice"},
      {{"--ports", "5003-5000"}, "backwards"},
      {{"--ports", "50x"}, "not a port number"},
      {{"--ports", "5000", "--rcvbuf", "big"}, "--rcvbuf"},
      {{"--ports", "5000", "--frame-timeout", "soon"}, "--frame-timeout"},
      {{"--ports", "5000", "--bind", "nowhere"}, "--bind"},
      {{"--ports", "5000", "--log-level", "loud"}, "log level"},
      {{"--ports", "5000", "--no-such-flag"}, "no-such-flag"},
  };
  for (const auto& [args, message] : cases) {
    const auto [rc, out] = run_to_exit(args);
    BOOST_TEST_CONTEXT(message) {
      BOOST_TEST(rc == 2);
      BOOST_TEST(out.find(message) != std::string::npos, out);
    }
  }
}

BOOST_AUTO_TEST_CASE(port_in_use_exits_1) {
  const int port = fh::test::free_udp_port();
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const auto [rc, out] = run_to_exit({"--bind", "127.0.0.1", "--ports", std::to_string(port)});
  ::close(fd);
  BOOST_TEST(rc == 1);
  BOOST_TEST(out.find("already in use") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(without_dump_frames_are_counted_and_discarded) {
  const int port = fh::test::free_udp_port();
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--stats-interval", "0.05"},
      "recv-discard");
  BOOST_REQUIRE(rx.wait_ready());
  UdpClient tx(port);
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    for (const auto& d : split(jpeg_like(20'000, seq), 77, seq, 1356)) tx.send(d);
  }
  // The periodic stats line (stderr) shows when all ten went through.
  BOOST_TEST(fh::test::poll_until(
      [&] { return rx.output().find("frames_complete=10 ") != std::string::npos; }, 10000ms));
  BOOST_TEST(rx.stop(SIGINT) == 0);
  const auto out = rx.output();
  const auto f = stats_line(out, "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), out);
  BOOST_TEST(stats_count(f, "frames_complete") == 10u);
  BOOST_TEST(stats_count(f, "frames_discarded") == 10u);
  BOOST_TEST(stats_count(f, "frames_delivered") == 0u);
  BOOST_TEST(stats_count(f, "datagrams") == 150u);
}

// Datagrams longer than the longest valid one (up to UDP's 65,507 bytes) arrive truncated in the
// receiver's buffers and are refused as bad_length, in the middle of a burst taken with
// recvmmsg(): the valid datagrams around them still make their frames.
BOOST_AUTO_TEST_CASE(oversized_datagrams_in_a_burst_are_refused_and_the_rest_complete) {
  const int port = fh::test::free_udp_port();
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--stats-interval", "0.05"},
      "recv-oversized");
  BOOST_REQUIRE(rx.wait_ready());
  UdpClient tx(port);
  std::size_t sent = 0;
  for (std::uint32_t seq = 0; seq < 4; ++seq) {
    const auto ds = split(jpeg_like(30'000, seq), 91, seq, 1400);
    for (std::size_t i = 0; i < ds.size(); ++i) {
      BOOST_REQUIRE(tx.send(ds[i]));
      ++sent;
      if (i == 3) {
        Datagram big = ds[i];  // a valid header, then far too many bytes
        big.resize(65'507, 0xAB);
        BOOST_REQUIRE(tx.send(big));
        ++sent;
      }
    }
  }
  BOOST_TEST(fh::test::poll_until(
      [&] { return rx.output().find("frames_complete=4 ") != std::string::npos; }, 10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  const auto f = stats_line(out, "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), out);
  BOOST_TEST(stats_count(f, "datagrams") == sent);
  BOOST_TEST(stats_count(f, "malformed_bad_length") == 4u);
  BOOST_TEST(stats_count(f, "malformed") == 4u);
  BOOST_TEST(stats_count(f, "frames_complete") == 4u);
  BOOST_TEST(stats_count(f, "frames_incomplete") == 0u);
}

// Thousands of random, truncated and bit-flipped datagrams: the receiver stays up, counts each
// malformed one under its reason, and a valid stream that was running when the garbage began
// still arrives intact afterwards (a brand-new session right after a flood of sessions would
// wait for the new-session rate limit: see test_hostile_udp.cpp).
BOOST_AUTO_TEST_CASE(garbage_does_not_stop_a_valid_stream) {
  namespace fs = std::filesystem;
  const int port = fh::test::free_udp_port();
  const TempDir dump("recv-garbage");
  const std::string& dir = dump.path();
  const std::size_t max_frame = 1'000'000;
  ReceiverProcess rx({"--bind", "127.0.0.1", "--ports", std::to_string(port), "--dump", dir,
                      "--max-frame-bytes", std::to_string(max_frame), "--rcvbuf", "16777216",
                      "--frame-timeout", "0.2", "--stats-interval", "0"},
                     "recv-garbage");
  BOOST_REQUIRE(rx.wait_ready());
  UdpClient tx(port);

  // Material for the garbage: chunks of a few multi-chunk frames of a throw-away session.
  std::vector<Datagram> material;
  for (std::uint32_t seq = 0; seq < 4; ++seq) {
    for (auto& d : split(jpeg_like(8000 + 3000 * seq, 500 + seq), 0x6A7BA6E, seq, 1000)) {
      material.push_back(std::move(d));
    }
  }
  std::mt19937 rng(2024);
  // The valid stream starts first: frames 0 and 1 delivered, so its session is live
  // (Reassembler::k_live_frames) and keeps its slot while bit flips in session ids make new ones.
  std::vector<std::vector<std::uint8_t>> frames;
  auto dumped = [&](std::uint32_t seq) {
    const auto path = dir + "/" + std::to_string(port) + "/" + std::to_string(seq) + ".jpg";
    const auto bytes = fh::test::read_file(path);
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end()) == frames[seq];
  };
  std::uint64_t sent = 0;
  for (std::uint32_t seq = 0; seq < fh::receiver::Reassembler::k_live_frames; ++seq) {
    frames.push_back(jpeg_like(5'000 + rng() % 60'000, 9000 + seq));
    for (const auto& d : split(frames.back(), 0x600D, seq, 1356)) {
      BOOST_REQUIRE(tx.send(d));
      ++sent;
    }
  }
  BOOST_REQUIRE(fh::test::poll_until([&] { return dumped(0) && dumped(1); }, 10000ms));
  std::map<DecodeError, std::uint64_t> expected;  // by the decoder's own verdict
  std::uint64_t crafted_inconsistent = 0;
  auto send = [&](const Datagram& d) {
    BOOST_REQUIRE(tx.send(d));
    ++sent;
    fh::shared::DecodedDatagram dd;
    const auto e = fh::shared::decode_datagram(d.data(), d.size(), dd);
    if (e != DecodeError::none) {
      ++expected[e];
    } else if (dd.header.frame_len > max_frame) {
      ++expected[DecodeError::too_large];
    }
    if (sent % 200 == 0) std::this_thread::sleep_for(2ms);  // stay within the socket buffer
  };
  for (int i = 0; i < 6000; ++i) {
    Datagram d = material[rng() % material.size()];
    switch (i % 8) {
      case 0:  // random bytes, random length
        d.resize(rng() % 1600);
        for (auto& b : d) b = static_cast<std::uint8_t>(rng());
        break;
      case 1:  // random bytes behind a valid magic
        for (std::size_t k = 4; k < d.size(); ++k) d[k] = static_cast<std::uint8_t>(rng());
        break;
      case 2:  // truncated
        d.resize(rng() % d.size());
        break;
      case 3:  // one to three flipped bits anywhere
      case 4:
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
          d[rng() % d.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
        break;
      case 5:  // a flipped bit in the header only (the checksum covers the payload)
        d[4 + rng() % 40] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 6: {  // a well-formed chunk of an over-large frame
        fh::shared::DatagramHeader h;
        h.session = 0x7001A26E;
        h.frame_seq = static_cast<std::uint32_t>(i);
        h.chunk_count = 100;
        h.frame_len = static_cast<std::uint32_t>(max_frame + 1 + rng() % 1000);
        h.chunk_index = static_cast<std::uint16_t>(rng() % 99);
        h.stream = "big";
        const auto p = jpeg_like(h.frame_len / 100 + 1, static_cast<std::uint32_t>(i));
        d.clear();
        fh::shared::encode_datagram(h, p.data(), p.size(), d);
        break;
      }
      default: {  // two chunks of one frame that disagree on the capture time
        // One session for all of them: fresh sessions by the hundred are refused
        // (session_limited) before their chunks are compared.
        const auto frame = jpeg_like(3000, static_cast<std::uint32_t>(i));
        const std::uint64_t session = 0x1000000ULL;
        const auto seq = static_cast<std::uint32_t>(i);
        send(split(frame, session, seq, 1000, "x", 1)[0]);
        d = split(frame, session, seq, 1000, "x", 2)[1];
        ++crafted_inconsistent;
      }
    }
    send(d);
  }
  BOOST_TEST(rx.running());

  // The valid stream goes on: every frame must arrive, byte for byte.
  for (auto seq = static_cast<std::uint32_t>(frames.size()); seq < 20; ++seq) {
    frames.push_back(jpeg_like(5'000 + rng() % 60'000, 9000 + seq));
    for (const auto& d : split(frames.back(), 0x600D, seq, 1356)) send(d);
  }
  const bool all_there = fh::test::poll_until(
      [&] {
        for (std::uint32_t seq = 0; seq < frames.size(); ++seq) {
          if (!dumped(seq)) return false;
        }
        return true;
      },
      10000ms);
  BOOST_TEST(all_there);
  BOOST_TEST(rx.running());

  BOOST_TEST(rx.stop() == 0);
  const auto out = rx.output();
  const auto f = stats_line(out, "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), out);
  BOOST_TEST(stats_count(f, "datagrams") == sent);
  std::uint64_t decode_level = 0;
  for (auto e : {DecodeError::too_short, DecodeError::bad_magic, DecodeError::bad_version,
                 DecodeError::bad_length, DecodeError::bad_index, DecodeError::bad_checksum,
                 DecodeError::too_large}) {
    BOOST_TEST_CONTEXT(reason_key(e)) {
      BOOST_TEST(expected[e] > 0u);
      BOOST_TEST(stats_count(f, reason_key(e)) == expected[e]);
    }
    decode_level += expected[e];
  }
  // Inconsistent chunks: at least the crafted ones (header bit flips may add more).
  BOOST_TEST(stats_count(f, "malformed_inconsistent") >= crafted_inconsistent);
  // Bit flips in a session id make new sessions, some refused (session_limited).
  BOOST_TEST(stats_count(f, "malformed") == decode_level +
                                                stats_count(f, "malformed_inconsistent") +
                                                stats_count(f, "malformed_session_limited"));
  BOOST_TEST(stats_count(f, "frames_complete") >= 20u);
  BOOST_TEST(stats_count(f, "frames_delivered") == stats_count(f, "frames_complete"));
  BOOST_TEST(out.find("receiver-stats port=" + std::to_string(port) + " datagrams=") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
