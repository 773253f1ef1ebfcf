// Load driver for any master that speaks the framehive XML-RPC contract (ours or the Python
// baseline): P producer threads add_tasks the same JPEG in batches, W worker threads register
// and loop request_task(wait_ms) / complete_task({detections: [], processing_ms: 0}).
// Same definitions as ../shared/baseline-py/loadgen.py: latency = time complete_task returned
// true - captured_at (set just before the add_tasks call carrying the frame); tasks/s =
// completed / (last completion - start). Prints one line of key=value pairs.
#include "framehive/shared/rpc_client.hpp"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using fh::shared::RpcClient;
using Struct = std::map<std::string, xmlrpc_c::value>;

namespace {

double now_wall() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double proc_cpu(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields;
  std::string cur;
  for (char ch : s.substr(close + 2)) {
    if (ch == ' ') {
      fields.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (fields.size() < 13) return -1;
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto k = static_cast<long>(p / 100.0 * static_cast<double>(v.size()) + 0.5) - 1;
  k = std::clamp<long>(k, 0, static_cast<long>(v.size()) - 1);
  return v[static_cast<std::size_t>(k)];
}

struct Args {
  std::string master = "http://127.0.0.1:8000/RPC2";
  std::string image;
  int frames = 2000, batch = 10, producers = 1, workers = 2, wait_ms = 100, port_base = 9000;
  double rate = 0, timeout = 300;
  std::string detector = "null", label;
  int master_pid = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--master")
      a.master = v;
    else if (k == "--image")
      a.image = v;
    else if (k == "--frames")
      a.frames = std::stoi(v);
    else if (k == "--batch")
      a.batch = std::stoi(v);
    else if (k == "--producers" || k == "-P")
      a.producers = std::stoi(v);
    else if (k == "--workers" || k == "-W")
      a.workers = std::stoi(v);
    else if (k == "--wait-ms")
      a.wait_ms = std::stoi(v);
    else if (k == "--rate")
      a.rate = std::stod(v);
    else if (k == "--timeout")
      a.timeout = std::stod(v);
    else if (k == "--detector")
      a.detector = v;
    else if (k == "--master-pid")
      a.master_pid = std::stoi(v);
    else if (k == "--label")
      a.label = v;
    else if (k == "--port-base")
      a.port_base = std::stoi(v);
    else
      throw std::runtime_error("unknown flag " + k);
  }
  if (a.image.empty()) throw std::runtime_error("--image FILE is required");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cout << "bench_dispatch --master URL --image JPEG [--frames N] [--batch B] [-P producers]"
                 " [-W workers] [--wait-ms MS] [--rate FPS] [--master-pid PID] [--label L]\n";
    return 0;
  }
  Args a;
  try {
    a = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_dispatch: " << e.what() << "\n";
    return 2;
  }
  fh::shared::set_xmlrpc_size_limit(64u << 20);
  std::ifstream in(a.image, std::ios::binary);
  const std::vector<unsigned char> image((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
  if (image.empty()) {
    std::cerr << "bench_dispatch: cannot read " << a.image << "\n";
    return 1;
  }
  std::atomic<int> done{0}, rpc_errors{0}, rejected{0}, empty_polls{0}, bad_images{0}, added{0};
  std::atomic<bool> go{false}, stop{false};
  std::mutex lat_mutex;  // guards latencies and last_completion
  std::vector<double> latencies;
  double last_completion = 0;
  std::atomic<int> ready{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < a.workers; ++w) {
    threads.emplace_back([&, w] {
      RpcClient c(a.master, a.wait_ms + 20000);
      const std::string id = "bench-w" + std::to_string(w) + "-" + std::to_string(getpid());
      xmlrpc_c::paramList reg;
      reg.add(xmlrpc_c::value_string(id));
      reg.add(xmlrpc_c::value_string("bench"));
      reg.add(
          xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{xmlrpc_c::value_string(a.detector)}));
      c.call("register_worker", reg);
      ready++;
      while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const auto result = xmlrpc_c::value_struct(
          Struct{{"detections", xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{})},
                 {"processing_ms", xmlrpc_c::value_double(0)}});
      std::vector<double> mine;
      double mine_last = 0;
      while (!stop) {
        Struct task;
        try {
          xmlrpc_c::paramList p;
          p.add(xmlrpc_c::value_string(id));
          p.add(xmlrpc_c::value_int(a.wait_ms));
          task = static_cast<Struct>(xmlrpc_c::value_struct(c.call("request_task", p)));
        } catch (const std::exception& e) {
          rpc_errors++;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        if (task.empty()) {
          empty_polls++;
          continue;
        }
        if (xmlrpc_c::value_bytestring(task.at("image")).length() != image.size()) bad_images++;
        try {
          xmlrpc_c::paramList p;
          p.add(xmlrpc_c::value_string(id));
          p.add(task.at("task_id"));
          p.add(result);
          const bool ok = xmlrpc_c::value_boolean(c.call("complete_task", p));
          const double t1 = now_wall();
          if (ok) {
            mine.push_back(t1 -
                           static_cast<double>(xmlrpc_c::value_double(task.at("captured_at"))));
            mine_last = t1;
            done++;
          } else {
            rejected++;
          }
        } catch (const std::exception&) {
          rpc_errors++;
        }
      }
      std::lock_guard<std::mutex> lock(lat_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      last_completion = std::max(last_completion, mine_last);
    });
  }
  while (ready < a.workers) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double cpu0 = a.master_pid ? proc_cpu(a.master_pid) : -1;
  const double t_start = now_wall();
  go = true;
  for (int p = 0; p < a.producers; ++p) {
    threads.emplace_back([&, p] {
      const int n = a.frames / a.producers + (p < a.frames % a.producers ? 1 : 0);
      const double rate = a.rate > 0 ? a.rate / a.producers : 0;
      RpcClient c(a.master, 30000);
      int sent = 0;
      while (sent < n && !stop) {
        const int k = std::min(a.batch, n - sent);
        if (rate > 0) {
          const double delay = t_start + sent / rate - now_wall();
          if (delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        }
        const double now = now_wall();
        std::vector<xmlrpc_c::value> frames;
        for (int i = 0; i < k; ++i) {
          frames.push_back(xmlrpc_c::value_struct(
              Struct{{"port", xmlrpc_c::value_int(a.port_base + p)},
                     {"stream", xmlrpc_c::value_string("bench-" + std::to_string(p))},
                     {"frame_id", xmlrpc_c::value_int(sent + i)},
                     {"captured_at", xmlrpc_c::value_double(now)},
                     {"received_at", xmlrpc_c::value_double(now)},
                     {"width", xmlrpc_c::value_int(768)},
                     {"height", xmlrpc_c::value_int(576)},
                     {"image", xmlrpc_c::value_bytestring(image)},
                     {"detector", xmlrpc_c::value_string(a.detector)}}));
        }
        try {
          xmlrpc_c::paramList params;
          params.add(xmlrpc_c::value_array(frames));
          c.call("add_tasks", params);
          sent += k;
          added += k;
        } catch (const std::exception& e) {
          rpc_errors++;
          std::cerr << "producer: " << e.what() << "\n";
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  bool timed_out = false;
  while (done < a.frames) {
    if (now_wall() - t_start > a.timeout) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double cpu1 = a.master_pid ? proc_cpu(a.master_pid) : -1;
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = (done > 0 ? last_completion : now_wall()) - t_start;
  std::printf(
      "label=%s workers=%d producers=%d batch=%d rate=%g frames=%d completed=%d "
      "timed_out=%d elapsed_s=%.3f tasks_per_s=%.1f p50_ms=%.2f p99_ms=%.2f "
      "master_cpu_s=%.3f master_cpu_ms_per_task=%.3f rejected=%d rpc_errors=%d "
      "bad_images=%d\n",
      a.label.c_str(), a.workers, a.producers, a.batch, a.rate, a.frames, done.load(),
      timed_out ? 1 : 0, elapsed, done / elapsed, pct(latencies, 50) * 1000,
      pct(latencies, 99) * 1000, a.master_pid ? cpu1 - cpu0 : -1,
      a.master_pid && done ? (cpu1 - cpu0) * 1000 / done : -1, rejected.load(), rpc_errors.load(),
      bad_images.load());
  return timed_out ? 1 : 0;
}
