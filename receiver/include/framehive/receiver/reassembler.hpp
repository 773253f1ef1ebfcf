#pragma once
// Turns datagrams into complete frames: per (port, session, frame_seq), tolerant of reordering,
// duplicates and loss, with bounded memory, counting every outcome in a StatsTable. Guards a
// port's live sessions against other senders (session slots, new-session rate, docs/receiver.md
// "Sessions on one port") and, with a key, refuses replays (docs/protocol.md "Replay").
// Not thread-safe: one thread (the receive thread) calls push() and expire(). Never throws on
// the datagram path; time comes from the injected Clock so tests control timeouts.

#include "framehive/receiver/received_frame.hpp"
#include "framehive/receiver/replay_window.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fh::receiver {

struct ReassemblerConfig {
  double frame_timeout = 1.0;                  ///< seconds from a frame's first chunk to give up
  std::uint32_t reorder_window = 16;           ///< completing s supersedes partials <= s - this
  std::size_t max_partial_frames = 16;         ///< partial frames per port (oldest evicted)
  std::size_t max_frame_bytes = 8u << 20;      ///< larger frame_len is malformed too_large
  std::size_t max_partial_bytes = 256u << 20;  ///< partial-frame bytes, all ports together
  /// HMAC key of the datagrams' integrity tags (--key-file). Set: untagged or wrongly tagged
  /// datagrams are malformed bad_tag, replays are refused (replayed). Empty: tags are accepted
  /// unchecked.
  std::string key;
  /// The previous key during a rotation (--old-key-file): accepted as well as key. Needs key.
  std::string old_key;
  /// With a key: datagrams whose capture_us is further than this from the wall clock, either
  /// way, are refused (replayed). Seconds; 0 = no time check (the counter window stays).
  double replay_window = 30.0;
  /// A session that completed k_live_frames frames, the last one this recently, is live: a
  /// new session cannot take its slot, nor its partial frames' slots.
  double live_hold = 3.0;
  /// When a frame completes, other sessions' partial frames are given up (superseded) only if
  /// those sessions sent nothing for this long (a restarted sender's leftovers).
  double session_quiet = 0.25;
  /// New sessions admitted per port per second (and in a burst); beyond, session_limited.
  double new_sessions_per_second = 10.0;
};

class Reassembler {
 public:
  /// Receives complete frames, synchronously from push().
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_frame(ReceivedFrame&& frame) = 0;
  };

  /// Remembered per session: how many finished seqs (late chunks of them are ignored) and how
  /// many counted-missing seqs (undone if they turn up), and how many sessions per port; with
  /// a key, how many forgotten sessions per port keep their highest counter (replays of them
  /// are refused).
  static constexpr std::size_t k_finished_memory = 1024;
  static constexpr std::size_t k_missing_memory = 1024;
  static constexpr std::size_t k_max_sessions_per_port = 8;
  static constexpr std::size_t k_retired_sessions_per_port = 1024;
  /// Complete frames a session needs to be live (see ReassemblerConfig::live_hold): one is not
  /// enough, so a flood of one-frame sessions never outranks a camera starting up.
  static constexpr std::uint64_t k_live_frames = 2;
  /// A sequence gap larger than this is not counted as missing until a second frame confirms
  /// the jump (protects the accounting from a corrupted header).
  static constexpr std::uint32_t k_max_seq_jump = 1u << 16;

  /// Ports are those of stats; datagrams for other ports are ignored. Keeps references to
  /// clock, stats and listener. Throws std::runtime_error when a key cannot be set up,
  /// std::invalid_argument for an old_key without a key.
  Reassembler(const ReassemblerConfig& config, const fh::shared::Clock& clock, StatsTable& stats,
              Listener& listener);

  /// One datagram received on port. Returns DecodeError::none when it was accepted (including
  /// duplicates and late chunks, which are counted and ignored), else the malformed reason.
  fh::shared::DecodeError push(std::uint16_t port, const std::uint8_t* data, std::size_t size);

  /// Gives up (counts timed_out) every partial frame older than the frame timeout.
  void expire();

  /// Gives up every partial frame (shutdown); counted as timed_out.
  void drop_all();

  /// Partial frames held now, all ports.
  std::size_t partial_frames() const;
  /// Bytes reserved by partial frames now, all ports.
  std::size_t partial_bytes() const { return partial_bytes_; }

  const ReassemblerConfig& config() const { return config_; }

 private:
  /// A frame being reassembled.
  struct Partial {
    std::string stream;             ///< from the first chunk seen
    std::uint16_t chunk_count = 0;  ///< from the first chunk seen
    std::uint32_t frame_len = 0;    ///< from the first chunk seen
    std::uint32_t chunk_size = 0;   ///< payload bytes of every non-last chunk
    std::uint64_t capture_us = 0;   ///< from the first chunk seen
    /// From the first chunk seen: the motion extension, when its flags had k_flag_motion
    /// (every other chunk must carry the same, or none when this is empty).
    std::optional<fh::shared::MotionExtension> motion;
    /// frame_len bytes, filled chunk by chunk, moved into the ReceivedFrame when complete. Not
    /// zero-filled: what a header claims costs nothing until its chunks arrive (a flood of
    /// forged headers stays cheap).
    Bytes data;
    std::vector<bool> have;      ///< chunk i arrived
    std::uint16_t received = 0;  ///< distinct chunks arrived
    double started = 0;          ///< monotonic time of the first chunk
    std::uint64_t order = 0;     ///< creation order (smaller = older)
  };

  /// Why a partial frame was given up.
  enum class DropReason { timed_out, superseded, evicted };

  /// Sequence bookkeeping of one sender session on one port.
  struct Session {
    std::uint64_t next_expected = 0;              ///< seqs below were seen or counted missing
    std::optional<std::uint32_t> jump_candidate;  ///< first seq after an unconfirmed big jump
    std::map<std::uint32_t, bool> finished;       ///< recent finished seqs -> completed?
    std::uint64_t floor = 0;                      ///< seqs below are long finished
    std::set<std::uint32_t> missing;              ///< recent seqs counted missing
    std::uint64_t last_used = 0;                  ///< for least-recently-used eviction
    double last_seen = 0;                         ///< monotonic time of its last datagram
    std::optional<double> last_completed;         ///< monotonic time of its last complete frame
    std::uint64_t completed = 0;                  ///< complete frames
    ReplayWindow counters;                        ///< with a key: datagram counters seen
  };

  using Key = std::pair<std::uint64_t, std::uint32_t>;  ///< (session, frame_seq)

  /// Everything known about one port.
  struct PortState {
    PortStats* stats = nullptr;                    ///< this port's counters
    std::map<Key, Partial> partials;               ///< frames in progress
    std::size_t bytes = 0;                         ///< bytes reserved by partials
    std::map<std::uint64_t, Session> sessions;     ///< bounded by k_max_sessions_per_port
    std::optional<std::uint64_t> current_session;  ///< session of the last completed frame
    bool tag_noted = false;                        ///< logged: tagged datagrams, no key here
    double session_tokens = 0;                     ///< new-session allowance (token bucket)
    std::optional<double> tokens_at;               ///< monotonic time session_tokens was filled
    double session_logged = -1e9;                  ///< monotonic time of the last new-session log
    /// With a key: forgotten sessions -> highest counter, oldest first in retired_order.
    std::map<std::uint64_t, std::uint64_t> retired;
    std::deque<std::uint64_t> retired_order;  ///< retired's keys, oldest first
  };

  /// The session's state, created when the port admits a new one; null when it is refused
  /// (new-session rate, or every slot held by a live session).
  Session* session_for(std::uint16_t port, PortState& ps, std::uint64_t session,
                       std::uint32_t first_seq);
  bool live(const Session& s, double now) const;
  void account_sequence(PortState& ps, Session& s, std::uint16_t port, std::uint64_t session,
                        std::uint32_t seq);
  /// Frees room for a new partial frame of session; false when that frame is refused instead.
  bool make_room(PortState& ps, std::uint64_t session, std::size_t frame_len);
  /// The partial frame to give up on ps for a newcomer of session (end(): refuse the newcomer).
  std::map<Key, Partial>::iterator pick_victim(PortState& ps, std::uint64_t session);
  void drop(PortState& ps, std::map<Key, Partial>::iterator it, DropReason why);
  void complete(std::uint16_t port, PortState& ps, std::map<Key, Partial>::iterator it);
  void remember_finished(Session& s, std::uint32_t seq, bool completed);

  ReassemblerConfig config_;                  ///< limits and timeouts
  const fh::shared::Clock& clock_;            ///< time source
  Listener& listener_;                        ///< gets complete frames
  std::map<std::uint16_t, PortState> ports_;  ///< fixed set of ports
  std::size_t partial_bytes_ = 0;             ///< sum of PortState::bytes
  std::uint64_t order_ = 0;                   ///< counter for Partial::order and Session::last_used
  fh::shared::DecodedDatagram decoded_;       ///< reused decode target (keeps its string capacity)
  std::unique_ptr<fh::shared::DatagramTagger> tagger_;      ///< checks tags; null without a key
  std::unique_ptr<fh::shared::DatagramTagger> old_tagger_;  ///< rotation: the previous key
  std::vector<fh::shared::DatagramTagger*> taggers_;        ///< tagger_ then old_tagger_, if set
};

}  // namespace fh::receiver
