// Reassembler unit tests: no sockets, time from a ManualClock.
#include "datagrams.hpp"

#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>

using namespace fh::receiver;
using namespace fh::receiver::test;
using fh::shared::DecodeError;

namespace {

constexpr std::uint16_t k_port = 5000;

/// A reassembler wired to a ManualClock, a StatsTable and a Collector.
struct Rig {
  explicit Rig(ReassemblerConfig c = {}, std::vector<std::uint16_t> ports = {k_port})
      : stats(ports), r(c, clock, stats, sink) {}

  DecodeError push(const Datagram& d, std::uint16_t port = k_port) {
    return r.push(port, d.data(), d.size());
  }
  void push_all(const std::vector<Datagram>& ds, std::uint16_t port = k_port) {
    for (const auto& d : ds) push(d, port);
  }
  PortStatsSnapshot s(std::uint16_t port = k_port) const { return stats.find(port)->snapshot(); }
  void advance(double seconds) {
    clock.advance(seconds);
    r.expire();
  }

  fh::shared::ManualClock clock;  ///< test time
  StatsTable stats;               ///< counters
  Collector sink;                 ///< complete frames
  Reassembler r;                  ///< under test
};

std::uint64_t malformed(const PortStatsSnapshot& s, DecodeError e) {
  return s.malformed_by_reason[static_cast<std::size_t>(e)];
}

/// Feeds n_frames random frames through loss, duplication and reordering; checks every frame
/// whose chunks all arrived completes byte-identical and every other one ends incomplete.
void run_lossy(unsigned seed, double loss, double dup, bool full_shuffle) {
  ReassemblerConfig cfg;
  if (full_shuffle) {  // any order at all: the caps must not interfere
    cfg.max_partial_frames = 1000;
    cfg.reorder_window = 1'000'000;
    cfg.max_partial_bytes = 1u << 30;
  }
  Rig rig(cfg);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const int n_frames = 60;
  const std::uint64_t session = 0xABCDEF00ULL + seed;

  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<std::size_t> chunk_counts;
  struct Item {
    Datagram d;
    int frame;
    std::size_t chunk;
    double key;
  };
  std::vector<Item> items;
  for (int f = 0; f < n_frames; ++f) {
    // Mostly 20..150 KB; now and then a tiny single-chunk frame.
    const std::size_t size = f % 13 == 5 ? 100 + rng() % 400 : 20'000 + rng() % 130'000;
    frames.push_back(jpeg_like(size, seed * 1000 + static_cast<unsigned>(f)));
    const std::size_t chunk_payload = 900 + rng() % 500;
    auto ds = split(frames.back(), session, static_cast<std::uint32_t>(f), chunk_payload);
    chunk_counts.push_back(ds.size());
    for (std::size_t c = 0; c < ds.size(); ++c) {
      if (coin(rng) < loss) continue;
      const double base = static_cast<double>(items.size());
      items.push_back({ds[c], f, c, base});
      if (coin(rng) < dup) items.push_back({ds[c], f, c, base + 1});
    }
  }
  for (auto& it : items) {
    it.key = full_shuffle ? coin(rng) : it.key + coin(rng) * 50;  // local jitter: 50 datagrams
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.key < b.key; });

  std::map<int, std::set<std::size_t>> arrived;
  for (const auto& it : items) {
    BOOST_REQUIRE(rig.push(it.d) == DecodeError::none);
    arrived[it.frame].insert(it.chunk);
  }
  rig.advance(cfg.frame_timeout + 0.01);

  std::set<int> expect_complete;
  std::uint64_t expect_incomplete = 0;
  const int max_seen = arrived.empty() ? -1 : arrived.rbegin()->first;
  for (int f = 0; f < n_frames; ++f) {
    const auto it = arrived.find(f);
    const std::size_t got = it == arrived.end() ? 0 : it->second.size();
    if (got > 0 && got == chunk_counts[f]) {
      expect_complete.insert(f);
    } else if (got > 0 || f < max_seen) {
      ++expect_incomplete;  // partly arrived, or never seen but a later frame was
    }
  }

  std::set<int> completed;
  for (const auto& fr : rig.sink.frames) {
    BOOST_TEST_CONTEXT("seed " << seed << " frame " << fr.frame_seq) {
      BOOST_TEST(completed.insert(static_cast<int>(fr.frame_seq)).second);  // once only
      BOOST_REQUIRE(fr.frame_seq < frames.size());
      BOOST_TEST((fr.jpeg == frames[fr.frame_seq]));
      BOOST_TEST(fr.session == session);
      BOOST_TEST(fr.port == k_port);
      BOOST_TEST(fr.stream == "cam");
    }
  }
  const auto s = rig.s();
  BOOST_TEST_CONTEXT("seed " << seed << (full_shuffle ? " full shuffle" : " local jitter")) {
    BOOST_TEST((completed == expect_complete));
    BOOST_TEST(s.frames_complete == expect_complete.size());
    BOOST_TEST(s.frames_incomplete() == expect_incomplete);
    BOOST_TEST(s.frames_complete + s.frames_incomplete() ==
               static_cast<std::uint64_t>(max_seen + 1));
    BOOST_TEST(s.malformed() == 0u);
    BOOST_TEST(rig.r.partial_frames() == 0u);
    BOOST_TEST(rig.r.partial_bytes() == 0u);
    if (dup > 0) BOOST_TEST(s.duplicate_datagrams > 0u);
    BOOST_TEST(s.datagrams == items.size());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reassembler)

BOOST_AUTO_TEST_CASE(in_order_frame_completes_byte_identical) {
  Rig rig;
  const auto frame = jpeg_like(12'345, 1);
  rig.push_all(split(frame, 7, 0));
  BOOST_REQUIRE(rig.sink.frames.size() == 1u);
  const ReceivedFrame& f = rig.sink.frames[0];
  BOOST_TEST((f.jpeg == frame));
  BOOST_TEST(f.port == k_port);
  BOOST_TEST(f.session == 7u);
  BOOST_TEST(f.frame_seq == 0u);
  BOOST_TEST(f.stream == "cam");
  BOOST_TEST(f.capture_us == 1'700'000'000'000'000ULL);
  BOOST_TEST(f.received_us == static_cast<std::uint64_t>(rig.clock.wall() * 1e6));
  const auto s = rig.s();
  BOOST_TEST(s.datagrams == 13u);
  BOOST_TEST(s.frames_complete == 1u);
  BOOST_TEST(s.frames_incomplete() == 0u);
  BOOST_TEST(rig.r.partial_frames() == 0u);
}

BOOST_AUTO_TEST_CASE(single_chunk_and_exact_multiple_frames) {
  Rig rig;
  const auto one = jpeg_like(700, 2);
  const auto exact = jpeg_like(3000, 3);  // three full chunks of 1000
  rig.push_all(split(one, 1, 0));
  rig.push_all(split(exact, 1, 1));
  BOOST_REQUIRE(rig.sink.frames.size() == 2u);
  BOOST_TEST((rig.sink.frames[0].jpeg == one));
  BOOST_TEST((rig.sink.frames[1].jpeg == exact));
}

BOOST_AUTO_TEST_CASE(shuffled_duplicated_lossy_streams_local_jitter) {
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) run_lossy(seed, 0.01, 0.05, false);
}

BOOST_AUTO_TEST_CASE(shuffled_duplicated_lossy_streams_full_shuffle) {
  for (unsigned seed : {11u, 12u, 13u}) run_lossy(seed, 0.005, 0.1, true);
}

BOOST_AUTO_TEST_CASE(lossless_full_shuffle_completes_everything) {
  for (unsigned seed : {21u, 22u}) run_lossy(seed, 0.0, 0.2, true);
}

BOOST_AUTO_TEST_CASE(incomplete_frame_times_out_and_is_not_resurrected) {
  Rig rig;
  auto ds = split(jpeg_like(5000, 4), 9, 0);
  const Datagram last = ds.back();
  ds.pop_back();
  rig.push_all(ds);
  rig.advance(0.5);
  BOOST_TEST(rig.r.partial_frames() == 1u);
  BOOST_TEST(rig.s().timed_out == 0u);
  rig.advance(0.6);
  BOOST_TEST(rig.r.partial_frames() == 0u);
  BOOST_TEST(rig.s().timed_out == 1u);
  BOOST_TEST(rig.s().frames_incomplete() == 1u);
  // The missing chunk turns up late: ignored, the frame stays given up.
  BOOST_TEST((rig.push(last) == DecodeError::none));
  rig.push_all(ds);
  BOOST_TEST(rig.sink.frames.empty());
  BOOST_TEST(rig.r.partial_frames() == 0u);
  BOOST_TEST(rig.s().late_datagrams == ds.size() + 1);
  BOOST_TEST(rig.s().timed_out == 1u);
}

BOOST_AUTO_TEST_CASE(frame_timeout_is_configurable) {
  ReassemblerConfig c;
  c.frame_timeout = 0.1;
  Rig rig(c);
  auto ds = split(jpeg_like(5000, 4), 9, 0);
  rig.push(ds[0]);
  rig.advance(0.05);
  BOOST_TEST(rig.s().timed_out == 0u);
  rig.advance(0.06);
  BOOST_TEST(rig.s().timed_out == 1u);
}

BOOST_AUTO_TEST_CASE(late_chunks_of_completed_frame_do_not_resurrect_it) {
  Rig rig;
  const auto ds = split(jpeg_like(5000, 5), 3, 0);
  rig.push_all(ds);
  BOOST_REQUIRE(rig.sink.frames.size() == 1u);
  rig.push_all(ds);  // every chunk again, after completion
  rig.push(ds[2]);
  rig.advance(5);
  BOOST_TEST(rig.sink.frames.size() == 1u);
  BOOST_TEST(rig.s().duplicate_datagrams == ds.size() + 1);
  BOOST_TEST(rig.s().frames_complete == 1u);
  BOOST_TEST(rig.s().frames_incomplete() == 0u);
  BOOST_TEST(rig.r.partial_frames() == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_chunk_of_partial_frame_is_counted_and_ignored) {
  Rig rig;
  const auto frame = jpeg_like(2500, 6);
  const auto ds = split(frame, 3, 0);
  rig.push(ds[1]);
  rig.push(ds[1]);
  rig.push(ds[0]);
  rig.push(ds[0]);
  rig.push(ds[2]);
  BOOST_REQUIRE(rig.sink.frames.size() == 1u);
  BOOST_TEST((rig.sink.frames[0].jpeg == frame));
  BOOST_TEST(rig.s().duplicate_datagrams == 2u);
}

BOOST_AUTO_TEST_CASE(newer_frames_supersede_an_old_partial_one) {
  Rig rig;  // reorder window 16
  auto old = split(jpeg_like(3000, 7), 1, 0);
  rig.push(old[0]);  // frame 0 stays partial
  for (std::uint32_t seq = 1; seq < 16; ++seq) rig.push_all(split(jpeg_like(1500, seq), 1, seq));
  BOOST_TEST(rig.r.partial_frames() == 1u);  // 15 is not 16 newer
  BOOST_TEST(rig.s().superseded == 0u);
  rig.push_all(split(jpeg_like(1500, 16), 1, 16));
  BOOST_TEST(rig.r.partial_frames() == 0u);
  BOOST_TEST(rig.s().superseded == 1u);
  BOOST_TEST(rig.s().frames_complete == 16u);
  BOOST_TEST(rig.s().frames_incomplete() == 1u);
  // Its other chunks arriving now are late, not a new frame.
  rig.push(old[1]);
  rig.push(old[2]);
  BOOST_TEST(rig.sink.frames.size() == 16u);
  BOOST_TEST(rig.s().late_datagrams == 2u);
}

BOOST_AUTO_TEST_CASE(reorder_window_is_configurable) {
  ReassemblerConfig c;
  c.reorder_window = 2;
  Rig rig(c);
  rig.push(split(jpeg_like(3000, 7), 1, 0)[0]);
  rig.push_all(split(jpeg_like(1500, 1), 1, 1));
  BOOST_TEST(rig.s().superseded == 0u);
  rig.push_all(split(jpeg_like(1500, 2), 1, 2));
  BOOST_TEST(rig.s().superseded == 1u);
}

BOOST_AUTO_TEST_CASE(new_session_on_the_port_supersedes_the_old_one) {
  Rig rig;
  auto a5 = split(jpeg_like(3000, 8), 0xAAAA, 5);
  auto a6 = split(jpeg_like(3000, 9), 0xAAAA, 6);
  rig.push_all(split(jpeg_like(3000, 10), 0xAAAA, 4));  // complete
  rig.push(a5[0]);
  rig.push(a6[1]);
  BOOST_TEST(rig.r.partial_frames() == 2u);
  // The sender restarts: the old session falls quiet, a new one starts from seq 0.
  rig.advance(0.3);  // past session_quiet (0.25 s), within the 1 s frame timeout
  BOOST_TEST(rig.r.partial_frames() == 2u);
  rig.push_all(split(jpeg_like(2000, 11), 0xBBBB, 0));
  BOOST_TEST(rig.r.partial_frames() == 0u);
  BOOST_TEST(rig.s().superseded == 2u);
  BOOST_REQUIRE(rig.sink.frames.size() == 2u);
  BOOST_TEST(rig.sink.frames[1].session == 0xBBBBu);
  BOOST_TEST(rig.sink.frames[1].frame_seq == 0u);
  // Stragglers of the old session do not come back.
  rig.push(a5[1]);
  rig.push(a5[2]);
  BOOST_TEST(rig.sink.frames.size() == 2u);
}

BOOST_AUTO_TEST_CASE(partial_frame_cap_evicts_the_oldest) {
  ReassemblerConfig c;
  c.max_partial_frames = 4;
  c.reorder_window = 1000;
  Rig rig(c, {k_port, 5001});
  std::vector<std::vector<Datagram>> frames;
  for (std::uint32_t seq = 0; seq < 5; ++seq) {
    frames.push_back(split(jpeg_like(3000, 20 + seq), 1, seq));
    rig.push(frames.back()[0]);
  }
  BOOST_TEST(rig.r.partial_frames() == 4u);
  BOOST_TEST(rig.s().evicted == 1u);
  // The other port is not affected by this port's cap.
  rig.push(split(jpeg_like(3000, 30), 1, 0)[0], 5001);
  BOOST_TEST(rig.s(5001).evicted == 0u);
  // ReceivedFrame 0 (the oldest) was evicted: completing it now does not work; frame 1 still does.
  rig.push(frames[0][1]);
  rig.push(frames[0][2]);
  rig.push(frames[1][1]);
  rig.push(frames[1][2]);
  BOOST_REQUIRE(rig.sink.frames.size() == 1u);
  BOOST_TEST(rig.sink.frames[0].frame_seq == 1u);
  BOOST_TEST(rig.s().late_datagrams == 2u);
}

BOOST_AUTO_TEST_CASE(byte_cap_evicts_from_the_port_holding_most) {
  ReassemblerConfig c;
  c.max_frame_bytes = 100'000;
  c.max_partial_bytes = 250'000;
  c.reorder_window = 1000;
  Rig rig(c, {k_port, 5001});
  rig.push(split(jpeg_like(90'000, 1), 1, 0)[0], k_port);
  rig.push(split(jpeg_like(90'000, 2), 1, 1)[0], k_port);
  rig.push(split(jpeg_like(50'000, 3), 2, 0)[0], 5001);
  BOOST_TEST(rig.r.partial_bytes() == 230'000u);
  rig.push(split(jpeg_like(60'000, 4), 2, 1)[0], 5001);  // 290,000 > 250,000
  BOOST_TEST(rig.s(k_port).evicted == 1u);
  BOOST_TEST(rig.s(5001).evicted == 0u);
  BOOST_TEST(rig.r.partial_bytes() == 200'000u);
}

BOOST_AUTO_TEST_CASE(missing_frames_are_counted_and_uncounted_when_they_turn_up) {
  Rig rig;
  std::vector<std::vector<std::uint8_t>> jpegs;
  for (unsigned i = 0; i < 8; ++i) jpegs.push_back(jpeg_like(2500, 40 + i));
  rig.push_all(split(jpegs[0], 1, 0));
  rig.push_all(split(jpegs[1], 1, 1));
  rig.push_all(split(jpegs[5], 1, 5));  // 2, 3, 4 never seen (yet)
  BOOST_TEST(rig.s().missing == 3);
  BOOST_TEST(rig.s().frames_incomplete() == 3u);
  rig.push_all(split(jpegs[3], 1, 3));  // 3 was only late
  BOOST_TEST(rig.s().missing == 2);
  BOOST_TEST(rig.s().frames_complete == 4u);
  BOOST_TEST(rig.s().frames_incomplete() == 2u);
  // ReceivedFrame 2 arrives partly, then times out: it moves from missing to timed_out.
  rig.push(split(jpegs[2], 1, 2)[0]);
  BOOST_TEST(rig.s().missing == 1);
  rig.advance(1.5);
  BOOST_TEST(rig.s().timed_out == 1u);
  BOOST_TEST(rig.s().frames_incomplete() == 2u);
  BOOST_TEST(rig.s().frames_complete + rig.s().frames_incomplete() == 6u);  // seqs 0..5
}

BOOST_AUTO_TEST_CASE(first_frames_lost_at_start_are_missing) {
  Rig rig;
  rig.push_all(split(jpeg_like(2500, 50), 1, 3));  // 0, 1, 2 lost before
  BOOST_TEST(rig.s().missing == 3);
  // A receiver joining a running stream does not count the frames before it started.
  Rig late;
  late.push_all(split(jpeg_like(2500, 50), 1, 5000));
  BOOST_TEST(late.s().missing == 0);
}

BOOST_AUTO_TEST_CASE(huge_sequence_jump_needs_confirmation) {
  Rig rig;
  rig.push_all(split(jpeg_like(2500, 60), 1, 0));
  // A corrupted seq far ahead is not counted as two billion missing frames.
  rig.push_all(split(jpeg_like(500, 61), 1, 2'000'000'000u));
  BOOST_TEST(rig.s().missing == 0);
  rig.push_all(split(jpeg_like(2500, 62), 1, 1));
  BOOST_TEST(rig.s().missing == 0);
  BOOST_TEST(rig.s().frames_complete == 3u);
  // A real jump (two frames in a row far ahead) is accepted as the new position.
  rig.push_all(split(jpeg_like(500, 63), 1, 3'000'000'000u));
  rig.push_all(split(jpeg_like(500, 64), 1, 3'000'000'001u));
  rig.push_all(split(jpeg_like(500, 65), 1, 3'000'000'003u));
  BOOST_TEST(rig.s().missing == 1);
}

BOOST_AUTO_TEST_CASE(every_malformed_reason_is_counted) {
  ReassemblerConfig c;
  c.max_frame_bytes = 50'000;
  Rig rig(c);
  const auto good = split(jpeg_like(5000, 70), 1, 0);
  std::map<DecodeError, int> expected;
  auto check = [&](const Datagram& d, DecodeError e) {
    BOOST_TEST_CONTEXT("expect " << e) { BOOST_TEST((rig.push(d) == e)); }
    ++expected[e];
  };
  check(Datagram(good[0].begin(), good[0].begin() + 20), DecodeError::too_short);
  check(Datagram(), DecodeError::too_short);
  auto d = good[0];
  d[0] ^= 0x01;
  check(d, DecodeError::bad_magic);
  d = good[0];
  d[4] = 3;  // versions 1 and 2 exist
  check(d, DecodeError::bad_version);
  d = good[0];
  d.pop_back();  // payload_len disagrees with the size
  check(d, DecodeError::bad_length);
  d = good[0];
  d[22] = 0;  // chunk_count 0
  d[23] = 0;
  check(d, DecodeError::bad_index);
  d = good[0];
  d[d.size() - 1] ^= 0x40;
  check(d, DecodeError::bad_checksum);
  check(split(jpeg_like(60'000, 71), 1, 1)[0], DecodeError::too_large);

  // Disagreeing chunks of one frame: frame_len, chunk_count, capture time, stream, chunk size.
  const auto base = split(jpeg_like(5000, 72), 2, 0);  // 5 chunks of 1000
  BOOST_TEST((rig.push(base[0]) == DecodeError::none));
  check(split(jpeg_like(5500, 72), 2, 0)[1], DecodeError::inconsistent);
  check(split(jpeg_like(5000, 72), 2, 0, 1000, "cam", 42)[1], DecodeError::inconsistent);
  check(split(jpeg_like(5000, 72), 2, 0, 1000, "other")[1], DecodeError::inconsistent);
  check(split(jpeg_like(5000, 72), 2, 0, 500)[3], DecodeError::inconsistent);
  check(split(jpeg_like(5000, 72), 2, 0, 2500)[1], DecodeError::inconsistent);  // count 2
  // A chunk that cannot fit its frame on its own: a 1000-byte middle chunk of a 2-chunk,
  // 5000-byte frame, and a last chunk whose rest does not split evenly.
  {
    fh::shared::DatagramHeader h;
    h.session = 3;
    h.frame_seq = 0;
    h.chunk_index = 0;
    h.chunk_count = 2;
    h.frame_len = 5000;
    h.stream = "cam";
    const auto p = jpeg_like(1000, 73);
    Datagram out;
    fh::shared::encode_datagram(h, p.data(), p.size(), out);
    check(out, DecodeError::inconsistent);
    h.chunk_count = 3;
    h.chunk_index = 2;
    h.frame_len = 2001;
    out.clear();
    fh::shared::encode_datagram(h, p.data(), 2, out);  // rest 1999 is not 2 equal chunks
    check(out, DecodeError::inconsistent);
  }
  // The good frame still completes, untouched by the bad chunks.
  for (std::size_t i = 1; i < base.size(); ++i) {
    BOOST_TEST((rig.push(base[i]) == DecodeError::none));
  }
  BOOST_TEST(rig.sink.frames.size() == 1u);

  const auto s = rig.s();
  std::uint64_t total = 0;
  for (const auto& [e, n] : expected) {
    BOOST_TEST_CONTEXT(e) { BOOST_TEST(malformed(s, e) == static_cast<std::uint64_t>(n)); }
    total += static_cast<std::uint64_t>(n);
  }
  BOOST_TEST(s.malformed() == total);
  // bad_tag needs a key (--key-file): a keyed reassembler refuses the untagged chunk.
  ReassemblerConfig keyed = c;
  keyed.key = "reassembler-test-key-0123456789";
  Rig keyed_rig(keyed);
  BOOST_TEST((keyed_rig.push(good[0]) == DecodeError::bad_tag));
  BOOST_TEST(malformed(keyed_rig.s(), DecodeError::bad_tag) == 1u);
  BOOST_TEST(expected.count(DecodeError::bad_tag) == 0u);
  // replayed needs a key too: the same tagged datagram twice.
  TaggedSession tagged(keyed.key, 0x7A6, k_port);
  const auto t = tagged.split(jpeg_like(3000, 73), 0);
  BOOST_TEST((keyed_rig.push(t[0]) == DecodeError::none));
  BOOST_TEST((keyed_rig.push(t[0]) == DecodeError::replayed));
  BOOST_TEST(malformed(keyed_rig.s(), DecodeError::replayed) == 1u);
  // session_limited: more new sessions in a second than the port admits.
  ReassemblerConfig one_a_second = c;
  one_a_second.new_sessions_per_second = 1;
  Rig limited(one_a_second);
  BOOST_TEST((limited.push(split(jpeg_like(3000, 74), 0x51, 0)[0]) == DecodeError::none));
  BOOST_TEST(
      (limited.push(split(jpeg_like(3000, 75), 0x52, 0)[0]) == DecodeError::session_limited));
  BOOST_TEST(malformed(limited.s(), DecodeError::session_limited) == 1u);
  BOOST_TEST(expected.size() + 3 == fh::shared::k_decode_error_count - 1);  // every reason
}

BOOST_AUTO_TEST_CASE(random_garbage_never_throws_or_completes) {
  Rig rig;
  std::mt19937 rng(99);
  const auto good = split(jpeg_like(20'000, 80), 5, 0);
  std::uint64_t n = 0;
  for (int i = 0; i < 20'000; ++i) {
    Datagram d;
    switch (i % 3) {
      case 0:  // random bytes
        d.resize(rng() % 1500);
        for (auto& b : d) b = static_cast<std::uint8_t>(rng());
        break;
      case 1:  // truncated valid datagram
        d = good[rng() % good.size()];
        d.resize(rng() % d.size());
        break;
      default:  // bit flips in a valid datagram
        d = good[rng() % good.size()];
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
          d[rng() % d.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
    }
    BOOST_CHECK_NO_THROW(rig.push(d));
    ++n;
  }
  rig.advance(2);
  BOOST_TEST(rig.s().datagrams == n);
  BOOST_TEST(rig.s().malformed() > n / 2);
  BOOST_TEST(rig.r.partial_frames() == 0u);
}

BOOST_AUTO_TEST_CASE(sessions_per_port_are_bounded) {
  Rig rig;
  for (std::uint64_t s = 1; s <= Reassembler::k_max_sessions_per_port + 1; ++s) {
    rig.push(split(jpeg_like(3000, 90), s, 0)[0]);
  }
  // The least recently used session was forgotten together with its partial frame.
  BOOST_TEST(rig.s().evicted == 1u);
  BOOST_TEST(rig.r.partial_frames() == Reassembler::k_max_sessions_per_port);
}

BOOST_AUTO_TEST_CASE(unknown_port_is_ignored) {
  Rig rig;
  const auto ds = split(jpeg_like(500, 91), 1, 0);
  BOOST_TEST((rig.push(ds[0], 6000) == DecodeError::none));
  BOOST_TEST(rig.sink.frames.empty());
  BOOST_TEST(rig.s().datagrams == 0u);
}

BOOST_AUTO_TEST_CASE(drop_all_counts_partials_as_timed_out) {
  Rig rig;
  rig.push(split(jpeg_like(3000, 92), 1, 0)[0]);
  rig.push(split(jpeg_like(3000, 93), 1, 1)[0]);
  rig.r.drop_all();
  BOOST_TEST(rig.s().timed_out == 2u);
  BOOST_TEST(rig.r.partial_frames() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
