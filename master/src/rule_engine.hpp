#pragma once
// Turns the tracker's track changes into object events, and matches those and the system events
// (camera.*, detector.*, worker.*) against the rules of the events config: which webhooks and MQTT
// topics each event goes to. Not thread-safe: the caller serializes every call.
//
// Object events
// - Made for every confirmed track whatever the rules (the master stores and shows them); rules
//   only decide deliveries. object.start on TrackChange::confirmed, object.stationary on
//   stationary, object.end on ended; object.zone_enter / object.zone_leave when the track's
//   reference point enters / leaves a zone polygon of its port. Entering is at once; leaving
//   is decided once the point has been outside for the zone's leave_after (1 s; on a later
//   update than the first one outside), so a box jittering over the edge gives no
//   leave/enter pairs; a return inside before then cancels it. Within one update: zone_leave
//   events (zones in the order the track entered them), then zone_enter (config order), then
//   object.stationary; object.start comes first, and an ended track gets a zone_leave for each
//   zone it was last inside, then object.end. `moving` makes no event.
// - Reference point: the bottom centre of the track's box (its feet), divided by the frame's
//   width and height, then clamped to [0, 1) so that a zone drawn up to the frame's right or
//   bottom border includes objects that touch it. No zone test when the size is unknown (0):
//   the track keeps the zones it was in.
// - Inside a polygon: the even-odd crossing rule with a ray towards +x, edges taken half-open
//   (an edge counts for a point when exactly one of its end points lies strictly below it,
//   y > point.y, and the point lies strictly left of the edge at that height). So for a
//   rectangle [x0, x1] x [y0, y1] the inside is x0 <= x < x1, y0 <= y < y1: left and top edges
//   belong to it, right and bottom edges do not; a point on the shared edge of two adjacent
//   zones is inside exactly one of them (each edge is evaluated in one canonical direction so
//   both zones compute the same crossing).
// - Fields: id (next_event_id()), type, time (the update's time), port, stream, track_id,
//   label, confidence (the track's best_confidence), x/y/w/h (its box rounded), zone (zone
//   events), start (track.start), end (track.last_seen for object.end, else 0),
//   snapshot_task_id (best_task_id), rules (the rules delivering it now, see below).
// - A config reload (set_config) keeps all per-track state; the zones are re-evaluated on each
//   track's next update: a zone that is gone gives a zone_leave at once, one moved away like
//   any leave.
//
// Rules, for object events. A rule matches an event when all hold:
// - ports: the event's port is listed (or ports is empty); labels: likewise the track's label;
// - types: the type is listed, exactly or by "object.*"; empty means object.start,
//   object.zone_enter, object.zone_leave, object.end (not object.stationary);
// - min_confidence: the track's best confidence so far >= min_confidence (each event is judged
//   with the value at its time);
// - zones (when the rule lists any): a zone event only for a listed zone; object.start and
//   object.stationary only while the track is inside a listed zone; object.end only when the
//   track was last inside one. A track confirmed outside the rule's zones that walks in later
//   is announced to the rule by that object.zone_enter; its object.start is not sent again.
// Then, in this order, per rule and track:
// - cooldown: the first event of a track a rule would deliver (its object.start, or with zones
//   often its first zone_enter) is suppressed when that rule delivered the first event of
//   another track of the same port and label less than cooldown seconds (event time) before;
//   the track then stays suppressed for that rule: none of its events are delivered to it
//   (counted in suppressed_cooldown). Suppressed tracks do not extend the cooldown.
// - ignore_stationary (default true): once a track is stationary, its events (zone, end) are
//   not delivered to the rule (suppressed_stationary) until it moves again; the
//   object.stationary event itself is delivered when the rule's types list it. A parked car
//   gives one delivered start.
// - min_duration: until the track's age (update time - track.start) reaches min_duration, the
//   events the rule would deliver are held (per rule and track at most 8: the first one and
//   the latest 7; the ones dropped are counted in suppressed_min_duration). The first update
//   showing the age reached returns them, in order, before its own events, each as an
//   EmittedEvent with late = true. A track that ends younger: its held events and its end are
//   dropped for the rule (suppressed_min_duration, one per event).
// Deliveries of an event: per matching rule, each webhook {"webhook", url, secret_file, rule}
// and, when rule.mqtt and the config has an mqtt section, {"mqtt", "<topic_prefix>/<port>/events"
// ("<topic_prefix>/events" for port 0), "", rule}. Duplicates (same kind, target and
// secret_file) are sent once, in the name of the first rule (config order).
//
// System events (on_system): a rule matches when its types name the type (exactly or
// "family.*"; the default types match none) and the port is listed, the rule has no ports, or
// the event's port is 0. Labels, zones, confidence, cooldown, min_duration and stationary do not
// apply.
//
// Bounds: per-track state is removed when the track ends; at most max_tracks tracks are held
// (the oldest is evicted beyond, counted in evicted_tracks); cooldown times per rule are kept
// for at most 4096 port+label pairs (expired ones pruned first).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events_config.hpp"
#include "framehive/shared/api/types.hpp"
#include "track_types.hpp"

namespace fh::master {

/// One place an event goes: a webhook (POST) or MQTT.
struct Delivery {
  std::string kind;    ///< "webhook" or "mqtt"
  std::string target;  ///< the webhook's URL; for mqtt the topic ("framehive/5000/events")
  /// webhook: the HMAC key file (empty: unsigned); the deliverer reads the key, not stored here
  std::string secret_file;
  std::string rule;  ///< the rule that asked for it
};

/// An event and where it goes.
struct EmittedEvent {
  shared::api::Event event;  ///< event.rules: names of the rules delivering it here
  std::vector<Delivery> deliveries;
  /// true: an event returned before (same id), now delivered for rules whose min_duration the
  /// track reached: deliver it, do not store it again (add event.rules to the stored one).
  bool late = false;
};

/// Whether p is inside polygon (the half-open even-odd rule described above).
bool point_in_polygon(const Point& p, const std::vector<Point>& polygon);

class RuleEngine {
 public:
  struct Stats {
    std::int64_t events = 0;                   ///< object events made and system events seen
    std::int64_t deliveries = 0;               ///< deliveries returned (late ones included)
    std::int64_t suppressed_cooldown = 0;      ///< event x rule pairs, see above
    std::int64_t suppressed_stationary = 0;    ///< event x rule pairs
    std::int64_t suppressed_min_duration = 0;  ///< event x rule pairs
    std::int64_t evicted_tracks = 0;           ///< track states dropped beyond max_tracks
  };

  static constexpr std::size_t k_default_max_tracks = 4096;

  RuleEngine(std::shared_ptr<const EventsConfig> config, std::function<std::string()> next_event_id,
             std::size_t max_tracks = k_default_max_tracks);

  /// A reloaded config (SIGHUP): per-track state is kept, zones are re-evaluated on each track's
  /// next update; state of rules no longer present is dropped.
  void set_config(std::shared_ptr<const EventsConfig> config);

  /// The object.* events of one tracker change (zero or more) and late deliveries it released.
  /// Seeds the state of a track a previous run of the master left open (from its stored
  /// events): the zones it was last inside, and the rules that had delivered its events (their
  /// cooldown and min_duration were decided). Its ended update then leaves those zones and is
  /// delivered to those rules as if this run had seen the track.
  void restore_track(std::int64_t track_id, const std::vector<std::string>& inside,
                     const std::vector<std::string>& delivered_rules);
  std::vector<EmittedEvent> on_track(const TrackUpdate& u);

  /// A camera.*, detector.* or worker.* event made elsewhere, matched against the rules; its id
  /// is given here when empty.
  EmittedEvent on_system(shared::api::Event e);

  Stats stats() const { return stats_; }
  /// Tracks with state (tests, metrics).
  std::size_t tracks() const { return tracks_.size(); }

 private:
  /// An event a rule holds until the track is old enough.
  struct Held {
    std::uint64_t seq = 0;  ///< order of the event's making
    shared::api::Event event;
  };
  /// One rule's view of one track.
  struct RuleTrack {
    bool decided = false;     ///< its first delivery happened (or was suppressed by cooldown)
    bool suppressed = false;  ///< by cooldown: nothing of this track goes to the rule
    bool aged = false;        ///< min_duration reached
    std::deque<Held> held;    ///< waiting for min_duration
  };
  struct TrackState {
    std::uint64_t order = 0;          ///< key in order_ (eviction)
    std::vector<std::string> inside;  ///< zones the track is in, in order of entry
    /// Zones of `inside` the reference point was last seen outside of, since when (the leave
    /// is decided after the zone's leave_after).
    std::map<std::string, double> outside_since;
    bool stationary = false;
    std::map<std::string, RuleTrack> rules;  ///< by rule name
  };
  /// An event, with the zones that decide a zone-restricted rule and whether the track was
  /// stationary when it was made.
  struct Made {
    std::uint64_t seq = 0;
    shared::api::Event event;
    std::vector<std::string> zones;
    bool stationary = false;
  };

  TrackState& state_of(const TrackUpdate& u, bool* created);
  std::vector<std::string> zones_at(const Track& t, const std::vector<std::string>& before) const;
  /// Whether a track whose reference point is outside zone `name` at `time` still counts as
  /// inside it (its leave_after has not passed); keeps st.outside_since.
  bool leave_pending(TrackState& st, const Track& t, const std::string& name, double time) const;
  bool static_match(const Rule& r, const Made& m, double best_confidence) const;
  /// Cooldown decision and deliveries of one event to one rule (the hold already passed).
  bool deliver(const Rule& r, RuleTrack& rt, const shared::api::Event& e,
               std::vector<Delivery>& out);
  void add_deliveries(const Rule& r, int port, std::vector<Delivery>& out) const;
  void evict_if_full();

  std::shared_ptr<const EventsConfig> config_;
  std::function<std::string()> next_event_id_;
  std::size_t max_tracks_;
  std::map<std::int64_t, TrackState> tracks_;    ///< by track id
  std::map<std::uint64_t, std::int64_t> order_;  ///< creation order -> track id
  std::uint64_t next_order_ = 1;
  std::uint64_t next_seq_ = 1;
  /// Per rule name: time of the latest first delivery per (port, label).
  std::map<std::string, std::map<std::pair<int, std::string>, double>> cooldowns_;
  Stats stats_;
};

}  // namespace fh::master
