// Fuzz target: the datagram parser (fh::shared::decode_datagram) and the receiver's
// Reassembler, driven by a ManualClock.
//
// Input: a 7-byte config header (frame timeout, and with its bit 7 an integrity key, so the
// receiver checks tags; reorder window, partial-frame and byte caps), then a sequence of
// operations, each one opcode byte and its operands:
//   0, 1  raw datagram          port, u16 length, bytes (pushed as is)
//   2     raw, CRC fixed up     like 0 but the payload CRC (and with a key, a tag the flags
//                               announce, over the port and the datagram) is recomputed, so
//                               random headers of either version, with or without a motion
//                               extension, get past the checks
//   3     one valid chunk       session, seq, chunk size, frame length, index, stream: built
//                               with encode_datagram, payload a known pattern; with a key,
//                               version 2, tagged for the port, the session's next datagram
//                               counter (flag 0x20: a counter already used, a replay); without
//                               a key flag 0x20 makes it an untagged version-2 datagram; flag
//                               0x40: with a motion extension (flags, score, gated, boxes read
//                               from the input)
//   4     a whole frame         like 3, every chunk, in order or reversed, one maybe skipped;
//                               mode bit 1: the chunk after the skipped one carries a motion
//                               extension that differs from the others' (inconsistent)
//   5     clock advance         u8 * 10 ms, then expire()
//   6     expire(), or drop_all() when the opcode's high bits are 0
//   7     the last datagram again
// tests/fuzz/corpus/datagram/ holds inputs in this format (made by fuzz_corpus_gen).
// FH_FUZZ_DEBUG=1 in the environment prints a line of counters per input.
//
// Checked after every step: counters move exactly as the operation allows (one datagram counted
// on its port, malformed iff rejected, each partial frame ends counted once: complete, timed
// out, superseded or evicted), the caps hold, and a completed frame built only from valid
// chunks has the announced length and the pattern bytes. decode(x) == ok implies encode of the
// decoded header and payload gives x back (reserved bytes, a motion extension's version, length
// and reserved bytes, and a flagged trailer aside). Motion: a completed frame carries the
// extension of its chunks (the one that completed it included); the port's gated counter moves
// only when a frame's first chunk is taken, by that chunk's gated count. With a
// key: what the reassembler accepts carries a tag for the port it arrived on, and a datagram
// counter it accepted is refused (replayed) when it comes again.
#include "fuzz_util.hpp"

#include "framehive/receiver/reassembler.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/protocol.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

using fh::fuzz::Reader;
using fh::receiver::PortStatsSnapshot;
using fh::receiver::Reassembler;
using fh::receiver::ReassemblerConfig;
using fh::receiver::ReceivedFrame;
using fh::receiver::StatsTable;
using fh::shared::DatagramHeader;
using fh::shared::DecodedDatagram;
using fh::shared::DecodeError;

constexpr std::uint16_t k_ports[] = {5000, 5001, 4999};  // the last is not one of ours
const std::string k_key = "fuzz-key";
const std::vector<std::uint16_t> k_our_ports = {5000, 5001};

unsigned long long ull(std::uint64_t v) { return v; }

std::uint8_t pattern(std::uint64_t session, std::uint32_t seq, std::size_t offset) {
  return static_cast<std::uint8_t>(offset * 131 + seq * 7 + session * 13 + (offset >> 8));
}

/// What the fuzzer sent for one (port, session, seq).
struct Sent {
  std::set<std::uint32_t> frame_lens;  ///< frame_len of the valid chunks sent
  bool tainted = false;                ///< a raw datagram decoded with this key: content unknown
};
using Key = std::tuple<std::uint16_t, std::uint64_t, std::uint32_t>;

/// Counter totals over every port, for before/after comparisons.
struct Totals {
  std::uint64_t complete = 0, timed_out = 0, superseded = 0, evicted = 0, duplicate = 0, late = 0,
                malformed = 0, datagrams = 0, gated = 0;
  std::size_t partials = 0;
  std::uint64_t dropped() const { return timed_out + superseded + evicted; }
};

struct Collector : Reassembler::Listener {
  std::vector<ReceivedFrame> frames;  ///< frames delivered by the last step
  void on_frame(ReceivedFrame&& f) override { frames.push_back(std::move(f)); }
};

class Harness {
 public:
  explicit Harness(const ReassemblerConfig& cfg)
      : stats_(k_our_ports), r_(cfg, clock_, stats_, sink_) {
    if (!cfg.key.empty()) tagger_ = std::make_unique<fh::shared::DatagramTagger>(cfg.key);
  }

  /// The receiver's key, or null when it has none.
  fh::shared::DatagramTagger* tagger() { return tagger_.get(); }

  void push(std::uint16_t port, const std::uint8_t* d, std::size_t n) {
    last_port_ = port;
    last_.assign(d, d + n);
    // The parser alone first: a decoded datagram re-encodes to the same bytes (reserved
    // fields aside), and its key's content is no longer known when it is a raw one.
    DecodedDatagram dd;
    const DecodeError e = fh::shared::decode_datagram(d, n, dd);
    last_decode_ = e;
    if (e == DecodeError::none && !own_) {
      FH_FUZZ_CHECK(dd.payload_size == dd.header.payload_len);
      FH_FUZZ_CHECK(dd.payload >= d && dd.payload + dd.payload_size <= d + n);
      std::vector<std::uint8_t> again;
      fh::shared::encode_datagram(dd.header, dd.payload, dd.payload_size, again);
      std::vector<std::uint8_t> orig(d, d + n);
      // Reserved, not checked by the decoder (byte 7 is the key id in version 2).
      if (dd.header.version == fh::shared::k_version) orig[7] = 0;
      orig[30] = orig[31] = 0;
      if (dd.header.flags & fh::shared::k_flag_motion) {
        // The extension as this build writes it: version 1, its own length (a later version's
        // fields skipped), reserved bytes zero.
        const std::size_t at =
            (dd.header.version == fh::shared::k_version_2 ? fh::shared::k_fixed_header_bytes_v2
                                                          : fh::shared::k_fixed_header_bytes) +
            dd.header.stream.size();
        const std::size_t canon = fh::shared::k_motion_ext_fixed +
                                  dd.header.motion.boxes.size() * fh::shared::k_motion_box_bytes;
        const std::size_t len = orig[at + 1];
        FH_FUZZ_CHECK(orig[at] != 0 && len >= canon && at + len <= orig.size());
        orig[at] = fh::shared::k_motion_ext_version;
        orig[at + 1] = static_cast<std::uint8_t>(canon);
        orig[at + 6] = orig[at + 7] = 0;
        orig.erase(orig.begin() + static_cast<std::ptrdiff_t>(at + canon),
                   orig.begin() + static_cast<std::ptrdiff_t>(at + len));
      }
      // Equal, up to a trailer that only a flag (the integrity tag) may announce.
      FH_FUZZ_CHECK(again.size() <= orig.size() &&
                    std::equal(again.begin(), again.end(), orig.begin()));
      if (again.size() != orig.size()) FH_FUZZ_CHECK(dd.header.flags != 0);
      sent_[{port, dd.header.session, dd.header.frame_seq}].tainted = true;
    } else if (e != DecodeError::none) {
      FH_FUZZ_CHECK(e < DecodeError::count_);
    }

    const auto before = snapshots();
    const Totals tb = totals(before);
    const DecodeError ret = r_.push(port, d, n);
    const auto after = snapshots();
    const Totals ta = totals(after);
    check_caps(after);

    const bool ours = port != k_ports[2];
    FH_FUZZ_CHECK(ta.gated >= tb.gated);
    if (!ours) {
      FH_FUZZ_CHECK(ret == DecodeError::none);
      FH_FUZZ_CHECK(ta.gated == tb.gated);
      FH_FUZZ_CHECK(ta.datagrams == tb.datagrams && ta.partials == tb.partials);
      FH_FUZZ_CHECK(sink_.frames.empty());
      return;
    }
    const std::size_t pi = port == k_ports[0] ? 0 : 1;
    FH_FUZZ_CHECK(after[pi].datagrams == before[pi].datagrams + 1);
    FH_FUZZ_CHECK(after[pi].bytes == before[pi].bytes + n);
    FH_FUZZ_CHECK(ta.datagrams == tb.datagrams + 1);
    // Rejected iff counted malformed, under the reason returned.
    if (ret != DecodeError::none) {
      FH_FUZZ_CHECK(ret < DecodeError::count_);
      FH_FUZZ_CHECK(ta.malformed == tb.malformed + 1);
      const auto i = static_cast<std::size_t>(ret);
      FH_FUZZ_CHECK(after[pi].malformed_by_reason[i] == before[pi].malformed_by_reason[i] + 1);
      FH_FUZZ_CHECK(ta.partials == tb.partials && ta.complete == tb.complete &&
                    ta.dropped() == tb.dropped());
      FH_FUZZ_CHECK(ta.gated == tb.gated);
      FH_FUZZ_CHECK(sink_.frames.empty());
      return;
    }
    FH_FUZZ_CHECK(e == DecodeError::none);  // the receiver accepts only what decodes
    if (tagger_) {                          // and with a key, only what carries its tag
      DecodedDatagram tagged;
      FH_FUZZ_CHECK(fh::shared::decode_tagged_datagram(d, n, port, *tagger_, tagged) ==
                    DecodeError::none);
      FH_FUZZ_CHECK(tagged.header.version == fh::shared::k_version_2);
      // Its counter is now taken: the very same datagram again is a replay (while the
      // receiver can remember every session seen: Reassembler::k_retired_sessions_per_port).
      const bool fresh =
          accepted_.insert({port, tagged.header.session, tagged.header.counter}).second;
      sessions_.insert({port, tagged.header.session});
      FH_FUZZ_CHECK(fresh || sessions_.size() > Reassembler::k_retired_sessions_per_port);
    }
    FH_FUZZ_CHECK(ta.malformed == tb.malformed);
    // Conservation: every partial frame that disappears is counted exactly once.
    const std::int64_t created = static_cast<std::int64_t>(ta.partials) -
                                 static_cast<std::int64_t>(tb.partials) +
                                 static_cast<std::int64_t>(ta.complete - tb.complete) +
                                 static_cast<std::int64_t>(ta.dropped() - tb.dropped());
    FH_FUZZ_CHECK(created == 0 || created == 1);
    created_ += static_cast<std::uint64_t>(created);
    // The frames the sender gated count once per frame, at its first chunk taken (a frame
    // refused right away by the caps, counted evicted, included).
    const bool has_motion = (dd.header.flags & fh::shared::k_flag_motion) != 0;
    const std::uint64_t gated = has_motion ? dd.header.motion.gated : 0;
    FH_FUZZ_CHECK(after[pi].gated - before[pi].gated == (created == 1 ? gated : 0));
    const std::uint64_t ignored = (ta.duplicate - tb.duplicate) + (ta.late - tb.late);
    FH_FUZZ_CHECK(ignored <= 1);
    if (ignored == 1) FH_FUZZ_CHECK(created == 0 && ta.complete == tb.complete);
    FH_FUZZ_CHECK(ta.complete - tb.complete == sink_.frames.size());
    FH_FUZZ_CHECK(after[pi].frames_complete - before[pi].frames_complete == sink_.frames.size());
    FH_FUZZ_CHECK(sink_.frames.size() <= 1);
    for (const ReceivedFrame& f : sink_.frames) check_frame(f, port, dd);
    sink_.frames.clear();
  }

  void expire() {
    const Totals tb = totals(snapshots());
    r_.expire();
    const auto after = snapshots();
    const Totals ta = totals(after);
    check_caps(after);
    FH_FUZZ_CHECK(tb.partials - ta.partials == ta.timed_out - tb.timed_out);
    FH_FUZZ_CHECK(ta.complete == tb.complete && ta.superseded == tb.superseded &&
                  ta.evicted == tb.evicted && ta.gated == tb.gated);
    FH_FUZZ_CHECK(sink_.frames.empty());
  }

  void drop_all() {
    const Totals tb = totals(snapshots());
    r_.drop_all();
    const Totals ta = totals(snapshots());
    FH_FUZZ_CHECK(ta.partials == 0 && r_.partial_frames() == 0 && r_.partial_bytes() == 0);
    FH_FUZZ_CHECK(ta.timed_out - tb.timed_out == tb.partials);
    FH_FUZZ_CHECK(ta.complete == tb.complete && ta.gated == tb.gated);
    // Every partial frame ever created ended counted once.
    FH_FUZZ_CHECK(created_ == ta.complete + ta.dropped());
  }

  void advance(double seconds) { clock_.advance(seconds); }

  /// One line about the input (FH_FUZZ_DEBUG=1).
  void summary() const {
    const Totals t = totals(snapshots());
    std::fprintf(stderr,
                 "datagrams=%llu malformed=%llu duplicate=%llu late=%llu complete=%llu "
                 "(content verified %llu, with motion %llu) timed_out=%llu superseded=%llu "
                 "evicted=%llu gated=%llu\n",
                 ull(t.datagrams), ull(t.malformed), ull(t.duplicate), ull(t.late), ull(completed_),
                 ull(verified_), ull(with_motion_), ull(t.timed_out), ull(t.superseded),
                 ull(t.evicted), ull(t.gated));
  }

  /// Pushes a datagram made here from valid fields (content known). With a key: version 2,
  /// the session's next counter, or with rewind > 0 one rewind below it (a replay).
  void push_own(std::uint16_t port, DatagramHeader h, const std::uint8_t* payload, std::size_t n,
                std::uint64_t rewind = 0) {
    std::vector<std::uint8_t> d;
    if (tagger_) {
      std::uint64_t& next = counters_[{port, h.session}];
      h.counter = next >= rewind ? next - rewind : 0;
      if (rewind == 0) ++next;
      fh::shared::encode_tagged_datagram(h, payload, n, port, *tagger_, d);
    } else {
      fh::shared::encode_datagram(h, payload, n, d);
    }
    sent_[{port, h.session, h.frame_seq}].frame_lens.insert(h.frame_len);
    own_ = true;
    push(port, d.data(), d.size());
    own_ = false;
    FH_FUZZ_CHECK(last_decode_ == DecodeError::none);  // what encode makes, decode takes
  }

  void repeat_last() {
    if (last_.empty()) return;
    const std::vector<std::uint8_t> d = last_;
    push(last_port_, d.data(), d.size());
  }

  const ReassemblerConfig& config() const { return r_.config(); }

 private:
  std::array<PortStatsSnapshot, 2> snapshots() const {
    return {stats_.find(k_ports[0])->snapshot(), stats_.find(k_ports[1])->snapshot()};
  }

  Totals totals(const std::array<PortStatsSnapshot, 2>& s) const {
    Totals t;
    for (const auto& p : s) {
      t.complete += p.frames_complete;
      t.timed_out += p.timed_out;
      t.superseded += p.superseded;
      t.evicted += p.evicted;
      t.duplicate += p.duplicate_datagrams;
      t.late += p.late_datagrams;
      t.malformed += p.malformed();
      t.datagrams += p.datagrams;
      t.gated += p.gated;
    }
    t.partials = r_.partial_frames();
    return t;
  }

  void check_caps(const std::array<PortStatsSnapshot, 2>& s) const {
    const auto& c = r_.config();
    FH_FUZZ_CHECK(r_.partial_bytes() <= c.max_partial_bytes);
    FH_FUZZ_CHECK(r_.partial_frames() <= 2 * c.max_partial_frames);
    if (r_.partial_frames() == 0) FH_FUZZ_CHECK(r_.partial_bytes() == 0);
    for (const auto& p : s) {
      FH_FUZZ_CHECK(p.missing >= 0);
      FH_FUZZ_CHECK(p.malformed_by_reason[0] == 0);
    }
  }

  void check_frame(const ReceivedFrame& f, std::uint16_t port, const DecodedDatagram& last) {
    FH_FUZZ_CHECK(f.port == port);
    FH_FUZZ_CHECK(!f.jpeg.empty() && f.jpeg.size() <= r_.config().max_frame_bytes);
    FH_FUZZ_CHECK(f.stream.size() <= fh::shared::k_max_stream_name);
    // The chunk just pushed completed it: same frame.
    FH_FUZZ_CHECK(f.session == last.header.session && f.frame_seq == last.header.frame_seq);
    FH_FUZZ_CHECK(f.jpeg.size() == last.header.frame_len);
    FH_FUZZ_CHECK(f.stream == last.header.stream && f.capture_us == last.header.capture_us);
    // Every chunk taken into a frame carries its extension, the completing one too.
    const bool has_motion = (last.header.flags & fh::shared::k_flag_motion) != 0;
    FH_FUZZ_CHECK(f.motion.has_value() == has_motion);
    if (has_motion) {
      FH_FUZZ_CHECK(*f.motion == last.header.motion);
      ++with_motion_;
    }
    const auto it = sent_.find({port, f.session, f.frame_seq});
    FH_FUZZ_CHECK(it != sent_.end());
    ++completed_;
    if (it->second.tainted) return;
    ++verified_;
    FH_FUZZ_CHECK(it->second.frame_lens.count(static_cast<std::uint32_t>(f.jpeg.size())) == 1);
    for (std::size_t o = 0; o < f.jpeg.size(); ++o) {
      FH_FUZZ_CHECK(f.jpeg[o] == pattern(f.session, f.frame_seq, o));
    }
  }

  fh::shared::ManualClock clock_;                       ///< test time
  StatsTable stats_;                                    ///< counters of the two ports
  Collector sink_;                                      ///< frames of the current step
  Reassembler r_;                                       ///< under test
  std::unique_ptr<fh::shared::DatagramTagger> tagger_;  ///< the receiver's key, if it has one
  std::map<Key, Sent> sent_;                            ///< what was sent per frame key
  /// With a key: next datagram counter per (port, session) of push_own.
  std::map<std::pair<std::uint16_t, std::uint64_t>, std::uint64_t> counters_;
  /// With a key: (port, session, counter) of every datagram the reassembler accepted.
  std::set<std::tuple<std::uint16_t, std::uint64_t, std::uint64_t>> accepted_;
  std::set<std::pair<std::uint16_t, std::uint64_t>> sessions_;  ///< (port, session) accepted
  std::uint64_t created_ = 0;                                   ///< partial frames created so far
  std::uint64_t completed_ = 0;                                 ///< frames delivered
  std::uint64_t verified_ = 0;      ///< of those, content checked against the pattern
  std::uint64_t with_motion_ = 0;   ///< of those, frames with a motion extension
  bool own_ = false;                ///< the datagram being pushed was made by push_own
  DecodeError last_decode_{};       ///< decode_datagram's verdict on the last datagram
  std::vector<std::uint8_t> last_;  ///< last datagram pushed
  std::uint16_t last_port_ = 0;     ///< its port
};

const std::string k_streams[] = {"cam", "", "cam-b", std::string(64, 'x')};

/// Fields of a valid frame, read from the input.
struct FrameSpec {
  std::uint16_t port = 0;
  DatagramHeader h;
  std::uint32_t chunk = 0;   ///< payload bytes of every chunk but the last
  bool alt = false;          ///< flag 0x20: with a key a replayed counter, else version 2
  std::uint64_t rewind = 0;  ///< with alt and a key: how far below the next counter
};

/// A valid motion extension read from the input: flags, score, gated, box count, boxes.
fh::shared::MotionExtension read_motion(Reader& in) {
  fh::shared::MotionExtension m;
  m.flags = in.u8();
  m.score = static_cast<std::uint16_t>(in.u16() % 10001);
  m.gated = in.u16();
  const std::size_t n = in.u8() % (fh::shared::k_motion_ext_max_boxes + 1);
  for (std::size_t i = 0; i < n; ++i) {
    fh::shared::MotionExtension::Box b;
    b.x = in.u16();
    b.y = in.u16();
    b.w = static_cast<std::uint16_t>(in.u16() % (fh::shared::k_motion_box_scale - b.x + 1));
    b.h = static_cast<std::uint16_t>(in.u16() % (fh::shared::k_motion_box_scale - b.y + 1));
    m.boxes.push_back(b);
  }
  return m;
}

FrameSpec read_frame_spec(Reader& in, std::uint32_t max_chunks) {
  FrameSpec s;
  const std::uint8_t flags = in.u8();
  s.port = k_ports[flags % 3];
  const std::uint8_t sess = in.u8();
  s.h.session = (sess & 0x80) ? in.u64() : 0x5E55'0000ULL + (sess & 15);
  s.h.frame_seq = (sess & 0x40) ? in.u32() : in.u16();
  s.h.frame_len = in.u16() % 4096u + 1;
  s.chunk = in.u16() % 1024u + 1;
  // Bound the chunks per frame (keeps one operation cheap).
  s.chunk = std::max(s.chunk, (s.h.frame_len + max_chunks - 1) / max_chunks);
  s.h.chunk_count = static_cast<std::uint16_t>((s.h.frame_len + s.chunk - 1) / s.chunk);
  s.h.stream = k_streams[(flags >> 2) % 4];
  s.h.capture_us = (flags & 0x10) ? in.u64() : 1'700'000'000'000'000ULL + s.h.frame_seq;
  s.alt = (flags & 0x20) != 0;
  if (s.alt) s.rewind = std::uint64_t{in.u8()} + 1;
  if (flags & 0x40) {
    s.h.flags |= fh::shared::k_flag_motion;
    s.h.motion = read_motion(in);
  }
  return s;
}

void push_chunk(Harness& hs, FrameSpec s, std::uint16_t index) {
  s.h.chunk_index = index;
  const std::size_t off = std::size_t{index} * s.chunk;
  const std::size_t n = std::min<std::size_t>(s.chunk, s.h.frame_len - off);
  std::vector<std::uint8_t> payload(n);
  for (std::size_t i = 0; i < n; ++i) payload[i] = pattern(s.h.session, s.h.frame_seq, off + i);
  if (!hs.tagger() && s.alt) s.h.version = fh::shared::k_version_2;
  hs.push_own(s.port, s.h, payload.data(), payload.size(), hs.tagger() && s.alt ? s.rewind : 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = [] {
    fh::shared::setup_logging("off");
    return true;
  }();
  (void)init;

  // The parser alone, on the whole input.
  {
    DecodedDatagram dd;
    const DecodeError e = fh::shared::decode_datagram(data, size, dd);
    if (e == DecodeError::none) {
      FH_FUZZ_CHECK(dd.payload_size <= fh::shared::k_max_chunk_payload);
      FH_FUZZ_CHECK(dd.header.chunk_index < dd.header.chunk_count);
    }
  }

  Reader in(data, size);
  ReassemblerConfig cfg;
  const std::uint8_t b0 = in.u8();
  cfg.frame_timeout = 0.05 + ((b0 & 0x7F) % 20) * 0.1;
  if (b0 & 0x80) cfg.key = k_key;
  cfg.reorder_window = in.u8() % 40;
  cfg.max_partial_frames = in.u8() % 24;
  cfg.max_frame_bytes = std::size_t{in.u16()} * 4 + 1;  // up to 256 KiB: cheap allocations
  cfg.max_partial_bytes = std::size_t{in.u16()} * 16;
  Harness hs(cfg);

  int ops = 0;
  while (!in.empty() && ops++ < 4096) {
    const std::uint8_t op = in.u8();
    switch (op % 8) {
      case 0:
      case 1:
      case 2: {
        const std::uint16_t port = k_ports[(op >> 3) % 3];
        std::size_t n = 0;
        const std::uint8_t* b = in.bytes(in.u16(), n);
        std::vector<std::uint8_t> d(b, b + n);
        if (op % 8 == 2 && n >= fh::shared::k_fixed_header_bytes) {
          // A tag the flags announce sits after the payload: the CRC covers what precedes it.
          const bool tagged = (d[5] & fh::shared::k_flag_tagged) != 0;
          const std::size_t tag = tagged ? fh::shared::k_tag_bytes : 0;
          std::size_t hdr = (d[4] == fh::shared::k_version_2 ? fh::shared::k_fixed_header_bytes_v2
                                                             : fh::shared::k_fixed_header_bytes) +
                            d[6];
          // A motion extension the flags announce sits before the payload: skip its length.
          if ((d[5] & fh::shared::k_flag_motion) && n >= hdr + 2) hdr += d[hdr + 1];
          if (n >= hdr + tag) {
            const std::uint32_t crc = fh::shared::crc32(d.data() + hdr, n - hdr - tag);
            d[40] = static_cast<std::uint8_t>(crc >> 24);
            d[41] = static_cast<std::uint8_t>(crc >> 16);
            d[42] = static_cast<std::uint8_t>(crc >> 8);
            d[43] = static_cast<std::uint8_t>(crc);
            if (tagged && hs.tagger()) {
              FH_FUZZ_CHECK(hs.tagger()->compute(port, d.data(), n - tag, d.data() + n - tag));
            }
          }
        }
        hs.push(port, d.data(), d.size());
        break;
      }
      case 3: {
        const FrameSpec s = read_frame_spec(in, 65535);
        push_chunk(hs, s, static_cast<std::uint16_t>(in.u16() % s.h.chunk_count));
        break;
      }
      case 4: {
        const FrameSpec s = read_frame_spec(in, 64);
        const std::uint8_t mode = in.u8();
        const std::uint32_t skip = in.u8();  // >= chunk_count: none skipped
        // Mode bit 1: chunk skip + 1 differs in its motion extension (mode bit 2, when it has
        // one: its score; else its presence).
        FrameSpec odd = s;
        if (mode & 2) {
          if ((odd.h.flags & fh::shared::k_flag_motion) && (mode & 4)) {
            odd.h.motion.score = static_cast<std::uint16_t>(odd.h.motion.score == 0 ? 1 : 0);
          } else {
            odd.h.flags ^= fh::shared::k_flag_motion;
          }
        }
        for (std::uint32_t k = 0; k < s.h.chunk_count; ++k) {
          const std::uint32_t i = (mode & 1) ? s.h.chunk_count - 1 - k : k;
          if (i == skip) continue;
          push_chunk(hs, (mode & 2) && i == skip + 1 ? odd : s, static_cast<std::uint16_t>(i));
        }
        break;
      }
      case 5:
        hs.advance(in.u8() * 0.01);
        hs.expire();
        break;
      case 6:
        if ((op >> 3) == 0) {
          hs.drop_all();
        } else {
          hs.expire();
        }
        break;
      case 7:
        hs.repeat_last();
        break;
    }
  }
  hs.drop_all();
  static const bool debug = std::getenv("FH_FUZZ_DEBUG") != nullptr;
  if (debug) hs.summary();
  return 0;
}
