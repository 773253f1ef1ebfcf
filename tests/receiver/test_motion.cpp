// The motion extension in the receiver (issue 13): the Reassembler carries each frame's
// extension into the ReceivedFrame, refuses a chunk whose extension differs from the frame's
// (inconsistent), and counts the frames the sender gated once per frame, when its first chunk
// arrives. No sockets; time from a ManualClock.
#include "datagrams.hpp"

#include "framehive/receiver/port_stats.hpp"
#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>

using namespace fh::receiver;
using namespace fh::receiver::test;
using fh::shared::DecodeError;
using fh::shared::k_motion_keepalive;
using fh::shared::k_motion_moving;
using fh::shared::MotionExtension;

namespace {

constexpr std::uint16_t k_port = 5000;
constexpr std::uint64_t k_session = 0x5E55'1011ULL;

/// A reassembler wired to a ManualClock, a StatsTable and a Collector.
struct Rig {
  explicit Rig(ReassemblerConfig c = {}) : stats({k_port}), r(c, clock, stats, sink) {}

  DecodeError push(const Datagram& d) { return r.push(k_port, d.data(), d.size()); }
  void push_all(const std::vector<Datagram>& ds) {
    for (const auto& d : ds) BOOST_REQUIRE(push(d) == DecodeError::none);
  }
  PortStatsSnapshot s() const { return stats.find(k_port)->snapshot(); }
  void advance(double seconds) {
    clock.advance(seconds);
    r.expire();
  }

  fh::shared::ManualClock clock;  ///< test time
  StatsTable stats;               ///< counters
  Collector sink;                 ///< complete frames
  Reassembler r;                  ///< under test
};

std::uint64_t inconsistent(const PortStatsSnapshot& s) {
  return s.malformed_by_reason[static_cast<std::size_t>(DecodeError::inconsistent)];
}

/// Moving, 12.34% of the frame, 3 frames gated before it, two boxes.
MotionExtension moving_ext() {
  return motion_ext(k_motion_moving, 1234, 3, {{0, 0, 32767, 65535}, {40000, 1000, 25535, 500}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(motion)

// Chunks in reverse order: the frame carries the extension exactly as sent, and the port counts
// its gated frames.
BOOST_AUTO_TEST_CASE(the_extension_is_carried_into_the_frame) {
  Rig rig;
  const auto frame = jpeg_like(4500, 1);
  auto ds = with_motion(split(frame, k_session, 0), moving_ext());
  std::reverse(ds.begin(), ds.end());
  rig.push_all(ds);
  BOOST_REQUIRE_EQUAL(rig.sink.frames.size(), 1u);
  const ReceivedFrame& f = rig.sink.frames[0];
  BOOST_TEST((f.jpeg == frame));
  BOOST_REQUIRE(f.motion.has_value());
  BOOST_TEST((*f.motion == moving_ext()));
  BOOST_TEST(f.motion->boxes.size() == 2u);
  BOOST_TEST(rig.s().gated == 3u);
  BOOST_TEST(rig.s().malformed() == 0u);

  // A keep-alive frame: no motion, no boxes, frames gated since the last one.
  const auto keepalive = motion_ext(k_motion_keepalive, 0, 50);
  rig.push_all(with_motion(split(jpeg_like(900, 2), k_session, 1), keepalive));
  BOOST_REQUIRE_EQUAL(rig.sink.frames.size(), 2u);
  BOOST_REQUIRE(rig.sink.frames[1].motion.has_value());
  BOOST_TEST((*rig.sink.frames[1].motion == keepalive));
  BOOST_TEST(rig.s().gated == 53u);
  BOOST_TEST(rig.s().frames_complete == 2u);
}

// A sender without motion detection: frames as before, no extension, nothing gated.
BOOST_AUTO_TEST_CASE(frames_without_the_extension_are_unchanged) {
  Rig rig;
  const auto frame = jpeg_like(3500, 3);
  rig.push_all(split(frame, k_session, 0));
  BOOST_REQUIRE_EQUAL(rig.sink.frames.size(), 1u);
  BOOST_TEST((rig.sink.frames[0].jpeg == frame));
  BOOST_TEST(!rig.sink.frames[0].motion.has_value());
  BOOST_TEST(rig.s().gated == 0u);
  BOOST_TEST(rig.s().frames_complete == 1u);
  BOOST_TEST(rig.s().malformed() == 0u);
}

// Every way a chunk's extension can differ from the frame's first chunk: refused as
// inconsistent and counted; the frame completes from its consistent chunks, with the first
// chunk's extension, and its gated frames count once (never the refused chunk's).
BOOST_AUTO_TEST_CASE(a_chunk_with_a_different_extension_is_inconsistent) {
  const auto base = moving_ext();
  auto other_score = base;
  other_score.score = 1235;
  auto other_gated = base;
  other_gated.gated = 4;
  auto other_flags = base;
  other_flags.flags = k_motion_moving | k_motion_keepalive;
  auto other_box = base;
  other_box.boxes[1].w = 25534;
  auto fewer_boxes = base;
  fewer_boxes.boxes.pop_back();
  struct Case {
    const char* name;
    bool first_has_ext;                  ///< the frame's first chunk carries base
    std::optional<MotionExtension> odd;  ///< what the odd chunk carries (none: no flag)
  };
  const Case cases[] = {
      {"other score", true, other_score}, {"other gated", true, other_gated},
      {"other flags", true, other_flags}, {"other box", true, other_box},
      {"fewer boxes", true, fewer_boxes}, {"flag missing", true, std::nullopt},
      {"flag added", false, base},
  };
  std::uint32_t seq = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Rig rig;
      const auto frame = jpeg_like(3000, seq);
      const auto plain = split(frame, k_session, seq);
      const auto good = c.first_has_ext ? with_motion(plain, base) : plain;
      const auto odd = c.odd ? with_motion(plain, *c.odd) : plain;
      BOOST_REQUIRE(rig.push(good[0]) == DecodeError::none);
      BOOST_TEST(rig.push(odd[1]) == DecodeError::inconsistent);
      BOOST_TEST(rig.push(odd[2]) == DecodeError::inconsistent);
      BOOST_TEST(inconsistent(rig.s()) == 2u);
      BOOST_TEST(rig.sink.frames.empty());
      BOOST_TEST(rig.push(good[1]) == DecodeError::none);
      BOOST_TEST(rig.push(good[2]) == DecodeError::none);
      BOOST_REQUIRE_EQUAL(rig.sink.frames.size(), 1u);
      BOOST_TEST((rig.sink.frames[0].jpeg == frame));
      BOOST_TEST(rig.sink.frames[0].motion.has_value() == c.first_has_ext);
      if (c.first_has_ext) BOOST_TEST((*rig.sink.frames[0].motion == base));
      BOOST_TEST(rig.s().gated == (c.first_has_ext ? base.gated : 0u));
      BOOST_TEST(rig.s().malformed() == 2u);
    }
    ++seq;
  }
}

// Gated frames count when a frame's first chunk arrives, once: a frame that then times out
// keeps its share, duplicates and late chunks add nothing, a frame never seen adds nothing (its
// gated count is lost with it; the sequence gap is counted missing).
BOOST_AUTO_TEST_CASE(gated_counts_once_per_frame_even_if_the_frame_is_incomplete) {
  Rig rig;
  const auto a = with_motion(split(jpeg_like(3000, 10), k_session, 0), motion_ext(0, 0, 5));
  BOOST_REQUIRE(rig.push(a[0]) == DecodeError::none);
  BOOST_TEST(rig.s().gated == 5u);                     // counted at the first chunk
  BOOST_REQUIRE(rig.push(a[0]) == DecodeError::none);  // duplicate
  BOOST_REQUIRE(rig.push(a[1]) == DecodeError::none);
  BOOST_TEST(rig.s().duplicate_datagrams == 1u);
  BOOST_TEST(rig.s().gated == 5u);
  rig.advance(rig.r.config().frame_timeout + 0.01);  // a[2] never came
  BOOST_TEST(rig.s().timed_out == 1u);
  BOOST_TEST(rig.s().gated == 5u);
  BOOST_REQUIRE(rig.push(a[2]) == DecodeError::none);  // late
  BOOST_TEST(rig.s().late_datagrams == 1u);
  BOOST_TEST(rig.s().gated == 5u);

  // Frame 1 is never seen; frame 2 completes and is sent again whole (duplicates).
  const auto c =
      with_motion(split(jpeg_like(2000, 12), k_session, 2), motion_ext(k_motion_moving, 300, 2));
  rig.push_all(c);
  rig.push_all(c);
  BOOST_TEST(rig.s().frames_complete == 1u);
  BOOST_TEST(rig.s().missing == 1);
  BOOST_TEST(rig.s().duplicate_datagrams == 3u);
  BOOST_TEST(rig.s().gated == 7u);

  // Without the extension nothing is added.
  rig.push_all(split(jpeg_like(2000, 13), k_session, 3));
  BOOST_TEST(rig.s().frames_complete == 2u);
  BOOST_TEST(rig.s().gated == 7u);
  BOOST_TEST(rig.s().frames_incomplete() == 2u);  // frame 0 timed out, frame 1 missing
}

// A frame refused at its first chunk because every partial-frame slot holds a live session's
// frame still counts its gated frames (counted evicted, like the frame).
BOOST_AUTO_TEST_CASE(gated_counts_for_a_frame_refused_by_the_partial_frame_caps) {
  ReassemblerConfig cfg;
  cfg.max_partial_frames = 2;
  Rig rig(cfg);
  // Session L goes live (2 complete frames) and holds both slots (one session may hold half,
  // so two sessions: L and M, both live).
  const std::uint64_t l = 0x1111, m = 0x2222, n = 0x3333;
  for (std::uint32_t s = 0; s < 2; ++s) {
    rig.push_all(split(jpeg_like(1500, s), l, s));
    rig.push_all(split(jpeg_like(1500, s + 10), m, s));
  }
  BOOST_REQUIRE(rig.push(split(jpeg_like(3000, 20), l, 2)[0]) == DecodeError::none);
  BOOST_REQUIRE(rig.push(split(jpeg_like(3000, 21), m, 2)[0]) == DecodeError::none);
  BOOST_REQUIRE_EQUAL(rig.r.partial_frames(), 2u);
  const auto before = rig.s();
  // A newcomer that is not live: refused, counted evicted, its gated frames counted.
  const auto refused =
      with_motion(split(jpeg_like(3000, 22), n, 0), motion_ext(k_motion_keepalive, 0, 9));
  BOOST_REQUIRE(rig.push(refused[0]) == DecodeError::none);
  BOOST_TEST(rig.s().evicted == before.evicted + 1);
  BOOST_TEST(rig.r.partial_frames() == 2u);
  BOOST_TEST(rig.s().gated == before.gated + 9);
  // Its other chunks are late now: nothing more.
  BOOST_REQUIRE(rig.push(refused[1]) == DecodeError::none);
  BOOST_TEST(rig.s().gated == before.gated + 9);
  BOOST_TEST(rig.s().late_datagrams == before.late_datagrams + 1);
}

// With a key, the extension rides in version-2 tagged datagrams the same way.
BOOST_AUTO_TEST_CASE(tagged_datagrams_carry_the_extension) {
  ReassemblerConfig cfg;
  cfg.key = "motion-test-key";
  Rig rig(cfg);
  TaggedSession tx(cfg.key, k_session, k_port);
  const auto frame = jpeg_like(2500, 30);
  rig.push_all(tx.split(frame, 0, moving_ext()));
  rig.push_all(tx.split(jpeg_like(800, 31), 1));
  BOOST_REQUIRE_EQUAL(rig.sink.frames.size(), 2u);
  BOOST_REQUIRE(rig.sink.frames[0].motion.has_value());
  BOOST_TEST((*rig.sink.frames[0].motion == moving_ext()));
  BOOST_TEST(!rig.sink.frames[1].motion.has_value());
  BOOST_TEST(rig.s().gated == 3u);
  // A chunk of a new frame with another extension, properly tagged, still inconsistent.
  auto odd = moving_ext();
  odd.score = 1;
  const auto a = tx.split(jpeg_like(2500, 32), 2, moving_ext());
  const auto b = tx.split(jpeg_like(2500, 32), 2, odd);
  BOOST_REQUIRE(rig.push(a[0]) == DecodeError::none);
  BOOST_TEST(rig.push(b[1]) == DecodeError::inconsistent);
  BOOST_TEST(rig.s().gated == 6u);
}

// The statistics line shows gated next to complete and incomplete.
BOOST_AUTO_TEST_CASE(the_stats_line_shows_gated) {
  PortStats st(k_port);
  st.frames_complete = 4;
  st.gated = 17;
  const auto line = format_stats_line(st.snapshot(), 1.0);
  BOOST_TEST(line.find(" frames_incomplete=0 gated=17 ") != std::string::npos, line);
}

BOOST_AUTO_TEST_SUITE_END()
