// The whole pipeline as separate processes on 127.0.0.1: sender -> receiver -> master -> two
// workers, two ports. Counts add up per port, framehive-ctl's results and summary agree with
// the master's counters, an annotated frame decodes, Python's xmlrpc.client reads the results.
#include <boost/test/unit_test.hpp>

#include "stats_line.hpp"
#include "test_util.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

using fh::test::bin;
using fh::test::Child;
using fh::test::poll_until;
using namespace std::chrono_literals;

namespace {

using KV = fh::test::StatsFields;
using fh::test::stats_line;
long num(const KV& kv, const std::string& k) { return fh::test::stats_num(kv, k); }

/// A number field from a one-line JSON object (framehive-ctl --json output is flat enough).
double json_num(const std::string& obj, const std::string& key) {
  const auto at = obj.find("\"" + key + "\":");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no " + key + " in " + obj.substr(0, 200));
  return std::stod(obj.substr(at + key.size() + 3));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(whole_pipeline_two_ports_counts_add_up) {
  const auto dir = fh::test::make_temp_dir("pipeline");
  const int mport = fh::test::free_tcp_port();
  const int port_a = fh::test::free_udp_port();
  int port_b = fh::test::free_udp_port();
  while (port_b == port_a) port_b = fh::test::free_udp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  const std::string ctl = bin("framehive-ctl") + " --master " + url + " ";

  const auto master = fh::test::start_master(
      mport,
      {"--db", dir + "/master.db", "--detector", std::to_string(port_a) + "=hog", "--detector",
       std::to_string(port_b) + "=haar:frontalface", "--max-pending-per-port", "1000",
       "--max-frame-age", "0", "--stats-interval", "0", "--log-level", "warn"},
      dir + "/master.log");
  std::string out;
  auto receiver = std::make_unique<Child>(
      bin("framehive-receiver"),
      std::vector<std::string>{"--bind", "127.0.0.1", "--ports",
                               std::to_string(port_a) + "," + std::to_string(port_b), "--master",
                               url, "--queue-per-port", "1000", "--stats-interval", "0",
                               "--report-interval", "0.3"},
      dir + "/receiver.log");
  Child hog(bin("framehive-worker"),
            {"--master", url, "--detector", "hog", "--id", "hog", "--log-level", "warn"},
            dir + "/hog.log");
  Child face(
      bin("framehive-worker"),
      {"--master", url, "--detector", "haar:frontalface", "--id", "face", "--log-level", "warn"},
      dir + "/face.log");
  BOOST_REQUIRE(poll_until(
      [&] {
        fh::test::run_command(ctl + "status --json", out);
        return out.find("\"hog\"") != std::string::npos &&
               out.find("\"face\"") != std::string::npos;
      },
      20s));

  const int frames = 40;
  Child sender(bin("framehive-sender"),
               {"--source", fh::test::vtest_avi(), "--port", std::to_string(port_a), "--source",
                fh::test::megamind_avi(), "--port", std::to_string(port_b), "--receiver",
                "127.0.0.1", "--fps", "0", "--frames", std::to_string(frames), "--stats-interval",
                "0", "--motion", "off"},
               dir + "/sender.log");
  BOOST_REQUIRE(sender.wait(60s) == 0);
  // Wait until the master finished everything it received and nothing new arrives for a
  // while longer than the receiver's 1 s frame timeout (lost frames are counted by then).
  {
    double last_received = -1;
    auto stable_since = std::chrono::steady_clock::now();
    BOOST_REQUIRE(poll_until(
        [&] {
          fh::test::run_command(ctl + "status --json", out);
          double received = 0;
          for (auto at = out.find("\"received\":"); at != std::string::npos;
               at = out.find("\"received\":", at + 1)) {
            received += std::stod(out.substr(at + 11));
          }
          const auto now = std::chrono::steady_clock::now();
          if (received != last_received) {
            last_received = received;
            stable_since = now;
          }
          return json_num(out, "pending") + json_num(out, "in_progress") == 0 &&
                 now - stable_since > 1500ms;
        },
        120s));
  }
  // The receiver's counters reach the master (report_receiver): wait for two reports after the
  // quiet period, the counters are final then.
  {
    std::string first_seen;
    int reports = 0;
    BOOST_REQUIRE(poll_until(
        [&] {
          fh::test::run_command(ctl + "status --json", out);
          const auto at = out.find("\"last_seen\":", out.find("\"receivers\":"));
          if (at == std::string::npos) return false;
          const std::string seen = out.substr(at, 30);
          if (seen != first_seen) {
            first_seen = seen;
            ++reports;
          }
          return reports >= 3;
        },
        20s));
  }
  receiver->signal(SIGTERM);
  BOOST_REQUIRE(receiver->wait(20s) == 0);
  const std::string sender_log = fh::test::read_file(dir + "/sender.log");
  const std::string receiver_log = fh::test::read_file(dir + "/receiver.log");

  BOOST_REQUIRE(fh::test::run_command(ctl + "status --json", out) == 0);
  const std::string status = out;
  for (int port : {port_a, port_b}) {
    BOOST_TEST_CONTEXT("receiver report of port " << port) {
      const KV r = stats_line(receiver_log, "receiver-stats", port);
      const auto at = status.find("{\"port\":" + std::to_string(port) + ",\"datagrams\":");
      BOOST_REQUIRE(at != std::string::npos);
      const std::string rep = status.substr(at, status.find('}', at) - at + 1);
      BOOST_TEST(json_num(rep, "datagrams") == num(r, "datagrams"), rep);
      BOOST_TEST(json_num(rep, "frames_complete") == num(r, "frames_complete"), rep);
      BOOST_TEST(json_num(rep, "frames_incomplete") == num(r, "frames_incomplete"), rep);
    }
  }
  for (int port : {port_a, port_b}) {
    BOOST_TEST_CONTEXT("port " << port) {
      const KV s = stats_line(sender_log, "sender-stats", port);
      const KV r = stats_line(receiver_log, "receiver-stats", port);
      const long sent = num(s, "frames");
      BOOST_TEST(sent == frames);
      // the master's counters for this port
      const auto at = status.find("{\"port\":" + std::to_string(port) + ",\"stream\":");
      BOOST_REQUIRE(at != std::string::npos);
      const std::string p = status.substr(at, status.find('}', at) - at + 1);
      const long completed = static_cast<long>(json_num(p, "completed"));
      const long failed = static_cast<long>(json_num(p, "failed"));
      const long mdropped = static_cast<long>(json_num(p, "dropped"));
      const long expired = static_cast<long>(json_num(p, "expired"));
      const long left = static_cast<long>(json_num(p, "pending") + json_num(p, "in_progress"));
      BOOST_TEST(left == 0);
      // nothing unaccounted
      BOOST_TEST(sent == completed + failed + num(r, "frames_incomplete") +
                             num(r, "frames_dropped") + num(r, "frames_failed") + mdropped +
                             expired);
      BOOST_TEST(static_cast<long>(json_num(p, "received")) == num(r, "frames_delivered"));
      // results through framehive-ctl agree with the counters: one record per frame
      BOOST_REQUIRE(
          fh::test::run_command(
              ctl + "results --port " + std::to_string(port) + " --limit 1000 --json", out) == 0);
      const auto recs = lines_of(out);
      BOOST_TEST(static_cast<long>(recs.size()) == completed);
      std::set<long> ids;
      long detections = 0;
      std::string with_detection;
      for (const auto& rec : recs) {
        ids.insert(static_cast<long>(json_num(rec, "frame_id")));
        const auto n = std::count(rec.begin(), rec.end(), '{') - 1;
        detections += n;
        if (n > 0 && with_detection.empty()) {
          const auto t = rec.find("\"task_id\":\"") + 11;
          with_detection = rec.substr(t, rec.find('"', t) - t);
        }
      }
      BOOST_TEST(static_cast<long>(ids.size()) == completed);
      // summary agrees: frames and detections per label add up to the same totals
      BOOST_REQUIRE(fh::test::run_command(ctl + "summary --port " + std::to_string(port) +
                                              " --interval 1d --since 2d --json",
                                          out) == 0);
      long sum_frames = 0, sum_labels = 0;
      for (const auto& b : lines_of(out)) {
        sum_frames += static_cast<long>(json_num(b, "frames"));
        const auto l = b.find("\"labels\":{");
        std::istringstream labels(b.substr(l + 10, b.find('}', l) - l - 10));
        std::string kv;
        while (std::getline(labels, kv, ',')) {
          if (kv.find(':') != std::string::npos)
            sum_labels += std::stol(kv.substr(kv.find(':') + 1));
        }
      }
      BOOST_TEST(sum_frames == completed);
      BOOST_TEST(sum_labels == detections);
      BOOST_TEST(detections > 0);  // people on vtest, faces on Megamind
      // an annotated frame decodes as a JPEG
      const std::string jpg = dir + "/annotated-" + std::to_string(port) + ".jpg";
      BOOST_REQUIRE(
          fh::test::run_command(ctl + "frame --task " + with_detection + " -o " + jpg, out) == 0);
      const cv::Mat img = cv::imread(jpg);
      BOOST_TEST(!img.empty());
      // a foreign client reads the same results
      const std::string py =
          "python3 -c \"import xmlrpc.client,sys; m=xmlrpc.client.ServerProxy('" + url +
          "'); r=m.get_results(" + std::to_string(port) +
          "); sys.exit(0 if len(r)==" + std::to_string(completed) +
          " and len({x['frame_id'] for x in r})==len(r) else 1)\"";
      BOOST_TEST(std::system(py.c_str()) == 0);
    }
  }
  // errors a user can act on: one line, non-zero exit
  BOOST_TEST(fh::test::run_command(ctl + "results --port 9 2>&1", out) == 3);
  BOOST_TEST(out.find("unknown port 9") != std::string::npos);
  BOOST_TEST(fh::test::run_command(ctl + "frame --task nope -o /dev/null 2>&1", out) == 3);
  BOOST_TEST(fh::test::run_command(
                 bin("framehive-ctl") + " --master http://127.0.0.1:1/RPC2 status 2>&1", out) == 1);
  BOOST_TEST(out.find("unreachable") != std::string::npos);
}

// framehive-ctl detect: still images (a JPEG and a PNG of the same vtest.avi frame) go to a hog
// worker as uploads and come back with the people in them; an unreadable file, bytes that are
// no image and a detector no worker offers each fail with a clear line and exit 1.
BOOST_AUTO_TEST_CASE(ctl_detect_uploads_still_images) {
  const auto dir = fh::test::make_temp_dir("detect");
  const int mport = fh::test::free_tcp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  const std::string ctl = bin("framehive-ctl") + " --master " + url + " ";
  Child master(bin("framehive-master"),
               {"--port", std::to_string(mport), "--db", dir + "/master.db", "--log-level", "warn"},
               dir + "/master.log");
  Child hog(bin("framehive-worker"),
            {"--master", url, "--detector", "hog", "--id", "hog", "--log-level", "warn"},
            dir + "/hog.log");
  cv::VideoCapture video(fh::test::vtest_avi());
  cv::Mat frame;
  BOOST_REQUIRE(video.read(frame));
  BOOST_REQUIRE(cv::imwrite(dir + "/still.jpg", frame));
  BOOST_REQUIRE(cv::imwrite(dir + "/still.png", frame));
  std::string out;
  BOOST_REQUIRE(poll_until(
      [&] {
        return fh::test::run_command(ctl + "status 2>&1", out) == 0 &&
               out.find("hog") != std::string::npos;
      },
      15s));
  const int rc = fh::test::run_command(
      ctl + "detect " + dir + "/still.jpg " + dir + "/still.png --json 2>&1", out);
  BOOST_TEST(rc == 0, out);
  const auto lines = lines_of(out);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  for (const auto& l : lines) {
    BOOST_TEST(l.find("\"state\":\"completed\"") != std::string::npos, l);
    BOOST_TEST(l.find("\"label\":\"person\"") != std::string::npos, l);
    BOOST_TEST(l.find("\"stream\":\"upload:still.") != std::string::npos, l);
  }
  std::ofstream(dir + "/junk.jpg") << "not an image";
  BOOST_TEST(fh::test::run_command(ctl + "detect " + dir + "/junk.jpg " + dir + "/missing.png 2>&1",
                                   out) == 1);
  BOOST_TEST(out.find("junk.jpg: refused") != std::string::npos, out);
  BOOST_TEST(out.find("cannot read " + dir + "/missing.png") != std::string::npos, out);
  BOOST_TEST(fh::test::run_command(
                 ctl + "detect " + dir + "/still.jpg --detector haar:eye --wait 1s 2>&1", out) ==
             1);
  BOOST_TEST(out.find("still pending after 1 s") != std::string::npos, out);
}

// Motion gating end to end (docs/motion.md): a gating sender (the bursts test scene: still
// stretches, then a moving square) -> receiver -> master -> a worker. Every frame the camera read
// is accounted for: read = sent + gated at the sender; the receiver's stats line and report and
// the master's PortStatus.gated say the same number of gated frames; every frame sent is
// completed. (That the frames carry their motion to the worker: tests/receiver/
// test_motion_process.cpp and tests/integration/test_motion_crop.cpp.)
BOOST_AUTO_TEST_CASE(gated_frames_are_counted_from_the_camera_to_the_master) {
  const auto dir = fh::test::make_temp_dir("gating");
  const int mport = fh::test::free_tcp_port();
  const int port = fh::test::free_udp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  const std::string ctl = bin("framehive-ctl") + " --master " + url + " ";
  const auto master = fh::test::start_master(
      mport,
      {"--db", dir + "/master.db", "--detector", std::to_string(port) + "=null",
       "--max-pending-per-port", "1000", "--max-frame-age", "0", "--stats-interval", "0",
       "--log-level", "warn"},
      dir + "/master.log");
  std::string out;
  auto receiver = std::make_unique<Child>(
      bin("framehive-receiver"),
      std::vector<std::string>{"--bind", "127.0.0.1", "--ports", std::to_string(port), "--master",
                               url, "--queue-per-port", "1000", "--stats-interval", "0",
                               "--report-interval", "0.3"},
      dir + "/receiver.log");
  Child worker(bin("framehive-worker"),
               {"--master", url, "--detector", "null", "--id", "null", "--log-level", "warn"},
               dir + "/worker.log");
  // 240 frames at 40 fps (6 s): the bursts scene's still stretches are gated, one keep-alive
  // per 0.5 s; its moving squares are sent with their boxes.
  const int frames = 240;
  Child sender(bin("framehive-sender"),
               {"--source", "test:320x240@40:bursts", "--port", std::to_string(port), "--receiver",
                "127.0.0.1", "--frames", std::to_string(frames), "--motion", "gate",
                "--idle-interval", "0.5", "--stats-interval", "0"},
               dir + "/sender.log");
  BOOST_REQUIRE(sender.wait(60s) == 0);
  const KV s = stats_line(fh::test::read_file(dir + "/sender.log"), "sender-stats", port);
  const long sent = num(s, "frames"), gated = num(s, "gated");
  BOOST_TEST(num(s, "read") == frames);
  BOOST_TEST(sent + gated == frames);
  BOOST_TEST(gated > frames / 4);  // the still stretches
  BOOST_TEST(sent > 10);           // the moving squares and the keep-alives
  // The master completes every frame sent, and counts the gated ones.
  const auto port_row = [&] {
    fh::test::run_command(ctl + "status --json", out);
    const auto at = out.find("{\"port\":" + std::to_string(port) + ",\"stream\":");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('}', at) - at + 1);
  };
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto p = port_row();
        return !p.empty() && json_num(p, "completed") == sent;
      },
      60s));
  const std::string p = port_row();
  BOOST_TEST(json_num(p, "received") == sent);
  BOOST_TEST(json_num(p, "gated") == gated);
  // The receiver's report reaches the master with the same count.
  BOOST_REQUIRE(poll_until(
      [&] {
        fh::test::run_command(ctl + "status --json", out);
        const auto at = out.find("{\"port\":" + std::to_string(port) + ",\"datagrams\":");
        if (at == std::string::npos) return false;
        const std::string rep = out.substr(at, out.find('}', at) - at + 1);
        return json_num(rep, "frames_complete") == sent && json_num(rep, "gated") == gated;
      },
      20s));
  receiver->signal(SIGTERM);
  BOOST_REQUIRE(receiver->wait(20s) == 0);
  const KV r = stats_line(fh::test::read_file(dir + "/receiver.log"), "receiver-stats", port);
  BOOST_TEST(num(r, "gated") == gated);
  BOOST_TEST(num(r, "frames_incomplete") == 0);
  // framehive-ctl status shows the gated count in its table.
  BOOST_REQUIRE(fh::test::run_command(ctl + "status", out) == 0);
  BOOST_TEST(out.find("gated") != std::string::npos, out);
}
