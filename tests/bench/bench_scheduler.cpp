// The master's Scheduler in process (no network, no database): the cost of one hand-out
// (request_task + complete_task + the add_frames that keeps every port backlogged) against the
// number of backlogged ports, with equal weights, with weights 1..4 (--priority), and with
// fallback chains whose first choice has no live worker (--detector PORT=A,B), and how far
// the shares of hand-outs are from the weights. Prints a table.
// Usage: bench_scheduler [seconds per row, default 0.5]
#include "framehive/master/scheduler.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace fh::master;

namespace {

struct Row {
  double per_s = 0, us = 0, share_error = 0;
};

Row run(int ports, const std::string& mode, double seconds) {
  fh::shared::ManualClock clock;
  SchedulerConfig config;
  config.max_frame_age = 0;
  config.max_pending_per_port = 64;
  config.max_ports = 4096;
  config.retain_results = 100;
  config.retain_tasks = 1000;
  config.keep_frames = 0;
  const int first = 10000;
  for (int p = first; p < first + ports; ++p) {
    if (mode == "weights 1..4") config.port_weights[p] = 1 + (p - first) % 4;
    if (mode == "chains") config.port_detectors[p] = {"gpu", "hog"};
  }
  Scheduler s(config, clock, nullptr, "b");
  s.register_worker("w", "", {"hog"});
  const auto img = std::make_shared<const std::vector<std::uint8_t>>(
      std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9});
  std::int64_t next_id = 0;
  const auto add = [&](int port) {
    Frame f;
    f.port = port;
    f.frame_id = next_id++;
    f.image = img;
    std::vector<Frame> v;
    v.push_back(std::move(f));
    s.add_frames(std::move(v));
  };
  for (int p = first; p < first + ports; ++p) {
    for (int i = 0; i < 32; ++i) add(p);
  }
  std::map<int, std::int64_t> served;
  std::int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 256; ++i) {
      auto t = s.request_task("w", 0);
      if (!t) {
        std::fprintf(stderr, "no task handed out (%s, %d ports)\n", mode.c_str(), ports);
        std::exit(1);
      }
      s.complete_task("w", t->task_id, Result{});
      served[t->frame.port]++;
      add(t->frame.port);  // the port stays backlogged
      ++n;
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  Row r;
  r.per_s = static_cast<double>(n) / elapsed;
  r.us = 1e6 * elapsed / static_cast<double>(n);
  double weight_sum = 0;
  for (int p = first; p < first + ports; ++p) {
    const auto w = config.port_weights.find(p);
    weight_sum += w == config.port_weights.end() ? 1 : w->second;
  }
  for (int p = first; p < first + ports; ++p) {
    const auto w = config.port_weights.find(p);
    const double want = (w == config.port_weights.end() ? 1 : w->second) / weight_sum;
    const double got = static_cast<double>(served[p]) / static_cast<double>(n);
    r.share_error = std::max(r.share_error, std::abs(got - want) / want);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  std::printf("%-7s %-14s %14s %14s %18s\n", "ports", "mode", "hand-outs/s", "us/hand-out",
              "max share error");
  for (int ports : {1, 16, 64, 256}) {
    for (const char* mode : {"equal weights", "weights 1..4", "chains"}) {
      const Row r = run(ports, mode, seconds);
      std::printf("%-7d %-14s %14.0f %14.2f %17.2f%%\n", ports, mode, r.per_s, r.us,
                  100 * r.share_error);
    }
  }
  return 0;
}
