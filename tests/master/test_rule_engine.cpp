// Zones and rules (master/src/rule_engine.*) on hand-made track updates: zone entry and exit on
// polygon edges, the events of a track's life, cooldown, min_duration, stationary suppression,
// the filters, system events, deduplicated deliveries and unique ids.
#include <boost/test/unit_test.hpp>

#include <set>

#include "event_types.hpp"
#include "rule_engine.hpp"

namespace {

using fh::master::Delivery;
using fh::master::EmittedEvent;
using fh::master::EventsConfig;
using fh::master::Point;
using fh::master::point_in_polygon;
using fh::master::Rule;
using fh::master::RuleEngine;
using fh::master::TrackChange;
using fh::master::TrackUpdate;
using fh::master::WebhookAction;
using fh::master::Zone;

using Types = std::vector<std::string>;

/// A zone left at once (leave_after 0): the debounce of leaving has its own cases below.
Zone zone(const std::string& name, std::vector<Point> polygon, double leave_after = 0) {
  Zone z;
  z.name = name;
  z.polygon = std::move(polygon);
  z.leave_after = leave_after;
  return z;
}

/// Port 5000 with "path", the bottom half of the frame; MQTT on.
std::shared_ptr<EventsConfig> config_with(std::vector<Rule> rules) {
  auto c = std::make_shared<EventsConfig>();
  c->zones[5000] = {zone("path", {{0, 0.5}, {1, 0.5}, {1, 1}, {0, 1}})};
  c->mqtt.enabled = true;
  c->rules = std::move(rules);
  return c;
}

Rule rule(const std::string& name, const std::string& url = "http://h/hook") {
  Rule r;
  r.name = name;
  if (!url.empty()) r.webhooks.push_back(WebhookAction{url, "/etc/fh/hook.secret", "k"});
  return r;
}

/// An engine with ids "e1", "e2", ... and tracks whose box is a point (frame 1 x 1), so the
/// reference point is exactly (x, y).
struct Harness {
  int ids = 0;
  RuleEngine engine;
  std::map<std::int64_t, double> starts;

  explicit Harness(std::shared_ptr<const EventsConfig> c, std::size_t max_tracks = 4096)
      : engine(
            std::move(c), [this] { return "e" + std::to_string(++ids); }, max_tracks) {}

  std::vector<EmittedEvent> update(TrackChange change, std::int64_t id, double time, double x,
                                   double y, const std::string& label = "person", int port = 5000,
                                   double best = 0.9) {
    TrackUpdate u;
    u.change = change;
    u.time = time;
    u.task_id = "task-" + std::to_string(id) + "-" + std::to_string(time);
    auto& t = u.track;
    t.id = id;
    t.port = port;
    t.stream = "cam";
    t.label = label;
    t.box = {x, y, 0, 0};
    t.frame_width = 1;
    t.frame_height = 1;
    t.confidence = best;
    t.best_confidence = best;
    t.best_task_id = "best-" + std::to_string(id);
    t.start = starts.emplace(id, time).first->second;
    t.last_seen = time;
    t.confirmed = true;
    t.stationary = change == TrackChange::stationary;
    return engine.on_track(u);
  }
};

Types types_of(const std::vector<EmittedEvent>& out) {
  Types t;
  for (const auto& e : out)
    t.push_back(e.event.type + (e.event.zone.empty() ? "" : ":" + e.event.zone));
  return t;
}

/// The delivered events: "type" (":zone") for each event with at least one delivery.
Types delivered(const std::vector<EmittedEvent>& out) {
  Types t;
  for (const auto& e : out) {
    if (!e.deliveries.empty()) {
      t.push_back(e.event.type + (e.event.zone.empty() ? "" : ":" + e.event.zone));
    }
  }
  return t;
}

bool in(const std::vector<Point>& polygon, double x, double y) {
  return point_in_polygon({x, y}, polygon);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rule_engine)

BOOST_AUTO_TEST_CASE(points_on_edges_are_half_open_left_and_top_in_right_and_bottom_out) {
  std::vector<Point> sq{{0.25, 0.25}, {0.75, 0.25}, {0.75, 0.75}, {0.25, 0.75}};
  BOOST_TEST(in(sq, 0.5, 0.5));
  BOOST_TEST(in(sq, 0.25, 0.5));    // left edge
  BOOST_TEST(!in(sq, 0.75, 0.5));   // right edge
  BOOST_TEST(in(sq, 0.5, 0.25));    // top edge
  BOOST_TEST(!in(sq, 0.5, 0.75));   // bottom edge
  BOOST_TEST(in(sq, 0.25, 0.25));   // top left corner
  BOOST_TEST(!in(sq, 0.75, 0.25));  // top right corner
  BOOST_TEST(!in(sq, 0.25, 0.75));  // bottom left corner
  BOOST_TEST(!in(sq, 0.75, 0.75));  // bottom right corner
  BOOST_TEST(!in(sq, 0.2, 0.5));
  BOOST_TEST(!in(sq, 0.5, 0.8));
  // The same square listed the other way round: the same answers.
  std::vector<Point> rev(sq.rbegin(), sq.rend());
  BOOST_TEST(in(rev, 0.25, 0.5));
  BOOST_TEST(!in(rev, 0.75, 0.5));
  BOOST_TEST(in(rev, 0.5, 0.25));
  BOOST_TEST(!in(rev, 0.5, 0.75));
}

BOOST_AUTO_TEST_CASE(a_point_on_the_shared_edge_of_adjacent_zones_is_in_exactly_one) {
  std::vector<Point> left{{0, 0}, {0.5, 0}, {0.5, 1}, {0, 1}};
  std::vector<Point> right{{0.5, 0}, {1, 0}, {1, 1}, {0.5, 1}};
  for (double y : {0.0, 0.1, 0.5, 0.77, 0.999}) {
    BOOST_TEST(!in(left, 0.5, y));
    BOOST_TEST(in(right, 0.5, y));
  }
  // A slanted shared edge, walked in opposite directions by the two polygons.
  Point a{0.1, 0.2}, b{0.9, 0.7};
  std::vector<Point> upper{a, {0.9, 0.1}, b};   // a -> ... -> b -> a
  std::vector<Point> lower{a, b, {0.1, 0.95}};  // a -> b -> ...
  int in_upper = 0, in_lower = 0;
  for (int i = 1; i < 1000; ++i) {
    double t = i / 1000.0;
    Point p{a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)};
    bool u = point_in_polygon(p, upper), l = point_in_polygon(p, lower);
    BOOST_TEST_REQUIRE(u != l, "point " << i << " in both or neither");
    in_upper += u;
    in_lower += l;
  }
  BOOST_TEST(in_upper + in_lower == 999);
  // Points just off the edge are where they look.
  BOOST_TEST(in(upper, 0.5, 0.44));
  BOOST_TEST(in(lower, 0.5, 0.46));
}

BOOST_AUTO_TEST_CASE(a_track_life_gives_start_enter_leave_end_with_its_fields) {
  Harness h(config_with({rule("all")}));
  TrackUpdate u;
  u.change = TrackChange::confirmed;
  u.time = 100.5;
  auto& t = u.track;
  t = {};
  t.id = 42;
  t.port = 5000;
  t.stream = "door";
  t.label = "person";
  t.box = {100.4, 200.6, 50.5, 99.4};  // feet (125.65, 300) of 1000 x 1000: outside "path"
  t.frame_width = 1000;
  t.frame_height = 1000;
  t.best_confidence = 0.8;
  t.best_task_id = "t-best";
  t.start = 99.0;
  t.last_seen = 100.5;
  auto out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.start"});
  const auto& e = out.at(0).event;
  BOOST_TEST(e.id == "e1");
  BOOST_TEST(e.time == 100.5);
  BOOST_TEST(e.port == 5000);
  BOOST_TEST(e.stream == "door");
  BOOST_TEST(e.track_id == 42);
  BOOST_TEST(e.label == "person");
  BOOST_TEST(e.confidence == 0.8);
  BOOST_TEST(e.x == 100);
  BOOST_TEST(e.y == 201);
  BOOST_TEST(e.w == 51);  // 50.5 rounds away from zero
  BOOST_TEST(e.h == 99);
  BOOST_TEST(e.start == 99.0);
  BOOST_TEST(e.end == 0.0);
  BOOST_TEST(e.zone.empty());
  BOOST_TEST(e.snapshot_task_id == "t-best");
  BOOST_TEST(e.rules == Types{"all"});
  BOOST_TEST(!out.at(0).late);

  u.change = TrackChange::updated;
  u.time = 101;
  t.box.y = 420;  // feet at y 0.5194: inside
  out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.zone_enter:path"});
  BOOST_TEST(out.at(0).event.zone == "path");
  BOOST_TEST(out.at(0).event.y == 420);

  u.time = 102;  // still inside: nothing
  BOOST_TEST(h.engine.on_track(u).empty());

  u.time = 103;
  t.box.y = 300;
  out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});

  u.change = TrackChange::ended;
  t.last_seen = 103;
  out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.end"});
  BOOST_TEST(out.at(0).event.end == 103.0);
  BOOST_TEST(out.at(0).event.start == 99.0);
  BOOST_TEST(h.engine.tracks() == 0u);
  BOOST_TEST(h.engine.stats().events == 4);
}

BOOST_AUTO_TEST_CASE(
    a_track_confirmed_inside_gets_start_then_enter_and_ending_inside_leave_then_end) {
  Harness h(config_with({rule("all")}));
  auto out = h.update(TrackChange::confirmed, 1, 10, 0.5, 0.75);
  BOOST_TEST(types_of(out) == (Types{"object.start", "object.zone_enter:path"}));
  BOOST_TEST(delivered(out) == (Types{"object.start", "object.zone_enter:path"}));
  out = h.update(TrackChange::ended, 1, 12, 0.5, 0.75);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:path", "object.end"}));
  BOOST_TEST(delivered(out) == (Types{"object.zone_leave:path", "object.end"}));
}

BOOST_AUTO_TEST_CASE(a_box_jittering_over_a_zone_edge_gives_no_leave_enter_pairs) {
  auto c = config_with({rule("all")});
  c->zones[5000] = {zone("path", {{0, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}, 1.0)};
  Harness h(c);
  auto out = h.update(TrackChange::confirmed, 1, 10, 0.5, 0.52);
  BOOST_TEST(types_of(out) == (Types{"object.start", "object.zone_enter:path"}));
  // Feet out, in, out, in, 0.2 s apart (5 fps): no event.
  for (int i = 1; i <= 8; ++i) {
    out = h.update(TrackChange::updated, 1, 10 + 0.2 * i, 0.5, i % 2 ? 0.48 : 0.52);
    BOOST_TEST(out.empty(), "update " << i << ": " << types_of(out).size() << " event(s)");
  }
  // Out for good: the leave is decided 1 s after the first update outside, not before.
  out = h.update(TrackChange::updated, 1, 12.0, 0.5, 0.40);
  BOOST_TEST(out.empty());
  out = h.update(TrackChange::updated, 1, 12.8, 0.5, 0.30);
  BOOST_TEST(out.empty());
  out = h.update(TrackChange::updated, 1, 13.0, 0.5, 0.30);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});
  BOOST_TEST(out.at(0).event.time == 13.0);
  // And in again: at once.
  out = h.update(TrackChange::updated, 1, 13.2, 0.5, 0.60);
  BOOST_TEST(types_of(out) == Types{"object.zone_enter:path"});
}

BOOST_AUTO_TEST_CASE(a_pending_leave_needs_a_second_update_and_ends_with_the_track) {
  auto c = config_with({rule("all")});
  c->zones[5000] = {zone("path", {{0, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}, 1.0)};
  Harness h(c);
  h.update(TrackChange::confirmed, 1, 10, 0.5, 0.75);
  // Keep-alives of a gated camera 5 s apart: the first one outside only starts the clock.
  auto out = h.update(TrackChange::updated, 1, 15, 0.5, 0.25);
  BOOST_TEST(out.empty());
  out = h.update(TrackChange::updated, 1, 20, 0.5, 0.25);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});
  // A track that ends while its leave is pending leaves the zone with its end.
  h.update(TrackChange::confirmed, 2, 30, 0.5, 0.75);
  out = h.update(TrackChange::updated, 2, 30.2, 0.5, 0.25);
  BOOST_TEST(out.empty());
  out = h.update(TrackChange::ended, 2, 30.4, 0.5, 0.25);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:path", "object.end"}));
  // With leave_after 0 the first update outside leaves.
  c = config_with({rule("all")});
  c->zones[5000] = {zone("path", {{0, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}, 0.0)};
  Harness h0(c);
  h0.update(TrackChange::confirmed, 1, 10, 0.5, 0.75);
  out = h0.update(TrackChange::updated, 1, 10.2, 0.5, 0.25);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});
}

BOOST_AUTO_TEST_CASE(a_zone_removed_by_a_reload_is_left_at_once_despite_leave_after) {
  auto c = config_with({rule("all")});
  c->zones[5000] = {zone("path", {{0, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}, 5.0)};
  Harness h(c);
  h.update(TrackChange::confirmed, 1, 10, 0.5, 0.75);
  auto c2 = config_with({rule("all")});
  c2->zones[5000] = {zone("lawn", {{0, 0}, {1, 0}, {1, 0.1}, {0, 0.1}}, 5.0)};
  h.engine.set_config(c2);
  auto out = h.update(TrackChange::updated, 1, 10.2, 0.5, 0.75);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});
}

BOOST_AUTO_TEST_CASE(zone_edges_through_the_engine) {
  auto c = config_with({rule("all")});
  c->zones[5000] = {zone("left", {{0, 0}, {0.5, 0}, {0.5, 1}, {0, 1}}),
                    zone("right", {{0.5, 0}, {1, 0}, {1, 1}, {0.5, 1}})};
  Harness h(c);
  // On the shared edge: in "right" only.
  auto out = h.update(TrackChange::confirmed, 1, 10, 0.5, 0.3);
  BOOST_TEST(types_of(out) == (Types{"object.start", "object.zone_enter:right"}));
  out = h.update(TrackChange::updated, 1, 11, 0.49, 0.3);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:right", "object.zone_enter:left"}));
  // Feet on the frame's right and bottom border (1.0) count as inside a zone drawn to it.
  out = h.update(TrackChange::updated, 1, 12, 1.0, 1.0);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:left", "object.zone_enter:right"}));
  // The top-left corner of the frame is in "left".
  out = h.update(TrackChange::updated, 1, 13, 0.0, 0.0);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:right", "object.zone_enter:left"}));
}

BOOST_AUTO_TEST_CASE(no_zone_test_without_the_frame_size) {
  Harness h(config_with({rule("all")}));
  TrackUpdate u;
  u.change = TrackChange::confirmed;
  u.track.id = 3;
  u.track.port = 5000;
  u.track.label = "person";
  u.track.box = {500, 900, 0, 0};  // would be inside in a 1000 x 1000 frame
  auto out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.start"});
  u.change = TrackChange::updated;
  u.track.frame_width = 1000;
  u.track.frame_height = 1000;
  out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == Types{"object.zone_enter:path"});
  u.track.frame_width = 0;  // unknown again: keeps its zones
  u.track.box = {0, 0, 0, 0};
  BOOST_TEST(h.engine.on_track(u).empty());
}

BOOST_AUTO_TEST_CASE(cooldown_suppresses_further_starts_of_a_port_and_label_and_their_tracks) {
  Rule r = rule("door");
  r.cooldown = 30;
  Harness h(config_with({r}));
  BOOST_TEST(delivered(h.update(TrackChange::confirmed, 1, 100, 0.5, 0.2)) ==
             Types{"object.start"});
  // A second person 10 s later: made, not delivered, counted.
  auto out = h.update(TrackChange::confirmed, 2, 110, 0.5, 0.2);
  BOOST_TEST(types_of(out) == Types{"object.start"});
  BOOST_TEST(out.at(0).deliveries.empty());
  BOOST_TEST(out.at(0).event.rules.empty());
  BOOST_TEST(h.engine.stats().suppressed_cooldown == 1);
  // Its later events stay suppressed, even after the cooldown.
  out = h.update(TrackChange::updated, 2, 140, 0.5, 0.8);
  BOOST_TEST(types_of(out) == Types{"object.zone_enter:path"});
  BOOST_TEST(delivered(out).empty());
  BOOST_TEST(delivered(h.update(TrackChange::ended, 2, 141, 0.5, 0.8)).empty());
  BOOST_TEST(h.engine.stats().suppressed_cooldown == 4);  // start, enter, leave, end
  // Track 1 was delivered: its events still are.
  BOOST_TEST(delivered(h.update(TrackChange::updated, 1, 112, 0.5, 0.8)) ==
             Types{"object.zone_enter:path"});
  // Another label is not affected.
  BOOST_TEST(delivered(h.update(TrackChange::confirmed, 3, 111, 0.5, 0.2, "car")) ==
             Types{"object.start"});
  // 30 s after the delivered start (the suppressed one at 110 did not extend it).
  BOOST_TEST(delivered(h.update(TrackChange::confirmed, 4, 129.9, 0.5, 0.2)).empty());
  BOOST_TEST(delivered(h.update(TrackChange::confirmed, 5, 130, 0.5, 0.2)) ==
             Types{"object.start"});
  BOOST_TEST(h.engine.stats().suppressed_cooldown == 5);
  // Another port is not affected either.
  BOOST_TEST(delivered(h.update(TrackChange::confirmed, 6, 131, 0.5, 0.2, "person", 5001)) ==
             Types{"object.start"});
}

BOOST_AUTO_TEST_CASE(a_restored_track_of_a_previous_run_leaves_its_zones_and_ends) {
  // The master restarted: track 7 was in "path" and delivered to "door" (its stored events).
  // Its end (no frame size: the last position is not known) leaves the zone first, and both
  // go to "door" without a new cooldown or min_duration decision.
  Rule r = rule("door");
  r.cooldown = 30;
  r.min_duration = 60;
  Harness h(config_with({r}));
  h.update(TrackChange::confirmed, 1, 100, 0.5, 0.8);  // another person: cooldown running
  h.engine.restore_track(7, {"path"}, {"door"});
  h.engine.restore_track(8, {"path"}, {});  // one no rule had delivered
  TrackUpdate u;
  u.change = TrackChange::ended;
  u.time = 101;
  u.track.id = 7;
  u.track.port = 5000;
  u.track.label = "person";
  u.track.start = 95;
  u.track.last_seen = 101;
  u.track.best_confidence = 0.9;
  u.track.confirmed = true;
  auto out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:path", "object.end"}),
             boost::test_tools::per_element());
  BOOST_TEST(delivered(out) == (Types{"object.zone_leave:path", "object.end"}),
             boost::test_tools::per_element());
  u.track.id = 8;
  out = h.engine.on_track(u);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:path", "object.end"}),
             boost::test_tools::per_element());
  BOOST_TEST(delivered(out).empty());  // decided now: held by min_duration, dropped at its end
}

BOOST_AUTO_TEST_CASE(cooldown_is_per_rule) {
  Rule a = rule("a", "http://h/a");
  a.cooldown = 60;
  Rule b = rule("b", "http://h/b");
  Harness h(config_with({a, b}));
  h.update(TrackChange::confirmed, 1, 100, 0.5, 0.2);
  auto out = h.update(TrackChange::confirmed, 2, 101, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == Types{"b"});
  BOOST_REQUIRE(out.at(0).deliveries.size() == 1u);
  BOOST_TEST(out.at(0).deliveries[0].target == "http://h/b");
}

BOOST_AUTO_TEST_CASE(min_duration_holds_events_until_the_track_is_old_enough) {
  Rule r = rule("linger");
  r.min_duration = 5;
  Harness h(config_with({r}));
  // A short track: everything made, nothing delivered, each drop counted.
  auto out = h.update(TrackChange::confirmed, 1, 100, 0.5, 0.2);
  BOOST_TEST(types_of(out) == Types{"object.start"});
  BOOST_TEST(delivered(out).empty());
  BOOST_TEST(out.at(0).event.rules.empty());
  BOOST_TEST(delivered(h.update(TrackChange::updated, 1, 101, 0.5, 0.8)).empty());
  out = h.update(TrackChange::ended, 1, 104.9, 0.5, 0.8);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:path", "object.end"}));
  BOOST_TEST(delivered(out).empty());
  // start and zone_enter held, zone_leave and end dropped at the end
  BOOST_TEST(h.engine.stats().suppressed_min_duration == 4);
  BOOST_TEST(h.engine.stats().deliveries == 0);

  // A long one: the held events come back, in order, when an update shows the age reached.
  auto start = h.update(TrackChange::confirmed, 2, 200, 0.5, 0.2);
  auto enter = h.update(TrackChange::updated, 2, 202, 0.5, 0.8);
  BOOST_TEST(delivered(start).empty());
  BOOST_TEST(delivered(enter).empty());
  BOOST_TEST(h.update(TrackChange::updated, 2, 204.9, 0.5, 0.8).empty());
  out = h.update(TrackChange::updated, 2, 205, 0.5, 0.2);
  BOOST_TEST(types_of(out) ==
             (Types{"object.start", "object.zone_enter:path", "object.zone_leave:path"}));
  BOOST_TEST(delivered(out) == types_of(out));
  BOOST_TEST(out.at(0).late);
  BOOST_TEST(out.at(1).late);
  BOOST_TEST(!out.at(2).late);
  BOOST_TEST(out.at(0).event.id == start.at(0).event.id);  // the same event, not a new one
  BOOST_TEST(out.at(1).event.id == enter.at(0).event.id);
  BOOST_TEST(out.at(0).event.time == 200.0);
  BOOST_TEST(out.at(0).event.rules == Types{"linger"});
  BOOST_TEST(out.at(2).event.rules == Types{"linger"});
  // Then delivered at once.
  BOOST_TEST(delivered(h.update(TrackChange::ended, 2, 206, 0.5, 0.2)) == Types{"object.end"});
  BOOST_TEST(h.engine.stats().suppressed_min_duration == 4);
  BOOST_TEST(h.engine.stats().deliveries == 4);
  BOOST_TEST(h.engine.stats().events == 8);  // late ones are not new events
}

BOOST_AUTO_TEST_CASE(min_duration_reached_by_the_end_delivers_held_events_and_the_end) {
  Rule r = rule("linger");
  r.min_duration = 5;
  Harness h(config_with({r}));
  h.update(TrackChange::confirmed, 1, 100, 0.5, 0.2);
  auto out = h.update(TrackChange::ended, 1, 105, 0.5, 0.2);
  BOOST_TEST(types_of(out) == (Types{"object.start", "object.end"}));
  BOOST_TEST(delivered(out) == types_of(out));
  BOOST_TEST(out.at(0).late);
  BOOST_TEST(h.engine.stats().suppressed_min_duration == 0);
}

BOOST_AUTO_TEST_CASE(min_duration_keeps_the_first_and_latest_seven_held_events) {
  Rule r = rule("linger");
  r.min_duration = 100;
  Harness h(config_with({r}));
  h.update(TrackChange::confirmed, 1, 0, 0.5, 0.2);
  std::vector<std::string> ids;
  for (int i = 1; i <= 10; ++i) {  // enter, leave, enter, ... : 10 zone events
    auto out = h.update(TrackChange::updated, 1, i, 0.5, i % 2 ? 0.8 : 0.2);
    BOOST_REQUIRE(out.size() == 1u);
    ids.push_back(out[0].event.id);
  }
  BOOST_TEST(h.engine.stats().suppressed_min_duration == 3);  // 11 held, 8 kept
  auto out = h.update(TrackChange::updated, 1, 100, 0.5, 0.2);
  BOOST_REQUIRE(out.size() == 8u);
  BOOST_TEST(out[0].event.type == "object.start");
  for (std::size_t i = 1; i < 8; ++i) BOOST_TEST(out[i].event.id == ids[i + 2]);
}

BOOST_AUTO_TEST_CASE(a_parked_object_gives_one_start_and_deliveries_resume_when_it_moves) {
  Rule parked = rule("parked", "http://h/parked");  // ignore_stationary by default
  Rule all = rule("all", "http://h/all");
  all.ignore_stationary = false;
  Rule told = rule("told", "http://h/told");
  told.types = {"object.stationary"};
  Harness h(config_with({parked, all, told}));
  auto out = h.update(TrackChange::confirmed, 1, 100, 0.5, 0.2, "car");
  BOOST_TEST(out.at(0).event.rules == (Types{"parked", "all"}));
  out = h.update(TrackChange::stationary, 1, 110, 0.5, 0.2, "car");
  BOOST_TEST(types_of(out) == Types{"object.stationary"});
  BOOST_TEST(out.at(0).event.rules == Types{"told"});  // not a default type; told asked for it
  // Drifting into the zone while stationary: made, delivered only to "all".
  out = h.update(TrackChange::updated, 1, 120, 0.5, 0.8, "car");
  BOOST_TEST(types_of(out) == Types{"object.zone_enter:path"});
  BOOST_TEST(out.at(0).event.rules == Types{"all"});
  BOOST_TEST(h.engine.stats().suppressed_stationary == 1);
  // It moves: deliveries resume.
  out = h.update(TrackChange::moving, 1, 130, 0.5, 0.2, "car");
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});
  BOOST_TEST(out.at(0).event.rules == (Types{"parked", "all"}));
  // Parked again until it ends: its end is not delivered to "parked".
  h.update(TrackChange::stationary, 1, 140, 0.5, 0.2, "car");
  out = h.update(TrackChange::ended, 1, 150, 0.5, 0.2, "car");
  BOOST_TEST(types_of(out) == Types{"object.end"});
  BOOST_TEST(out.at(0).event.rules == Types{"all"});
  BOOST_TEST(h.engine.stats().suppressed_stationary == 2);
}

BOOST_AUTO_TEST_CASE(labels_ports_and_min_confidence_filter_rules) {
  Rule people = rule("people", "http://h/people");
  people.labels = {"person"};
  Rule port = rule("port5001", "http://h/5001");
  port.ports = {5001, 5002};
  Rule sure = rule("sure", "http://h/sure");
  sure.min_confidence = 0.7;
  Harness h(config_with({people, port, sure}));
  auto rules_of = [](const std::vector<EmittedEvent>& out) { return out.at(0).event.rules; };
  BOOST_TEST(rules_of(h.update(TrackChange::confirmed, 1, 1, 0.5, 0.2, "person", 5000, 0.69)) ==
             Types{"people"});
  BOOST_TEST(rules_of(h.update(TrackChange::confirmed, 2, 1, 0.5, 0.2, "car", 5002, 0.7)) ==
             (Types{"port5001", "sure"}));
  BOOST_TEST(rules_of(h.update(TrackChange::confirmed, 3, 1, 0.5, 0.2, "car", 5000, 0.5)).empty());
  // Object events are made whatever the rules.
  BOOST_TEST(h.engine.stats().events == 3);
  // The best confidence rising later lets later events through.
  auto out = h.update(TrackChange::updated, 3, 2, 0.5, 0.8, "car", 5000, 0.9);
  BOOST_TEST(rules_of(out) == Types{"sure"});
}

BOOST_AUTO_TEST_CASE(types_select_object_events_and_the_default_leaves_out_stationary) {
  Rule def = rule("default", "http://h/d");
  Rule ends = rule("ends", "http://h/e");
  ends.types = {"object.end"};
  Rule every = rule("every", "http://h/all");
  every.types = {"object.*"};
  every.ignore_stationary = false;
  Harness h(config_with({def, ends, every}));
  auto out = h.update(TrackChange::confirmed, 1, 1, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == (Types{"default", "every"}));
  out = h.update(TrackChange::stationary, 1, 2, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == Types{"every"});
  out = h.update(TrackChange::ended, 1, 3, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == Types{"every"});  // "default" and "ends": stationary
  h.update(TrackChange::confirmed, 2, 1, 0.5, 0.2);
  out = h.update(TrackChange::ended, 2, 3, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == (Types{"default", "ends", "every"}));
}

BOOST_AUTO_TEST_CASE(a_rule_with_zones_delivers_a_track_from_its_entry_into_them) {
  auto c = config_with({});
  c->zones[5000].push_back(zone("gate", {{0, 0}, {0.2, 0}, {0.2, 0.2}, {0, 0.2}}));
  Rule r = rule("path-only");
  r.zones = {"path"};
  r.types = {"object.*"};
  r.ignore_stationary = false;
  c->rules = {r};
  Harness h(c);
  // Confirmed outside: its start is not delivered, and not later either.
  auto out = h.update(TrackChange::confirmed, 1, 1, 0.5, 0.2);
  BOOST_TEST(delivered(out).empty());
  BOOST_TEST(delivered(h.update(TrackChange::updated, 1, 2, 0.1, 0.1)).empty());  // into gate
  out = h.update(TrackChange::updated, 1, 3, 0.5, 0.8);
  BOOST_TEST(types_of(out) == (Types{"object.zone_leave:gate", "object.zone_enter:path"}));
  BOOST_TEST(delivered(out) == Types{"object.zone_enter:path"});
  BOOST_TEST(delivered(h.update(TrackChange::stationary, 1, 4, 0.5, 0.8)) ==
             Types{"object.stationary"});
  out = h.update(TrackChange::ended, 1, 5, 0.5, 0.8);
  BOOST_TEST(delivered(out) == (Types{"object.zone_leave:path", "object.end"}));
  // Confirmed inside: start and enter; it leaves, then its stationary and end are not delivered.
  out = h.update(TrackChange::confirmed, 2, 1, 0.5, 0.8);
  BOOST_TEST(delivered(out) == (Types{"object.start", "object.zone_enter:path"}));
  BOOST_TEST(delivered(h.update(TrackChange::updated, 2, 2, 0.5, 0.2)) ==
             Types{"object.zone_leave:path"});
  BOOST_TEST(delivered(h.update(TrackChange::stationary, 2, 3, 0.5, 0.2)).empty());
  BOOST_TEST(delivered(h.update(TrackChange::ended, 2, 4, 0.5, 0.2)).empty());
}

BOOST_AUTO_TEST_CASE(system_events_match_by_type_pattern_and_port) {
  Rule cams = rule("cams", "http://h/cams");
  cams.types = {"camera.*"};
  cams.ports = {5000};
  cams.mqtt = true;
  Rule workers = rule("workers", "http://h/workers");
  workers.types = {"worker.dead"};
  workers.ports = {5001};
  workers.mqtt = true;
  Rule objects = rule("objects", "http://h/objects");  // default types: no system event
  auto c = config_with({cams, workers, objects});
  c->mqtt.topic_prefix = "site";
  Harness h(c);
  fh::shared::api::Event e;
  e.type = "camera.stalled";
  e.port = 5000;
  e.detail = "no frame for 10 s";
  auto out = h.engine.on_system(e);
  BOOST_TEST(out.event.id == "e1");
  BOOST_TEST(out.event.rules == Types{"cams"});
  BOOST_TEST(out.event.detail == "no frame for 10 s");
  BOOST_REQUIRE(out.deliveries.size() == 2u);
  BOOST_TEST(out.deliveries[0].target == "http://h/cams");
  BOOST_TEST(out.deliveries[1].kind == "mqtt");
  BOOST_TEST(out.deliveries[1].target == "site/5000/events");
  e.port = 5001;
  BOOST_TEST(h.engine.on_system(e).event.rules.empty());
  e.type = "worker.dead";
  e.port = 0;  // no camera: matches any rule's ports
  e.id = "given";
  out = h.engine.on_system(e);
  BOOST_TEST(out.event.id == "given");
  BOOST_TEST(out.event.rules == Types{"workers"});
  BOOST_REQUIRE(out.deliveries.size() == 2u);
  BOOST_TEST(out.deliveries[1].target == "site/events");
  e.type = "worker.back";
  BOOST_TEST(h.engine.on_system(e).event.rules.empty());
  BOOST_TEST(h.engine.stats().events == 4);
  BOOST_TEST(h.engine.stats().deliveries == 4);
}

BOOST_AUTO_TEST_CASE(identical_deliveries_of_one_event_are_sent_once) {
  Rule a = rule("a", "http://h/same");
  a.mqtt = true;
  Rule b = rule("b", "http://h/same");
  b.mqtt = true;
  b.webhooks.push_back(WebhookAction{"http://h/same", "/other.secret", "x"});
  b.webhooks.push_back(WebhookAction{"http://h/b", "", ""});
  Harness h(config_with({a, b}));
  auto out = h.update(TrackChange::confirmed, 1, 1, 0.5, 0.2);
  BOOST_TEST(out.at(0).event.rules == (Types{"a", "b"}));
  const auto& d = out.at(0).deliveries;
  BOOST_REQUIRE(d.size() == 4u);
  BOOST_TEST(d[0].kind == "webhook");
  BOOST_TEST(d[0].target == "http://h/same");
  BOOST_TEST(d[0].secret_file == "/etc/fh/hook.secret");
  BOOST_TEST(d[0].rule == "a");
  BOOST_TEST(d[1].kind == "mqtt");
  BOOST_TEST(d[1].target == "framehive/5000/events");
  BOOST_TEST(d[1].rule == "a");
  BOOST_TEST(d[2].secret_file == "/other.secret");  // another key: another delivery
  BOOST_TEST(d[2].rule == "b");
  BOOST_TEST(d[3].target == "http://h/b");
  BOOST_TEST(d[3].secret_file.empty());
  // Without an mqtt section no mqtt delivery.
  auto c = config_with({a});
  c->mqtt.enabled = false;
  Harness h2(c);
  BOOST_TEST(h2.update(TrackChange::confirmed, 1, 1, 0.5, 0.2).at(0).deliveries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(event_ids_are_unique) {
  Harness h(config_with({rule("all")}));
  std::set<std::string> ids;
  std::size_t n = 0;
  auto collect = [&](const std::vector<EmittedEvent>& out) {
    for (const auto& e : out) {
      ids.insert(e.event.id);
      ++n;
    }
  };
  for (int id = 1; id <= 5; ++id) {
    collect(h.update(TrackChange::confirmed, id, 1, 0.5, 0.8));
    collect(h.update(TrackChange::updated, id, 2, 0.5, 0.2));
    collect(h.update(TrackChange::ended, id, 3, 0.5, 0.2));
  }
  fh::shared::api::Event sys;
  sys.type = "worker.dead";
  ids.insert(h.engine.on_system(sys).event.id);
  BOOST_TEST(n == 20u);  // start, enter, leave, end per track
  BOOST_TEST(ids.size() == 21u);
}

BOOST_AUTO_TEST_CASE(a_reload_keeps_tracks_and_reevaluates_zones) {
  Harness h(config_with({rule("old")}));
  h.update(TrackChange::confirmed, 1, 1, 0.5, 0.8);
  auto c = config_with({rule("new", "http://h/new")});
  c->zones[5000] = {zone("path", {{0, 0.9}, {1, 0.9}, {1, 1}, {0, 1}})};  // moved down
  h.engine.set_config(c);
  auto out = h.update(TrackChange::updated, 1, 2, 0.5, 0.8);
  BOOST_TEST(types_of(out) == Types{"object.zone_leave:path"});  // no new start
  BOOST_TEST(out.at(0).event.rules == Types{"new"});
  BOOST_TEST(out.at(0).deliveries.at(0).target == "http://h/new");
}

BOOST_AUTO_TEST_CASE(track_state_is_bounded_and_removed_on_end) {
  Harness h(config_with({rule("all")}), 2);
  h.update(TrackChange::confirmed, 1, 1, 0.5, 0.8);
  h.update(TrackChange::confirmed, 2, 1, 0.5, 0.8);
  BOOST_TEST(h.engine.tracks() == 2u);
  h.update(TrackChange::confirmed, 3, 1, 0.5, 0.8);
  BOOST_TEST(h.engine.tracks() == 2u);
  BOOST_TEST(h.engine.stats().evicted_tracks == 1);
  // The evicted track 1 comes back on its next update without inventing a zone_enter.
  BOOST_TEST(h.update(TrackChange::updated, 1, 2, 0.5, 0.8).empty());
  BOOST_TEST(h.engine.stats().evicted_tracks == 2);
  h.update(TrackChange::ended, 1, 3, 0.5, 0.8);
  h.update(TrackChange::ended, 3, 3, 0.5, 0.8);
  BOOST_TEST(h.engine.tracks() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
