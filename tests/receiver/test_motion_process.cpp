// The motion extension end to end through real processes on 127.0.0.1: UDP datagrams carrying
// it go into two framehive-receivers (one without a key, one with --key-file and tagged
// version-2 datagrams) that feed one framehive-master. The receivers report each port's gated
// frames (report_receiver, counted at a frame's first chunk, incomplete frames included), the
// master's status() shows the port's gated sum of the frames it received, and the tasks it hands
// out (request_task, what a worker gets) carry each frame's motion in the contract's units.
#include "process_util.hpp"

#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <tuple>
#include <utility>

using namespace fh::receiver::test;
using namespace std::chrono_literals;
using fh::shared::k_motion_keepalive;
using fh::shared::k_motion_moving;
using fh::shared::MotionExtension;
namespace api = fh::shared::api;

namespace {

const std::string k_key = "motion-process-test-key-0123456789";

/// One frame a test camera sends: its JPEG, its extension (none: a plain frame), and whether
/// its last chunk is withheld (the frame ends incomplete at the receiver).
struct CameraFrame {
  std::vector<std::uint8_t> jpeg;
  std::optional<MotionExtension> motion;
  bool withhold_last = false;
};

/// The contract's Motion the master should hand out for ext.
void expect_motion(const api::Frame& f, const std::optional<MotionExtension>& ext) {
  if (!ext) {
    BOOST_TEST(!f.motion.present);
    BOOST_TEST(f.gated == 0);
    return;
  }
  BOOST_TEST(f.motion.present);
  BOOST_TEST(f.gated == static_cast<std::int64_t>(ext->gated));
  BOOST_TEST(f.motion.score == ext->score / 10000.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(f.motion.keepalive == ((ext->flags & k_motion_keepalive) != 0));
  BOOST_REQUIRE_EQUAL(f.motion.boxes.size(), ext->boxes.size());
  const double s = fh::shared::k_motion_box_scale;
  for (std::size_t i = 0; i < ext->boxes.size(); ++i) {
    const auto& want = ext->boxes[i];
    const auto& got = f.motion.boxes[i];
    BOOST_TEST_CONTEXT("box " << i) {
      BOOST_TEST(got.x == want.x / s, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(got.y == want.y / s, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(got.w == want.w / s, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(got.h == want.h / s, boost::test_tools::tolerance(1e-9));
    }
  }
}

/// The receivers' report of port, if one arrived.
std::optional<api::ReceiverPortCounters> reported(const api::Status& st, int port) {
  for (const auto& r : st.receivers) {
    for (const auto& p : r.ports) {
      if (p.port == port) return p;
    }
  }
  return std::nullopt;
}

std::optional<api::PortStatus> port_status(const api::Status& st, int port) {
  for (const auto& p : st.ports) {
    if (p.port == port) return p;
  }
  return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(motion_process)

BOOST_AUTO_TEST_CASE(gated_counts_and_motion_reach_the_master_with_and_without_a_key) {
  const TempDir dir("motion-master");
  const int mport = fh::test::free_tcp_port();
  const int plain_port = fh::test::free_udp_port();
  const int keyed_port = fh::test::free_udp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  fh::test::Child master(
      fh::test::bin("framehive-master"),
      {"--bind", "127.0.0.1", "--port", std::to_string(mport), "--db", ":memory:", "--detector",
       std::to_string(plain_port) + "=hog", "--detector", std::to_string(keyed_port) + "=hog",
       "--max-frame-age", "0", "--stats-interval", "0", "--log-level", "warn"},
      dir.path() + "/master.log");
  api::MasterClient client(url, 5000);
  BOOST_REQUIRE_MESSAGE(fh::test::poll_until(
                            [&] {
                              try {
                                client.status();
                                return true;
                              } catch (const std::exception&) {
                                return false;
                              }
                            },
                            10000ms),
                        fh::test::read_file(dir.path() + "/master.log"));

  const std::vector<std::string> common{
      "--bind", "127.0.0.1", "--master", url, "--stats-interval", "0", "--report-interval", "0.2"};
  auto plain_args = common;
  plain_args.insert(plain_args.end(), {"--ports", std::to_string(plain_port)});
  auto keyed_args = common;
  keyed_args.insert(keyed_args.end(), {"--ports", std::to_string(keyed_port), "--key-file",
                                       write_key(dir.path(), "datagram.key", k_key)});
  ReceiverProcess plain_rx(plain_args, "motion-rx-plain");
  ReceiverProcess keyed_rx(keyed_args, "motion-rx-keyed");
  BOOST_REQUIRE_MESSAGE(plain_rx.wait_ready(), plain_rx.output());
  BOOST_REQUIRE_MESSAGE(keyed_rx.wait_ready(), keyed_rx.output());

  // Real JPEGs of 1-4 chunks (1000-byte payloads).
  const auto moving =
      motion_ext(k_motion_moving, 1234, 3, {{0, 0, 32767, 65535}, {40000, 1000, 25535, 500}});
  const auto keepalive = motion_ext(k_motion_keepalive, 0, 50);
  const auto whole = motion_ext(k_motion_moving, 10000, 0, {{0, 0, 65535, 65535}});
  const std::vector<CameraFrame> plain_frames{
      {fh::test::padded_jpeg(3000), moving},
      {fh::test::tiny_jpeg(), keepalive},
      {fh::test::padded_jpeg(1500), whole},
      {fh::test::padded_jpeg(2500), motion_ext(k_motion_moving, 77, 7), true},  // incomplete
      {fh::test::padded_jpeg(800), motion_ext(k_motion_keepalive, 0, 1)},
  };
  const std::vector<CameraFrame> keyed_frames{
      {fh::test::padded_jpeg(2000), motion_ext(k_motion_moving, 5000, 2, {{100, 200, 300, 400}})},
      {fh::test::tiny_jpeg(), std::nullopt},  // a frame without the extension
      {fh::test::padded_jpeg(1200), motion_ext(k_motion_keepalive, 0, 10), true},  // incomplete
      {fh::test::tiny_jpeg(), motion_ext(k_motion_keepalive, 0, 10)},
  };

  // What each port's frames add up to: gated as the receiver counts it (every frame seen) and
  // as the master does (frames it received, i.e. complete ones).
  auto sums = [](const std::vector<CameraFrame>& frames) {
    std::int64_t rx = 0, master = 0, complete = 0;
    for (const auto& f : frames) {
      const std::int64_t g = f.motion ? f.motion->gated : 0;
      rx += g;
      if (!f.withhold_last) {
        master += g;
        ++complete;
      }
    }
    return std::tuple{rx, master, complete};
  };
  std::int64_t plain_rx_gated = 0, plain_master_gated = 0, plain_complete = 0;
  std::int64_t keyed_rx_gated = 0, keyed_master_gated = 0, keyed_complete = 0;
  std::tie(plain_rx_gated, plain_master_gated, plain_complete) = sums(plain_frames);
  std::tie(keyed_rx_gated, keyed_master_gated, keyed_complete) = sums(keyed_frames);
  BOOST_REQUIRE(plain_rx_gated > plain_master_gated);  // the incomplete frame's share
  BOOST_REQUIRE(keyed_rx_gated > keyed_master_gated);

  const std::uint64_t session = 0x6D07'1011'0000'0001ULL;
  UdpClient to_plain(plain_port);
  for (std::uint32_t seq = 0; seq < plain_frames.size(); ++seq) {
    const auto& f = plain_frames[seq];
    const auto ds = split(f.jpeg, session, seq, 1000, "cam", fh::shared::unix_micros());
    const auto sent = f.motion ? with_motion(ds, *f.motion) : ds;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (f.withhold_last && i + 1 == sent.size()) continue;
      BOOST_REQUIRE(to_plain.send(sent[i]));
    }
  }
  TaggedSession tagged(k_key, session + 1, static_cast<std::uint16_t>(keyed_port),
                       fh::shared::unix_micros());
  UdpClient to_keyed(keyed_port);
  for (std::uint32_t seq = 0; seq < keyed_frames.size(); ++seq) {
    const auto& f = keyed_frames[seq];
    const auto sent = f.motion ? tagged.split(f.jpeg, seq, *f.motion) : tagged.split(f.jpeg, seq);
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (f.withhold_last && i + 1 == sent.size()) continue;
      BOOST_REQUIRE(to_keyed.send(sent[i]));
    }
  }

  // The master received every complete frame, and the receivers' reports show every frame
  // accounted for: complete, or incomplete once the frame timeout passed.
  api::Status st;
  const bool settled = fh::test::poll_until(
      [&] {
        st = client.status();
        for (const auto& [port, complete] :
             {std::pair{plain_port, plain_complete}, std::pair{keyed_port, keyed_complete}}) {
          const auto p = port_status(st, port);
          const auto r = reported(st, port);
          if (!p || !r || p->received != complete || r->frames_complete != complete ||
              r->frames_incomplete != 1) {
            return false;
          }
        }
        return true;
      },
      15000ms);
  BOOST_REQUIRE_MESSAGE(settled, "plain receiver:\n"
                                     << plain_rx.output() << "\nkeyed receiver:\n"
                                     << keyed_rx.output());
  for (const auto& [port, rx_gated, master_gated] :
       {std::tuple{plain_port, plain_rx_gated, plain_master_gated},
        std::tuple{keyed_port, keyed_rx_gated, keyed_master_gated}}) {
    BOOST_TEST_CONTEXT("port " << port) {
      const auto r = reported(st, port);
      const auto p = port_status(st, port);
      BOOST_REQUIRE(r.has_value());
      BOOST_REQUIRE(p.has_value());
      BOOST_TEST(r->gated == rx_gated);
      BOOST_TEST(r->malformed == 0);
      BOOST_TEST(p->gated == master_gated);
    }
  }

  // The tasks the master hands out carry each frame's motion, converted to the contract's units.
  BOOST_REQUIRE_NO_THROW(client.register_worker("motion-probe", "", {"hog"}));
  std::map<std::pair<int, std::int64_t>, api::Frame> handed;
  const std::size_t want = static_cast<std::size_t>(plain_complete + keyed_complete);
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        if (auto t = client.request_task("motion-probe", 200)) {
          handed[{t->frame.port, t->frame.frame_id}] = t->frame;
        }
        return handed.size() == want;
      },
      15000ms));
  for (const auto& [port, frames] :
       {std::pair{plain_port, &plain_frames}, std::pair{keyed_port, &keyed_frames}}) {
    for (std::size_t seq = 0; seq < frames->size(); ++seq) {
      const auto& sent = (*frames)[seq];
      BOOST_TEST_CONTEXT("port " << port << " frame " << seq) {
        const auto it = handed.find({port, static_cast<std::int64_t>(seq)});
        BOOST_TEST((it != handed.end()) == !sent.withhold_last);
        if (it == handed.end()) continue;
        BOOST_REQUIRE(it->second.image);
        BOOST_TEST((*it->second.image == sent.jpeg));
        expect_motion(it->second, sent.motion);
      }
    }
  }

  BOOST_TEST(plain_rx.stop() == 0);
  BOOST_TEST(keyed_rx.stop() == 0);
  const auto out = plain_rx.output();
  const auto line = stats_line(out, "receiver-stats", plain_port);
  BOOST_REQUIRE_MESSAGE(!line.empty(), out);
  BOOST_TEST(stats_count(line, "gated") == static_cast<std::uint64_t>(plain_rx_gated));
  master.signal(SIGTERM);
  BOOST_TEST(master.wait(15000ms) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
