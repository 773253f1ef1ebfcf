// What does tracking cost the master? CPU time per result of the Tracker (master/src/tracker.*),
// alone and with the RuleEngine (master/src/rule_engine.*: 2 zones per port, 3 rules with zones,
// cooldown, min_duration and a webhook each) turning its track changes into events, at 20
// detections per frame (15 people and 5 cars random-walking in 1920x1080, 5% missed,
// 2% false positives), 10 fps per port, for 1, 8 and 32 ports fed interleaved with every other
// pair of a port's frames completing swapped (the reorder window at work), tick() 4x per s.
// Prints a Markdown table. Usage: bench_tracker [--seconds S] (simulated seconds per port,
// default 120)
#include "events_config.hpp"
#include "rule_engine.hpp"
#include "tracker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace {

using fh::master::Detection;
using fh::master::Tracker;
using fh::master::TrackerConfig;
using fh::master::TrackInput;

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// splitmix64: deterministic and the same everywhere.
struct Rng {
  std::uint64_t s;
  double uniform() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

struct Walker {
  double x, y, vx, vy, w, h;
  const char* label;
};

constexpr int k_width = 1920, k_height = 1080, k_objects = 20;
constexpr double k_dt = 0.1;

/// A port's scene: its walkers and its next frame.
struct Scene {
  std::vector<Walker> ws;
  Rng rng;
  std::int64_t next_id = 0;

  explicit Scene(std::uint64_t seed) : rng{seed} {
    for (int k = 0; k < k_objects; ++k) {
      const bool car = k >= 15;
      const double w = car ? rng.uniform(80, 160) : rng.uniform(30, 70);
      ws.push_back(Walker{rng.uniform(0, k_width - 200), rng.uniform(0, k_height - 200),
                          rng.uniform(-60, 60), rng.uniform(-40, 40), w, car ? w * 0.6 : w * 2.5,
                          car ? "car" : "person"});
    }
  }
  TrackInput frame(int port) {
    TrackInput in;
    in.width = k_width;
    in.height = k_height;
    in.record.port = port;
    in.record.stream = "bench-" + std::to_string(port);
    in.record.frame_id = next_id;
    in.record.task_id = in.record.stream + "-" + std::to_string(next_id);
    in.record.captured_at = 1.7e9 + static_cast<double>(next_id) * k_dt;
    ++next_id;
    for (Walker& a : ws) {
      a.vx = std::clamp(a.vx + rng.uniform(-5, 5), -80.0, 80.0);
      a.vy = std::clamp(a.vy + rng.uniform(-5, 5), -60.0, 60.0);
      a.x += a.vx * k_dt;
      a.y += a.vy * k_dt;
      if (a.x < 0 || a.x + a.w > k_width) a.vx = -a.vx;
      if (a.y < 0 || a.y + a.h > k_height) a.vy = -a.vy;
      a.x = std::clamp(a.x, 0.0, k_width - a.w);
      a.y = std::clamp(a.y, 0.0, k_height - a.h);
      if (rng.uniform() < 0.05) continue;
      Detection d;
      d.label = a.label;
      d.confidence = 0.8;
      d.x = static_cast<int>(a.x + rng.uniform(-2, 2));
      d.y = static_cast<int>(a.y + rng.uniform(-2, 2));
      d.w = static_cast<int>(a.w);
      d.h = static_cast<int>(a.h);
      in.record.detections.push_back(d);
    }
    for (int k = 0; k < k_objects; ++k) {
      if (rng.uniform() >= 0.02) continue;
      Detection d;
      d.label = "person";
      d.confidence = 0.4;
      d.x = static_cast<int>(rng.uniform(0, k_width - 60));
      d.y = static_cast<int>(rng.uniform(0, k_height - 150));
      d.w = 50;
      d.h = 125;
      in.record.detections.push_back(d);
    }
    return in;
  }
};

struct Row {
  int ports;
  std::int64_t results, released, confirmed, events;
  double us_per_result;
};

/// Zones and rules for every port of the run (docs/events.md).
std::shared_ptr<const fh::master::EventsConfig> rules_config(int ports) {
  std::string zones, list;
  for (int p = 1; p <= ports; ++p) {
    zones += std::string(p > 1 ? "," : "") + "\"" + std::to_string(p) +
             "\": [{\"name\": \"path\", \"polygon\": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]},"
             " {\"name\": \"door\", \"polygon\": [[0, 0], [0.33, 0], [0.33, 1], [0, 1]]}]";
  }
  const std::string hook = "\"webhooks\": [{\"url\": \"http://127.0.0.1:9/hook\"}]";
  const std::string text =
      "{\"zones\": {" + zones + "}, \"rules\": [" +
      "{\"name\": \"people\", \"labels\": [\"person\"], \"zones\": [\"path\"], \"min_confidence\": "
      "0.5, " +
      hook + "}," +
      "{\"name\": \"cars\", \"labels\": [\"car\"], \"cooldown\": 30, \"min_duration\": 2, " + hook +
      "}," + "{\"name\": \"all\", \"types\": [\"object.*\"], " + hook + "}]}";
  return fh::master::parse_events_config(text, "bench.json");
}

Row run(int ports, double seconds, bool with_rules) {
  std::vector<Scene> scenes;
  for (int p = 0; p < ports; ++p) scenes.emplace_back(static_cast<std::uint64_t>(p) + 1);
  // Generated ahead: the bench measures the tracker, not the scene.
  const int frames = static_cast<int>(seconds / k_dt);
  std::vector<std::vector<TrackInput>> inputs(static_cast<std::size_t>(ports));
  for (int p = 0; p < ports; ++p) {
    auto& v = inputs[static_cast<std::size_t>(p)];
    for (int i = 0; i < frames; ++i) v.push_back(scenes[static_cast<std::size_t>(p)].frame(p + 1));
    for (std::size_t i = 0; i + 1 < v.size(); i += 4) std::swap(v[i], v[i + 1]);
  }
  Tracker tracker(TrackerConfig{}, 1);
  std::int64_t next_event = 0;
  fh::master::RuleEngine rules(rules_config(ports),
                               [&next_event] { return "ev" + std::to_string(++next_event); });
  std::int64_t released = 0, events = 0;
  const auto take = [&](std::vector<fh::master::TrackedResult> out) {
    released += static_cast<std::int64_t>(out.size());
    if (!with_rules) return;
    for (const auto& r : out) {
      for (const auto& u : r.updates) events += static_cast<std::int64_t>(rules.on_track(u).size());
    }
  };
  double next_tick = 0;
  const double t0 = cpu_now();
  for (int i = 0; i < frames; ++i) {
    const double now = i * k_dt;
    for (auto& v : inputs) take(tracker.add(std::move(v[static_cast<std::size_t>(i)]), now));
    if (now >= next_tick) {
      take(tracker.tick(now));
      next_tick += 0.25;
    }
  }
  const double cpu = cpu_now() - t0;
  const auto st = tracker.stats();
  return Row{
      ports, st.results, released, st.tracks_confirmed, events, cpu / double(st.results) * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 120;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_tracker [--seconds S]\n");
      return 2;
    }
  }
  std::printf(
      "| ports | results | tracks confirmed | events | tracker: CPU us per result | tracker + "
      "rules: CPU us per result |\n");
  std::printf("|------:|--------:|-----------------:|-------:|------:|------:|\n");
  for (int ports : {1, 8, 32}) {
    const Row alone = run(ports, seconds, false);
    const Row r = run(ports, seconds, true);
    std::printf("| %d | %lld | %lld | %lld | %.1f | %.1f |\n", r.ports,
                static_cast<long long>(r.results), static_cast<long long>(r.confirmed),
                static_cast<long long>(r.events), alone.us_per_result, r.us_per_result);
  }
  return 0;
}
