// Does SIMD base64 matter for the master? Master CPU per task with the AVX2 base64 kernels on
// and off, side by side in one run, for JPEG frames of about 30, 50 and 70 KB (vtest.avi frame
// 100 at three JPEG qualities):
//  - codec: the master's XML-RPC work per task in this process (parse a tenth of an add_tasks
//    call of 10 frames, write the request_task reply carrying the frame, parse complete_task),
//    CPU time per task, best of several rounds;
//  - master: a real master (MasterApp, in a child process forked before any thread starts, the
//    kernels switched there) driven by bench_dispatch (same directory) with W=2, P=1, batch 10
//    at saturation; master CPU per task = utime + stime of the child over the run / tasks.
// Prints a Markdown table. Usage: bench_base64 [--frames N] [--reps R]
#include "framehive/master/master_app.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace codec = fh::shared::xmlrpc;
using Struct = std::map<std::string, xmlrpc_c::value>;

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// vtest.avi frame 100 as a JPEG of about target bytes (the quality that comes closest).
std::vector<unsigned char> jpeg_near(const cv::Mat& frame, std::size_t target) {
  std::vector<unsigned char> best;
  for (int q = 10; q <= 95; q += 5) {
    std::vector<unsigned char> jpg;
    cv::imencode(".jpg", frame, jpg, {cv::IMWRITE_JPEG_QUALITY, q});
    auto dist = [target](std::size_t n) { return n > target ? n - target : target - n; };
    if (best.empty() || dist(jpg.size()) < dist(best.size())) best = std::move(jpg);
  }
  return best;
}

xmlrpc_c::value frame_value(const std::vector<unsigned char>& jpg, int id) {
  return xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(9000)},
                                       {"stream", xmlrpc_c::value_string("bench-0")},
                                       {"frame_id", xmlrpc_c::value_int(id)},
                                       {"captured_at", xmlrpc_c::value_double(1.7e9)},
                                       {"received_at", xmlrpc_c::value_double(1.7e9)},
                                       {"width", xmlrpc_c::value_int(768)},
                                       {"height", xmlrpc_c::value_int(576)},
                                       {"image", xmlrpc_c::value_bytestring(jpg)},
                                       {"detector", xmlrpc_c::value_string("null")}});
}

/// Codec CPU µs per task (best of rounds) with the kernels as set now.
double codec_us_per_task(const std::vector<unsigned char>& jpg, int rounds) {
  std::vector<xmlrpc_c::value> frames;
  for (int i = 0; i < 10; ++i) frames.push_back(frame_value(jpg, i));
  xmlrpc_c::paramList add;
  add.add(xmlrpc_c::value_array(frames));
  const std::string add_xml = codec::serialize_call("add_tasks", add);
  Struct task{{"task_id", xmlrpc_c::value_string("t-1")}};
  for (const auto& [k, v] : static_cast<Struct>(xmlrpc_c::value_struct(frames[0]))) task[k] = v;
  const xmlrpc_c::value reply = xmlrpc_c::value_struct(task);
  xmlrpc_c::paramList done;
  done.add(xmlrpc_c::value_string("w-1"));
  done.add(xmlrpc_c::value_string("t-1"));
  done.add(xmlrpc_c::value_struct(
      Struct{{"detections", xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{})},
             {"processing_ms", xmlrpc_c::value_double(0)}}));
  const std::string done_xml = codec::serialize_call("complete_task", done);

  constexpr int kTasks = 200;  // per round, in add_tasks calls of 10
  double best = 1e9;
  std::size_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = cpu_now();
    for (int i = 0; i < kTasks; ++i) {
      std::string method;
      xmlrpc_c::paramList params;
      if (i % 10 == 0) {
        codec::parse_call(add_xml, method, params);
        sink += params.size();
        params = xmlrpc_c::paramList();
      }
      sink += codec::serialize_response(reply).size();
      codec::parse_call(done_xml, method, params);
      sink += codec::serialize_response(xmlrpc_c::value_boolean(true)).size();
    }
    best = std::min(best, (cpu_now() - t0) / kTasks * 1e6);
  }
  if (sink == 0) std::puts("");
  return best;
}

/// A master in a child process with the kernels on or off; its pid, its port through *port.
pid_t start_master(bool simd, const fs::path& db, int* port) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fds[0]);
    codec::enable_base64_simd(simd);
    fh::shared::setup_logging("warn");
    fh::master::MasterConfig c;
    c.db_path = db.string();
    c.rpc.port = 0;
    c.scheduler.max_pending_per_port = 1000000;
    c.scheduler.max_frame_age = 0;
    c.stats_interval = 0;
    fh::master::MasterApp app(c);
    const int p = app.port();
    if (write(fds[1], &p, sizeof p) != static_cast<ssize_t>(sizeof p)) _exit(1);
    close(fds[1]);
    app.run();  // until SIGKILL
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], port, sizeof *port) != static_cast<ssize_t>(sizeof *port)) {
    throw std::runtime_error("the master did not start");
  }
  close(fds[0]);
  return pid;
}

/// bench_dispatch's master_cpu_ms_per_task against a fresh master.
double master_ms_per_task(bool simd, const fs::path& dir, const fs::path& image, int frames,
                          int run) {
  int port = 0;
  const fs::path db = dir / ("master-" + std::to_string(run) + ".db");
  const pid_t pid = start_master(simd, db, &port);
  const std::string cmd =
      (fs::read_symlink("/proc/self/exe").parent_path() / "bench_dispatch").string() +
      " --master http://127.0.0.1:" + std::to_string(port) + "/RPC2" + " --image " +
      image.string() + " --frames " + std::to_string(frames) +
      " -W 2 -P 1 --batch 10 --wait-ms 100 --master-pid " + std::to_string(pid);
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf{};
    while (fgets(buf.data(), buf.size(), f)) out += buf.data();
    pclose(f);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const auto at = out.find("master_cpu_ms_per_task=");
  if (at == std::string::npos) throw std::runtime_error("bench_dispatch failed: " + out);
  return std::stod(out.substr(at + 23));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int frames = 2000, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--frames") frames = std::stoi(argv[i + 1]);
    if (k == "--reps") reps = std::stoi(argv[i + 1]);
  }
  cv::VideoCapture cap("/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  cv::Mat frame;
  for (int i = 0; i <= 100; ++i) cap.read(frame);
  if (frame.empty()) {
    std::fprintf(stderr, "bench_base64: cannot read vtest.avi (opencv-doc)\n");
    return 1;
  }
  codec::enable_base64_simd(true);
  if (!codec::base64_simd_active()) std::fprintf(stderr, "bench_base64: no AVX2 on this CPU\n");
  const fs::path dir = fs::temp_directory_path() / ("fh-bench-base64-" + std::to_string(getpid()));
  fs::create_directories(dir);

  std::puts(
      "| JPEG | codec µs/task AVX2 | codec µs/task scalar | master CPU ms/task AVX2 | "
      "master CPU ms/task scalar | difference |");
  std::puts("|---|---|---|---|---|---|");
  int run = 0;
  for (const std::size_t target : {30000u, 50000u, 70000u}) {
    const auto jpg = jpeg_near(frame, target);
    const fs::path image = dir / ("frame-" + std::to_string(target) + ".jpg");
    std::ofstream(image, std::ios::binary)
        .write(reinterpret_cast<const char*>(jpg.data()), static_cast<std::streamsize>(jpg.size()));
    std::array<double, 2> codec_us{};
    std::array<std::vector<double>, 2> master_ms;
    for (int r = 0; r < reps; ++r) {  // interleaved: AVX2, scalar, AVX2, ...
      for (const bool simd : {true, false}) {
        codec::enable_base64_simd(simd);
        const double us = codec_us_per_task(jpg, 20);
        codec_us[simd ? 0 : 1] = r == 0 ? us : std::min(codec_us[simd ? 0 : 1], us);
        master_ms[simd ? 0 : 1].push_back(master_ms_per_task(simd, dir, image, frames, run++));
      }
    }
    const double on = median(master_ms[0]), off = median(master_ms[1]);
    std::printf("| %.1f KB | %.1f | %.1f | %.3f | %.3f | %+.1f%% |\n", jpg.size() / 1000.0,
                codec_us[0], codec_us[1], on, off, (off - on) / on * 100);
    std::fflush(stdout);
  }
  fs::remove_all(dir);
  return 0;
}
