#pragma once
// Turns datagrams into complete frames: per (port, session, frame_seq), tolerant of reordering,
// duplicates and loss, with bounded memory, counting every outcome in a StatsTable.
// Not thread-safe: one thread (the receive thread) calls push() and expire(). Never throws on
// the datagram path; time comes from the injected Clock so tests control timeouts.

#include "framehive/receiver/received_frame.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"

#include <cstddef>
#include <cstdint>
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
  /// datagrams are malformed bad_tag. Empty: tags are accepted unchecked.
  std::string key;
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
  /// many counted-missing seqs (undone if they turn up), and how many sessions per port.
  static constexpr std::size_t k_finished_memory = 1024;
  static constexpr std::size_t k_missing_memory = 1024;
  static constexpr std::size_t k_max_sessions_per_port = 8;
  /// A sequence gap larger than this is not counted as missing until a second frame confirms
  /// the jump (protects the accounting from a corrupted header).
  static constexpr std::uint32_t k_max_seq_jump = 1u << 16;

  /// Ports are those of stats; datagrams for other ports are ignored. Keeps references to
  /// clock, stats and listener. Throws std::runtime_error when the key cannot be set up.
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
  };

  Session& session_for(std::uint16_t port, PortState& ps, std::uint64_t session,
                       std::uint32_t first_seq);
  void account_sequence(PortState& ps, Session& s, std::uint16_t port, std::uint64_t session,
                        std::uint32_t seq);
  void make_room(PortState& ps, std::size_t frame_len);
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
  std::unique_ptr<fh::shared::DatagramTagger> tagger_;  ///< checks tags; null without a key
};

}  // namespace fh::receiver
