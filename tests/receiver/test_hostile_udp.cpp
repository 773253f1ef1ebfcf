// Hostile senders on a camera's port (issue #10, item 4). Without a key: a second sender, or a
// flood of fresh sessions, must not stop a live camera's frames; new sessions are rate-limited;
// a restarted camera still takes over. With a key: recorded datagrams replayed (same session,
// an older session, another port) are refused and counted replayed or bad_tag; two keys are
// accepted during a rotation. State machine with a ManualClock, then real sockets on 127.0.0.1
// with the framehive-sender and framehive-receiver binaries.
#include "datagrams.hpp"
#include "process_util.hpp"

#include "framehive/receiver/port_stats.hpp"
#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/receiver_options.hpp"
#include "framehive/receiver/replay_window.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/clock.hpp"

#include <boost/program_options.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace fh::receiver;
using namespace fh::receiver::test;
using fh::shared::DecodeError;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t k_port = 5000;
const std::string k_key = "hostile-test-key-0123456789abcdef";

std::uint64_t malformed(const PortStatsSnapshot& s, DecodeError e) {
  return s.malformed_by_reason[static_cast<std::size_t>(e)];
}

/// A reassembler wired to a ManualClock (wall time = the datagrams' default capture time).
struct Rig {
  explicit Rig(ReassemblerConfig c = {}, std::vector<std::uint16_t> ports = {k_port})
      : stats(ports), r(c, clock, stats, sink) {}
  DecodeError push(const Datagram& d, std::uint16_t port = k_port) {
    return r.push(port, d.data(), d.size());
  }
  PortStatsSnapshot s(std::uint16_t port = k_port) const { return stats.find(port)->snapshot(); }
  std::size_t frames_of(std::uint64_t session) const {
    std::size_t n = 0;
    for (const auto& f : sink.frames) n += f.session == session;
    return n;
  }

  fh::shared::ManualClock clock;
  StatsTable stats;
  Collector sink;
  Reassembler r;
};

/// framehive-sender streaming a test pattern to 127.0.0.1:port.
fh::test::Child start_sender(int port, const std::string& pattern, int frames,
                             const std::string& log, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {
      "--source",         pattern,     "--port",   std::to_string(port),
      "--receiver",       "127.0.0.1", "--frames", std::to_string(frames),
      "--stats-interval", "0",         "--motion", "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return fh::test::Child(fh::test::bin("framehive-sender"), args, log);
}

ReceiverConfig parse_options(std::vector<std::string> args) {
  namespace po = boost::program_options;
  po::options_description opts;
  add_receiver_options(opts);
  std::vector<const char*> argv{"framehive-receiver"};
  for (const auto& a : args) argv.push_back(a.c_str());
  po::variables_map vm;
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), opts), vm);
  po::notify(vm);
  return receiver_config_from(vm);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_udp)

// ---- options and the stats line ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(key_rotation_and_replay_window_options) {
  const TempDir tmp("hostile-options");
  const std::string current = write_key(tmp.path(), "new.key", k_key);
  const std::string previous = write_key(tmp.path(), "old.key", "the-old-key-0123456789abcdef");
  auto c = parse_options({"--ports", "5000"});
  BOOST_TEST(c.reassembly.replay_window == 30.0);
  BOOST_TEST(c.reassembly.old_key.empty());
  c = parse_options({"--ports", "5000", "--key-file", current, "--old-key-file", previous,
                     "--replay-window", "5"});
  BOOST_TEST(c.reassembly.key == k_key);
  BOOST_TEST(c.reassembly.old_key == "the-old-key-0123456789abcdef");
  BOOST_TEST(c.reassembly.replay_window == 5.0);
  BOOST_TEST(parse_options({"--ports", "5000", "--replay-window", "0"}).reassembly.replay_window ==
             0.0);
  BOOST_CHECK_THROW(parse_options({"--ports", "5000", "--old-key-file", previous}),
                    fh::shared::UsageError);
  BOOST_CHECK_THROW(parse_options({"--ports", "5000", "--replay-window", "-1"}),
                    fh::shared::UsageError);
  const auto [rc, help] = [] {
    ReceiverProcess p({"--help"}, "hostile-help");
    const int code = p.wait(10000ms);
    return std::make_pair(code, p.output());
  }();
  BOOST_TEST(rc == 0);
  for (const char* word : {"--old-key-file", "--replay-window", "malformed_replayed", "NTP"}) {
    BOOST_TEST_CONTEXT(word) { BOOST_TEST(help.find(word) != std::string::npos); }
  }
}

BOOST_AUTO_TEST_CASE(the_stats_line_shows_the_new_reasons) {
  PortStatsSnapshot st;
  st.port = 5000;
  st.malformed_by_reason[static_cast<std::size_t>(DecodeError::replayed)] = 3;
  st.malformed_by_reason[static_cast<std::size_t>(DecodeError::session_limited)] = 4;
  const auto line = format_stats_line(st, 0);
  BOOST_TEST(line.find(" malformed=7 ") != std::string::npos, line);
  BOOST_TEST(line.find(" malformed_replayed=3 ") != std::string::npos, line);
  BOOST_TEST(line.find(" malformed_session_limited=4 ") != std::string::npos, line);
}

// ---- state machine (ManualClock) -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(replay_window_accepts_each_counter_once) {
  ReplayWindow w;
  BOOST_TEST(w.accept(10));
  BOOST_TEST(!w.accept(10));
  BOOST_TEST(w.accept(12));
  BOOST_TEST(w.accept(11));  // reordered, inside the window
  BOOST_TEST(!w.accept(11));
  BOOST_TEST(w.accept(10 + ReplayWindow::k_size));
  BOOST_TEST(!w.accept(10));  // slid out of the window
  BOOST_TEST(w.accept(11 + ReplayWindow::k_size));
  BOOST_TEST(!w.accept(12));        // out of the window too
  BOOST_TEST(w.accept(1'000'000));  // a long jump clears the ring
  BOOST_TEST(!w.accept(1'000'000));
  BOOST_TEST(w.accept(999'999));
  w.restore(50);
  BOOST_TEST(!w.accept(50));
  BOOST_TEST(!w.accept(3));
  BOOST_TEST(w.accept(51));
}

BOOST_AUTO_TEST_CASE(a_second_session_completing_frames_does_not_wipe_a_live_camera) {
  Rig rig;
  // Between every two chunks of the camera's frames the second sender completes a frame.
  std::uint32_t other_seq = 0;
  for (std::uint32_t seq = 0; seq < 100; ++seq) {
    for (const auto& d : split(jpeg_like(6000, seq), 0xCA, seq)) {
      BOOST_TEST((rig.push(d) == DecodeError::none));
      BOOST_TEST((rig.push(split(jpeg_like(300, 5000 + other_seq), 0xBAD, other_seq)[0]) ==
                  DecodeError::none));
      ++other_seq;
    }
    rig.clock.advance(1.0 / 30);
    rig.r.expire();
  }
  BOOST_TEST(rig.frames_of(0xCA) == 100u);
  BOOST_TEST(rig.frames_of(0xBAD) == other_seq);
  BOOST_TEST(rig.s().superseded == 0u);
  BOOST_TEST(rig.s().frames_incomplete() == 0u);
}

BOOST_AUTO_TEST_CASE(a_flood_of_fresh_sessions_leaves_the_live_camera_flowing) {
  Rig rig;
  std::uint64_t flood = 0, camera_datagrams = 0;
  std::uint64_t fresh = 0x100000;
  for (std::uint32_t seq = 0; seq < 100; ++seq) {
    for (const auto& d : split(jpeg_like(8000, seq), 0xCA, seq)) {
      BOOST_TEST((rig.push(d) == DecodeError::none));
      ++camera_datagrams;
      for (int k = 0; k < 3; ++k) {  // one-chunk frames, each from a session never seen
        rig.push(split(jpeg_like(200, static_cast<std::uint32_t>(fresh)), fresh, 0)[0]);
        ++fresh;
        ++flood;
      }
    }
    rig.clock.advance(1.0 / 30);
    rig.r.expire();
  }
  const auto s = rig.s();
  BOOST_TEST(rig.frames_of(0xCA) == 100u);
  // Every datagram accounted for: the camera's in its frames, each flood datagram either a
  // complete one-chunk frame or refused.
  const std::uint64_t limited = malformed(s, DecodeError::session_limited);
  BOOST_TEST(s.datagrams == camera_datagrams + flood);
  BOOST_TEST(s.frames_complete == 100u + (flood - limited));
  BOOST_TEST(s.frames_incomplete() == 0u);
  BOOST_TEST(s.malformed() == limited);
  BOOST_TEST(limited > flood * 9 / 10);  // 10 new sessions a second, 8 slots
  BOOST_TEST(s.superseded == 0u);
  BOOST_TEST(s.timed_out == 0u);
}

BOOST_AUTO_TEST_CASE(new_sessions_per_port_are_rate_limited) {
  ReassemblerConfig c;
  c.new_sessions_per_second = 4;
  Rig rig(c, {k_port, 5001});
  int admitted = 0;
  for (std::uint64_t s = 1; s <= 6; ++s) {
    admitted += rig.push(split(jpeg_like(3000, 1), s, 0)[0]) == DecodeError::none;
  }
  BOOST_TEST(admitted == 4);  // the burst
  BOOST_TEST(malformed(rig.s(), DecodeError::session_limited) == 2u);
  // Another port has its own allowance.
  BOOST_TEST((rig.push(split(jpeg_like(3000, 1), 77, 0)[0], 5001) == DecodeError::none));
  // A known session is never limited.
  BOOST_TEST((rig.push(split(jpeg_like(3000, 1), 1, 0)[1]) == DecodeError::none));
  rig.clock.advance(0.25);  // one more token
  BOOST_TEST((rig.push(split(jpeg_like(3000, 1), 7, 0)[0]) == DecodeError::none));
  BOOST_TEST((rig.push(split(jpeg_like(3000, 1), 8, 0)[0]) == DecodeError::session_limited));
}

BOOST_AUTO_TEST_CASE(a_full_table_of_live_sessions_refuses_newcomers_then_frees_up) {
  ReassemblerConfig c;
  c.new_sessions_per_second = 1000;
  Rig rig(c);
  // Live: two frames each (one-frame sessions are not live, and are replaced in turn).
  for (std::uint64_t s = 1; s <= Reassembler::k_max_sessions_per_port; ++s) {
    for (std::uint32_t seq = 0; seq < Reassembler::k_live_frames; ++seq) {
      for (const auto& d : split(jpeg_like(1500, 1), s, seq)) rig.push(d);
    }
  }
  BOOST_TEST(rig.sink.frames.size() ==
             Reassembler::k_max_sessions_per_port * Reassembler::k_live_frames);
  BOOST_TEST((rig.push(split(jpeg_like(500, 2), 99, 0)[0]) == DecodeError::session_limited));
  rig.clock.advance(c.live_hold + 0.1);  // nobody delivered since: no longer live
  BOOST_TEST((rig.push(split(jpeg_like(500, 2), 99, 0)[0]) == DecodeError::none));
  BOOST_TEST(rig.frames_of(99) == 1u);
}

BOOST_AUTO_TEST_CASE(a_restarted_camera_takes_over_once_the_old_session_stops) {
  Rig rig;
  auto frame = [](std::uint32_t seq) { return jpeg_like(4000, 300 + seq); };
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    for (const auto& d : split(frame(seq), 0x01D, seq)) rig.push(d);
    rig.clock.advance(0.04);
  }
  // The old session dies in the middle of frame 10; for a moment both run (a second camera
  // process started before the first one exited): both deliver.
  rig.push(split(frame(10), 0x01D, 10)[0]);
  for (std::uint32_t seq = 0; seq < 3; ++seq) {
    for (const auto& d : split(frame(seq), 0x2E5, seq)) rig.push(d);
    if (seq == 0) {
      rig.push(split(frame(11), 0x01D, 11)[0]);  // the old one still sends a little
    }
    rig.clock.advance(0.04);
  }
  BOOST_TEST(rig.r.partial_frames() == 2u);  // the old session's, not superseded while active
  rig.clock.advance(0.2);                    // the old session is now quiet
  for (std::uint32_t seq = 3; seq < 20; ++seq) {
    for (const auto& d : split(frame(seq), 0x2E5, seq)) rig.push(d);
    rig.clock.advance(0.04);
    rig.r.expire();
  }
  BOOST_TEST(rig.frames_of(0x01D) == 10u);
  BOOST_TEST(rig.frames_of(0x2E5) == 20u);
  BOOST_TEST(rig.r.partial_frames() == 0u);
  BOOST_TEST(rig.s().superseded == 2u);  // the old session's leftovers
  BOOST_TEST(rig.s().malformed() == 0u);
}

BOOST_AUTO_TEST_CASE(keyed_replays_of_the_same_or_an_older_session_are_refused) {
  ReassemblerConfig c;
  c.key = k_key;
  Rig rig(c);
  TaggedSession old_run(k_key, 0x01D, k_port);
  std::vector<Datagram> recorded;
  for (std::uint32_t seq = 0; seq < 5; ++seq) {
    for (auto& d : old_run.split(jpeg_like(2500, seq), seq)) {
      BOOST_TEST((rig.push(d) == DecodeError::none));
      recorded.push_back(std::move(d));
    }
  }
  BOOST_TEST(rig.frames_of(0x01D) == 5u);
  // Replayed at once: every datagram refused, nothing delivered twice.
  for (const auto& d : recorded) BOOST_TEST((rig.push(d) == DecodeError::replayed));
  // The camera restarts; the old session is forgotten once enough others came (here: the
  // table fills up with sessions while the old one is no longer live).
  rig.clock.advance(c.live_hold + 0.1);
  for (std::uint64_t s = 1; s <= Reassembler::k_max_sessions_per_port + 2; ++s) {
    TaggedSession other(k_key, 0x1000 + s, k_port, 1'700'000'000'000'000ULL + 4'000'000);
    for (const auto& d : other.split(jpeg_like(800, 9), 0)) rig.push(d);
    rig.clock.advance(0.2);
  }
  for (const auto& d : recorded) BOOST_TEST((rig.push(d) == DecodeError::replayed));
  // Much later (past --replay-window) the recording is refused by its capture time alone.
  rig.clock.advance(c.replay_window + 1);
  for (const auto& d : recorded) BOOST_TEST((rig.push(d) == DecodeError::replayed));
  BOOST_TEST(rig.frames_of(0x01D) == 5u);
  BOOST_TEST(malformed(rig.s(), DecodeError::replayed) == 3 * recorded.size());
}

BOOST_AUTO_TEST_CASE(keyed_capture_time_outside_the_window_is_refused_either_way) {
  ReassemblerConfig c;
  c.key = k_key;
  c.replay_window = 5;
  Rig rig(c);
  const std::uint64_t now_us = 1'700'000'000'000'000ULL;
  TaggedSession past(k_key, 1, k_port, now_us - 6'000'000);
  TaggedSession future(k_key, 2, k_port, now_us + 6'000'000);
  TaggedSession skewed(k_key, 3, k_port, now_us + 4'000'000);  // within 5 s: fine
  BOOST_TEST((rig.push(past.split(jpeg_like(500, 1), 0)[0]) == DecodeError::replayed));
  BOOST_TEST((rig.push(future.split(jpeg_like(500, 1), 0)[0]) == DecodeError::replayed));
  BOOST_TEST((rig.push(skewed.split(jpeg_like(500, 1), 0)[0]) == DecodeError::none));
  c.replay_window = 0;  // off: only counters are checked
  Rig off(c);
  BOOST_TEST((off.push(past.split(jpeg_like(500, 1), 1)[0]) == DecodeError::none));
}

BOOST_AUTO_TEST_CASE(keyed_datagrams_for_another_port_are_refused) {
  ReassemblerConfig c;
  c.key = k_key;
  Rig rig(c, {k_port, 5001});
  TaggedSession cam(k_key, 0xC0, k_port);
  const auto ds = cam.split(jpeg_like(3000, 1), 0);
  for (const auto& d : ds) BOOST_TEST((rig.push(d, 5001) == DecodeError::bad_tag));
  for (const auto& d : ds) BOOST_TEST((rig.push(d, k_port) == DecodeError::none));
  BOOST_TEST(rig.s(5001).frames_complete == 0u);
  BOOST_TEST(malformed(rig.s(5001), DecodeError::bad_tag) == ds.size());
  BOOST_TEST(rig.s(k_port).frames_complete == 1u);
}

BOOST_AUTO_TEST_CASE(two_keys_are_accepted_during_a_rotation) {
  const std::string old_key = "the-old-key-0123456789abcdef0123";
  ReassemblerConfig c;
  c.key = k_key;
  c.old_key = old_key;
  Rig rig(c);
  TaggedSession on_old(old_key, 1, k_port);
  TaggedSession on_new(k_key, 2, k_port);
  TaggedSession stranger("not-configured-0123456789abcdef", 3, k_port);
  for (const auto& d : on_old.split(jpeg_like(2000, 1), 0)) rig.push(d);
  for (const auto& d : on_new.split(jpeg_like(2000, 2), 0)) rig.push(d);
  for (const auto& d : stranger.split(jpeg_like(2000, 3), 0)) {
    BOOST_TEST((rig.push(d) == DecodeError::bad_tag));
  }
  BOOST_TEST(rig.frames_of(1) == 1u);
  BOOST_TEST(rig.frames_of(2) == 1u);
  BOOST_TEST(rig.frames_of(3) == 0u);
  c.key.clear();  // an old key alone makes no sense
  BOOST_CHECK_THROW(Rig{c}, std::invalid_argument);
}

// ---- real sockets and binaries on 127.0.0.1 ------------------------------------------------

// The scenario: a camera streams 100 frames while a second framehive-sender on the
// same port sends tiny test-pattern frames at 300/s. Before (receiver of 11f87f2, the same
// scenario in scripts/reliability_run.py --only spoof): 0 of the 100 camera frames got through.
// Now every frame of both arrives, and the counters add up.
BOOST_AUTO_TEST_CASE(camera_and_a_300_fps_second_sender_on_one_port) {
  const int port = fh::test::free_udp_port();
  const TempDir tmp("hostile-two-senders");
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--stats-interval", "0.1"},
      "hostile-two-senders");
  BOOST_REQUIRE(rx.wait_ready());
  const std::string noise_log = tmp.path() + "/noise.log";
  const std::string camera_log = tmp.path() + "/camera.log";
  auto noise = start_sender(port, "test:16x16@300", 1200, noise_log);  // ~4 s
  // The camera starts once the noise is flowing.
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port);
        return !f.empty() && stats_count(f, "frames_complete") >= 30u;
      },
      10000ms));
  // --max-rate spreads each frame's datagrams over ~15 ms (as on Wi-Fi or a shared link): the
  // noise's frames complete in between. Unpaced, a frame leaves in a burst of a few hundred
  // microseconds and the old receiver lost 1 of 100 instead of all 100.
  auto camera = start_sender(port, "test:640x480@30", 100, camera_log, {"--max-rate", "12"});
  BOOST_REQUIRE(camera.wait(30000ms) == 0);
  BOOST_REQUIRE(noise.wait(30000ms) == 0);
  const auto cam = stats_line(fh::test::read_file(camera_log), "sender-stats");
  const auto other = stats_line(fh::test::read_file(noise_log), "sender-stats");
  BOOST_REQUIRE(!cam.empty());
  BOOST_REQUIRE(!other.empty());
  BOOST_TEST(stats_count(cam, "frames") == 100u);
  const std::uint64_t frames = stats_count(cam, "frames") + stats_count(other, "frames");
  const std::uint64_t datagrams = stats_count(cam, "datagrams") + stats_count(other, "datagrams");
  BOOST_TEST(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port);
        return !f.empty() && stats_count(f, "datagrams") >= datagrams;
      },
      10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto f = stats_line(rx.output(), "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), rx.output());
  BOOST_TEST_MESSAGE("two senders: camera datagrams " << stats_count(cam, "datagrams")
                                                      << ", noise frames "
                                                      << stats_count(other, "frames"));
  BOOST_TEST(stats_count(f, "datagrams") == datagrams);
  // Every frame of both senders complete: the camera's 100 among them.
  BOOST_TEST(stats_count(f, "frames_complete") == frames);
  BOOST_TEST(stats_count(f, "frames_incomplete") == 0u);
  BOOST_TEST(stats_count(f, "malformed") == 0u);
}

// A flood of one-chunk frames, each from a session never seen, at ~3,000 datagrams/s while a
// camera (framehive-sender) streams: the camera's frames all arrive; every flood datagram is
// either a complete frame or refused (session_limited). The flood starts once the camera is
// live: a camera starting during a flood competes for the new-session allowance.
BOOST_AUTO_TEST_CASE(fresh_session_flood_over_udp_leaves_the_camera_flowing) {
  const int port = fh::test::free_udp_port();
  const TempDir tmp("hostile-flood");
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--stats-interval", "0.1"},
      "hostile-flood");
  BOOST_REQUIRE(rx.wait_ready());
  const std::string camera_log = tmp.path() + "/camera.log";
  auto camera = start_sender(port, "test:640x480@30", 100, camera_log, {"--max-rate", "12"});
  // The flood starts once the camera is live (it delivered frames).
  BOOST_REQUIRE(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port);
        return !f.empty() && stats_count(f, "frames_complete") >= 3u;
      },
      10000ms));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> flood{0};
  std::thread flooder([&] {
    UdpClient tx(port);
    std::uint64_t session = 0xF100D00000000000ULL;
    const auto now_us = fh::shared::unix_micros();
    while (!stop.load()) {
      for (int k = 0; k < 30 && !stop.load(); ++k) {
        ++session;
        const auto frame = jpeg_like(120, static_cast<std::uint32_t>(session));
        if (tx.send(split(frame, session, 0, 1000, "cam", now_us)[0])) {
          flood.fetch_add(1);
        }
      }
      std::this_thread::sleep_for(10ms);  // pacing the attacker, ~3,000 datagrams/s
    }
  });
  const int rc = camera.wait(30000ms);
  stop.store(true);
  flooder.join();
  BOOST_REQUIRE(rc == 0);
  const auto cam = stats_line(fh::test::read_file(camera_log), "sender-stats");
  BOOST_REQUIRE(!cam.empty());
  const std::uint64_t datagrams = stats_count(cam, "datagrams") + flood.load();
  BOOST_TEST(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port);
        return !f.empty() && stats_count(f, "datagrams") >= datagrams;
      },
      10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto f = stats_line(rx.output(), "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), rx.output());
  const std::uint64_t limited = stats_count(f, "malformed_session_limited");
  const std::uint64_t flood_frames = stats_count(f, "frames_complete") - 100;
  BOOST_TEST_MESSAGE("flood: " << flood.load() << " datagrams, " << flood_frames
                               << " complete frames, " << limited << " session_limited");
  BOOST_TEST(stats_count(f, "datagrams") == datagrams);
  // Every flood datagram is a complete one-chunk frame or refused; the camera's 100 frames
  // complete besides.
  BOOST_TEST(flood_frames + limited == flood.load());
  BOOST_TEST(stats_count(f, "frames_incomplete") == 0u);
  BOOST_TEST(stats_count(f, "malformed") == limited);
}

// With a key, over real sockets: a recording of an older session replayed after the camera
// restarted, and datagrams tagged for one port sent to another, are refused and counted.
BOOST_AUTO_TEST_CASE(keyed_replay_and_cross_port_replay_over_udp) {
  const int port = fh::test::free_udp_port();
  int port2 = fh::test::free_udp_port();
  while (port2 == port) port2 = fh::test::free_udp_port();
  const TempDir tmp("hostile-replay");
  const std::string key = write_key(tmp.path(), "datagram.key", k_key);
  ReceiverProcess rx(
      {"--bind", "127.0.0.1", "--ports", std::to_string(port) + "," + std::to_string(port2),
       "--key-file", key, "--stats-interval", "0.1"},
      "hostile-replay");
  BOOST_REQUIRE(rx.wait_ready());
  UdpClient tx(port);
  UdpClient tx2(port2);
  const auto now_us = fh::shared::unix_micros();
  TaggedSession old_run(k_key, 0x01D, static_cast<std::uint16_t>(port), now_us);
  TaggedSession new_run(k_key, 0x2E5, static_cast<std::uint16_t>(port), now_us);
  std::vector<Datagram> recorded;
  std::uint64_t sent = 0;
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    for (auto& d : old_run.split(jpeg_like(5000, seq), seq, 1200)) {
      BOOST_REQUIRE(tx.send(d));
      recorded.push_back(std::move(d));
      ++sent;
    }
  }
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    for (const auto& d : new_run.split(jpeg_like(5000, 100 + seq), seq, 1200)) {
      BOOST_REQUIRE(tx.send(d));
      ++sent;
    }
  }
  auto frames_complete = [&](int p) {
    const auto f = stats_line(rx.output(), "receiver-stats", p);
    return f.empty() ? 0u : stats_count(f, "frames_complete");
  };
  BOOST_REQUIRE(fh::test::poll_until([&] { return frames_complete(port) == 20u; }, 10000ms));
  for (const auto& d : recorded) BOOST_REQUIRE(tx.send(d));   // replay on its port
  for (const auto& d : recorded) BOOST_REQUIRE(tx2.send(d));  // and on the other port
  BOOST_TEST(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port2);
        return !f.empty() && stats_count(f, "datagrams") == recorded.size();
      },
      10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto f = stats_line(rx.output(), "receiver-stats", port);
  const auto f2 = stats_line(rx.output(), "receiver-stats", port2);
  BOOST_REQUIRE_MESSAGE(!f.empty(), rx.output());
  BOOST_TEST(stats_count(f, "datagrams") == sent + recorded.size());
  BOOST_TEST(stats_count(f, "frames_complete") == 20u);
  BOOST_TEST(stats_count(f, "malformed_replayed") == recorded.size());
  BOOST_TEST(stats_count(f, "malformed") == recorded.size());
  BOOST_TEST(stats_count(f2, "frames_complete") == 0u);
  BOOST_TEST(stats_count(f2, "malformed_bad_tag") == recorded.size());
}

// Key rotation with the binaries: the receiver holds the new key (--key-file) and the old one
// (--old-key-file); one camera still on the old key, one already on the new, both delivered;
// a sender with a third key is refused.
BOOST_AUTO_TEST_CASE(key_rotation_with_two_keys_over_udp) {
  const int port = fh::test::free_udp_port();
  const TempDir tmp("hostile-rotation");
  const std::string new_key = write_key(tmp.path(), "new.key", k_key);
  const std::string old_key = write_key(tmp.path(), "old.key", "the-old-key-0123456789abcdef");
  const std::string bad_key = write_key(tmp.path(), "bad.key", "a-third-key-0123456789abcdef");
  ReceiverProcess rx({"--bind", "127.0.0.1", "--ports", std::to_string(port), "--key-file", new_key,
                      "--old-key-file", old_key, "--stats-interval", "0.1"},
                     "hostile-rotation");
  BOOST_REQUIRE(rx.wait_ready());
  BOOST_TEST(rx.output().find("previous key still accepted") != std::string::npos, rx.output());
  const std::string a_log = tmp.path() + "/a.log", b_log = tmp.path() + "/b.log";
  const std::string c_log = tmp.path() + "/c.log";
  auto a = start_sender(port, "test:320x240@30", 20, a_log, {"--key-file", old_key});
  auto b = start_sender(port, "test:320x240@30", 20, b_log, {"--key-file", new_key});
  auto c = start_sender(port, "test:320x240@30", 5, c_log, {"--key-file", bad_key});
  BOOST_REQUIRE(a.wait(30000ms) == 0);
  BOOST_REQUIRE(b.wait(30000ms) == 0);
  BOOST_REQUIRE(c.wait(30000ms) == 0);
  std::uint64_t datagrams = 0;
  for (const auto* log : {&a_log, &b_log, &c_log}) {
    datagrams += stats_count(stats_line(fh::test::read_file(*log), "sender-stats"), "datagrams");
  }
  const std::uint64_t refused =
      stats_count(stats_line(fh::test::read_file(c_log), "sender-stats"), "datagrams");
  BOOST_TEST(fh::test::poll_until(
      [&] {
        const auto f = stats_line(rx.output(), "receiver-stats", port);
        return !f.empty() && stats_count(f, "datagrams") >= datagrams;
      },
      10000ms));
  BOOST_TEST(rx.stop() == 0);
  const auto f = stats_line(rx.output(), "receiver-stats", port);
  BOOST_REQUIRE_MESSAGE(!f.empty(), rx.output());
  BOOST_TEST(stats_count(f, "datagrams") == datagrams);
  BOOST_TEST(stats_count(f, "frames_complete") == 40u);
  BOOST_TEST(stats_count(f, "malformed_bad_tag") == refused);
  BOOST_TEST(stats_count(f, "malformed") == refused);
}

BOOST_AUTO_TEST_SUITE_END()
