#include "framehive/receiver/reassembler.hpp"

#include "framehive/shared/logging.hpp"

#include <algorithm>
#include <cmath>

namespace fh::receiver {

using fh::shared::DatagramHeader;
using fh::shared::DecodeError;

namespace {

/// Derives the payload size n of the frame's non-last chunks from one chunk alone; false when
/// the chunk cannot belong to a well-formed frame (its offset would fall outside the frame).
bool chunk_geometry(const DatagramHeader& h, std::uint32_t& n) {
  const std::uint64_t count = h.chunk_count;
  const std::uint64_t len = h.frame_len;
  const std::uint64_t payload = h.payload_len;
  if (count == 1) {
    if (payload != len) return false;
    n = h.frame_len;
    return true;
  }
  if (h.chunk_index + 1u < count) {  // a non-last chunk: it carries exactly n bytes
    if (!((count - 1) * payload < len && len <= count * payload)) return false;
    n = h.payload_len;
    return true;
  }
  // The last chunk carries the rest: frame_len - payload must split into count-1 equal chunks.
  const std::uint64_t rest = len - payload;  // payload <= frame_len, checked by decode
  if (rest == 0 || rest % (count - 1) != 0) return false;
  const std::uint64_t size = rest / (count - 1);
  if (size > fh::shared::k_max_chunk_payload || payload > size) return false;
  n = static_cast<std::uint32_t>(size);
  return true;
}

}  // namespace

Reassembler::Reassembler(const ReassemblerConfig& config, const fh::shared::Clock& clock,
                         StatsTable& stats, Listener& listener)
    : config_(config), clock_(clock), listener_(listener) {
  if (config_.reorder_window == 0) config_.reorder_window = 1;
  if (config_.max_partial_frames == 0) config_.max_partial_frames = 1;
  config_.max_partial_bytes = std::max(config_.max_partial_bytes, config_.max_frame_bytes);
  for (auto port : stats.ports()) ports_[port].stats = stats.find(port);
  if (!config_.key.empty()) tagger_ = std::make_unique<fh::shared::DatagramTagger>(config_.key);
}

std::size_t Reassembler::partial_frames() const {
  std::size_t n = 0;
  for (const auto& [port, ps] : ports_) n += ps.partials.size();
  return n;
}

DecodeError Reassembler::push(std::uint16_t port, const std::uint8_t* data, std::size_t size) {
  auto pit = ports_.find(port);
  if (pit == ports_.end()) return DecodeError::none;
  PortState& ps = pit->second;
  PortStats& st = *ps.stats;
  constexpr auto relaxed = std::memory_order_relaxed;
  st.datagrams.fetch_add(1, relaxed);
  st.bytes.fetch_add(size, relaxed);

  DecodeError err = tagger_ ? fh::shared::decode_tagged_datagram(data, size, *tagger_, decoded_)
                            : fh::shared::decode_datagram(data, size, decoded_);
  const DatagramHeader& h = decoded_.header;
  if (!tagger_ && err == DecodeError::none && (h.flags & fh::shared::k_flag_tagged) &&
      !ps.tag_noted) {
    ps.tag_noted = true;
    fh::shared::logger("net")->info(
        "port {}: the datagrams carry integrity tags, but this receiver has no --key-file: "
        "they are accepted unchecked",
        port);
  }
  std::uint32_t chunk_size = 0;
  if (err == DecodeError::none && h.frame_len > config_.max_frame_bytes) {
    err = DecodeError::too_large;
  }
  if (err == DecodeError::none && !chunk_geometry(h, chunk_size)) err = DecodeError::inconsistent;
  if (err != DecodeError::none) {
    st.count_malformed(err);
    return err;
  }

  const Key key{h.session, h.frame_seq};
  auto it = ps.partials.find(key);
  if (it == ps.partials.end()) {
    Session& s = session_for(port, ps, h.session, h.frame_seq);
    if (auto f = s.finished.find(h.frame_seq); f != s.finished.end()) {
      // A completed frame already had every chunk: this one is a duplicate. A frame given up
      // on is not resurrected: its chunk is late.
      (f->second ? st.duplicate_datagrams : st.late_datagrams).fetch_add(1, relaxed);
      return DecodeError::none;
    }
    if (h.frame_seq < s.floor) {
      st.late_datagrams.fetch_add(1, relaxed);
      return DecodeError::none;
    }
    account_sequence(ps, s, port, h.session, h.frame_seq);
    make_room(ps, h.frame_len);
    Partial p;
    p.stream = h.stream;
    p.chunk_count = h.chunk_count;
    p.frame_len = h.frame_len;
    p.chunk_size = chunk_size;
    p.capture_us = h.capture_us;
    p.data.resize(h.frame_len);
    p.have.assign(h.chunk_count, false);
    p.started = clock_.mono();
    p.order = ++order_;
    ps.bytes += h.frame_len;
    partial_bytes_ += h.frame_len;
    it = ps.partials.emplace(key, std::move(p)).first;
  } else {
    const Partial& p = it->second;
    if (p.chunk_count != h.chunk_count || p.frame_len != h.frame_len ||
        p.chunk_size != chunk_size || p.capture_us != h.capture_us || p.stream != h.stream) {
      st.count_malformed(DecodeError::inconsistent);
      return DecodeError::inconsistent;
    }
    if (p.have[h.chunk_index]) {
      st.duplicate_datagrams.fetch_add(1, relaxed);
      return DecodeError::none;
    }
    // Keep the session fresh while its frame is in progress (least-recently-used eviction).
    if (auto s = ps.sessions.find(h.session); s != ps.sessions.end()) {
      s->second.last_used = ++order_;
    }
  }

  Partial& p = it->second;
  const std::size_t offset = static_cast<std::size_t>(h.chunk_index) * p.chunk_size;
  std::copy(decoded_.payload, decoded_.payload + decoded_.payload_size, p.data.data() + offset);
  p.have[h.chunk_index] = true;
  if (++p.received == p.chunk_count) complete(port, ps, it);
  return DecodeError::none;
}

Reassembler::Session& Reassembler::session_for(std::uint16_t port, PortState& ps,
                                               std::uint64_t session, std::uint32_t first_seq) {
  auto it = ps.sessions.find(session);
  if (it == ps.sessions.end()) {
    if (ps.sessions.size() >= k_max_sessions_per_port) {
      // Forget the least recently used session; its partial frames go with it.
      auto lru = std::min_element(
          ps.sessions.begin(), ps.sessions.end(),
          [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
      const std::uint64_t old = lru->first;
      for (auto p = ps.partials.begin(); p != ps.partials.end();) {
        auto next = std::next(p);
        if (p->first.first == old) drop(ps, p, DropReason::evicted);
        p = next;
      }
      ps.sessions.erase(lru);
      fh::shared::logger("net")->debug("port {}: forgot session {:016x}", port, old);
    }
    it = ps.sessions.emplace(session, Session{}).first;
    // A sender starts at seq 0: frames lost before the first one seen are missing. A receiver
    // joining a running stream starts counting at the first frame it sees.
    it->second.next_expected = first_seq <= config_.reorder_window ? 0 : first_seq;
  }
  it->second.last_used = ++order_;
  return it->second;
}

void Reassembler::account_sequence(PortState& ps, Session& s, std::uint16_t port,
                                   std::uint64_t session, std::uint32_t seq) {
  if (seq < s.next_expected) {
    // An older frame turning up after all: undo its missing count (it is partial now, and
    // will be counted complete or incomplete).
    if (s.missing.erase(seq) > 0) ps.stats->missing.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t gap = seq - s.next_expected;
  if (gap > k_max_seq_jump) {
    // Trust a big jump only when a second frame lands just after it.
    if (s.jump_candidate && seq > *s.jump_candidate &&
        seq - *s.jump_candidate <= config_.reorder_window) {
      fh::shared::logger("net")->warn(
          "port {}: session {:016x} jumped from seq {} to {}; the gap is not counted", port,
          session, s.next_expected, seq);
      s.next_expected = std::uint64_t{seq} + 1;
      s.jump_candidate.reset();
    } else {
      s.jump_candidate = seq;
    }
    return;
  }
  if (gap > 0) {
    ps.stats->missing.fetch_add(static_cast<std::int64_t>(gap), std::memory_order_relaxed);
    // Remember the most recent ones only (bounded): those are the ones that may turn up.
    const std::uint64_t recent = seq - std::min<std::uint64_t>(seq, k_missing_memory);
    const std::uint64_t from = std::max<std::uint64_t>(s.next_expected, recent);
    for (std::uint64_t m = from; m < seq; ++m) s.missing.insert(static_cast<std::uint32_t>(m));
    while (s.missing.size() > k_missing_memory) s.missing.erase(s.missing.begin());
  }
  s.next_expected = std::uint64_t{seq} + 1;
  s.jump_candidate.reset();
}

void Reassembler::make_room(PortState& ps, std::size_t frame_len) {
  auto oldest = [](std::map<Key, Partial>& m) {
    return std::min_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
      return a.second.order < b.second.order;
    });
  };
  while (ps.partials.size() >= config_.max_partial_frames) {
    drop(ps, oldest(ps.partials), DropReason::evicted);
  }
  // Over the byte budget: the port holding the most partial bytes gives up its oldest frame.
  while (partial_bytes_ > 0 && partial_bytes_ + frame_len > config_.max_partial_bytes) {
    PortState* hog = nullptr;
    for (auto& [port, other] : ports_) {
      if (!other.partials.empty() && (!hog || other.bytes > hog->bytes)) hog = &other;
    }
    if (!hog) break;
    drop(*hog, oldest(hog->partials), DropReason::evicted);
  }
}

void Reassembler::remember_finished(Session& s, std::uint32_t seq, bool completed) {
  s.finished[seq] = completed;
  while (s.finished.size() > k_finished_memory) {
    s.floor = std::max<std::uint64_t>(s.floor, std::uint64_t{s.finished.begin()->first} + 1);
    s.finished.erase(s.finished.begin());
  }
}

void Reassembler::drop(PortState& ps, std::map<Key, Partial>::iterator it, DropReason why) {
  constexpr auto relaxed = std::memory_order_relaxed;
  switch (why) {
    case DropReason::timed_out:
      ps.stats->timed_out.fetch_add(1, relaxed);
      break;
    case DropReason::superseded:
      ps.stats->superseded.fetch_add(1, relaxed);
      break;
    case DropReason::evicted:
      ps.stats->evicted.fetch_add(1, relaxed);
      break;
  }
  if (auto s = ps.sessions.find(it->first.first); s != ps.sessions.end()) {
    remember_finished(s->second, it->first.second, false);
  }
  ps.bytes -= it->second.frame_len;
  partial_bytes_ -= it->second.frame_len;
  ps.partials.erase(it);
}

void Reassembler::complete(std::uint16_t port, PortState& ps, std::map<Key, Partial>::iterator it) {
  const auto [session, seq] = it->first;
  Partial& p = it->second;
  ReceivedFrame f;
  f.port = port;
  f.stream = std::move(p.stream);
  f.session = session;
  f.frame_seq = seq;
  f.capture_us = p.capture_us;
  f.received_us = static_cast<std::uint64_t>(std::llround(clock_.wall() * 1e6));
  f.jpeg = std::move(p.data);  // no copy: the partial frame's buffer becomes the frame's
  ps.bytes -= p.frame_len;
  partial_bytes_ -= p.frame_len;
  ps.partials.erase(it);
  if (auto s = ps.sessions.find(session); s != ps.sessions.end()) {
    remember_finished(s->second, seq, true);
  }

  PortStats& st = *ps.stats;
  const double now = clock_.mono();
  if (st.frames_complete.fetch_add(1, std::memory_order_relaxed) == 0) {
    st.first_complete.store(now, std::memory_order_relaxed);
  }
  st.last_complete.store(now, std::memory_order_relaxed);

  // Clearly superseded: frames reorder_window or more older in this session, and every
  // partial frame of another session (a restarted sender).
  for (auto o = ps.partials.begin(); o != ps.partials.end();) {
    auto next = std::next(o);
    const auto [os, oseq] = o->first;
    if (os != session || std::uint64_t{oseq} + config_.reorder_window <= seq) {
      drop(ps, o, DropReason::superseded);
    }
    o = next;
  }
  if (ps.current_session != session) {
    if (ps.current_session) {
      fh::shared::logger("net")->info("port {}: new sender session {:016x} (was {:016x})", port,
                                      session, *ps.current_session);
    }
    ps.current_session = session;
  }
  listener_.on_frame(std::move(f));
}

void Reassembler::expire() {
  const double now = clock_.mono();
  for (auto& [port, ps] : ports_) {
    for (auto it = ps.partials.begin(); it != ps.partials.end();) {
      auto next = std::next(it);
      if (now - it->second.started >= config_.frame_timeout) drop(ps, it, DropReason::timed_out);
      it = next;
    }
  }
}

void Reassembler::drop_all() {
  for (auto& [port, ps] : ports_) {
    while (!ps.partials.empty()) drop(ps, ps.partials.begin(), DropReason::timed_out);
  }
}

}  // namespace fh::receiver
