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
  if (!config_.key.empty()) {
    tagger_ = std::make_unique<fh::shared::DatagramTagger>(config_.key);
    taggers_.push_back(tagger_.get());
  }
  if (!config_.old_key.empty()) {
    if (!tagger_) throw std::invalid_argument("a previous datagram key needs a current key");
    old_tagger_ = std::make_unique<fh::shared::DatagramTagger>(config_.old_key);
    taggers_.push_back(old_tagger_.get());
  }
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

  DecodeError err = tagger_ ? fh::shared::decode_tagged_datagram(data, size, port, taggers_.data(),
                                                                 taggers_.size(), decoded_)
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
  // With a key the header is authentic: a capture time far from ours is an old recording.
  if (err == DecodeError::none && tagger_ && config_.replay_window > 0 &&
      std::fabs(clock_.wall() - static_cast<double>(h.capture_us) * 1e-6) > config_.replay_window) {
    err = DecodeError::replayed;
  }
  if (err == DecodeError::none && tagger_ && ps.sessions.count(h.session) == 0) {
    // A session forgotten since: its old datagrams stay refused, without taking a slot again.
    auto r = ps.retired.find(h.session);
    if (r != ps.retired.end() && h.counter <= r->second) err = DecodeError::replayed;
  }
  Session* s = nullptr;
  if (err == DecodeError::none) {
    s = session_for(port, ps, h.session, h.frame_seq);
    if (!s) err = DecodeError::session_limited;
  }
  if (err == DecodeError::none && tagger_ && !s->counters.accept(h.counter)) {
    err = DecodeError::replayed;
  }
  if (err != DecodeError::none) {
    st.count_malformed(err);
    return err;
  }
  s->last_seen = clock_.mono();

  const Key key{h.session, h.frame_seq};
  const bool has_motion = (h.flags & fh::shared::k_flag_motion) != 0;
  auto it = ps.partials.find(key);
  if (it == ps.partials.end()) {
    if (auto f = s->finished.find(h.frame_seq); f != s->finished.end()) {
      // A completed frame already had every chunk: this one is a duplicate. A frame given up
      // on is not resurrected: its chunk is late.
      (f->second ? st.duplicate_datagrams : st.late_datagrams).fetch_add(1, relaxed);
      return DecodeError::none;
    }
    if (h.frame_seq < s->floor) {
      st.late_datagrams.fetch_add(1, relaxed);
      return DecodeError::none;
    }
    account_sequence(ps, *s, port, h.session, h.frame_seq);
    // The frames the sender gated before this one count once, now: the frame may still end
    // incomplete (evicted right below, timed out, superseded), the gated ones stay counted.
    if (has_motion) st.gated.fetch_add(h.motion.gated, relaxed);
    if (!make_room(ps, h.session, h.frame_len)) {
      // Every slot holds a frame of a live session and this one is not live: this frame is
      // the one given up.
      st.evicted.fetch_add(1, relaxed);
      remember_finished(*s, h.frame_seq, false);
      return DecodeError::none;
    }
    Partial p;
    p.stream = h.stream;
    p.chunk_count = h.chunk_count;
    p.frame_len = h.frame_len;
    p.chunk_size = chunk_size;
    p.capture_us = h.capture_us;
    if (has_motion) p.motion = h.motion;
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
        p.chunk_size != chunk_size || p.capture_us != h.capture_us || p.stream != h.stream ||
        p.motion.has_value() != has_motion || (has_motion && *p.motion != h.motion)) {
      st.count_malformed(DecodeError::inconsistent);
      return DecodeError::inconsistent;
    }
    if (p.have[h.chunk_index]) {
      st.duplicate_datagrams.fetch_add(1, relaxed);
      return DecodeError::none;
    }
  }

  Partial& p = it->second;
  const std::size_t offset = static_cast<std::size_t>(h.chunk_index) * p.chunk_size;
  std::copy(decoded_.payload, decoded_.payload + decoded_.payload_size, p.data.data() + offset);
  p.have[h.chunk_index] = true;
  if (++p.received == p.chunk_count) complete(port, ps, it);
  return DecodeError::none;
}

bool Reassembler::live(const Session& s, double now) const {
  return s.completed >= k_live_frames && s.last_completed &&
         now - *s.last_completed < config_.live_hold;
}

Reassembler::Session* Reassembler::session_for(std::uint16_t port, PortState& ps,
                                               std::uint64_t session, std::uint32_t first_seq) {
  auto it = ps.sessions.find(session);
  if (it == ps.sessions.end()) {
    const double now = clock_.mono();
    // A full table makes room only by forgetting a session that is not live: a newcomer never
    // pushes out a sender that is delivering frames.
    auto victim = ps.sessions.end();
    if (ps.sessions.size() >= k_max_sessions_per_port) {
      for (auto c = ps.sessions.begin(); c != ps.sessions.end(); ++c) {
        if (!live(c->second, now) &&
            (victim == ps.sessions.end() || c->second.last_used < victim->second.last_used)) {
          victim = c;
        }
      }
      if (victim == ps.sessions.end()) return nullptr;
    }
    // At most new_sessions_per_second new sessions per second (token bucket, same burst).
    const double rate = config_.new_sessions_per_second;
    const double burst = std::max(1.0, rate);
    if (!ps.tokens_at) ps.session_tokens = burst;
    ps.session_tokens =
        std::min(burst, ps.session_tokens + (now - ps.tokens_at.value_or(now)) * rate);
    ps.tokens_at = now;
    if (ps.session_tokens < 1.0) return nullptr;
    ps.session_tokens -= 1.0;

    if (victim != ps.sessions.end()) {
      // Forget it; its partial frames go with it. With a key its highest counter is kept, so
      // a replay of it stays refused.
      const std::uint64_t old = victim->first;
      for (auto p = ps.partials.begin(); p != ps.partials.end();) {
        auto next = std::next(p);
        if (p->first.first == old) drop(ps, p, DropReason::evicted);
        p = next;
      }
      if (tagger_ && victim->second.counters.any()) {
        if (ps.retired.emplace(old, victim->second.counters.top()).second) {
          ps.retired_order.push_back(old);
        }
        while (ps.retired_order.size() > k_retired_sessions_per_port) {
          ps.retired.erase(ps.retired_order.front());
          ps.retired_order.pop_front();
        }
      }
      ps.sessions.erase(victim);
      fh::shared::logger("net")->debug("port {}: forgot session {:016x}", port, old);
    }
    it = ps.sessions.emplace(session, Session{}).first;
    // A sender starts at seq 0: frames lost before the first one seen are missing. A receiver
    // joining a running stream starts counting at the first frame it sees.
    it->second.next_expected = first_seq <= config_.reorder_window ? 0 : first_seq;
    if (auto r = ps.retired.find(session); r != ps.retired.end()) {
      it->second.counters.restore(r->second);
      it->second.next_expected = first_seq;  // its frames were counted when it was known
    }
  }
  it->second.last_used = ++order_;
  return &it->second;
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

std::map<Reassembler::Key, Reassembler::Partial>::iterator Reassembler::pick_victim(
    PortState& ps, std::uint64_t session) {
  const double now = clock_.mono();
  auto is_live = [&](std::uint64_t id) {
    auto s = ps.sessions.find(id);
    return s != ps.sessions.end() && live(s->second, now);
  };
  auto own = ps.partials.end();
  auto not_live = ps.partials.end();
  auto any = ps.partials.end();
  std::size_t own_count = 0;
  for (auto p = ps.partials.begin(); p != ps.partials.end(); ++p) {
    const std::uint64_t order = p->second.order;
    if (p->first.first == session) {
      ++own_count;
      if (own == ps.partials.end() || order < own->second.order) own = p;
    }
    if (any == ps.partials.end() || order < any->second.order) any = p;
    if ((not_live == ps.partials.end() || order < not_live->second.order) &&
        !is_live(p->first.first)) {
      not_live = p;
    }
  }
  // One session may fill half the slots; beyond, it gives up its own oldest frame.
  if (own_count > 0 && own_count >= std::max<std::size_t>(1, config_.max_partial_frames / 2)) {
    return own;
  }
  if (not_live != ps.partials.end()) return not_live;
  // Every frame held belongs to a live session: only a live newcomer may push one out.
  return is_live(session) ? any : ps.partials.end();
}

bool Reassembler::make_room(PortState& ps, std::uint64_t session, std::size_t frame_len) {
  while (!ps.partials.empty() && ps.partials.size() >= config_.max_partial_frames) {
    auto victim = pick_victim(ps, session);
    if (victim == ps.partials.end()) return false;
    drop(ps, victim, DropReason::evicted);
  }
  // Over the byte budget: the port holding the most partial bytes gives up a frame, chosen as
  // above (this port's newcomer being refused when it is the one to go).
  while (partial_bytes_ > 0 && partial_bytes_ + frame_len > config_.max_partial_bytes) {
    PortState* hog = nullptr;
    for (auto& [port, other] : ports_) {
      if (!other.partials.empty() && (!hog || other.bytes > hog->bytes)) hog = &other;
    }
    if (!hog) break;
    auto victim = pick_victim(*hog, hog == &ps ? session : 0);
    if (victim == hog->partials.end()) {
      if (hog == &ps) return false;
      victim = hog->partials.begin();
    }
    drop(*hog, victim, DropReason::evicted);
  }
  return true;
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
  f.motion = std::move(p.motion);
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

  // Clearly superseded: frames reorder_window or more older in this session, and the partial
  // frames of other sessions that went quiet (a restarted sender's leftovers). A session still
  // sending keeps its frames: a second sender on the port cannot wipe them out.
  for (auto o = ps.partials.begin(); o != ps.partials.end();) {
    auto next = std::next(o);
    const auto [os, oseq] = o->first;
    bool stale = false;
    if (os == session) {
      stale = std::uint64_t{oseq} + config_.reorder_window <= seq;
    } else {
      auto other = ps.sessions.find(os);
      stale = other == ps.sessions.end() || now - other->second.last_seen >= config_.session_quiet;
    }
    if (stale) drop(ps, o, DropReason::superseded);
    o = next;
  }
  bool first_frame = false;
  if (auto s = ps.sessions.find(session); s != ps.sessions.end()) {
    first_frame = s->second.completed++ == 0;
    s->second.last_completed = now;
  }
  if (ps.current_session != session) {
    // Logged for a session's first frame, at most once a second (a flood of sessions must not
    // flood the log); two senders taking turns are not news.
    if (ps.current_session && first_frame && now - ps.session_logged >= 1.0) {
      ps.session_logged = now;
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
